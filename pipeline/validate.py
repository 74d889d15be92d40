"""Check many drafted forms at once: the pandera schema of `schemas/rows.py`, lazily, and the
合计 row. Pandera's failure table becomes findings with cells here, in one place.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors

from schemas.rows import MonthlyRows

from .draft import Draft, label
from .findings import Finding, finding
from .model import COLUMNS, INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES, ROW_KEYS, TOTAL_LABEL, Row

_CODE_OF_CHECK = {"greater_than_or_equal_to(0)": "NEGATIVE", "cumulative_covers_month": "CUMULATIVE_LT_MONTH"}


def frame_of(drafts: list[Draft]) -> pd.DataFrame:
    """One row per (form, industry, level): the tidy table the schema checks, built from arrays."""
    n = len(drafts)
    values = np.array([d.counts for d in drafts], dtype="float64").reshape(n * len(ROW_KEYS), len(MEASURES))
    frame = pd.DataFrame({
        "submission": np.repeat(np.arange(n), len(ROW_KEYS)),
        "industry": np.tile(np.array([k[0] for k in ROW_KEYS], dtype=object), n),
        "level": np.tile(np.array([k[1] for k in ROW_KEYS]), n),
    })
    for k, m in enumerate(MEASURES):
        frame[m] = values[:, k]
    return frame


def schema_findings(frame: pd.DataFrame, drafts: list[Draft]) -> dict[int, list[Finding]]:
    """Run the pandera schema once, lazily, and turn its failure table into findings with cells."""
    out: dict[int, list[Finding]] = {}
    if frame.empty:
        return out
    try:
        MonthlyRows.validate(frame, lazy=True)
        return out
    except pandera.errors.SchemaErrors as err:
        failures = err.failure_cases
    for case in failures.itertuples(index=False):
        code = _CODE_OF_CHECK.get(str(case.check))
        if code is None or pd.isna(case.index):
            continue
        row = frame.loc[int(case.index)]
        i = int(row["submission"])
        industry, level = row["industry"], int(row["level"])
        if code == "NEGATIVE":
            measure = case.column
            out.setdefault(i, []).append(finding(
                code, drafts[i].cells.get((industry, level, measure)), value=f"{row[measure]:g}",
                label=label(industry, level, measure)))
        else:
            if case.column not in (None, "cumulative") and not pd.isna(case.column):
                continue  # a dataframe check reports each failing row once per column
            out.setdefault(i, []).append(finding(
                code, drafts[i].cells.get((industry, level, "cumulative")), value=f"{row['cumulative']:g}",
                expected=f"{row['new']:g}", label=label(industry, level, "cumulative")))
    for i in out:  # one finding per cell and code
        seen, unique = set(), []
        for f in out[i]:
            if (f.code, f.cell) not in seen:
                seen.add((f.code, f.cell))
                unique.append(f)
        out[i] = unique
    return out


def total_findings(frame: pd.DataFrame, drafts: list[Draft]) -> dict[int, list[Finding]]:
    """合计 cells that differ from the sum of their column over the eight industries."""
    values = frame[list(MEASURES)].to_numpy().reshape(len(drafts), len(INDUSTRIES), len(LEVELS) * len(MEASURES))
    sums = np.nansum(values, axis=1)                  # (form, level by measure)
    given = np.array([d.totals for d in drafts], dtype="float64")   # NaN: blank, or no such column
    out: dict[int, list[Finding]] = {}
    for i, k in zip(*np.nonzero(~np.isnan(given) & (given != sums))):
        level, measure = COLUMNS[k]
        out.setdefault(int(i), []).append(finding(
            "TOTAL_MISMATCH", drafts[i].cells.get((TOTAL_LABEL, level, measure)), value=f"{given[i, k]:g}",
            expected=f"{sums[i, k]:g}", label=f"{LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"))
    return out


def validate(drafts: list[Draft]) -> list[tuple[tuple[Row, ...], tuple[Finding, ...]]]:
    """For each draft: its 24 rows and every finding about its numbers (the draft's own included)."""
    if not drafts:
        return []
    frame = frame_of(drafts)
    by_schema = schema_findings(frame, drafts)
    by_total = total_findings(frame, drafts)
    blank = ~frame[list(MEASURES)].fillna(0).to_numpy().reshape(len(drafts), -1).any(axis=1)
    results = []
    for i, d in enumerate(drafts):
        found = [*d.findings, *by_schema.get(i, ()), *by_total.get(i, ())]
        if blank[i] and not any(f.severity == "error" for f in found):
            found.append(finding("EMPTY_REPORT", d.cells.get((INDUSTRIES[0], 1, "new"))))
        results.append((d.rows(), tuple(found)))
    return results
