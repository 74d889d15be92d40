"""The lists the bureau works from (docs/register.md §5), as one workbook.

Each list is a frame made by column operations over the register (a province's hundred thousand
enterprises take a second), then written by xlsxwriter a sheet at a time in constant memory: a
frozen header with filters, columns as wide as their contents, dates as dates, and for each row the
reason it is there, in words. Rows go by unit (units.csv's order), then name.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter

from pipeline.check.certified import GRADE_LEVEL, certified, last_revisit, withdrawn_at
from pipeline.core.findings import CODES, ERROR
from pipeline.core.ooxml import finish, inline, xf_numbers
from pipeline.core.settings import Settings
from pipeline.core.text import cell_text, display_width
from pipeline.read.register import Register
from pipeline.store.files import atomic

KEY = ("单位", "统一社会信用代码", "企业名称", "行业", "等级")
CLASS_WORDS = {"A": "A 类", "B": "B 类", "C": "C 类", "D": "D 类（重点监管）"}
LIST_NOTES = {
    "证书到期": "有效期至在 {months} 个月内的证书，以及已经过期、应当复评的证书。",
    "回访到期": "达标有效、从未回访或最近一次回访已超过 {revisit} 个月的企业（二七安监管〔2016〕8号 三（三））。",
    "分级监管": "全部未关闭企业的监管类别和应检查日期：A 类一级、二级达标有效，每 {a} 个月；B 类三级达标有效，每 {b} 个月；"
                "C 类正在评审或创建中，每 {c} 个月；D 类未开展、已摘牌或证书过期，每 {d} 个月，重点监管（五（二））。",
    "小微高风险": "涉及临时用电、有限空间、动火、起重吊装或主要设备设施等高风险作业的小微企业（三（四））。",
    "评审单位": "各评审单位认证的企业现在的情况和回访结果（三（二））。",
    "变更": "与上一次导入的台账相比，状态、等级、日期等有变化的企业。",
    "台账问题": "企业台账中的问题；有“错误”的行暂不使用，改正后下次运行即计入。",
}


@dataclass(frozen=True)
class Intervals:
    """Inspection interval of each supervision class, months."""
    a: int
    b: int
    c: int
    d: int

    @classmethod
    def of(cls, settings: Settings) -> Intervals:
        r = settings["register"]
        return cls(int(r["interval_a"]), int(r["interval_b"]), int(r["interval_c"]), int(r["interval_d"]))


def _date(ts) -> str:
    return "" if pd.isna(ts) else pd.Timestamp(ts).date().isoformat()


def _key(e: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"单位": e["unit"], "统一社会信用代码": e["code"], "企业名称": e["name"],
                         "行业": e["industry"], "等级": e["grade"].fillna("")}, index=e.index)


def _ordered(frame: pd.DataFrame, order: dict[str, int]) -> pd.DataFrame:
    """By unit in units.csv's order, then name."""
    if frame.empty:
        return frame.reset_index(drop=True)
    k = frame["单位"].map(order).fillna(len(order))
    return frame.assign(_k=k).sort_values(["_k", "企业名称"], kind="stable").drop(columns="_k").reset_index(drop=True)


def supervision(register: Register, day: dt.date, intervals: Intervals) -> pd.DataFrame:
    """Every enterprise not 已关闭: its class, interval, last inspection, due date and why."""
    e = register.enterprises
    d = pd.Timestamp(day)
    ok = certified(register, day)
    level = e["grade"].map(GRADE_LEVEL)
    gone = withdrawn_at(register)
    cls = pd.Series("D", index=e.index, dtype=object)
    cls[~ok & e["status"].isin(("正在评审", "创建中"))] = "C"
    cls[ok & (level == 3)] = "B"
    cls[ok & level.isin((1, 2))] = "A"
    every = {"A": intervals.a, "B": intervals.b, "C": intervals.c, "D": intervals.d}
    months = cls.map(every)
    due = pd.Series(pd.NaT, index=e.index, dtype="datetime64[us]")
    for k, n in every.items():
        mask = (cls == k) & e["inspected"].notna()
        due[mask] = (e.loc[mask, "inspected"] + pd.DateOffset(months=n)).astype("datetime64[us]")
    due = due.fillna(d)
    live = e["status"] != "已关闭"
    why_class = [_class_why(c, s, g, x, w, d) for c, s, g, x, w in
                 zip(cls[live], e.loc[live, "status"], e.loc[live, "grade"], e.loc[live, "expires"], gone[live])]
    when = [("从未检查，应尽快检查" if pd.isna(i) else
             f"最近检查 {_date(i)}，" + (f"应于 {_date(u)} 前检查" if u > d else f"已逾期 {(d - u).days} 天，应尽快检查"
                                          if u < d else "今天到期，应当检查"))
            for i, u in zip(e.loc[live, "inspected"], due[live])]
    out = _key(e[live]).assign(
        状态=e.loc[live, "status"], 监管类别=cls[live].map(CLASS_WORDS), **{"检查周期（月）": months[live]},
        最近检查日期=e.loc[live, "inspected"], 应检查日期=due[live],
        原因=[f"{a}；每 {m} 个月检查一次；{b}" for a, m, b in zip(why_class, months[live], when)])
    return out


