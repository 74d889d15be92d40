"""A register's table found by the labels of its header, and its cells made typed columns (words, dates, codes checked)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from pipeline.core.model import norm
from pipeline.read.labels import industry_of
from pipeline.read.units import Units
from pipeline.schemas.register import DATE_COLUMNS, GRADES, RESULTS, SCALES, STATUSES

HIGH_RISK = ("临时用电", "有限空间", "动火", "起重吊装", "主要设备设施")
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


def frame(table: Table, columns: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
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
