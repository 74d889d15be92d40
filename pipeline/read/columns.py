"""The count columns under the header: the (level, measure) each holds, and those two columns claim or none has."""
from __future__ import annotations

from pipeline.core.findings import Finding, finding
from pipeline.core.model import LEVELS, MEASURE_NAMES, MEASURES
from pipeline.read.grids import Grid
from pipeline.read.labels import cell_text


def count_columns(grid: Grid, label_col: int, first_row: int, right: int, levels: list, measures: list,
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
        if line[j] != "" and cell_text(line[j]).strip():
            return c0 + j
    return 10**6


def column_findings(grid: Grid, columns: dict, twice: dict, header_row: int, label_col: int) -> list[Finding]:
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


def _column_name(key: tuple) -> str:
    level, measure = key
    return f"{'一二三'[level - 1]}级 {MEASURE_NAMES[measure]}"
