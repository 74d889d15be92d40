"""Find the monthly form in a grid by its labels, never by fixed addresses.

The table is where the industry labels stand in one column under a header of levels (一级/二级/三级)
and measures (当月完成/累计完成/正在评审); the unit and period are in the lines above it (or in the
title). What comes back is where everything is, plus findings about the table's shape.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from pipeline.core.findings import Finding, finding
from pipeline.core.model import INDUSTRIES, LEVELS, MEASURE_NAMES, MEASURES, cell_name, norm
from pipeline.core.period import month_text
from pipeline.read.grids import Grid

_LEVELS = {"一级": 1, "二级": 2, "三级": 3}
_MEASURE_KEYS = (("当月", "new"), ("累计", "cumulative"), ("评审", "reviewing"))
# Header words of columns that are not this month's counts: 上月累计 is not 累计完成, nor is a 达标率,
# a 小计 or 合计 group, a target or a comparison.
_NOT_COUNT = re.compile(r"上月|上年|去年|上期|年初(?:数|累计|值)|同期|同比|环比|率|%|比例|占比|小计|合计|总计|目标|计划")
_TOTALS = ("合计", "总计", "小计", "全区合计")
_FOOTER = ("填表人", "审核", "联系", "电话", "填报日期", "日期", "备注", "说明", "注:", "负责人", "制表")
_ENUM = re.compile(r"^[\d一二三四五六七八]+[.、)]")
_UNIT_LABEL = re.compile(r"(?:(?:填报|报送|上报)单位|单位名称)[:：]?")
# What the template prints on the unit line around the blanks: not a unit's name.
_TEMPLATE_LABEL = re.compile(
    r"乡\s*[(（]\s*镇\s*[)）]\s*(街道)?办事处|[_＿]+|[×xXＸ＊*]{2,}|[(（]\s*盖?\s*公?\s*章\s*[)）]"
    r"|(?:\d{2,4}[\s_＿]*)?年[\s_＿]*(?:\d{1,2}[\s_＿]*)?月[\s_＿]*(?:\d{1,2}[\s_＿]*)?[日份]?|\d{4}\s*年度?")
# Other labels of the unit line: what follows them is not the unit (填报日期：2016年10月8日).
_OTHER_LABEL = re.compile(r"(?:填报|报送|填表|制表|报表)?(?:日期|时间)|填表人|审核人?|联系人|联系电话|电话|负责人|制表人")
# A month right after one of these is the day the form was filled in or sent, not its period (统计时间
# and 报表时间 do name the period).
_OTHER_END = re.compile("[期间人话核]")
_SEPARATOR = re.compile(r"[.\-/．－]")
_DATE_LABEL = re.compile(r"(?:(?:填报|填表|报送|上报|制表|打印)(?:日期|时间)|(?:^|\s)日期)\s*[:：]?\s*$")
_PERIODS = (
    re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*份)?(?!\s*\d{1,2}\s*日)"),
    re.compile(r"(?<![\d.])(\d{4})\s*[.\-/．－]\s*(\d{1,2})(?![\d])(?!\s*[.\-/．－]\s*\d)"),
)


@functools.lru_cache(maxsize=65536)
def industry_of(text: str) -> str | None:
    key = _ENUM.sub("", text)
    for suffix in ("行业", "业"):
        if key.endswith(suffix) and key[: -len(suffix)] in INDUSTRIES:
            return key[: -len(suffix)]
    return key if key in INDUSTRIES else None


def _header(text: str) -> tuple[int | None, str | None]:
    key = re.sub(r"\(家\)|家|\(户\)", "", text)
    if _NOT_COUNT.search(key):
        return None, None
    level = next((v for k, v in _LEVELS.items() if key.startswith(k) and len(key) <= 12), None)
    measure = next((m for k, m in _MEASURE_KEYS if k in key and len(key) <= 12), None)
    return level, measure


def find_periods(text: str) -> list[tuple[str, int]]:
    """[("2016-09", position), …]: every month named in a text, but a month labelled as a date
    (填报日期：2016年10月) and a day (2016年9月28日), which are not a report's period."""
    found = []
    for pattern in _PERIODS if _SEPARATOR.search(text) else _PERIODS[:1]:   # the second needs a separator
        for m in pattern.finditer(text):
            hit = _month_of(m, text)
            if hit:
                found.append(hit)
    return found


