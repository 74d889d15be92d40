"""Read and check the enterprise register (企业台账, ENTERPRISES.md §1).

`reference/enterprises.xlsx` (or .xlsm/.xls/.ods) goes through the forms' reader (sniff's limits,
calamine's grids with their own coordinates); the columns are found by their labels in a header row,
wherever it stands, as the form's are. Each cell is made typed here, a column at a time (a unit or
an industry looked up once for each spelling, dates parsed by pattern over the whole column), and
`pipeline.schemas.register` checks the rows in one lazy pass. Its failure table becomes the findings, each
with its cell; a row with an error is left out, the rest of the register is used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from pipeline.core.findings import CODES, ERROR, Finding, finding
from pipeline.core.model import cell_name, norm
from pipeline.core.settings import Settings
from pipeline.read.grids import TooManyCells, read_grids
from pipeline.read.labels import industry_of
from pipeline.read.sniff import sniff
from pipeline.read.units import Units
from pipeline.schemas.register import DATE_COLUMNS, GRADES, RESULTS, SCALES, STATUSES, enterprise_rows, revisit_rows

SHEET, REVISIT_SHEET = "企业台账", "回访记录"
WHOLE = {"UNREADABLE", "ENCRYPTED", "TOO_LARGE", "REG_NO_TABLE"}   # findings that leave the whole register unused
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
HIGH_RISK = ("临时用电", "有限空间", "动火", "起重吊装", "主要设备设施")

# Each column and the labels staff give it (compared after `_label`: no spaces, notes in brackets or
# a leading * dropped, full-width folded).
LABELS: dict[str, tuple[str, ...]] = {
    "统一社会信用代码": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码", "统一社会信用代码证号"),
    "企业名称": ("企业名称", "单位名称", "企业", "名称"),
    "所属单位": ("所属单位", "所属乡镇", "所属乡（镇）办事处", "乡（镇）办事处", "所属街道", "属地", "乡镇办事处"),
    "行业": ("行业", "所属行业", "行业类别"),
    "规模": ("规模", "企业规模"),
    "状态": ("状态", "标准化状态", "达标状态", "创建状态"),
    "等级": ("等级", "达标等级", "级别"),
    "证书编号": ("证书编号", "证书号", "证书号码"),
    "发证日期": ("发证日期", "发证时间", "取证日期"),
    "有效期至": ("有效期至", "有效期", "证书有效期", "证书有效期至", "到期日期"),
    "摘牌日期": ("摘牌日期", "摘牌时间"),
    "评审单位": ("评审单位", "评审机构", "评审组织单位"),
    "最近检查日期": ("最近检查日期", "最近检查", "最近一次检查日期", "检查日期"),
    "最近回访日期": ("最近回访日期", "最近回访", "最近一次回访日期"),
    "高风险作业": ("高风险作业", "高风险作业环节", "高风险环节", "高风险"),
}
REQUIRED = ("统一社会信用代码", "企业名称", "所属单位", "行业", "规模", "状态")
REVISIT_LABELS: dict[str, tuple[str, ...]] = {
    "统一社会信用代码": LABELS["统一社会信用代码"],
    "回访日期": ("回访日期", "回访时间"),
    "结果": ("结果", "回访结果"),
    "问题": ("问题", "发现问题", "存在问题", "备注"),
}
# Spellings of a value, folded by `norm`, to the value.
SCALE_WORDS = {**{s: s for s in SCALES}, "规上": "规模以上", "规下": "规模以下", "规模以上企业": "规模以上",
               "规模以下企业": "规模以下", "小微企业": "小微", "小型微型": "小微"}
STATUS_WORDS = {s: s for s in STATUSES}
GRADE_WORDS = {**{g: g for g in GRADES}, **{f"{n}级": g for n, g in zip("123", GRADES)},
               **{n: g for n, g in zip("123一二三", GRADES * 2)}, "Ⅰ级": "一级", "Ⅱ级": "二级", "Ⅲ级": "三级"}
RESULT_WORDS = {**{r: r for r in RESULTS}, "限期整改后合格": "合格", "整改": "限期整改", "摘牌收证": "摘牌"}
RISK_WORDS = {**{r: r for r in HIGH_RISK}, "有限空间作业": "有限空间", "动火作业": "动火", "起重吊装作业": "起重吊装",
              "临时用电作业": "临时用电", "主要设备设施检查": "主要设备设施", "设备设施": "主要设备设施"}
NONE_WORDS = {"", "无", "-", "—", "/", "否", "没有"}
# The register's columns as the code names them (the ledger's and the lists' columns).
FIELDS = {"统一社会信用代码": "code", "企业名称": "name", "所属单位": "unit", "行业": "industry", "规模": "scale",
          "状态": "status", "等级": "grade", "证书编号": "cert_no", "发证日期": "issued", "有效期至": "expires",
          "摘牌日期": "withdrawn", "评审单位": "reviewer", "最近检查日期": "inspected", "最近回访日期": "revisited",
          "高风险作业": "high_risk"}
REVISIT_FIELDS = {"统一社会信用代码": "code", "回访日期": "date", "结果": "result", "问题": "problem"}
ENTERPRISE_COLUMNS = ("row", *FIELDS.values())
REVISIT_COLUMNS = ("row", *REVISIT_FIELDS.values())


@dataclass(frozen=True, eq=False)
class Register:
    """A register as read: the rows that can be used (errors left out), and what was found."""
    file: str                       # its name
    sha256: str
    enterprises: pd.DataFrame       # ENTERPRISE_COLUMNS, one row per usable enterprise
    revisits: pd.DataFrame          # REVISIT_COLUMNS, the usable rows of 回访记录
    findings: tuple[Finding, ...]
    rows: int                       # enterprise rows in the workbook
    excluded: int                   # of them left out by an error

    @property
    def usable(self) -> bool:
        """Whether the workbook could be read as a register at all (it may still have no enterprise)."""
        return not any(f.code in WHOLE for f in self.findings)

    @property
    def units(self) -> set[str]:
        """The units with at least one enterprise in the register."""
        return set(self.enterprises["unit"].unique())


def find_register(reference: Path, settings: Settings) -> Path | None:
    """The register file in the reference folder, if there is one."""
    stem = str(settings["register"]["file"])
    for suffix in SUFFIXES:
        path = Path(reference) / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def register_limits(settings: Settings) -> dict:
    """The forms' limits, with the register's own size and cell limits: a province's register is a
    hundred thousand rows, and its sheet XML inflates to ten times the file."""
    own = settings["register"]
    size = int(own["file_bytes"])
    return {**settings.limits, "file_bytes": size, "cells": int(own["cells"]),
            "uncompressed_bytes": max(int(settings.limits["uncompressed_bytes"]), 10 * size),
            "member_bytes": max(int(settings.limits["member_bytes"]), 10 * size)}


def read_register(path: Path, units: Units, settings: Settings, today: dt.date | None = None,
                  data: bytes | None = None) -> Register:
    """Read and check the register at `path` (or its bytes `data`, named as `path`)."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    name, sha = path.name, hashlib.sha256(data).hexdigest()
    today = today or dt.datetime.now(settings.tz).date()
    limits = register_limits(settings)
    sniffed = sniff(data, name, limits)
    if sniffed.finding is not None:
        return _unusable(name, sha, sniffed.finding)
    try:
        grids = read_grids(data, int(limits["cells"]))
    except TooManyCells as err:
        return _unusable(name, sha, finding("TOO_LARGE", file=name, detail=f"有 {err.cells:,} 个单元格",
                                            limit=f"{limits['cells']:,} 个单元格"))
    except Exception as err:   # calamine's errors and its Rust panics (a BaseException) alike
        if not _reader_error(err):
            raise
        return _unusable(name, sha, finding("UNREADABLE", file=name, detail=type(err).__name__))
    except BaseException as err:
        if not _reader_error(err):
            raise
        return _unusable(name, sha, finding("UNREADABLE", file=name, detail="文件结构损坏"))
    return check_grids(grids, name, sha, units, pd.Timestamp(today))


