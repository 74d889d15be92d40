"""Check many drafted forms at once: the pandera schema of `schemas/rows.py`, lazily, and the
合计 row. Pandera's failure table becomes findings with cells here, in one place.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors

from pipeline.core.findings import Finding, finding
from pipeline.core.model import COLUMNS, INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES, ROW_KEYS, TOTAL_LABEL, Row
from pipeline.read.draft import Draft, label
from pipeline.schemas.rows import MonthlyRows

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
            if row["new"] < 0 or row["cumulative"] < 0:
                continue  # NEGATIVE says it: one problem, one message
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
    """合计 cells that differ from the sum of their column over the eight industries.

    A column with a count that could not be read has no sum to compare (that cell's finding says
    why). Where the 合计 is the sum of the column's numbers without those typed as text ("1家",
    "'3"), as Excel's SUM leaves them out, TEXT_NUMBER names the text cells instead."""
    values = frame[list(MEASURES)].to_numpy().reshape(len(drafts), len(INDUSTRIES), len(LEVELS) * len(MEASURES))
    sums = np.nansum(values, axis=1)                  # (form, level by measure)
    unread = np.isnan(values).any(axis=1)
    given = np.array([d.totals for d in drafts], dtype="float64")   # NaN: blank, or no such column
    out: dict[int, list[Finding]] = {}
    for i, k in zip(*np.nonzero(~np.isnan(given) & (given != sums) & ~unread)):
        level, measure = COLUMNS[k]
        name = f"{LEVEL_NAMES[level]} {MEASURE_NAMES[measure]}"
        cell = drafts[i].cells.get((TOTAL_LABEL, level, measure))
        texts = [t for t in drafts[i].texts if t[0] == k]
        if texts and given[i, k] == sums[i, k] - sum(t[3] for t in texts):
            for _, where, shown, number in texts:
                out.setdefault(int(i), []).append(finding(
                    "TEXT_NUMBER", where, value=shown, number=number, total=f"{given[i, k]:g}", total_cell=cell,
                    expected=f"{sums[i, k]:g}", label=_label_of(drafts[i], where, name)))
            continue
        out.setdefault(int(i), []).append(finding(
            "TOTAL_MISMATCH", cell, value=f"{given[i, k]:g}", expected=f"{sums[i, k]:g}", label=name))
    return out


def _label_of(d: Draft, where: str, column: str) -> str:
    """`冶金 一级 累计完成` for a count cell of the draft."""
    industry = next((ind for ind in INDUSTRIES if any(d.cells.get((ind, *key)) == where for key in COLUMNS)), "")
    return f"{industry} {column}".strip()


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
