"""Shared test helpers: the repository's reference data and a small writer of form workbooks."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import hypothesis
import openpyxl
import pytest

from pipeline.check.check import check_files
from pipeline.core.model import INDUSTRIES, LEVELS
from pipeline.core.settings import load_settings
from pipeline.read.units import load_units

# Files written by a test are taken at once (a run otherwise waits `limits.settle_seconds` for a file
# modified just now, to see that it is no longer being written): tests of that wait set it themselves.
os.environ.setdefault("PIPELINE_LIMITS_SETTLE_SECONDS", "0")

# No clock in a property test: hypothesis's default 200 ms deadline per example is a timing assertion.
hypothesis.settings.register_profile("no-clock", deadline=None)
hypothesis.settings.load_profile("no-clock")

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
SHARED = ROOT.parent / "shared"   # the team's folder beside the project: only the tests marked below need it
CORPUS = SHARED / "corpus" / "foreign"
EXAMPLES = SHARED / "spec" / "examples"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"needs ../shared/corpus/foreign (the team's corpus of foreign, broken and hostile "
                                f"spreadsheets, with its MANIFEST.tsv) beside the project: put it at {CORPUS}")
needs_examples = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"needs ../shared/spec/examples (the spec's worked examples: forms and their "
                                  f"expected *.check.json) beside the project: put them at {EXAMPLES}")
NOW = dt.datetime(2016, 10, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

# A month of 侯寨乡: (industry, level) -> (new, cumulative, reviewing); no row is all zero.
ROWS = {(ind, lvl): ((i + lvl) % 3, (i + lvl) % 3 + i % 4 + 1, (i * lvl) % 2)
        for i, ind in enumerate(INDUSTRIES) for lvl in LEVELS}


def rows_json(rows=ROWS):
    return [{"industry": ind, "level": lvl, "new": n, "cumulative": c, "reviewing": r}
            for (ind, lvl), (n, c, r) in rows.items()]


def form_cells(unit="侯寨乡", period=(2016, 9), rows=ROWS, total=True) -> dict:
    """The seed's form as {cell: value}: title rows 1-3, header rows 4-5, industries 6-13, 合计 14."""
    cells = {"A1": "附件", "D2": "工贸企业安全生产标准化月度报表",
             "A3": f"填报单位：{unit}      {period[0]} 年 {period[1]} 月" if unit else
             f"填报单位：                {period[0]} 年 {period[1]} 月",
             "A4": "行业", "B4": "一级", "E4": "二级", "H4": "三级"}
    if period is None:
        cells["A3"] = f"填报单位：{unit}"
    for k, col in enumerate("BCDEFGHIJ"):
        cells[f"{col}5"] = ("当月完成 (家)", "累计完成 (家)", "正在评审 (家)")[k % 3]
    for i, ind in enumerate(INDUSTRIES):
        cells[f"A{6 + i}"] = ind
        for lvl in LEVELS:
            for m in range(3):
                cells[f"{'BCDEFGHIJ'[(lvl - 1) * 3 + m]}{6 + i}"] = rows[(ind, lvl)][m]
    if total:
        cells["A14"] = "合计"
        for lvl in LEVELS:
            for m in range(3):
                col = "BCDEFGHIJ"[(lvl - 1) * 3 + m]
                cells[f"{col}14"] = sum(rows[(ind, lvl)][m] for ind in INDUSTRIES)
    return cells


def write_book(path: Path, cells: dict, sheet="月度报表", merges=("A4:A5", "B4:D4", "E4:G4", "H4:J4")) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for ref, value in cells.items():
        ws[ref] = value
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)
    return path


@pytest.fixture(scope="session")
def settings():
    return load_settings(REFERENCE)


@pytest.fixture(scope="session")
def units():
    return load_units(REFERENCE)


@pytest.fixture
def check(settings, units):
    """check(path, name=None) -> the FileResult of one file, as `python -m pipeline check` sees it."""
    def run(path, name=None, **kw):
        return check_files([(Path(path), name or Path(path).name)], units, settings, now=NOW, **kw)[0]
    return run


def codes(result) -> set:
    return {(f.code, f.cell) for s in result.submissions for f in s.findings}


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory):
    """The demo's year (pipeline/demo.py) without its 通报: twelve monthly runs, the third quarter
    closed, the late September correction taken in. (folders, what each unit sent)."""
    from pipeline.demo.year import demo_reference, run_year
    tmp = tmp_path_factory.mktemp("year")
    f = {"inbox": tmp / "inbox", "archive": tmp / "archive", "outbox": tmp / "outbox",
         "reference": demo_reference(tmp / "reference")}
    sent = run_year(f, bulletins=False)
    return f, sent
