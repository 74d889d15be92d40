"""Realistic clerk workbooks, one per variant of FORM.md §2: for tests, `make demo` and the benchmark.

`write_sample(path, unit, period, rows, variant)` lays the form out as a grid of cells for the
variant (`_grid`), then writes it with one of three writers:

- `.xlsx`/`.xlsm`: straight to the zip from strings (`_write_xlsx`): no openpyxl, a few hundred
  µs a file, with the 合计 formulas' results stored as Excel stores them;
- `.xls`: xlwt (which cannot store formula results, so 合计 holds the typed numbers);
- `.ods`: odfpy, formulas with stored results.

`rows` maps (industry, level) -> (new, cumulative, reviewing); missing keys are zeros. For
`multi_month` it may instead map period -> rows (one sheet per period, named `9月`); given plain
rows, the two months before are derived from them (cumulative minus this month's new).

The file name is the caller's: `no_unit_in_sheet`/`no_period_in_sheet`/`blank_header…` rely on it.
Variants of a file type (xls, ods, xlsm, xls_renamed_xlsx) get the matching suffix; the returned path
says. `chart_sheet` is written with openpyxl (a chart sheet before the form), its 合计 results stored.

VARIANTS are read to exactly the numbers written; AMBIGUOUS are what a clerk also sends and the
reader must not read as one set of numbers (two months named, two forms on a sheet, two columns of
one measure, error values): each gets a finding (tests/test_variants.py names the code and cell).
"""
from __future__ import annotations

import csv
import functools
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.core.model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES, cell_name
from pipeline.core.period import Month
from pipeline.core.settings import ROOT

Rows = dict[tuple[str, int], tuple[int, int, int]]

VARIANTS = (
    "canonical", "offset", "spaced_labels", "industry_suffix", "shuffled_rows", "text_numbers",
    "total_blank", "total_values", "no_total_row", "formula_no_cache", "unit_in_title",
    "split_header", "seed_suffix", "period_zero", "period_fen", "period_dot", "period_dash",
    "alias_unit", "footer", "instructions_sheet", "multi_month", "no_unit_in_sheet",
    "no_period_in_sheet", "xls", "xls_renamed_xlsx", "ods", "xlsm",
    # blank template words are not a unit or a period; a 填报日期 is not the period; sheets that are
    # not the form; columns that are not this month's counts; numbers typed as text under Excel's SUM
    "blank_header", "blank_header_spaces", "fill_date", "enterprise_list", "notes_sheet", "chart_sheet",
    "previous_cumulative", "rate_column", "subtotal_group", "text_sum", "hidden_sheet",
)
AMBIGUOUS = ("two_periods", "two_forms_stacked", "two_forms_side", "duplicate_cumulative", "error_values",
             "sheet_month")
SUFFIX = {"xls": ".xls", "xls_renamed_xlsx": ".xlsx", "ods": ".ods", "xlsm": ".xlsm"}

UNITS_CSV = ROOT / "reference" / "units.csv"
INDUSTRY_SUFFIXED = {"冶金": "冶金行业", "机械": "机械行业", "轻工": "轻工业", "有色": "有色行业",
                     "纺织": "纺织业", "建材": "建材行业", "商贸": "商贸行业", "烟草": "烟草行业"}
SHUFFLED = ("商贸", "冶金", "烟草", "建材", "机械", "纺织", "有色", "轻工")
SPACED_MEASURES = {"new": "当月\n完成", "cumulative": "累 计 完 成（家）", "reviewing": "正在评审（家）"}
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ZERO_FORMS = (None, "-", "—", "/", "无", 0, "0")

# Styles of the fast writer (index into cellXfs of STYLES_XML).
ANNEX, TITLE, LINE, BOX, TEXT = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Formula:
    text: str                  # without "=": "SUM(B6:B13)"
    cached: int | None         # the stored result; None = none stored


@dataclass(frozen=True)
class ErrorValue:
    text: str                  # "#DIV/0!"
    formula: str | None = None  # the formula it is the stored result of; None = typed


@dataclass
class Grid:
    """One sheet: 0-based (row, col) -> int | float | str | Formula, with styles and merges."""
    name: str
    cells: dict = field(default_factory=dict)
    styles: dict = field(default_factory=dict)
    merges: list = field(default_factory=list)          # (r1, c1, r2, c2), inclusive
    widths: dict = field(default_factory=dict)          # col -> width in characters
    hidden: bool = False