def _class_why(cls: str, status: str, grade, expires, gone, d) -> str:
    if cls in "AB":
        return f"{grade}达标有效"
    if cls == "C":
        return status
    if status == "未开展":
        return "未开展标准化创建"
    if pd.notna(gone) and gone <= d:
        return f"{_date(gone)} 摘牌"
    if pd.notna(expires) and expires < d:
        return f"证书 {_date(expires)} 已过期"
    return f"{status}，无有效证书"


def expiring(register: Register, day: dt.date, months: int) -> pd.DataFrame:
    """Certificates that run out within `months` after `day`, and those already expired (复评)."""
    e = register.enterprises
    d = pd.Timestamp(day)
    gone = withdrawn_at(register)
    horizon = d + pd.DateOffset(months=months)
    pick = (e["issued"].notna() & e["expires"].notna() & (e["status"] != "已关闭") & ~(gone <= d)
            & (e["expires"] <= horizon))
    x = e.loc[pick, "expires"]
    days = (x - d).dt.days
    why = [f"证书已于 {_date(v)} 到期（{-n} 天前），应当复评" if n < 0 else
           (f"证书今天（{_date(v)}）到期，应当复评" if n == 0 else f"证书 {_date(v)} 到期，还有 {n} 天，应准备复评")
           for v, n in zip(x, days)]
    return _key(e[pick]).assign(发证日期=e.loc[pick, "issued"], 有效期至=x, 剩余天数=days, 原因=why)


def revisits_due(register: Register, day: dt.date, months: int) -> pd.DataFrame:
    """Certified enterprises never revisited, or last revisited more than `months` before `day`."""
    e = register.enterprises
    d = pd.Timestamp(day)
    last = last_revisit(register)
    ok = certified(register, day)
    pick = ok & (last.isna() | (last < d - pd.DateOffset(months=months)))
    why = [f"达标后从未回访（{_date(i)} 发证）" if pd.isna(v) else f"最近回访 {_date(v)}，已超过 {months} 个月"
           for i, v in zip(e.loc[pick, "issued"], last[pick])]
    return _key(e[pick]).assign(发证日期=e.loc[pick, "issued"], 最近回访日期=last[pick], 原因=why)


def small_high_risk(register: Register) -> pd.DataFrame:
    """小微 enterprises with any high-risk work, and which."""
    e = register.enterprises
    pick = (e["scale"] == "小微") & e["high_risk"].notna() & (e["status"] != "已关闭")
    work = e.loc[pick, "high_risk"].str.replace(";", "、")
    return _key(e[pick]).assign(状态=e.loc[pick, "status"], 高风险作业=work, 最近检查日期=e.loc[pick, "inspected"],
                                原因=[f"小微企业，涉及{w}作业：检查时侧重这些环节" for w in work])


def reviewers(register: Register, day: dt.date) -> pd.DataFrame:
    """Per reviewing organisation: the enterprises it certified, how they stand at `day`, and what
    the revisits of them found."""
    e = register.enterprises
    d = pd.Timestamp(day)
    mine = e["reviewer"].notna() & e["issued"].notna()
    gone = withdrawn_at(register)
    frame = pd.DataFrame({"reviewer": e["reviewer"], "ok": certified(register, day), "gone": gone <= d,
                          "expired": (e["expires"] < d) & ~(gone <= d) & (e["status"] != "已关闭")})[mine]
    if frame.empty:
        return pd.DataFrame(columns=["评审单位", "认证企业数", "目前达标有效", "已摘牌", "已过期", "回访次数",
                                     "合格", "限期整改", "摘牌", "说明"])
    per = frame.groupby("reviewer").agg(n=("ok", "size"), ok=("ok", "sum"), gone=("gone", "sum"),
                                        expired=("expired", "sum"))
    r = register.revisits
    r = r[r["date"] <= d].assign(reviewer=r["code"].map(pd.Series(e["reviewer"].values, index=e["code"].values)))
    results = r.groupby(["reviewer", "result"]).size().unstack(fill_value=0) if len(r) else pd.DataFrame()
    for k in ("合格", "限期整改", "摘牌"):
        per[k] = results[k].reindex(per.index).fillna(0).astype(int) if k in results else 0
    per["visits"] = per[["合格", "限期整改", "摘牌"]].sum(axis=1)
    per = per.sort_index()
    said = [f"认证 {n} 家，目前达标有效 {ok} 家" + (f"，摘牌 {g} 家" if g else "") + (f"，证书过期 {x} 家" if x else "")
            + (f"；回访 {v} 次" + (f"，发现问题 {p + s} 次（限期整改 {p} 次、摘牌 {s} 次）" if p + s else "，均合格")
               if v else "；尚无回访记录")
            for n, ok, g, x, v, p, s in zip(per["n"], per["ok"], per["gone"], per["expired"], per["visits"],
                                            per["限期整改"], per["摘牌"])]
    return pd.DataFrame({"评审单位": per.index, "认证企业数": per["n"].values, "目前达标有效": per["ok"].values,
                         "已摘牌": per["gone"].values, "已过期": per["expired"].values, "回访次数": per["visits"].values,
                         "合格": per["合格"].values, "限期整改": per["限期整改"].values, "摘牌": per["摘牌"].values,
                         "说明": said})


