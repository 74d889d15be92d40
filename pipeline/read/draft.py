"""Turn a located table into numbers, with a finding for each cell that is not a count.

Runs per sheet next to the reader, in a worker process, and does what needs the file: text to
numbers, formulas without stored values, error values. Kept free of pandas so workers start fast.
"""
from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata
from dataclasses import dataclass, field

from pipeline.core.findings import Finding, finding
from pipeline.core.model import (
    COLUMNS,
    INDUSTRIES,
    LEVEL_NAMES,
    MEASURE_NAMES,
    TOTAL_LABEL,
    Cells,
    Row,
    cell_name,
    rows_of_counts,
)
from pipeline.read.grids import blank_causes
from pipeline.read.locate import Table

_ZERO = {"", "-", "—", "–", "－", "/", "／", "无", "0", "——", "--", "\\", "零"}
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def label(industry: str, level: int, measure: str) -> str:
    return f"{industry} {LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"


@dataclass(frozen=True)
class Count:
    value: float | None           # None: not a number (a finding says why)
    problem: tuple | None = None  # (code, shown value)


def to_count(raw) -> Count:
    """A clerk's cell as a count. Blank, dashes and 无 are zero; '3', '３', ' 3 ', '3家', "'3", 3.0 are 3."""
    if raw is None or raw == "":
        return Count(0.0)
    if isinstance(raw, bool):
        return Count(None, ("NOT_A_NUMBER", str(raw)))
    if isinstance(raw, (int, float)):
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            return Count(None, ("NOT_A_NUMBER", str(raw)))
        if not value.is_integer():
            return Count(None, ("NOT_INTEGER", f"{value:g}"))
        return Count(value)
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return Count(None, ("NOT_A_NUMBER", str(raw)))
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(" ", "")
    text = text.removesuffix("家")
    if text[:1] == "'":   # Excel's mark of a number typed as text, kept by some writers
        text = text[1:]
    if text in _ZERO:
        return Count(0.0)
    if _NUMBER.match(text):
        value = float(text)
        if not value.is_integer():
            return Count(None, ("NOT_INTEGER", text))
        return Count(value)
    return Count(None, ("NOT_A_NUMBER", str(raw).strip()[:40]))


@dataclass(frozen=True)
class Draft:
    """One sheet's form, read and converted, before the checks that need the whole run."""
    sheet: str
    unit_text: str | None
    unit_cell: str | None
    period: str | None
    period_cell: str | None
    counts: tuple                 # 72 counts, industry by level by measure; None where unreadable
    cells: Cells                  # where each count (and each 合计) stands
    totals: tuple                 # 9 合计 cells, level by measure: a number, or None (blank, no column)
    total_note: str | None        # why totals are computed, for TOTAL_MISSING
    findings: tuple[Finding, ...] = field(default=())
    # count cells holding a number as text ("1家", "'3"), which Excel's SUM leaves out:
    # (column of COLUMNS, cell, the text, the number)
    texts: tuple = ()

    def rows(self) -> tuple[Row, ...]:
        return rows_of_counts(self.counts)


_FLOAT = {float}