# --- counts ---------------------------------------------------------------------------------

def _unit_sizes() -> dict[str, int]:
    with open(UNITS_CSV, encoding="utf-8-sig", newline="") as f:
        return {r["单位"]: int(r["规模以上企业数"] or 0) for r in csv.DictReader(f)}


def _aliases(unit: str) -> list[str]:
    with open(UNITS_CSV, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["单位"] == unit:
                return [a for a in r["别名"].split(";") if a]
    return []


def random_rows(rng: random.Random, unit: str) -> Rows:
    """Plausible counts for one month: small whole numbers, about half zero, cumulative >= new.

    Bigger units (规模以上企业数 in reference/units.csv) get somewhat bigger numbers.
    """
    top = max(2, _unit_sizes().get(unit, 30) // 10)
    rows: Rows = {}
    for industry in INDUSTRIES:
        for level in LEVELS:
            cumulative = rng.randint(1, top) if rng.random() < 0.5 else 0
            new = rng.randint(1, min(cumulative, 2)) if cumulative and rng.random() < 0.3 else 0
            reviewing = rng.randint(1, 3) if rng.random() < 0.35 else 0
            rows[(industry, level)] = (new, cumulative, reviewing)
    return rows


def rows_with_history(rng: random.Random, unit: str, periods: list[str]) -> dict[str, Rows]:
    """Consecutive months whose cumulative numbers follow: cum(m) = cum(m-1) + new(m)."""
    history: dict[str, Rows] = {}
    rows = random_rows(rng, unit)
    for i, period in enumerate(periods):
        if i:
            following: Rows = {}
            for key, (_new, cum, rev) in rows.items():
                new = 1 if rng.random() < 0.12 else 0
                following[key] = (new, cum + new, max(0, rev - new) if rng.random() < 0.8 else rng.randint(0, 3))
            rows = following
        history[period] = rows
    return history


def months_before(rows: Rows) -> Rows:
    """The previous month that `rows` follow from: cumulative minus this month's new, no new."""
    return {key: (0, cum - new, rev) for key, (new, cum, rev) in rows.items()}


# --- the grid of each variant ---------------------------------------------------------------

def _period_text(period: str, variant: str) -> str:
    year, month = Month(period).year, Month(period).number
    return {"period_zero": f"{year}年{month:02d}月", "period_fen": f"{year}年{month}月份",
            "period_dot": f"{year}.{month}", "period_dash": f"{year}-{month:02d}",
            }.get(variant, f"{year} 年 {month} 月")


def _count(value: int, i: int, variant: str):
    """How a clerk typed one count, the i-th zero or non-zero of the sheet: cycling through forms."""
    if variant == "text_sum":           # now and then a number typed as text, as a clerk does in Excel
        forms = (value, value, f"{value}家", value, f"'{value}")
        return forms[i % len(forms)] if value else value
    if variant != "text_numbers":
        return value
    if value == 0:
        return _ZERO_FORMS[i % len(_ZERO_FORMS)]
    forms = (str(value), f" {value} ", str(value).translate(_FULLWIDTH), f"{value}家", float(value))
    return forms[i % len(forms)]


class _Layout:
    """A sheet being laid out for a variant: cells put relative to where the table starts."""

    def __init__(self, name: str, variant: str):
        self.g, self.variant = Grid(name), variant
        self.top, self.left, self.gap = (1, 3, 1) if variant == "offset" else (0, 0, 0)

    def put(self, r: int, c: int, value, style: int = TEXT) -> None:
        if value is not None:
            self.g.cells[(self.top + r, self.left + c)] = value
        self.g.styles[(self.top + r, self.left + c)] = style

    def merge(self, r1: int, c1: int, r2: int, c2: int) -> None:
        self.g.merges.append((self.top + r1, self.left + c1, self.top + r2, self.left + c2))


def _grid(name: str, unit: str, period: str, rows: Rows, variant: str) -> Grid:
    s = _Layout(name, variant)
    _heading(s, unit, period, sum(len(heads) for _, heads in _groups(variant)))
    h = 3 + s.gap                                   # header row, relative
    columns, last = _column_heads(s, h)
    order = SHUFFLED if variant == "shuffled_rows" else INDUSTRIES
    shown = _counts(s, h, rows, columns, order)
    total_row = h + 2 + len(INDUSTRIES)
    if variant != "no_total_row":
        _totals(s, h, total_row, columns, shown)
    end_row = total_row + (0 if variant == "no_total_row" else 1)
    if variant == "offset":
        s.put(h, last + 1, "备注", BOX)
        s.put(h + 1, last + 1, None, BOX)
        s.merge(h, last + 1, h + 1, last + 1)
        for r in range(h + 2, end_row):
            s.put(r, last + 1, "本月新增达标企业已核实" if r == h + 3 else None, BOX)
        s.g.widths[s.left + last + 1] = 24
    if variant == "footer":
        year, month = Month(period).year, Month(period).number
        for c, text in ((0, "填表人：张伟"), (3, "审核人：李娜"), (5, "联系电话：0371-68812345"),
                        (8, f"填报日期：{year}年{month}月28日")):
            s.put(end_row + 1, c, text)
    s.g.widths[s.left] = 10
    for c in range(1, last + 1):
        s.g.widths[s.left + c] = 11
    return s.g


def _heading(s: _Layout, unit: str, period: str, last: int) -> None:
    """附件, the title and the 填报单位 line, as the variant writes them."""
    variant = s.variant
    s.put(0, 0, "附件", ANNEX)
    title = (unit if variant == "unit_in_title" else "") + FORM_TITLE
    if variant == "two_periods":        # last month's title left above this month's form
        title = _period_text(Month(period).plus(-1), "period_zero") + title
    s.put(1, 0, title, TITLE)
    s.merge(1, 0, 1, last)
    who = {"unit_in_title": "", "no_unit_in_sheet": "", "seed_suffix": f"{unit} 乡（镇）办事处",
           "blank_header": "", "blank_header_spaces": ""}.get(variant, unit)
    if variant == "alias_unit":
        who = (_aliases(unit) or [unit + "办事处"])[0]
    when = "" if variant == "no_period_in_sheet" else _period_text(period, variant)
    if variant == "split_header":
        year, month = Month(period).year, Month(period).number
        for c, value in ((0, "填报单位："), (1, who), (6, year), (7, "年"), (8, month), (9, "月")):
            s.put(2, c, value, LINE)
        return
    if variant in BLANK_LINES:
        line = BLANK_LINES[variant]
    else:
        line = f"填报单位：{who or '__________'}      {when or '_____ 年 _____ 月'}"
        if variant == "fill_date":      # the day it was filled in, a month later: not the period
            line += f"      填报日期：{_period_text(Month(period).plus(1), 'period_zero')}"
    s.put(2, 0, line, LINE)
    s.merge(2, 0, 2, last)


def _column_heads(s: _Layout, h: int) -> tuple[list, int]:
    """The two header rows from row `h`: (col, what it holds) of each column after 行业, and the last."""
    spaced = s.variant == "spaced_labels"
    s.put(h, 0, "行 业" if spaced else "行业", BOX)
    s.put(h + 1, 0, None, BOX)
    s.merge(h, 0, h + 1, 0)
    columns, c = [], 1
    for label, heads in _groups(s.variant):
        s.put(h, c, " ".join(label) if spaced and label in LEVEL_NAMES.values() else label, BOX)
        s.merge(h, c, h, c + len(heads) - 1)
        for m, (head, what) in enumerate(heads):
            if m:
                s.put(h, c + m, None, BOX)
            s.put(h + 1, c + m, head, BOX)
            columns.append((c + m, what))
        c += len(heads)
    return columns, c - 1


def _counts(s: _Layout, h: int, rows: Rows, columns: list, order) -> dict:
    """The industries' rows under the header: (row, col) -> what each cell holds."""
    seen = {False: 0, True: 0}          # zeros and non-zeros so far: each cycles through its forms
    shown = {}
    for r, industry in enumerate(order, start=h + 2):
        label = {"spaced_labels": " ".join(industry),
                 "industry_suffix": INDUSTRY_SUFFIXED[industry]}.get(s.variant, industry)
        s.put(r, 0, label, BOX)
        counts = {level: rows.get((industry, level), (0, 0, 0)) for level in LEVELS}
        for col, what in columns:
            if isinstance(what, tuple):             # a count: (level, index of the measure)
                value = int(counts[what[0]][what[1]])
                cell = _count(value, seen[bool(value)], s.variant)
                seen[bool(value)] += 1
            else:
                cell = what(counts)
            shown[(r, col)] = cell
            s.put(r, col, cell, BOX)
    if s.variant == "error_values":       # a formula's stored error, and an error typed
        for (industry, level, m), error in ERRORS.items():
            r = h + 2 + order.index(industry)
            col = next(col for col, what in columns if what == (level, m))
            shown[(r, col)] = error
            s.put(r, col, error, BOX)
    return shown


def _totals(s: _Layout, h: int, total_row: int, columns: list, shown: dict) -> None:
    """The 合计 row: SUM formulas with their stored results, or as the variant has it."""
    s.put(total_row, 0, "合 计" if s.variant == "spaced_labels" else "合计", BOX)
    for col, _ in columns:
        values = [shown[(r, col)] for r in range(h + 2, total_row)]
        first, end = cell_name(s.top + h + 2, s.left + col), cell_name(s.top + total_row - 1, s.left + col)
        s.put(total_row, col, _total(values, f"SUM({first}:{end})", s.variant), BOX)


def _total(values: list, formula: str, variant: str):
    errors = [v for v in values if isinstance(v, ErrorValue)]
    if errors:                      # SUM over an error is that error
        return ErrorValue(errors[0].text, formula)
    if any(isinstance(v, float) and not v.is_integer() for v in values):
        return None                 # no sum of rates
    # Excel's SUM: text is left out; the true sum of the counts otherwise
    excel = sum(v for v in values if isinstance(v, int))
    value = sum(int(counts_of(v)) for v in values) if variant != "text_sum" else excel
    return {"total_blank": None, "total_values": value, "text_numbers": value, "xls": value,
            "xls_renamed_xlsx": value, "formula_no_cache": Formula(formula, None)}.get(variant, Formula(formula, value))


BLANK_LINES = {"blank_header": "填报单位：_____ 乡（镇）办事处 ___ 年 ___ 月",   # the template's blanks
               "blank_header_spaces": "填报单位：      年   月"}
ERRORS = {("冶金", 1, 1): ErrorValue("#DIV/0!", "C8/0"), ("机械", 2, 0): ErrorValue("#N/A")}


def counts_of(value) -> int:
    """The count a clerk meant by a cell as `_count` wrote it."""
    if value is None or isinstance(value, ErrorValue):
        return 0
    if isinstance(value, str):
        text = value.translate(str.maketrans("０１２３４５６７８９", "0123456789")).strip().lstrip("'")
        text = text.removesuffix("家")
        return int(text) if text.isdigit() else 0
    return int(value)


def _groups(variant: str) -> list[tuple[str, list]]:
    """The column groups after 行业: (label over the group, [(header, what the column holds)]), what a
    column holds being (level, index of the measure) for a count, or a function of the row's counts
    ({level: (new, cumulative, reviewing)}) for a column that is not one."""
    spaced = variant == "spaced_labels"

    def head(measure):
        return SPACED_MEASURES[measure] if spaced else f"{MEASURE_NAMES[measure]} (家)"

    groups = []
    for level in LEVELS:
        heads = [(head(measure), (level, m)) for m, measure in enumerate(MEASURES)]
        if variant == "previous_cumulative":     # 上月累计 beside 累计完成: not this month's count
            heads.insert(1, ("上月累计 (家)", lambda counts, lv=level: counts[lv][1] - counts[lv][0]))
        elif variant == "rate_column":
            heads.insert(2, ("累计达标率", lambda counts, lv=level: round(counts[lv][1] / 20, 2)))
        elif variant == "duplicate_cumulative" and level == 1:   # two 累计完成 columns that disagree
            heads.insert(2, (head("cumulative"), lambda counts: counts[1][1] + 1))
        groups.append((LEVEL_NAMES[level], heads))
    if variant == "subtotal_group":              # 小计 over the three levels: not a level
        groups.append(("小计", [(head(measure), lambda counts, m=m: sum(counts[lv][m] for lv in LEVELS))
                                for m, measure in enumerate(MEASURES)]))
    return groups


def _enterprises_grid() -> Grid:
    """A list of certified enterprises: industries and levels in its columns, but not the form."""
    g = Grid("达标企业名单")
    lines = [("2016年达标企业名单",), ("序号", "企业名称", "行业", "达标等级", "证书编号"),
             (1, "郑州市某某机械有限公司", "机械", "三级", "豫AQB2016JX0012"),
             (2, "郑州某某铝业有限公司", "有色", "二级", "豫AQB2016YS0031"),
             (3, "郑州某某食品有限公司", "轻工", "三级", "豫AQB2016QG0107"),
             (4, "郑州某某建材有限公司", "建材", "三级", "豫AQB2016JC0045"),
             (5, "郑州某某商贸有限公司", "商贸", "一级", "豫AQB2016SM0002")]
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            g.cells[(r, c)] = value
            g.styles[(r, c)] = TEXT
    g.widths.update({1: 30, 4: 20})
    return g


def _notes_grid() -> Grid:
    """Notes a clerk adds, a line per industry: not the form."""
    g = Grid("备注")
    lines = [("备注",), ("行业", "情况说明"), ("机械", "新增三级达标企业1家"), ("建材", "1家企业正在评审"),
             ("商贸", "无变化"), ("一级企业", "无")]
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            g.cells[(r, c)] = value
            g.styles[(r, c)] = TEXT
    g.widths[1] = 40
    return g


def _instructions_grid() -> Grid:
    g = Grid("填表说明")
    lines = ("填表说明", "1. 本表每月填报一次，月底前报区安全监管局。", "2. 数字填企业家数，没有的填 0。",
             "3. 累计完成为截至本月底的达标企业总数。")
    for r, line in enumerate(lines):
        g.cells[(r, 0)] = line
        g.styles[(r, 0)] = TEXT
    g.widths[0] = 60
    return g


def _grids(unit: str, period: str, rows, variant: str) -> list[Grid]:
    if variant == "multi_month":
        if rows and all(isinstance(k, str) for k in rows):
            by_period = dict(rows)
        else:
            previous = months_before(rows or {})
            by_period = {Month(period).plus(-2): months_before(previous),
                         Month(period).plus(-1): previous, period: rows or {}}
        return [_grid(f"{int(p.split('-')[1])}月", unit, p, r, variant) for p, r in by_period.items()]
    if variant == "sheet_month":     # 9月 copied from 8月, its numbers changed, its header not
        previous = months_before(rows or {})
        before = _grid("8月", unit, Month(period).plus(-1), previous, "canonical")
        form = _grid(f"{Month(period).number}月", unit, Month(period).plus(-1), rows or {}, "canonical")
        return [before, form]
    form = _grid("Sheet1" if variant == "offset" else "月度报表", unit, period, rows or {}, variant)
    if variant == "hidden_sheet":    # last month's form kept on a hidden sheet
        before = _grid("上月", unit, Month(period).plus(-1), months_before(rows or {}), "canonical")
        before.hidden = True
        return [before, form]
    if variant in ("two_forms_stacked", "two_forms_side"):   # last month's form left on the sheet, above or beside
        before = _grid(form.name, unit, Month(period).plus(-1), months_before(rows or {}), "canonical")
        return [_joined(before, form, below=variant == "two_forms_stacked")]
    return {"instructions_sheet": [_instructions_grid(), form], "enterprise_list": [form, _enterprises_grid()],
            "notes_sheet": [form, _notes_grid()]}.get(variant, [form])


def _joined(first: Grid, second: Grid, below: bool) -> Grid:
    """Two forms on one sheet: `second` two rows under `first`, or two columns right of it."""
    height = 1 + max(r for r, _ in first.cells)
    width = 1 + max(c for _, c in first.cells)
    moved = shifted(second, *((height + 2, 0) if below else (0, width + 2)))
    return Grid(first.name, {**first.cells, **moved.cells}, {**first.styles, **moved.styles},
                first.merges + moved.merges, {**first.widths, **moved.widths})


def shifted(g: Grid, dr: int, dc: int) -> Grid:
    """The sheet with everything `dr` rows down and `dc` columns right (formulas' ranges too)."""
    def move(value):
        if isinstance(value, Formula):
            return Formula(re.sub(r"([A-Z]+)(\d+)", lambda m: cell_name(int(m[2]) - 1 + dr, _col(m[1]) + dc),
                                  value.text), value.cached)
        return value
    return Grid(g.name, {(r + dr, c + dc): move(v) for (r, c), v in g.cells.items()},
                {(r + dr, c + dc): style for (r, c), style in g.styles.items()},
                [(r1 + dr, c1 + dc, r2 + dr, c2 + dc) for r1, c1, r2, c2 in g.merges],
                {c + dc: w for c, w in g.widths.items()})


def _col(letters: str) -> int:
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col - 1


def write_sample(path, unit: str, period: str, rows, variant: str = "canonical") -> Path:
    """Write one clerk's workbook in `variant` (see VARIANTS); returns the path written."""
    if variant not in VARIANTS + AMBIGUOUS:
        raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS + AMBIGUOUS)}")
    path = Path(path)
    if variant in SUFFIX:
        path = path.with_suffix(SUFFIX[variant])
    if variant in FAST:
        _write_fast(path, unit, period, rows or {}, variant)
        return path
    grids = _grids(unit, period, rows, variant)
    if variant in ("xls", "xls_renamed_xlsx"):
        _write_xls(path, grids)
    elif variant == "ods":
        _write_ods(path, grids)
    elif variant == "chart_sheet":
        _write_with_chart(path, grids)
    else:
        _write_xlsx(path, grids, macro=variant == "xlsm")
    return path


