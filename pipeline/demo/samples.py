"""Realistic clerk workbooks, one per variant of docs/form.md §2: for tests, `make demo` and the benchmark.

`write_sample(path, unit, period, rows, variant)` lays the form out as a grid of cells for the
variant (`variants.form_grid`), then writes it with one of three writers:

- `.xlsx`/`.xlsm`: straight to the zip from strings (`writers.write_xlsx`): no openpyxl, a few hundred
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
import random
import re
from pathlib import Path

from pipeline.core.model import INDUSTRIES, LEVELS, MEASURES
from pipeline.core.period import Month
from pipeline.demo.sheet import Formula
from pipeline.demo.variants import AMBIGUOUS, UNITS_CSV, VARIANTS, Rows, form_grid, workbook_grids
from pipeline.demo.writers import sheet_xml, write_ods, write_package, write_with_chart, write_xls, write_xlsx

SUFFIX = {"xls": ".xls", "xls_renamed_xlsx": ".xlsx", "ods": ".ods", "xlsm": ".xlsm"}


def _unit_sizes() -> dict[str, int]:
    with open(UNITS_CSV, encoding="utf-8-sig", newline="") as f:
        return {r["单位"]: int(r["规模以上企业数"] or 0) for r in csv.DictReader(f)}


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
    grids = workbook_grids(unit, period, rows, variant)
    if variant in ("xls", "xls_renamed_xlsx"):
        write_xls(path, grids)
    elif variant == "ods":
        write_ods(path, grids)
    elif variant == "chart_sheet":
        write_with_chart(path, grids)
    else:
        write_xlsx(path, grids, macro=variant == "xlsm")
    return path


# The fast path: the sheet XML of a variant rendered once with sentinels where the numbers and
# the 填报单位 line go, then filled per file. Same bytes as the general path, ~5x faster.
FAST = ("canonical", "offset")
_LINE = "@@LINE@@"
_SENTINEL = re.compile(r"<v>(9\d{6})</v>")


@functools.cache
def _fast_template(variant: str) -> tuple[list[str], list[str]]:
    keys = [(ind, level) for ind in INDUSTRIES for level in LEVELS]
    marked = {key: tuple(9_000_000 + 3 * i + m for m in range(3)) for i, key in enumerate(keys)}
    grid = form_grid("Sheet1" if variant == "offset" else "月度报表", "", "2016-01", marked, variant)
    for rc, value in grid.cells.items():
        if isinstance(value, Formula):      # its cached sum of sentinels: mark it by column instead
            grid.cells[rc] = Formula(value.text, 9_900_000 + rc[1])
        elif isinstance(value, str) and value.startswith("填报单位："):
            grid.cells[rc] = _LINE
    strings: dict[str, int] = {}
    sheet = _SENTINEL.split(sheet_xml(grid, strings))
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
    write_package(path, ["Sheet1" if variant == "offset" else "月度报表"], [xml],
                  [line if s == _LINE else s for s in strings])