def draft(table: Table, source: str | bytes, kind: str | None) -> Draft:
    """The table's cells as counts. `source` is the file (path or bytes), looked at again only for a
    formula without a stored value."""
    grid, findings, texts = table.grid, list(table.findings), []
    r0, c0 = grid.origin
    causes = None

    def cause(r, c):
        """What an empty-looking cell holds: None (nothing), ("formula", text) or ("error", "#REF!")."""
        nonlocal causes
        if causes is None:
            causes = blank_causes(source, grid.sheet, kind)
        return causes.get(cell_name(r, c))

    def count_of(raw, r, c, k, industry, level, measure):
        """A cell that is not a plain number: blank, text, a formula without its value, an error value."""
        if type(raw) is int:
            return raw
        if raw == "" or raw is None:
            why = cause(r, c)
            if why is None:
                return 0
            if why[0] == "formula":
                findings.append(finding("FORMULA_NOT_CACHED", grid.ref(r, c), value=f"={why[1]}",
                                        label=label(industry, level, measure)))
            else:
                findings.append(finding("NOT_A_NUMBER", grid.ref(r, c), value=why[1],
                                        label=label(industry, level, measure)))
            return None
        count = to_count(raw)
        if count.problem:
            code, shown = count.problem
            findings.append(finding(code, grid.ref(r, c), value=shown, label=label(industry, level, measure)))
            return None
        if type(raw) is str and count.value:
            texts.append((k, grid.ref(r, c), raw.strip(), int(count.value)))
        return int(count.value)

    columns = [table.columns.get(key) for key in COLUMNS]
    pick = None   # all nine count cells of a row in one step, when every column was found
    if None not in columns and min(columns) >= c0:
        offsets = [c - c0 for c in columns]
        pick, reach = operator.itemgetter(*offsets), max(offsets)
    counts = []
    for industry in INDUSTRIES:
        r = table.rows.get(industry)
        if r is None:
            counts += [0] * len(COLUMNS)
            continue
        line = grid.rows[r - r0] if 0 <= r - r0 < len(grid.rows) else ()
        if pick is not None and len(line) > reach:
            values = list(pick(line))
            if set(map(type, values)) == _FLOAT:   # the row of nearly every form: whole numbers, as floats
                try:
                    whole = list(map(int, values))
                except (ValueError, OverflowError):   # nan, inf
                    whole = None
                if whole == values:
                    counts += whole
                    continue
        for k, ((level, measure), c) in enumerate(zip(COLUMNS, columns)):
            if c is None:
                counts.append(None)
                continue
            raw = line[c - c0] if 0 <= c - c0 < len(line) else ""
            if type(raw) is float and raw.is_integer():      # what nearly every count cell holds
                counts.append(int(raw))
            else:
                counts.append(count_of(raw, r, c, k, industry, level, measure))

    rows = dict(table.rows)
    totals = dict.fromkeys(COLUMNS)
    if table.total_row is None:
        last = max(table.rows.values(), default=table.header_row)
        findings.append(finding("TOTAL_MISSING", grid.ref(last + 1, table.label_col), detail="报表中没有“合计”行"))
        total_note = "no row"
    else:
        rows[TOTAL_LABEL] = r = table.total_row
        line = grid.rows[r - r0] if 0 <= r - r0 < len(grid.rows) else ()
        blank, no_cache, errors = [], [], []
        for k, ((level, measure), c) in enumerate(zip(COLUMNS, columns)):
            if c is None:
                continue
            raw = line[c - c0] if 0 <= c - c0 < len(line) else ""
            if type(raw) is float and raw.is_integer():
                totals[(level, measure)] = raw
                continue
            if not all(counts[i * len(COLUMNS) + k] is not None for i in range(len(INDUSTRIES))):
                totals[(level, measure)] = None   # a count of the column not read: its finding says so, once
                continue
            if raw == "" or raw is None:
                why = cause(r, c)
                (blank if why is None else no_cache if why[0] == "formula" else errors).append(
                    (grid.ref(r, c), why and why[1]))
                totals[(level, measure)] = None
                continue
            count = to_count(raw)
            totals[(level, measure)] = count.value
            if count.problem:
                code, shown = count.problem
                findings.append(finding(code, grid.ref(r, c), value=shown,
                                        label=f"合计 {LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"))
        if errors:
            findings.append(finding("TOTAL_MISSING", errors[0][0],
                                    detail=f"合计行有 {len(errors)} 格是错误值（{errors[0][1]}）"))
        elif no_cache:
            findings.append(finding("TOTAL_MISSING", no_cache[0][0], detail=f"合计行的公式没有保存计算结果"
                                    f"（{len(no_cache)} 格；文件可能不是用 Excel 或 WPS 保存的）"))
        elif blank:
            findings.append(finding("TOTAL_MISSING", blank[0][0], detail=f"合计行有 {len(blank)} 格空白"))
        total_note = None
    cells = Cells(grid.sheet, rows, {key: c for key, c in zip(COLUMNS, columns) if c is not None})
    return Draft(grid.sheet, table.unit_text, table.unit_cell, table.period, table.period_cell,
                 tuple(counts), cells, tuple(totals.values()), total_note, tuple(findings), tuple(texts))