def changed(changes: pd.DataFrame | None) -> pd.DataFrame:
    if changes is None:
        return pd.DataFrame(columns=[*KEY, "变更内容"])
    return pd.DataFrame({"单位": changes["unit"], "统一社会信用代码": changes["code"], "企业名称": changes["name"],
                         "行业": changes["industry"], "等级": changes["grade"].fillna(""), "变更内容": changes["what"]})


def problems(register: Register) -> pd.DataFrame:
    fs = register.findings
    return pd.DataFrame({"单元格": [f.cell or "" for f in fs], "级别": ["错误" if f.severity == ERROR else "提示" for f in fs],
                         "问题": [CODES[f.code].title for f in fs], "代码": [f.code for f in fs],
                         "说明": [f.message for f in fs]})


def work_lists(register: Register, day: dt.date, settings: Settings, unit_order: list[str],
               changes: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Sheet name -> its rows, in the workbook's order."""
    r = settings["register"]
    order = {u: i for i, u in enumerate(unit_order)}
    return {
        "证书到期": _ordered(expiring(register, day, int(r["expiry_warning_months"])), order),
        "回访到期": _ordered(revisits_due(register, day, int(r["revisit_months"])), order),
        "分级监管": _ordered(supervision(register, day, Intervals.of(settings)), order),
        "小微高风险": _ordered(small_high_risk(register), order),
        "评审单位": reviewers(register, day),
        "变更": _ordered(changed(changes), order),
        "台账问题": problems(register),
    }


def summary(register: Register, day: dt.date, lists: dict[str, pd.DataFrame], unit_order: list[str]) -> pd.DataFrame:
    """Per unit: enterprises, above-scale ones, certified ones, and how many each list holds."""
    e = register.enterprises
    ok = certified(register, day)
    live = e["status"] != "已关闭"
    per = pd.DataFrame({"企业数": live.groupby(e["unit"]).sum(),
                        "规模以上": (live & (e["scale"] == "规模以上")).groupby(e["unit"]).sum(),
                        "达标有效": ok.groupby(e["unit"]).sum()})
    for name, column in (("证书到期", "证书到期"), ("回访到期", "回访到期"), ("小微高风险", "小微高风险")):
        per[column] = lists[name]["单位"].value_counts()
    sup = lists["分级监管"]
    per["重点监管（D 类）"] = sup.loc[sup["监管类别"] == CLASS_WORDS["D"], "单位"].value_counts()
    per = per.reindex([u for u in unit_order if u in per.index]).fillna(0).astype(int)
    out = per.rename_axis("单位").reset_index()
    total = out.sum(numeric_only=True)
    return pd.concat([out, pd.DataFrame([{"单位": "合计", **total.to_dict()}])], ignore_index=True)


# ---------------------------------------------------------------- the workbook
_EPOCH = pd.Timestamp("1899-12-30")


def _width(values: pd.Series) -> int:
    """Display width of a column's longest value."""
    if values.empty:
        return 0
    if pd.api.types.is_datetime64_any_dtype(values):
        return 10
    return max(map(display_width, map(str, values.dropna().unique()))) if values.notna().any() else 0


def write_lists(path: Path, title: str, lead: list[str], totals: pd.DataFrame, lists: dict[str, pd.DataFrame],
                notes: dict[str, str]) -> Path:
    """The workbook: 汇总 (the lead lines and the per-unit counts), then a sheet per list.

    xlsxwriter lays each list sheet out (formats, widths, the header, frozen panes, the filter, print
    setup); its rows, a hundred thousand in a province's 分级监管, are made as XML a column at a time
    (~0.3 µs a cell where xlsxwriter takes ~25) as the book is written, and spliced in as its
    <sheetData>. Text is written as inline strings, escaped: never a formula."""
    def write(tmp):
        layout = io.BytesIO()
        book = xlsxwriter.Workbook(layout, {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        cell = {**base, "border": 1, "border_color": "#999999"}
        f = {"head": book.add_format({**base, "bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                      "text_wrap": True}),
             "text": book.add_format(cell),
             "num": book.add_format({**cell, "align": "center"}),
             "date": book.add_format({**cell, "num_format": "yyyy-mm-dd", "align": "center"}),
             "title": book.add_format({**base, "bold": True, "font_size": 14}),
             "note": book.add_format({**base, "font_color": "#404040"})}
        xf = xf_numbers(f)   # their numbers, for the spliced cells
        _summary_sheet(book, f, title, lead, totals)
        bodies = {f"xl/worksheets/sheet{k}.xml": _list_sheet(book, f, name, frame)
                  for k, (name, frame) in enumerate(lists.items(), start=2)}
        book.close()
        spliced = {part: (_rows(lists[name], xf, notes.get(name, "")), _last(lists[name], notes.get(name, "")))
                   for part, name in bodies.items()}
        finish(layout.getvalue(), tmp, spliced)
    return atomic(path, write)


def _summary_sheet(book, f, title: str, lead: list[str], totals: pd.DataFrame):
    ws = book.add_worksheet("汇总")
    ws.write_string(0, 0, title, f["title"])
    for i, line in enumerate(lead, start=1):
        ws.write_string(i, 0, cell_text(line), f["note"])
    top = len(lead) + 2
    columns = list(totals.columns)
    for c, name in enumerate(columns):
        ws.set_column(c, c, max(_width(pd.Series([name])), _width(totals[name])) + 3)
        ws.write_string(top, c, name, f["head"])
    for r, row in enumerate(totals.itertuples(index=False), start=top + 1):
        for c, value in enumerate(row):
            if isinstance(value, str):
                ws.write_string(r, c, cell_text(value), f["text"])
            else:
                ws.write_number(r, c, int(value), f["num"])
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def _list_sheet(book, f, name: str, frame: pd.DataFrame) -> str:
    """The sheet's layout in xlsxwriter, with its header row; its rows come in `_splice`."""
    ws = book.add_worksheet(name)
    columns = list(frame.columns)
    for c, column in enumerate(columns):
        ws.set_column(c, c, max(_width(pd.Series([column])) + 4, min(_width(frame[column]) + 2, 150), 6))
        ws.write_string(0, c, column, f["head"])
    ws.set_row(0, 22)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    return name


def _cells(s: pd.Series, xf: dict) -> list[str]:
    """Each value of a column as a <c> element."""
    if pd.api.types.is_datetime64_any_dtype(s):
        blank, head = f'<c s="{xf["date"]}"/>', f'<c s="{xf["date"]}"><v>'
        return [blank if d != d else f"{head}{int(d)}</v></c>" for d in ((s - _EPOCH).dt.days.astype(float))]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        blank, head = f'<c s="{xf["num"]}"/>', f'<c s="{xf["num"]}"><v>'
        return [blank if v != v else f"{head}{int(v) if float(v).is_integer() else v}</v></c>"
                for v in s.astype(float)]
    blank, head = f'<c s="{xf["text"]}"/>', f'<c s="{xf["text"]}" t="inlineStr">'
    return [blank if v is None or v == "" or (v.__class__ is not str and v != v) else f"{head}{inline(str(v))}</c>"
            for v in s.tolist()]


def _rows(frame: pd.DataFrame, xf: dict, note: str, chunk: int = 20_000):
    """The sheet's <row> elements from row 2 on, in pieces: every cell present (a blank one keeps its
    border), so that no cell needs its reference (ECMA-376 §18.3.1.4); then '（无）' for an empty
    list, and the note."""
    for k in range(0, len(frame), chunk):
        part = frame.iloc[k:k + chunk]
        columns = [_cells(part[c], xf) for c in part.columns]
        yield "".join(f'<row r="{r}">' + "".join(cells) + "</row>"
                      for r, cells in zip(range(k + 2, k + 2 + len(part)), zip(*columns)))
    tail = len(frame) + 2
    if frame.empty:
        yield f'<row r="2"><c s="{xf["note"]}" t="inlineStr">{inline("（无）")}</c></row>'
        tail = 3
    if note:
        yield f'<row r="{tail + 1}"><c s="{xf["note"]}" t="inlineStr">{inline("说明：" + note)}</c></row>'


def _last(frame: pd.DataFrame, note: str) -> str:
    """The last cell of a list sheet: its columns by its rows, the header, '（无）' and the note."""
    rows = len(frame) + 2 + (1 if frame.empty else 0) + (1 if note else 0)
    return f"{xlsxwriter.utility.xl_col_to_name(max(len(frame.columns), 1) - 1)}{rows}"
