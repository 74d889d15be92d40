"""Every variant of what clerks really send (FORM.md §2) is read to exactly the numbers written."""
import random

import pytest

from pipeline.samples import VARIANTS, random_rows, write_sample

UNIT, PERIOD = "侯寨乡", "2016-09"
EXPECTED_WARNINGS = {
    "total_blank": {"TOTAL_MISSING"}, "no_total_row": {"TOTAL_MISSING"}, "formula_no_cache": {"TOTAL_MISSING"},
    "no_unit_in_sheet": {"UNIT_FROM_FILENAME"}, "no_period_in_sheet": {"PERIOD_FROM_FILENAME"},
}


def rows_of(rows):
    return sorted((ind, lvl, *rows.get((ind, lvl), (0, 0, 0))) for ind, lvl in
                  [(i, v) for i in ("冶金", "机械", "轻工", "有色", "纺织", "建材", "商贸", "烟草") for v in (1, 2, 3)])


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "multi_month"])
def test_variant_read_exactly(tmp_path, check, variant):
    rows = random_rows(random.Random(variant), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月报表.xlsx", UNIT, PERIOD, rows, variant)
    result = check(path)
    (sub,) = result.submissions
    assert (sub.status, sub.unit, sub.period) == ("accepted", UNIT, PERIOD), [f.message for f in sub.findings]
    assert sorted((r.industry, r.level, r.new, r.cumulative, r.reviewing) for r in sub.rows) == rows_of(rows)
    assert {f.code for f in sub.findings} - {"EMPTY_REPORT"} == EXPECTED_WARNINGS.get(variant, set())


def test_one_form_per_sheet_each_its_own_submission(tmp_path, check):
    rng = random.Random(7)
    months = {p: random_rows(rng, UNIT) for p in ("2016-07", "2016-08", "2016-09")}
    path = write_sample(tmp_path / f"{UNIT}_三季度.xlsx", UNIT, PERIOD, months, "multi_month")
    result = check(path)
    assert [(s.sheet, s.period, s.status) for s in result.submissions] == [
        ("7月", "2016-07", "accepted"), ("8月", "2016-08", "accepted"), ("9月", "2016-09", "accepted")]
    for s in result.submissions:
        got = sorted((r.industry, r.level, r.new, r.cumulative, r.reviewing) for r in s.rows)
        assert got == rows_of(months[s.period])


def test_xls_renamed_xlsx_is_read_as_excel_97(tmp_path, check):
    rows = random_rows(random.Random(3), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "xls_renamed_xlsx")
    assert path.suffix == ".xlsx" and path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    result = check(path)
    assert result.kind == "xls"
    assert result.submissions[0].status == "accepted"


def test_worked_examples_match_the_spec(check):
    import json

    from conftest import SHARED
    examples = SHARED / "spec" / "examples"
    if not examples.exists():
        pytest.skip("shared/spec/examples not beside the project")
    for want_path in sorted(examples.glob("*.check.json")):
        want = json.loads(want_path.read_text())
        got = check(examples / want["file"]).as_json()
        assert got["sha256"] == want["sha256"]
        for w, g in zip(want["submissions"], got["submissions"]):
            assert (g["unit"], g["period"], g["status"]) == (w["unit"], w["period"], w["status"])
            assert sorted(map(str, g["rows"])) == sorted(map(str, w["rows"]))
            assert {(f["code"], f["cell"]) for f in w["findings"]} <= {(f["code"], f["cell"]) for f in g["findings"]}