def _reader_error(err: BaseException) -> bool:
    import python_calamine
    return isinstance(err, python_calamine.CalamineError) or type(err).__name__ == "PanicException"


def _unusable(name: str, sha: str, f: Finding) -> Register:
    return Register(name, sha, _empty(ENTERPRISE_COLUMNS), _empty(REVISIT_COLUMNS), (f,), 0, 0)


_DATES = {"issued", "expires", "withdrawn", "inspected", "revisited", "date"}


def _empty(columns) -> pd.DataFrame:
    """A frame of no rows with the columns' types, as a register read whole has them."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c in _DATES else "int64" if c == "row" else object)
                         for c in columns})


# ---------------------------------------------------------------- finding the table
_NOTE = re.compile(r"[(（][^)）]*[)）]|^[*＊]+|[*＊]+$|[:：]$")


def _label(value) -> str:
    return _NOTE.sub("", norm(value)) if isinstance(value, str) else ""


@dataclass(frozen=True)
class Table:
    grid: object                   # read.Grid
    header: int                    # zero-based row of the header
    columns: dict[str, int]        # column label -> zero-based column


def find_table(grids, labels: dict[str, tuple[str, ...]], needed: tuple[str, ...], prefer: str) -> Table | None:
    """The first header row (within a sheet's first 30 rows) naming at least `needed`: in the sheet
    named `prefer` if it has one, else in any sheet."""
    keys = {_label(spelling): column for column, spellings in labels.items() for spelling in spellings}
    ordered = sorted(grids, key=lambda g: norm(g.sheet) != prefer)
    for grid in ordered:
        r0, c0 = grid.origin
        for i, row in enumerate(grid.rows[:30]):
            found: dict[str, int] = {}
            for j, value in enumerate(row):
                column = keys.get(_label(value))
                if column and column not in found:
                    found[column] = c0 + j
            if all(c in found for c in needed):
                return Table(grid, r0 + i, found)
    return None


# ---------------------------------------------------------------- cells to typed columns
def _frame(table: Table, columns: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table's rows below the header as read, and each cell's text ('' where empty); index: the
    row's number in the workbook, a column for each label (all empty where the table has none). Rows
    with nothing in them are dropped."""
    grid = table.grid
    r0, c0 = grid.origin
    body = grid.rows[table.header - r0 + 1:]
    index = pd.RangeIndex(table.header + 2, table.header + 2 + len(body))
    raw, given = {}, {}
    for c in columns:
        j = table.columns.get(c)
        values = [row[j - c0] if j is not None and j - c0 < len(row) else "" for row in body]
        raw[c] = pd.Series(values, index=index, dtype=object)
        given[c] = pd.Series([v.strip() if v.__class__ is str else _text(v) for v in values], index=index, dtype=object)
    raw, given = pd.DataFrame(raw, index=index), pd.DataFrame(given, index=index)
    kept = (given != "").any(axis=1) if len(given) else pd.Series(dtype=bool)
    return raw[kept], given[kept]


def _text(v) -> str:
    """A cell as the text a message quotes: '' for an empty cell."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _looked_up(texts: pd.Series, lookup) -> pd.Series:
    """Each text's value by `lookup(text)` (None: not understood), asked once for each spelling."""
    values = {t: lookup(t) for t in texts.unique() if t}
    return pd.Series([values.get(t) if t else None for t in texts], index=texts.index, dtype=object)


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
                   r"|^(\d{4})(\d{2})(\d{2})$")


