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
    d = _Drafting(table, source, kind)
    counts = d.counts()
    rows = dict(table.rows)
    if table.total_row is None:
        last = max(table.rows.values(), default=table.header_row)
        d.findings.append(finding("TOTAL_MISSING", d.grid.ref(last + 1, table.label_col), detail="报表中没有“合计”行"))
        totals, total_note = dict.fromkeys(COLUMNS), "no row"
    else:
        rows[TOTAL_LABEL] = table.total_row
        totals, total_note = d.totals(counts), None
    cells = Cells(d.grid.sheet, rows, {key: c for key, c in zip(COLUMNS, d.columns) if c is not None})
    return Draft(d.grid.sheet, table.unit_text, table.unit_cell, table.period, table.period_cell,
                 tuple(counts), cells, tuple(totals.values()), total_note, tuple(d.findings), tuple(d.texts))


class _Drafting:
    """One table being drafted: its cells read as counts, with the findings on those that are not."""

    def __init__(self, table: Table, source: str | bytes, kind: str | None):
        self.table, self.grid, self.source, self.kind = table, table.grid, source, kind
        self.findings, self.texts, self._causes = list(table.findings), [], None
        self.columns = [table.columns.get(key) for key in COLUMNS]

    def cause(self, r: int, c: int):
        """What an empty-looking cell holds: None (nothing), ("formula", text) or ("error", "#REF!")."""
        if self._causes is None:
            self._causes = blank_causes(self.source, self.grid.sheet, self.kind)
        return self._causes.get(cell_name(r, c))

    def line(self, r: int) -> list:
        r0 = self.grid.origin[0]
        return self.grid.rows[r - r0] if 0 <= r - r0 < len(self.grid.rows) else ()

    def counts(self) -> list:
        """The 72 counts, industry by level by measure: None where a cell is not a count."""
        c0, columns = self.grid.origin[1], self.columns
        pick = None   # all nine count cells of a row in one step, when every column was found
        if None not in columns and min(columns) >= c0:
            offsets = [c - c0 for c in columns]
            pick, reach = operator.itemgetter(*offsets), max(offsets)
        counts = []
        for industry in INDUSTRIES:
            r = self.table.rows.get(industry)
            if r is None:
                counts += [0] * len(COLUMNS)
                continue
            line = self.line(r)
            whole = _whole(pick(line)) if pick is not None and len(line) > reach else None
            counts += whole if whole is not None else self._row(line, r, industry)
        return counts

    def _row(self, line, r: int, industry: str) -> list:
        c0, out = self.grid.origin[1], []
        for k, ((level, measure), c) in enumerate(zip(COLUMNS, self.columns)):
            if c is None:
                out.append(None)
                continue
            raw = line[c - c0] if 0 <= c - c0 < len(line) else ""
            if type(raw) is float and raw.is_integer():      # what nearly every count cell holds
                out.append(int(raw))
            else:
                out.append(self.count_of(raw, r, c, k, label(industry, level, measure)))
        return out

    def count_of(self, raw, r: int, c: int, k: int, what: str) -> int | None:
        """A cell that is not a plain number: blank, text, a formula without its value, an error value."""
        if type(raw) is int:
            return raw
        if raw == "" or raw is None:
            why = self.cause(r, c)
            if why is None:
                return 0
            code, shown = ("FORMULA_NOT_CACHED", f"={why[1]}") if why[0] == "formula" else ("NOT_A_NUMBER", why[1])
            self.findings.append(finding(code, self.grid.ref(r, c), value=shown, label=what))
            return None
        count = to_count(raw)
        if count.problem:
            code, shown = count.problem
            self.findings.append(finding(code, self.grid.ref(r, c), value=shown, label=what))
            return None
        if type(raw) is str and count.value:
            self.texts.append((k, self.grid.ref(r, c), raw.strip(), int(count.value)))
        return int(count.value)

    def totals(self, counts: list) -> dict:
        """The 合计 row's cells, level by measure: a number, or None (blank, a column not read);
        a blank, uncached or error total said once, at its first cell."""
        r, c0 = self.table.total_row, self.grid.origin[1]
        line, totals = self.line(r), dict.fromkeys(COLUMNS)
        missing: dict[str, list] = {"blank": [], "formula": [], "error": []}
        for k, ((level, measure), c) in enumerate(zip(COLUMNS, self.columns)):
            if c is None:
                continue
            raw = line[c - c0] if 0 <= c - c0 < len(line) else ""
            if type(raw) is float and raw.is_integer():
                totals[(level, measure)] = raw
            elif not all(counts[i * len(COLUMNS) + k] is not None for i in range(len(INDUSTRIES))):
                continue   # a count of the column not read: its finding says so, once
            elif raw == "" or raw is None:
                why = self.cause(r, c)
                missing["blank" if why is None else why[0]].append((self.grid.ref(r, c), why and why[1]))
            else:
                count = to_count(raw)
                totals[(level, measure)] = count.value
                if count.problem:
                    self.findings.append(finding(count.problem[0], self.grid.ref(r, c), value=count.problem[1],
                                                 label=f"合计 {LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"))
        self._missing_totals(**missing)
        return totals

    def _missing_totals(self, blank: list, formula: list, error: list) -> None:
        if error:
            self.findings.append(finding("TOTAL_MISSING", error[0][0],
                                         detail=f"合计行有 {len(error)} 格是错误值（{error[0][1]}）"))
        elif formula:
            self.findings.append(finding("TOTAL_MISSING", formula[0][0], detail=f"合计行的公式没有保存计算结果"
                                         f"（{len(formula)} 格；文件可能不是用 Excel 或 WPS 保存的）"))
        elif blank:
            self.findings.append(finding("TOTAL_MISSING", blank[0][0], detail=f"合计行有 {len(blank)} 格空白"))


def _whole(values: tuple) -> list | None:
    """The row of nearly every form: whole numbers, as floats; else None (the row is read a cell at a time)."""
    values = list(values)
    if set(map(type, values)) != _FLOAT:
        return None
    try:
        whole = list(map(int, values))
    except (ValueError, OverflowError):   # nan, inf
        return None
    return whole if whole == values else None