# --- writers --------------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_WHEN = (2016, 9, 28, 9, 0, 0)     # fixed zip times: same content, same bytes

STYLES_XML = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
    '<fonts count="5"><font><sz val="11"/><name val="宋体"/><charset val="134"/></font>'
    '<font><sz val="14"/><name val="黑体"/><charset val="134"/></font>'
    '<font><b/><sz val="18"/><name val="宋体"/><charset val="134"/></font>'
    '<font><sz val="12"/><name val="仿宋"/><charset val="134"/></font>'
    '<font><sz val="11"/><name val="宋体"/><charset val="134"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom>'
    '<diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center"/></xf>'
    '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="4" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def _sheet_xml(g: Grid, strings: dict[str, int]) -> str:
    by_row: dict[int, list] = {}
    for rc in sorted(set(g.cells) | set(g.styles)):
        by_row.setdefault(rc[0], []).append(rc)
    cols = "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w}" customWidth="1"/>'
                   for c, w in sorted(g.widths.items()))
    out = [(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" '
            f'xmlns:r="{_REL}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'),
           f"<cols>{cols}</cols><sheetData>" if cols else "<sheetData>"]
    for r, cells in by_row.items():
        high = any(g.styles.get(rc) in (BOX, TITLE) for rc in cells)   # room for two lines of header
        out.append(f'<row r="{r + 1}" ht="30" customHeight="1">' if high else f'<row r="{r + 1}">')
        for rc in cells:
            ref, s, value = cell_name(*rc), g.styles.get(rc, 0), g.cells.get(rc)
            if value is None:
                out.append(f'<c r="{ref}" s="{s}"/>')
            elif isinstance(value, Formula):
                cached = "" if value.cached is None else f"<v>{value.cached}</v>"
                out.append(f'<c r="{ref}" s="{s}"><f>{value.text}</f>{cached}</c>')
            elif isinstance(value, ErrorValue):
                formula = f"<f>{value.formula}</f>" if value.formula else ""
                out.append(f'<c r="{ref}" s="{s}" t="e">{formula}<v>{escape(value.text)}</v></c>')
            elif isinstance(value, str):
                index = strings.setdefault(value, len(strings))
                out.append(f'<c r="{ref}" s="{s}" t="s"><v>{index}</v></c>')
            else:
                out.append(f'<c r="{ref}" s="{s}"><v>{value!r}</v></c>')
        out.append("</row>")
    out.append("</sheetData>")
    if g.merges:
        refs = "".join(f'<mergeCell ref="{cell_name(r1, c1)}:{cell_name(r2, c2)}"/>'
                       for r1, c1, r2, c2 in g.merges)
        out.append(f'<mergeCells count="{len(g.merges)}">{refs}</mergeCells>')
    out.append('<pageMargins left="0.6" right="0.6" top="0.8" bottom="0.8" header="0.3" footer="0.3"/>'
               '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="1"/>'
               '</worksheet>')
    return "".join(out)