def parse_dates(values: pd.Series, texts: pd.Series) -> pd.Series:
    """A column of dates in any form clerks use (a date cell, 2016-09-28, 2016/9/28, 2016.9.28,
    2016年9月28日, 20160928 as text); NaT where empty or not a date (a number is not read as one)."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    is_date = values.map(lambda v: isinstance(v, dt.date))
    if is_date.any():
        days = [v.date() if isinstance(v, dt.datetime) else v for v in values[is_date]]
        out[is_date] = pd.to_datetime(pd.Series(days, index=values[is_date].index)).astype("datetime64[us]")
    is_text = values.map(lambda v: isinstance(v, str)) & (texts != "")
    if is_text.any():
        folded = texts[is_text].str.normalize("NFKC").str.strip()
        parts = folded.str.extract(_DATE)
        year = parts[0].fillna(parts[3])
        month = parts[1].fillna(parts[4])
        day = parts[2].fillna(parts[5])
        got = pd.to_datetime(pd.DataFrame({"year": pd.to_numeric(year), "month": pd.to_numeric(month),
                                           "day": pd.to_numeric(day)}), errors="coerce")
        out[is_text] = got.astype("datetime64[us]")
    return out


def _code(text: str) -> str:
    return re.sub(r"[\s\-－]", "", unicodedata.normalize("NFKC", text)).upper()


def code_problem(code: str) -> str:
    """What is wrong with a 统一社会信用代码, by python-stdnum's check (GB 32100-2015); '' if nothing."""
    try:
        uscc.validate(code)
        return ""
    except stdnum_errors.InvalidLength:
        return f"有 {len(code)} 位，应为 18 位"
    except stdnum_errors.InvalidFormat:
        return "含有不允许的字符（前 8 位应为数字，其后为数字或大写字母）"
    except stdnum_errors.InvalidChecksum:
        return f"的校验位（最后一位）不对，按前 17 位应为“{uscc.calc_check_digit(code[:17])}”"
    except stdnum_errors.ValidationError:
        return "不是有效的统一社会信用代码"


