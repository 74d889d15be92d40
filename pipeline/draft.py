"""Turn a located table into numbers, with a finding for each cell that is not a count.

Runs per sheet next to the reader, in a worker process, and does what needs the file: text to
numbers, formulas without stored values. Kept free of pandas so workers start fast.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from .findings import Finding, finding
from .locate import Table
from .model import INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES, TOTAL_LABEL, cell_name
from .read import uncached_formulas

_ZERO = {"", "-", "—", "–", "－", "/", "／", "无", "0", "——", "--", "\\", "零"}
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def label(industry: str, level: int, measure: str) -> str:
    return f"{industry} {LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"


@dataclass(frozen=True)
class Count:
    value: float | None           # None: not a number (a finding says why)
    problem: tuple | None = None  # (code, shown value)


def to_count(raw) -> Count:
    """A clerk's cell as a count. Blank, dashes and 无 are zero; '3', '３', ' 3 ', '3家', 3.0 are 3."""
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
    counts: tuple                 # 24 (industry, level, new, cumulative, reviewing), None where unreadable
    cells: dict                   # (industry|合计, level, measure) -> "sheet!B6"
    totals: dict                  # (level, measure) -> number, or None when blank / no stored value
    total_note: str | None        # why totals are computed, for TOTAL_MISSING
    findings: tuple[Finding, ...] = field(default=())


def draft(table: Table, path: str, kind: str | None) -> Draft:
    grid, findings = table.grid, list(table.findings)
    cells, counts = {}, []
    uncached = None

    def formula(r, c):
        nonlocal uncached
        if kind not in ("xlsx", "xlsm"):
            return None
        if uncached is None:
            uncached = uncached_formulas(path, grid.sheet)
        return uncached.get(cell_name(r, c))

    for industry in INDUSTRIES:
        r = table.rows.get(industry)
        numbers = []
        for level in LEVELS:
            for measure in MEASURES:
                c = table.columns.get((level, measure))
                if r is None or c is None:
                    numbers.append(None if r is not None else 0.0)
                    continue
                ref = grid.ref(r, c)
                cells[(industry, level, measure)] = ref
                raw = grid.value(r, c)
                f = formula(r, c) if raw == "" else None
                if f is not None:
                    findings.append(finding("FORMULA_NOT_CACHED", ref, value=f"={f}",
                                            label=label(industry, level, measure)))
                    numbers.append(None)
                    continue
                count = to_count(raw)
                if count.problem:
                    code, shown = count.problem
                    findings.append(finding(code, ref, value=shown, label=label(industry, level, measure)))
                numbers.append(count.value)
        for i, level in enumerate(LEVELS):
            counts.append((industry, level, *numbers[i * 3: i * 3 + 3]))

    totals = {}
    if table.total_row is None:
        last = max(table.rows.values(), default=table.header_row)
        where = grid.ref(last + 1, table.label_col)
        findings.append(finding("TOTAL_MISSING", where, detail="报表中没有“合计”行"))
        total_note = "no row"
    else:
        blank, no_cache = [], []
        for level in LEVELS:
            for measure in MEASURES:
                c = table.columns.get((level, measure))
                if c is None:
                    continue
                ref = grid.ref(table.total_row, c)
                cells[(TOTAL_LABEL, level, measure)] = ref
                raw = grid.value(table.total_row, c)
                if raw == "" or raw is None:
                    (no_cache if formula(table.total_row, c) is not None else blank).append(ref)
                    totals[(level, measure)] = None
                    continue
                count = to_count(raw)
                totals[(level, measure)] = count.value
                if count.problem:
                    code, shown = count.problem
                    findings.append(finding(code, ref, value=shown,
                                            label=f"合计 {LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"))
        if no_cache:
            findings.append(finding("TOTAL_MISSING", no_cache[0],
                                    detail=f"合计行的公式没有保存计算结果（{len(no_cache)} 格）"))
        elif blank:
            findings.append(finding("TOTAL_MISSING", blank[0], detail=f"合计行有 {len(blank)} 格空白"))
        total_note = None
    return Draft(grid.sheet, table.unit_text, table.unit_cell, table.period, table.period_cell,
                 tuple(counts), cells, totals, total_note, tuple(findings))