def _write_xlsx(path: Path, grids: list[Grid], *, macro: bool = False) -> None:
    strings: dict[str, int] = {}
    sheets = [_sheet_xml(g, strings) for g in grids]
    _write_package(path, [g.name for g in grids], sheets, list(strings), macro=macro,
                   hidden={g.name for g in grids if g.hidden})


def _write_package(path: Path, names: list[str], sheets: list[str], strings: list[str], *,
                   macro: bool = False, hidden=frozenset()) -> None:
    n = len(sheets)
    main = "application/vnd.ms-excel.sheet.macroEnabled.main+xml" if macro else f"{_CT}.sheet.main+xml"
    types = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
                    for i in range(1, n + 1))
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>{types}'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/></Types>')
    root_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
                 f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
                 '</Relationships>')
    states = {name: ' state="hidden"' for name in hidden}
    sheet_list = "".join(f'<sheet name="{escape(name)}" sheetId="{i}"{states.get(name, "")} r:id="rId{i}"/>'
                         for i, name in enumerate(names, start=1))
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
                f'xmlns:r="{_REL}"><sheets>{sheet_list}</sheets><calcPr calcId="191029"/></workbook>')
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, n + 1))
    workbook_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">{rels}'
        f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>')
    items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}" '
              f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')
    members = [("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
               ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
               ("xl/styles.xml", STYLES_XML), ("xl/sharedStrings.xml", shared)]
    members += [(f"xl/worksheets/sheet{i}.xml", xml) for i, xml in enumerate(sheets, start=1)]
    buffer = io.BytesIO()      # one write to disk: zipfile seeks back to patch every header
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in members:
            info = zipfile.ZipInfo(name, _WHEN)
            # the small fixed parts stored, sheets and strings deflated: deflate costs ~25 µs a
            # member whatever its size, and stored members are valid in any reader
            deflate = name.startswith(("xl/worksheets/", "xl/sharedStrings"))
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(info, text.encode("utf-8"), compresslevel=1)
    path.write_bytes(buffer.getvalue())


# The fast path: the sheet XML of a variant rendered once with sentinels where the numbers and
# the 填报单位 line go, then filled per file. Same bytes as the general path, ~5x faster.
FAST = ("canonical", "offset")
_LINE = "@@LINE@@"
_SENTINEL = re.compile(r"<v>(9\d{6})</v>")


@functools.cache
def _fast_template(variant: str) -> tuple[list[str], list[str]]:
    keys = [(ind, level) for ind in INDUSTRIES for level in LEVELS]
    marked = {key: tuple(9_000_000 + 3 * i + m for m in range(3)) for i, key in enumerate(keys)}
    grid = _grid("Sheet1" if variant == "offset" else "月度报表", "", "2016-01", marked, variant)
    for rc, value in grid.cells.items():
        if isinstance(value, Formula):      # its cached sum of sentinels: mark it by column instead
            grid.cells[rc] = Formula(value.text, 9_900_000 + rc[1])
        elif isinstance(value, str) and value.startswith("填报单位："):
            grid.cells[rc] = _LINE
    strings: dict[str, int] = {}
    sheet = _SENTINEL.split(_sheet_xml(grid, strings))
    return sheet, list(strings)


def _write_fast(path: Path, unit: str, period: str, rows: Rows, variant: str) -> None:
    sheet, strings = _fast_template(variant)
    year, month = Month(period).year, Month(period).number
    values = {}
    left = 3 if variant == "offset" else 0
    totals = [0] * (len(LEVELS) * len(MEASURES))
    i = 0
    for ind in INDUSTRIES:
        for level in LEVELS:
            for m, n in enumerate(rows.get((ind, level), (0, 0, 0))):
                values[str(9_000_000 + i)] = n
                totals[(level - 1) * len(MEASURES) + m] += n
                i += 1
    for c, total in enumerate(totals, start=1):
        values[str(9_900_000 + left + c)] = total
    xml = "".join(part if i % 2 == 0 else f"<v>{int(values[part])}</v>" for i, part in enumerate(sheet))
    line = f"填报单位：{unit}      {year} 年 {month} 月"
    _write_package(path, ["Sheet1" if variant == "offset" else "月度报表"], [xml],
                   [line if s == _LINE else s for s in strings])


def _write_with_chart(path: Path, grids: list[Grid]) -> None:
    """The form with a chart sheet of its 累计完成 before it (as Excel's F11 puts one), the 合计
    formulas with their results stored."""
    import xlsxwriter

    (g,) = grids
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    charts = book.add_chartsheet("图表")
    ws = book.add_worksheet(g.name)
    merged = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in g.merges}
    for (r, c), value in g.cells.items():
        if (r, c) in merged:
            ws.merge_range(r, c, *merged.pop((r, c)), "" if value is None else value)
        elif isinstance(value, Formula):
            ws.write_formula(r, c, f"={value.text}", None, value.cached)
        else:
            ws.write(r, c, value)
    for (r1, c1), (r2, c2) in merged.items():
        ws.merge_range(r1, c1, r2, c2, "")
    chart = book.add_chart({"type": "bar"})
    chart.add_series({"values": [g.name, 5, 8, 12, 8], "categories": [g.name, 5, 0, 12, 0]})
    chart.set_title({"name": "各行业累计完成（三级）"})
    charts.set_chart(chart)
    ws.activate()
    book.close()