def find_period(text: str) -> tuple[str, int] | None:
    """("2016-09", position) for the first month named in a text, if any."""
    for pattern in _PERIODS:
        m = pattern.search(text)
        while m:
            hit = _month_of(m, text)
            if hit:
                return hit
            m = pattern.search(text, m.end())
    return None


def _month_of(m: re.Match, text: str) -> tuple[str, int] | None:
    year, month = int(m.group(1)), int(m.group(2))
    if 2000 <= year <= 2099 and 1 <= month <= 12 and not (
            ("日期" in text or "时间" in text) and _DATE_LABEL.search(text, 0, m.start())):
        return f"{year:04d}-{month:02d}", m.start()
    return None


@dataclass(frozen=True)
class Table:
    grid: Grid
    header_row: int
    label_col: int
    rows: dict                     # industry -> row
    total_row: int | None
    columns: dict                  # (level, measure) -> col
    unit_text: str | None
    unit_cell: str | None
    period: str | None
    period_cell: str | None
    findings: tuple[Finding, ...] = field(default=())


def _text(value) -> str:
    if type(value) is str:
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.datetime)):   # a month typed becomes its first day; another day is a date
        return f"{value.year}年{value.month}月" + (f"{value.day}日" if value.day != 1 else "")
    return str(value) if value is not None else ""


def _line(grid: Grid, r: int, cols: tuple[int, int]) -> tuple[str, list[tuple[int, int]]]:
    """The row's texts between columns `cols` (inclusive) joined with spaces, and (start offset, col)
    of each piece."""
    parts, spans, pos = [], [], 0
    r0, c0 = grid.origin
    row = grid.rows[r - r0] if 0 <= r - r0 < len(grid.rows) else []
    lo, hi = max(cols[0] - c0, 0), cols[1] - c0 + 1
    for j, v in enumerate(row if lo == 0 and hi >= len(row) else row[lo:hi], lo):
        if v == "":
            continue
        t = _text(v).strip()
        if t:
            spans.append((pos, c0 + j))
            parts.append(t)
            pos += len(t) + 1
    return " ".join(parts), spans


def _col_at(spans, offset: int) -> int | None:
    col = None
    for start, c in spans:
        if start <= offset:
            col = c
    return col


def _unit_and_period(grid: Grid, top: int, cols: tuple[int, int]):
    """The unit and period from the lines above the table, in columns `cols`: (unit text, its cell,
    period, its cell, findings). Two different months there are TWO_PERIODS, and no period: neither
    is chosen."""
    unit_text = unit_cell = None
    periods: dict = {}   # period -> the first cell naming it
    title_unit = None
    for r in range(grid.origin[0], top):
        line, spans = _line(grid, r, cols)
        if not line:
            continue
        hits, unit, title = _line_facts(line)
        for period, pos in hits:
            if period not in periods:
                periods[period] = grid.ref(r, _col_at(spans, pos))
        if unit and unit_text is None:
            candidate, offset = unit
            unit_text = candidate
            unit_cell = grid.ref(r, _col_at(spans, offset))
        if title and title_unit is None:
            title_unit = (title, grid.ref(r, spans[0][1]))
    if unit_text is None and title_unit:
        unit_text, unit_cell = title_unit
    if len(periods) > 1:
        (first, cell), (second, other) = list(periods.items())[:2]
        return unit_text, unit_cell, None, cell, (finding("TWO_PERIODS", cell, value=month_text(first),
                                                          expected=month_text(second), other=other),)
    period, period_cell = next(iter(periods.items()), (None, None))
    return unit_text, unit_cell, period, period_cell, ()


@functools.lru_cache(maxsize=4096)   # the lines of the template's title come back in every form
def _line_facts(line: str) -> tuple:
    """What one line above the table says: (the months it names, each with where it starts; the unit
    after 填报单位 — its text, or None when only the label and the template's blanks are there — and
    where it starts, or None; the unit in a 月度报表 title, or None)."""
    hits = tuple(find_periods(line.replace("：", ":")))
    unit = title = None
    m = _UNIT_LABEL.search(line) if "单位" in line else None
    if m:
        rest = line[m.end():]
        if _OTHER_END.search(rest):   # what the other labels end with
            other = _OTHER_LABEL.search(rest)
            if other:
                rest = rest[: other.start()]
        p = next((pos - m.end() for _, pos in hits if pos >= m.end()), None)   # the month after the unit
        if p is not None:
            rest = rest[:p]
        candidate = _TEMPLATE_LABEL.sub(" ", rest).strip(" :：")
        if candidate:
            unit = (candidate, m.end() + line[m.end():].find(candidate.split()[0]))
        else:
            unit = (None, m.start())
    key = norm(line)
    if "月度报表" in key:
        prefix = key.split("工贸")[0] if "工贸" in key else ""
        p = find_period(prefix)
        if p:
            prefix = prefix[: p[1]]
        title = _TEMPLATE_LABEL.sub("", prefix.replace("附件", "")).strip(":：") or None
    return hits, unit, title


