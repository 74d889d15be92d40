"""Find the monthly form in a grid by its labels, never by fixed addresses.

The table is where the industry labels stand in one column under a header of levels (一级/二级/三级)
and measures (当月完成/累计完成/正在评审); the unit and period are in the lines above it (or in the
title). What comes back is where everything is, plus findings about the table's shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.core.findings import Finding, finding
from pipeline.core.model import INDUSTRIES, cell_name, norm
from pipeline.read.columns import column_findings, count_columns
from pipeline.read.grids import Grid
from pipeline.read.heading import unit_and_period
from pipeline.read.labels import TOTALS, cell_text, classify, industry_of

_FOOTER = ("填表人", "审核", "联系", "电话", "填报日期", "日期", "备注", "说明", "注:", "负责人", "制表")


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
    unit_text, unit_cell, period, period_cell, more = unit_and_period(grid, shape.top, shape.cols)
    return Table(grid, shape.header_row, shape.label_col, shape.rows, shape.total_row, shape.columns, unit_text,
                 unit_cell, period, period_cell, shape.findings + more)


def _labels(grid: Grid) -> tuple:
    """((row, col, what `classify` says), …) for every text cell that can be part of the table."""
    found = []
    r0, c0 = grid.origin
    for i, row in enumerate(grid.rows):
        for j, value in enumerate(row):
            if type(value) is str and value:
                what = classify(value)
                if what is not None:
                    found.append((r0 + i, c0 + j, what))
    return tuple(found)


def _column(grid: Grid, col: int, rows: range) -> tuple:
    """The texts of a column's cells over `rows`, as the search for labels reads them."""
    return tuple(cell_text(grid.value(r, col)) for r in rows)


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

    header_row, columns, twice = count_columns(grid, label_col, first_row, right, levels, measures, combined)
    if not columns and not twice:
        return None   # industry labels with no level and measure labels over them: not the form
    top = min([header_row] + [r for r, c, _ in levels if r < first_row])
    findings += column_findings(grid, columns, twice, header_row, label_col)

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
        label = norm(cell_text(grid.value(r, label_col)))
        if r >= end and (not label or any(label.startswith(f) for f in _FOOTER)):
            break
        if label and not industry_of(label) and label not in TOTALS \
                and not any(label.startswith(f) for f in _FOOTER):
            findings.append(finding("UNKNOWN_INDUSTRY", grid.ref(r, label_col), value=label))
        r += 1
    return r