def _plain(value):
    """A Formula as the number it shows (xlwt cannot store formula results); else as is."""
    if isinstance(value, Formula):
        return value.cached
    return value


def _write_xls(path: Path, grids: list[Grid]) -> None:
    import xlwt

    box = xlwt.easyxf("font: name 宋体; borders: left thin, right thin, top thin, bottom thin;"
                      "align: horiz center, vert center, wrap on")
    styles = {ANNEX: xlwt.easyxf("font: name 黑体, height 280"),
              TITLE: xlwt.easyxf("font: name 宋体, bold on, height 360; align: horiz center"),
              LINE: xlwt.easyxf("font: name 仿宋, height 240"), BOX: box}
    plain = xlwt.easyxf("font: name 宋体")
    wb = xlwt.Workbook(encoding="utf-8")
    for g in grids:
        ws = wb.add_sheet(g.name)
        covered = set()
        for r1, c1, r2, c2 in g.merges:
            ws.write_merge(r1, r2, c1, c2, _plain(g.cells.get((r1, c1))) or "",
                           styles.get(g.styles.get((r1, c1)), plain))
            covered |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
        for rc in set(g.cells) | set(g.styles):
            if rc not in covered:
                value = _plain(g.cells.get(rc))
                ws.write(*rc, "" if value is None else value, styles.get(g.styles.get(rc), plain))
        for c, width in g.widths.items():
            ws.col(c).width = int(256 * width)
        ws.landscape = True
        ws.paper_size_code = 9
        ws.fit_num_pages = 1
    wb.save(str(path))


