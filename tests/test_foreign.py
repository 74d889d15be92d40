"""Foreign, broken and hostile spreadsheets: every one parsed or rejected with a finding."""
import json
import shutil
from collections import Counter

import pytest

from pipeline.check.check import check_files
from pipeline.core.findings import CODES

from conftest import CORPUS, REFERENCE, needs_corpus

pytestmark = needs_corpus
FILE_CODES = {"UNREADABLE", "ENCRYPTED", "TOO_LARGE", "NO_FORM"}


def corpus_files():
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv"))


@pytest.fixture(scope="module")
def verdicts(units, settings):
    files = corpus_files()
    return files, check_files([(p, p.name) for p in files], units, settings)


def test_every_file_gets_a_verdict(verdicts):
    files, results = verdicts
    assert len(results) == len(files) >= 570
    tally = Counter()
    for path, result in zip(files, results):
        assert result.submissions, path
        for sub in result.submissions:
            assert sub.status in ("accepted", "rejected")
            for f in sub.findings:
                assert f.code in CODES and f.message
            if sub.sheet is None:  # the file as a whole was refused: one clear reason
                assert len(sub.findings) == 1 and sub.findings[0].code in FILE_CODES, (path, sub.findings)
        tally[result.submissions[0].findings[0].code if result.submissions[0].findings else "accepted"] += 1
    print("\n" + ", ".join(f"{k} {v}" for k, v in tally.most_common()))
    # Not one of them is our form, so nothing is accepted; and none was lost to a crash or a hang.
    assert tally["accepted"] == 0
    internal = [r for r in results if any("异常退出" in f.message or "秒仍未完成" in f.message
                                          for s in r.submissions for f in s.findings)]
    assert internal == []


def test_known_hostile_files_get_the_right_code(verdicts):
    files, results = verdicts
    by_name = {p.relative_to(CORPUS).as_posix(): r for p, r in zip(files, results)}

    def code(name):
        return by_name[name].submissions[0].findings[0].code
    assert code("tafia__calamine/issue_174.xlsx") == "NO_FORM"          # huge declared dimension, parsed
    assert code("apache__poi/testEXCEL_4.xls") == "NO_FORM"             # Excel 4.0: read with xlrd
    assert code("python-excel__xlrd/biff4_no_format_no_window2.xls") == "NO_FORM"
    manifest = [line.split("\t") for line in (CORPUS / "MANIFEST.tsv").read_text().splitlines()[1:]]
    encrypted = [row[0] for row in manifest if row[6].startswith("encrypted")]
    assert len(encrypted) >= 16
    for name in encrypted:
        assert code(name) == "ENCRYPTED", name
    for row in manifest:
        if "crash" in row[6] or "bomb" in row[6] or "OOM" in row[6] or "DoS" in row[6]:
            assert code(row[0]) in FILE_CODES, row[0]


def test_strict_ooxml_says_so_rather_than_empty(verdicts):
    files, results = verdicts
    strict = [r for p, r in zip(files, results) if "strict" in p.name.lower()]
    assert strict
    for r in strict:
        assert r.submissions[0].findings[0].code in ("NO_FORM", "UNREADABLE")


@pytest.mark.slow
def test_monthly_run_with_the_whole_corpus_in_the_inbox(tmp_path):
    from pipeline.jobs.monthly import run_monthly
    f = {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
         "reference": REFERENCE}
    f["inbox"].mkdir()
    files = [p for p in corpus_files() if p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")]
    for k, p in enumerate(files):
        shutil.copyfile(p, f["inbox"] / f"{k:03d}_{p.name}")
    assert run_monthly(f, "2016-09") == 1                 # forms were rejected
    m = json.loads((f["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    assert len(m["submissions"]) >= len(files) - 30   # byte-identical copies count as duplicates
    assert {s["status"] for s in m["submissions"]} <= {"rejected", "duplicate"}
    assert not list(f["inbox"].iterdir())
    assert len(list((f["outbox"] / "2016-09" / "回执").glob("*.txt"))) == len(m["submissions"])


def test_error_values_are_found_wherever_calamine_reads_them_as_empty():
    """Workbooks written by other programs: every error cell (as the .csv beside ErrorTypes.xls shows
    them) is found with its text, and one workbook saved as .xlsb and as .ods gives the same cells."""
    import csv

    from python_calamine import CalamineWorkbook

    from pipeline.read.grids import blank_causes
    folder = CORPUS / "SheetJS__test_files"
    data = (folder / "ErrorTypes.xls").read_bytes()
    grid = CalamineWorkbook.from_path(str(folder / "ErrorTypes.xls")).get_sheet_by_index(0).to_python()
    with open(folder / "ErrorTypes.csv", encoding="utf-8") as f:
        shown = list(csv.reader(f))
    errors = {f"{'ABCDEFGHIJ'[c]}{r + 1}": text for r, row in enumerate(shown) for c, text in enumerate(row)
              if text.startswith("#") and grid[r][c] == ""}
    assert len(errors) >= 14
    assert {ref: text for ref, (_, text) in blank_causes(data, "RawErrors", "xls").items()} == errors
    book = CalamineWorkbook.from_path(str(folder / "formula_stress_test.xlsb"))
    found = 0
    for sheet in book.sheet_names:
        xlsb = blank_causes((folder / "formula_stress_test.xlsb").read_bytes(), sheet, "xlsb")
        assert xlsb == blank_causes((folder / "formula_stress_test.ods").read_bytes(), sheet, "ods")
        found += len(xlsb)
    assert found >= 8
