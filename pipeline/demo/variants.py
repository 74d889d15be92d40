"""Each clerk variant laid out as grids of cells: its title, 填报单位 line, header, counts, 合计 and other sheets."""
from __future__ import annotations

import csv

from pipeline.core.model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES, cell_name
from pipeline.core.period import Month
from pipeline.core.settings import ROOT
from pipeline.demo.sheet import ANNEX, BOX, LINE, TEXT, TITLE, ErrorValue, Formula, Grid, shifted

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


UNITS_CSV = ROOT / "reference" / "units.csv"
INDUSTRY_SUFFIXED = {"冶金": "冶金行业", "机械": "机械行业", "轻工": "轻工业", "有色": "有色行业",
                     "纺织": "纺织业", "建材": "建材行业", "商贸": "商贸行业", "烟草": "烟草行业"}
SHUFFLED = ("商贸", "冶金", "烟草", "建材", "机械", "纺织", "有色", "轻工")
SPACED_MEASURES = {"new": "当月\n完成", "cumulative": "累 计 完 成（家）", "reviewing": "正在评审（家）"}
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ZERO_FORMS = (None, "-", "—", "/", "无", 0, "0")


def _aliases(unit: str) -> list[str]:
    with open(UNITS_CSV, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["单位"] == unit:
                return [a for a in r["别名"].split(";") if a]
    return []


def months_before(rows: Rows) -> Rows:
    """The previous month that `rows` follow from: cumulative minus this month's new, no new."""
    return {key: (0, cum - new, rev) for key, (new, cum, rev) in rows.items()}


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


def form_grid(name: str, unit: str, period: str, rows: Rows, variant: str) -> Grid:
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


def workbook_grids(unit: str, period: str, rows, variant: str) -> list[Grid]:
    if variant == "multi_month":
        if rows and all(isinstance(k, str) for k in rows):
            by_period = dict(rows)
        else:
            previous = months_before(rows or {})
            by_period = {Month(period).plus(-2): months_before(previous),
                         Month(period).plus(-1): previous, period: rows or {}}
        return [form_grid(f"{int(p.split('-')[1])}月", unit, p, r, variant) for p, r in by_period.items()]
    if variant == "sheet_month":     # 9月 copied from 8月, its numbers changed, its header not
        previous = months_before(rows or {})
        before = form_grid("8月", unit, Month(period).plus(-1), previous, "canonical")
        form = form_grid(f"{Month(period).number}月", unit, Month(period).plus(-1), rows or {}, "canonical")
        return [before, form]
    form = form_grid("Sheet1" if variant == "offset" else "月度报表", unit, period, rows or {}, variant)
    if variant == "hidden_sheet":    # last month's form kept on a hidden sheet
        before = form_grid("上月", unit, Month(period).plus(-1), months_before(rows or {}), "canonical")
        before.hidden = True
        return [before, form]
    if variant in ("two_forms_stacked", "two_forms_side"):   # last month's form left on the sheet, above or beside
        before = form_grid(form.name, unit, Month(period).plus(-1), months_before(rows or {}), "canonical")
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