def _group_columns(grid: Grid, measure_cols, level_hits, header_row: int, level_row: int | None):
    """(level, measure) -> col, from the measure cells of the header and the level labels above; and
    each (level, measure) that two columns claim, with both columns (a choice would be a guess)."""
    columns: dict = {}
    twice: dict = {}

    def put(key, col):
        if columns.setdefault(key, col) != col:
            twice.setdefault(key, (columns[key], col))

    groups = _measure_groups(measure_cols)
    levels = sorted(level_hits)  # (col, level)
    if len(groups) == len(levels) == len({level for _, level in levels}):
        for (_, level), group in zip(levels, groups):
            for col, measure in group:
                put((level, measure), col)
        return columns, twice
    spans = {}
    for (r1, c1), (_r2, c2) in grid.merged:
        spans[(r1, c1)] = (c1, c2)
    for col, level in levels:
        # a level's columns: those its merged label spans, else up to the next label of its row
        # (another level, or a 小计/合计 group, a 备注)
        lo, hi = col, _next_label(grid, level_row, col) - 1
        for (r1, c1), (c1_, c2_) in spans.items():
            if c1 == col and r1 <= header_row:
                lo, hi = c1_, c2_
        for mcol, measure in measure_cols:
            if lo <= mcol <= hi:
                put((level, measure), mcol)
    return columns, twice


def _measure_groups(measure_cols: list) -> list[list]:
    """The header's measures in groups, a group ending where a measure comes again (a level's three)."""
    groups, current, seen = [], [], set()
    for col, measure in measure_cols:
        if measure in seen:
            groups.append(current)
            current, seen = [], set()
        current.append((col, measure))
        seen.add(measure)
    return groups + [current] if current else groups


def _next_label(grid: Grid, row: int | None, col: int) -> int:
    """The column of the first non-empty cell right of `col` in `row` (past the sheet: its width)."""
    r0, c0 = grid.origin
    line = grid.rows[row - r0] if row is not None and 0 <= row - r0 < len(grid.rows) else ()
    for j in range(max(col - c0 + 1, 0), len(line)):
        if line[j] != "" and _text(line[j]).strip():
            return c0 + j
    return 10**6


@functools.lru_cache(maxsize=65536)   # the same labels come back in every form
def _classify(value: str) -> tuple | None:
    """What a text cell can be in the table: ("industry", name), ("total",), ("header", level,
    measure) with either part None, or None."""
    key = norm(value)
    if not key or len(key) > 16:
        return None
    ind = industry_of(key)
    if ind:
        return ("industry", ind)
    if key in _TOTALS:
        return ("total",)
    level, measure = _header(key)
    return ("header", level, measure) if level or measure else None


@dataclass(frozen=True)
class _Shape:
    """Where a form's parts are, found from the labels: everything of a Table but the unit and period."""
    header_row: int
    label_col: int
    rows: dict
    total_row: int | None
    columns: dict
    top: int                       # the first row of the table's header: unit and period are above it
    cols: tuple[int, int]          # the columns of the lines above it that are its own (not a form beside)
    findings: tuple[Finding, ...]
    checked: range                 # the rows of the label column read for labels that are not industries
    labels: tuple                  # their texts


_SHAPES: dict = {}    # the shape of a grid's labels -> its _Shape, or None: no form
_SHAPES_KEPT = 4096