def _ods_formula(text: str) -> str:
    return "of:=" + re.sub(r"([A-Z]+\d+):([A-Z]+\d+)", r"[.\1:.\2]", text)


def _write_ods(path: Path, grids: list[Grid]) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for g in grids:
        table = Table(name=g.name)
        spans = {(r1, c1): (r2 - r1 + 1, c2 - c1 + 1) for r1, c1, r2, c2 in g.merges}
        covered = {(r, c) for r1, c1, r2, c2 in g.merges
                   for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - set(spans)
        keys = set(g.cells) | set(g.styles)
        n_rows, n_cols = max(r for r, _ in keys) + 1, max(c for _, c in keys) + 1
        table.addElement(TableColumn(numbercolumnsrepeated=n_cols))
        for r in range(n_rows):
            tr = TableRow()
            for c in range(n_cols):
                if (r, c) in covered:
                    tr.addElement(CoveredTableCell())
                    continue
                value = g.cells.get((r, c))
                attrs = {}
                if (r, c) in spans:
                    attrs = {"numberrowsspanned": spans[(r, c)][0], "numbercolumnsspanned": spans[(r, c)][1]}
                if isinstance(value, Formula):
                    cell = TableCell(formula=_ods_formula(value.text), **attrs,
                                     **({} if value.cached is None else
                                        {"valuetype": "float", "value": value.cached}))
                    shown = "" if value.cached is None else str(value.cached)
                elif isinstance(value, (int, float)):
                    cell, shown = TableCell(valuetype="float", value=value, **attrs), str(value)
                else:
                    cell = TableCell(valuetype="string", **attrs) if value is not None else TableCell(**attrs)
                    shown = value or ""
                for line in shown.split("\n") if shown else ():
                    cell.addElement(P(text=line))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
