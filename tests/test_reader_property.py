"""No number comes from a cell the reader did not name: for any accepted submission, the numbers read
again from the cells it names, by another reader, are its 24 rows.

The workbooks are the clerk variants of `pipeline.demo.samples`, each at a random place on its sheet, with
random counts, units and months; read in this process (the worker's `examine`, then `conclude`)."""
import io
import random
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from pipeline.check.check import conclude
from pipeline.core.model import INDUSTRIES, LEVELS, MEASURES
from pipeline.demo import samples, sheet, variants, writers
from pipeline.read.draft import to_count
from pipeline.read.extract import Context, examine

UNITS = ("侯寨乡", "马寨镇", "淮河路街道", "德化街街道")
MONTHS = [f"2016-{m:02d}" for m in range(3, 10)]


def examined(path: Path, units, limits) -> object:
    """The FileResult of one file, checked here: `examine` as a worker runs it, then `conclude`."""
    steps = examine(Context(limits, units, "2016-10"), (0, str(path), path.name, None, None))
    try:
        while True:
            next(steps)
    except StopIteration as done:
        return conclude([(path, path.name)], [done.value])[0]


def cell_values(path: Path, kind: str):
    """sheet -> {"B6": value} as another reader sees the file: openpyxl (stored results) for .xlsx and
    .xlsm, calamine with every row and column kept for the others."""
    if kind in ("xlsx", "xlsm"):
        book = openpyxl.load_workbook(path, data_only=True)
        return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row}
                for ws in book.worksheets}
    book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))   # by content: .xls may be named .xlsx
    out = {}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = {f"{_letters(c)}{r + 1}": v for r, row in enumerate(rows) for c, v in enumerate(row)}
    return out


def _letters(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def write(tmp: Path, variant: str, unit: str, period: str, seed: int, dr: int, dc: int) -> Path:
    rows = samples.random_rows(random.Random(seed), unit)
    path = tmp / f"{unit}_{period[:4]}年{int(period[5:])}月_{seed}.xlsx"
    if variant in samples.SUFFIX or variant in samples.FAST or variant == "chart_sheet" or not (dr or dc):
        return samples.write_sample(path, unit, period, rows, variant)
    grids = [sheet.shifted(g, dr, dc) for g in variants.workbook_grids(unit, period, rows, variant)]
    writers.write_xlsx(path, grids)
    return path


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("property")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variant=st.sampled_from(samples.VARIANTS), unit=st.sampled_from(UNITS), period=st.sampled_from(MONTHS),
       seed=st.integers(0, 2**32), dr=st.integers(0, 6), dc=st.integers(0, 4))
@example(variant="xls_renamed_xlsx", unit="侯寨乡", period="2016-03", seed=0, dr=0, dc=0)
@example(variant="ods", unit="马寨镇", period="2016-09", seed=1, dr=0, dc=0)
@example(variant="multi_month", unit="淮河路街道", period="2016-05", seed=2, dr=3, dc=2)
@example(variant="text_sum", unit="德化街街道", period="2016-07", seed=3, dr=5, dc=4)
def test_every_number_comes_from_the_cell_the_reader_names(tmp, units, settings, variant, unit, period, seed, dr, dc):
    path = write(tmp, variant, unit, period, seed, dr, dc)
    result = examined(path, units, settings.limits)
    accepted = [s for s in result.submissions if s.status == "accepted"]
    assert accepted, [f.message for s in result.submissions for f in s.findings]
    values = cell_values(path, result.kind)
    for sub in accepted:
        named = {(ind, level, m): sub.cells[(ind, level, m)] for ind in INDUSTRIES for level in LEVELS
                 for m in MEASURES}
        assert len(set(named.values())) == len(named) == 72          # every count has a cell of its own
        for row in sub.rows:
            for m in MEASURES:
                sheet, ref = named[(row.industry, row.level, m)].rsplit("!", 1)
                assert sheet == sub.sheet
                again = to_count(values[sheet].get(ref))
                assert again.problem is None and again.value == getattr(row, m), (variant, ref)