def locate(grid: Grid) -> Table | None:
    """The form in this grid, or None when the sheet does not hold it.

    A sheet holds the form when it has the form's grid of labels: industry labels (冶金…烟草) in a
    column, under level and measure labels (一级…三级, 当月完成/累计完成/正在评审) right of it. One with
    only some of the grid (a column, an industry missing) is still the form, and its findings say what
    is missing; a sheet without such a header (填表说明, a list of enterprises, notes, a chart) is not.

    A country's month is mostly the template as issued, at a few offsets: the shape found for one
    grid's labels is kept and used again for a grid with the same labels in the same places, once the
    other texts of its label column are seen to be the same too."""
    labels = _labels(grid)
    key = (grid.sheet, grid.origin, len(grid.rows), grid.merged, labels)
    shape = _SHAPES.get(key, False)
    if shape is False or (shape is not None and _column(grid, shape.label_col, shape.checked) != shape.labels):
        shape = _shape(grid, labels)
        if len(_SHAPES) >= _SHAPES_KEPT:
            _SHAPES.clear()
        _SHAPES[key] = shape
    if shape is None:
        return None
    unit_text, unit_cell, period, period_cell, more = _unit_and_period(grid, shape.top, shape.cols)
    return Table(grid, shape.header_row, shape.label_col, shape.rows, shape.total_row, shape.columns, unit_text,
                 unit_cell, period, period_cell, shape.findings + more)


def _labels(grid: Grid) -> tuple:
    """((row, col, what `_classify` says), …) for every text cell that can be part of the table."""
    found = []
    r0, c0 = grid.origin
    for i, row in enumerate(grid.rows):
        for j, value in enumerate(row):
            if type(value) is str and value:
                what = _classify(value)
                if what is not None:
                    found.append((r0 + i, c0 + j, what))
    return tuple(found)


def _column(grid: Grid, col: int, rows: range) -> tuple:
    """The texts of a column's cells over `rows`, as the search for labels reads them."""
    return tuple(_text(grid.value(r, col)) for r in rows)


def _shape(grid: Grid, labels: tuple) -> _Shape | None:
    industries, levels, measures, combined, totals = _kinds(labels)
    by_col: dict = {}
    for _r, c, ind in industries:
        by_col.setdefault(c, set()).add(ind)
    if not by_col:
        return None
    label_col = max(by_col, key=lambda c: (len(by_col[c]), -c))
    if len(by_col[label_col]) < 3 and not (levels or combined):
        return None
    labelled = sorted((r, ind) for r, c, ind in industries if c == label_col)
    first_row = labelled[0][0]
    findings: list[Finding] = []

    # Another column of industry labels is a second form beside this one: its header is not this one's.
    beside = sorted(c for c in by_col if c != label_col and len(by_col[c]) >= 3)
    right = min((c for c in beside if c > label_col), default=10**6)
    if beside:
        c2 = beside[0]
        r2 = min(r for r, c, _ in industries if c == c2)
        findings.append(finding("SECOND_FORM", grid.ref(r2, c2), other=grid.ref(first_row, label_col)))

    header_row, columns, twice = _count_columns(grid, label_col, first_row, right, levels, measures, combined)
    if not columns and not twice:
        return None   # industry labels with no level and measure labels over them: not the form
    top = min([header_row] + [r for r, c, _ in levels if r < first_row])
    findings += _column_findings(grid, columns, twice, header_row, label_col)

    total_row = next((r for r, c in totals if c == label_col and r > header_row), None)
    heads = sorted({r for r, *_ in levels + measures + combined})
    rows, below = _industry_rows(grid, labelled, label_col, header_row, total_row, heads, findings)
    if below is not None and total_row is not None and total_row > below:
        total_row = None   # the 合计 of the form below
    limit = grid.height if below is None else min([below] + [h for h in heads if max(rows.values()) < h < below])
    r = _other_rows(grid, label_col, header_row, total_row, max(rows.values(), default=header_row), limit, findings)
    for ind in INDUSTRIES:
        if ind not in rows:
            where = grid.ref((min(rows.values()) if rows else header_row + 1), label_col)
            findings.append(finding("MISSING_INDUSTRY", where, value=ind))

    checked = range(header_row + 1, r + 1)
    cols = (label_col if any(c < label_col for c in beside) else -1, right - 1)
    return _Shape(header_row, label_col, rows, total_row, columns, top, cols, tuple(findings), checked,
                  _column(grid, label_col, checked))


def _kinds(labels: tuple) -> tuple[list, list, list, list, list]:
    """The labels by kind: industries (r, c, industry), levels (r, c, level), measures (r, c, measure),
    combined level-and-measure labels (r, c, level, measure), and 合计 labels (r, c)."""
    industries, levels, measures, combined, totals = [], [], [], [], []
    for r, c, what in labels:
        if what[0] == "industry":
            industries.append((r, c, what[1]))
        elif what[0] == "total":
            totals.append((r, c))
        elif what[1] and what[2]:
            combined.append((r, c, what[1], what[2]))
        elif what[1]:
            levels.append((r, c, what[1]))
        else:
            measures.append((r, c, what[2]))
    return industries, levels, measures, combined, totals