_WELL_FORMED = r"^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$"   # what stdnum's format check accepts


def _code_problems(codes: pd.Series) -> pd.Series:
    """`code_problem` of each code: a well-formed code asks python-stdnum only for its check
    character (one call, where validating asks twice); the others for what is wrong."""
    formed = codes.str.match(_WELL_FORMED)
    out = pd.Series("", index=codes.index, dtype=object)
    good = codes[formed]
    wrong = [c[-1] != uscc.calc_check_digit(c[:17]) for c in good]
    bad = good[wrong]
    out[bad.index] = [code_problem(c) for c in bad]
    rest = codes[~formed & (codes != "")]
    out[rest.index] = [code_problem(c) for c in rest]
    return out


def _risks(text: str) -> str:
    items = [RISK_WORDS.get(p, p) for p in re.split(r"[;；,，、/\s]+", norm(text) if text else "") if p]
    return ";".join(dict.fromkeys(i for i in items if i not in NONE_WORDS))


def typed_enterprises(raw: pd.DataFrame, given: pd.DataFrame, units: Units) -> tuple[pd.DataFrame, pd.Series]:
    """The register's columns made typed (None/NaT where empty or not understood), and each code's
    problem ('' when the check character confirms it)."""
    t = pd.DataFrame(index=raw.index)
    number = raw["统一社会信用代码"].map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    codes = given["统一社会信用代码"].map(_code)
    t["统一社会信用代码"] = codes.where(codes != "", None).astype(object)
    problems = _code_problems(codes)
    problems = problems.where(~number, "被保存成了数字（18 位代码存成数字后几位会丢失），请把该列设为“文本”后重新输入")
    t["企业名称"] = given["企业名称"].map(lambda s: re.sub(r"\s+", " ", s) or None).astype(object)
    t["所属单位"] = _looked_up(given["所属单位"], units.resolve)
    t["行业"] = _looked_up(given["行业"], lambda s: industry_of(norm(s)))
    t["规模"] = _looked_up(given["规模"], lambda s: SCALE_WORDS.get(norm(s)))
    t["状态"] = _looked_up(given["状态"], lambda s: STATUS_WORDS.get(norm(s)))
    t["等级"] = _looked_up(given["等级"], lambda s: GRADE_WORDS.get(norm(s)))
    t["证书编号"] = given["证书编号"].where(given["证书编号"] != "", None).astype(object)
    for column in DATE_COLUMNS:
        t[column] = parse_dates(raw[column], given[column])
    # 有效期至 left empty: three years from 发证日期, less a day
    default = t["发证日期"] + pd.DateOffset(years=3) - pd.Timedelta(days=1)
    t["有效期至"] = t["有效期至"].where(given["有效期至"] != "", default).astype("datetime64[us]")
    t["评审单位"] = given["评审单位"].map(lambda s: re.sub(r"\s+", " ", s) or None).astype(object)
    t["高风险作业"] = _looked_up(given["高风险作业"], lambda s: _risks(s) or None)
    return t, problems


def typed_revisits(raw: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    t = pd.DataFrame(index=raw.index)
    codes = given["统一社会信用代码"].map(_code)
    t["统一社会信用代码"] = codes.where(codes != "", None).astype(object)
    t["回访日期"] = parse_dates(raw["回访日期"], given["回访日期"])
    t["结果"] = _looked_up(given["结果"], lambda s: RESULT_WORDS.get(norm(s)))
    t["问题"] = given["问题"].where(given["问题"] != "", None).astype(object)
    return t


# ---------------------------------------------------------------- failures to findings
def failures(schema: pa.DataFrameSchema, typed: pd.DataFrame) -> pd.DataFrame:
    """(code, column, row) of every failed check, each cell once per code."""
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        ours = cases["check"].astype(str).isin(CODES)
        if not ours.all():   # a type or a value the reading made: our bug, not the register's
            raise AssertionError(f"{schema.name}: {cases[~ours].head(5).to_dict('records')}") from err
        out = pd.DataFrame({"code": cases["check"].astype(str), "column": cases["column"].astype(str),
                            "row": cases["index"].astype(int)})
        return out.drop_duplicates().reset_index(drop=True)
    return pd.DataFrame({"code": [], "column": [], "row": []})


_VALUE_LISTS = {"规模": SCALES, "状态": STATUSES, "等级": GRADES, "结果": RESULTS}
_MISSING_WHY = {"统一社会信用代码": "每家企业都要填写 18 位统一社会信用代码。", "企业名称": "请填写企业名称。",
                "所属单位": "请填写企业所在的乡（镇）办事处。", "行业": "请填写八个行业之一。",
                "规模": "请填写规模以上、规模以下或小微。", "状态": "请填写未开展、创建中、正在评审、已达标、已摘牌或已关闭。",
                "发证日期": "已达标企业必须填写证书的发证日期。", "摘牌日期": "已摘牌企业必须填写摘牌日期。",
                "回访日期": "请填写回访的日期。", "结果": "请填写合格、限期整改或摘牌。"}


def _detail(code: str, column: str, row: int, typed: pd.DataFrame, given: pd.DataFrame, today: pd.Timestamp,
            problems: pd.Series | None) -> dict:
    value = given.at[row, column]
    if code == "REG_BAD_CODE":
        return {"detail": problems.at[row]}
    if code == "REG_MISSING":
        why = _MISSING_WHY.get(column, "")
        if column == "等级":
            why = f"状态为“{typed.at[row, '状态']}”的企业必须填写等级（一级、二级或三级）。"
        return {"detail": why + "该行暂不计入台账。"}
    if code == "REG_BAD_VALUE":
        if column == "等级" and typed.at[row, "等级"] is not None:
            return {"detail": f"但状态为“{typed.at[row, '状态']}”的企业没有等级：请删除等级，"
                              "或改正状态（已达标、已摘牌才有等级）"}
        return {"detail": "应为" + "、".join(_VALUE_LISTS[column]) + "之一"}
    if code == "REG_BAD_DATE":
        got = typed.at[row, column]
        if got is pd.NaT or pd.isna(got):
            return {"detail": "不是日期，请按 2016-09-28 的写法填写，或设为日期格式"}
        if column in ("有效期至", "摘牌日期") and got < typed.at[row, "发证日期"]:
            return {"detail": f"早于发证日期 {typed.at[row, '发证日期'].date().isoformat()}，请核对"}
        return {"detail": f"晚于今天（{today.date().isoformat()}），请核对"}
    return {"value": value}


def findings_of(cases: pd.DataFrame, sheet: str, table: Table, typed: pd.DataFrame, given: pd.DataFrame,
                today: pd.Timestamp, problems: pd.Series | None = None, example: str = "") -> list[Finding]:
    """The findings of a failure table, in the order of the rows and the columns."""
    if cases.empty:
        return []
    order = {c: i for i, c in enumerate(typed.columns)}
    cases = cases.assign(k=cases["column"].map(order)).sort_values(["row", "k"])
    codes = typed["统一社会信用代码"]
    rows_of_code = codes[codes.notna() & codes.duplicated(keep=False)].groupby(lambda r: codes.at[r]).groups \
        if "REG_DUPLICATE" in set(cases["code"]) else {}
    out = []
    for code, column, row in zip(cases["code"], cases["column"], cases["row"]):
        col = table.columns.get(column)
        cell = f"{sheet}!{cell_name(row - 1, col)}" if col is not None else f"{sheet}!{row}"
        params = {"value": given.at[row, column], "label": column, "example": example}
        if code == "REG_DUPLICATE":
            others = [str(r) for r in rows_of_code.get(codes.at[row], ()) if r != row]
            params["expected"] = "、".join(others)
        elif code == "REG_NO_CERT_NUMBER":
            params["value"] = given.at[row, "企业名称"] or given.at[row, "统一社会信用代码"]
        else:
            params.update(_detail(code, column, row, typed, given, today, problems))
        out.append(finding(code, cell, **params))
    return out


def _error_rows(cases: pd.DataFrame) -> set[int]:
    """The rows an error leaves out."""
    errors = cases["code"].map(lambda c: CODES[c].severity == ERROR)
    return set(cases.loc[errors, "row"].astype(int)) if len(cases) else set()


# ---------------------------------------------------------------- the whole register
def check_grids(grids, name: str, sha: str, units: Units, today: pd.Timestamp) -> Register:
    table = find_table(grids, LABELS, ("统一社会信用代码", "企业名称"), SHEET)
    if table is None:
        return _unusable(name, sha, finding("REG_NO_TABLE", file=name, detail="中没有找到企业台账的表头"))
    missing = [c for c in REQUIRED if c not in table.columns]
    sheet = table.grid.sheet
    if missing:
        where = f"工作表“{sheet}”第 {table.header + 1} 行的表头中缺少" + "、".join(f"“{c}”" for c in missing) + "列"
        return _unusable(name, sha, finding("REG_NO_TABLE", f"{sheet}!A{table.header + 1}", file=name, detail=where))
    raw, given = _frame(table, tuple(LABELS))
    typed, problems = typed_enterprises(raw, given, units)
    example = units.names[0] if units.names else ""
    revisits, more = _revisits(grids, name, set(typed["统一社会信用代码"].dropna()), today)
    struck = frozenset(revisits.loc[revisits["result"] == "摘牌", "code"])
    cases = failures(enterprise_rows(typed, given, problems, units.names, today, struck), typed)
    found = findings_of(cases, sheet, table, typed, given, today, problems, example)
    bad_rows = _error_rows(cases)
    usable = typed[~typed.index.isin(bad_rows)]
    enterprises = usable.rename(columns=FIELDS).rename_axis("row").reset_index()
    revisits = revisits[revisits["code"].isin(set(enterprises["code"]))]
    return Register(name, sha, enterprises[list(ENTERPRISE_COLUMNS)].reset_index(drop=True),
                    revisits.reset_index(drop=True), tuple(found + more), len(typed), len(bad_rows))


def _revisits(grids, name: str, known: set, today: pd.Timestamp) -> tuple[pd.DataFrame, list[Finding]]:
    table = find_table([g for g in grids if norm(g.sheet) == REVISIT_SHEET] or grids, REVISIT_LABELS,
                       ("统一社会信用代码", "回访日期", "结果"), REVISIT_SHEET)
    if table is None:
        return _empty(REVISIT_COLUMNS), []
    raw, given = _frame(table, tuple(REVISIT_LABELS))
    typed = typed_revisits(raw, given)
    cases = failures(revisit_rows(typed, given, known, today), typed)
    found = findings_of(cases, table.grid.sheet, table, typed, given, today)
    bad = _error_rows(cases)
    usable = typed[~typed.index.isin(bad)].rename(columns=REVISIT_FIELDS).rename_axis("row").reset_index()
    return usable[list(REVISIT_COLUMNS)], found