def _count_columns(grid: Grid, label_col: int, first_row: int, right: int, levels: list, measures: list,
            combined: list) -> tuple[int, dict, dict]:
    """The header row over the industries, (level, measure) -> col of the count columns under it, and
    each (level, measure) two columns claim (both columns: a choice would be a guess)."""
    above = [(r, c, m) for r, c, m in measures if r < first_row and label_col < c < right]
    combined = [x for x in combined if label_col < x[1] < right]
    if combined:
        header_row = max(r for r, *_ in combined if r < first_row) if any(
            r < first_row for r, *_ in combined) else first_row - 1
        columns: dict = {}
        twice: dict = {}
        for r, c, lvl, m in sorted(combined, key=lambda x: x[1]):
            if r == header_row and columns.setdefault((lvl, m), c) != c:
                twice.setdefault((lvl, m), (columns[(lvl, m)], c))
        return header_row, columns, twice
    if above:
        header_row = max(r for r, _, _ in above)
        measure_cols = sorted((c, m) for r, c, m in above if r == header_row)
        top_level_row = max((r for r, c, _ in levels if r < header_row), default=None)
        level_hits = [(c, lvl) for r, c, lvl in levels if r == top_level_row and label_col <= c < right]
        return (header_row, *_group_columns(grid, measure_cols, level_hits, header_row, top_level_row))
    return first_row - 1, {}, {}


def _column_findings(grid: Grid, columns: dict, twice: dict, header_row: int, label_col: int) -> list[Finding]:
    """AMBIGUOUS_COLUMN for each (level, measure) two columns claim (taken out of `columns`), and
    MISSING_COLUMN for each no column has."""
    found = []
    for key, (c1, c2) in twice.items():
        del columns[key]
        found.append(finding("AMBIGUOUS_COLUMN", grid.ref(header_row, c2), value=_column_name(key),
                             other=grid.ref(header_row, c1)))
    for level in LEVELS:
        for measure in MEASURES:
            if (level, measure) not in columns and (level, measure) not in twice:
                found.append(finding("MISSING_COLUMN", grid.ref(header_row, label_col),
                                     value=_column_name((level, measure))))
    return found


def _industry_rows(grid: Grid, labelled: list, label_col: int, header_row: int, total_row: int | None, heads: list,
                   findings: list) -> tuple[dict, int | None]:
    """Industry -> its row under the header; and the row where a second form under this one begins."""
    rows: dict = {}
    first_row = labelled[0][0]
    for r, ind in labelled:
        if r <= header_row:
            continue
        if ind not in rows:
            rows[ind] = r
            continue
        # the same industries again, after this form's 合计 or under a header of their own: a second form
        last = max(rows.values())
        headed = any(last < h < r for h in heads) or (total_row is not None and last < total_row < r)
        if headed and len({i for q, i in labelled if q >= r}) >= 3:
            findings.append(finding("SECOND_FORM", grid.ref(r, label_col), other=grid.ref(first_row, label_col)))
            return rows, r
        findings.append(finding("DUPLICATE_INDUSTRY", grid.ref(r, label_col), value=ind,
                                expected=cell_name(rows[ind], label_col)))
    return rows, None


def _other_rows(grid: Grid, label_col: int, header_row: int, total_row: int | None, last: int, limit: int,
                findings: list) -> int:
    """UNKNOWN_INDUSTRY for each other label among the industries (a footer or 合计 aside); the row the
    table's labels end at."""
    end = total_row if total_row is not None else last + 1
    r = header_row + 1
    while (r < end or (total_row is None and r < grid.height)) and r < limit:
        label = norm(_text(grid.value(r, label_col)))
        if r >= end and (not label or any(label.startswith(f) for f in _FOOTER)):
            break
        if label and not industry_of(label) and label not in _TOTALS \
                and not any(label.startswith(f) for f in _FOOTER):
            findings.append(finding("UNKNOWN_INDUSTRY", grid.ref(r, label_col), value=label))
        r += 1
    return r


def _column_name(key: tuple) -> str:
    level, measure = key
    return f"{'一二三'[level - 1]}级 {MEASURE_NAMES[measure]}"
