"""Every variant of what clerks really send (docs/form.md §2) is read to exactly the numbers written."""
import random

import pytest

from pipeline.demo.samples import VARIANTS, random_rows, write_sample

from conftest import EXAMPLES, needs_examples

UNIT, PERIOD = "侯寨乡", "2016-09"
EXPECTED_WARNINGS = {
    "total_blank": {"TOTAL_MISSING"}, "no_total_row": {"TOTAL_MISSING"}, "formula_no_cache": {"TOTAL_MISSING"},
    "no_unit_in_sheet": {"UNIT_FROM_FILENAME"}, "no_period_in_sheet": {"PERIOD_FROM_FILENAME"},
    "blank_header": {"UNIT_FROM_FILENAME", "PERIOD_FROM_FILENAME"},
    "blank_header_spaces": {"UNIT_FROM_FILENAME", "PERIOD_FROM_FILENAME"},
    "text_sum": {"TEXT_NUMBER"},
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


@needs_examples
def test_worked_examples_match_the_spec(check):
    import json
    for want_path in sorted(EXAMPLES.glob("*.check.json")):
        want = json.loads(want_path.read_text())
        got = check(EXAMPLES / want["file"]).as_json()
        assert got["sha256"] == want["sha256"]
        for w, g in zip(want["submissions"], got["submissions"]):
            assert (g["unit"], g["period"], g["status"]) == (w["unit"], w["period"], w["status"])
            assert sorted(map(str, g["rows"])) == sorted(map(str, w["rows"]))
            assert {(f["code"], f["cell"]) for f in w["findings"]} <= {(f["code"], f["cell"]) for f in g["findings"]}


# --- what a clerk also sends that allows two readings: a finding names the cell, no reading is chosen --------
S = "月度报表"


def rows_tuple(rows):
    return {key: tuple(rows.get(key, (0, 0, 0))) for key in [(i, v) for i in
            ("冶金", "机械", "轻工", "有色", "纺织", "建材", "商贸", "烟草") for v in (1, 2, 3)]}


def got_rows(sub):
    return {(r.industry, r.level): (r.new, r.cumulative, r.reviewing) for r in sub.rows}


def test_two_periods_on_the_sheet_is_a_finding_and_no_period(tmp_path, check):
    rows = random_rows(random.Random(11), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "two_periods")
    (sub,) = check(path).submissions
    assert [(f.code, f.cell) for f in sub.findings] == [("TWO_PERIODS", f"{S}!A2")]
    assert "2016年8月" in sub.findings[0].message and f"{S}!A3" in sub.findings[0].message
    assert (sub.status, sub.unit, sub.period) == ("rejected", UNIT, None)   # not the file name's either
    assert got_rows(sub) == rows_tuple(rows)


@pytest.mark.parametrize("variant, cell", [("two_forms_stacked", f"{S}!A22"), ("two_forms_side", f"{S}!M6")])
def test_two_forms_on_one_sheet_are_a_finding_never_one_dropped(tmp_path, check, variant, cell):
    from pipeline.demo.variants import months_before
    rows = random_rows(random.Random(variant), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, variant)
    (sub,) = check(path).submissions
    assert [(f.code, f.cell) for f in sub.findings] == [("SECOND_FORM", cell)]   # and no PERIOD_CONFLICT
    assert f"{S}!A6" in sub.findings[0].message
    assert (sub.status, sub.period) == ("rejected", "2016-08")          # the first form, last month's, is read
    assert got_rows(sub) == rows_tuple(months_before(rows))


def test_two_columns_of_one_measure_are_a_finding_and_neither_is_read(tmp_path, check):
    rows = random_rows(random.Random(12), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "duplicate_cumulative")
    (sub,) = check(path).submissions
    assert [(f.code, f.cell) for f in sub.findings] == [("AMBIGUOUS_COLUMN", f"{S}!D5")]
    assert f"{S}!C5" in sub.findings[0].message
    expected = {key: (n, None if key[1] == 1 else c, r) for key, (n, c, r) in rows_tuple(rows).items()}
    assert sub.status == "rejected" and got_rows(sub) == expected


@pytest.mark.parametrize("variant", ["previous_cumulative", "rate_column", "subtotal_group"])
def test_columns_that_are_not_this_months_counts_are_not_read_as_them(tmp_path, check, variant):
    """上月累计, 累计达标率 and a 小计 group stand beside the counts: the counts are read, exactly."""
    rows = random_rows(random.Random(variant), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, variant)
    (sub,) = check(path).submissions
    assert (sub.status, sub.findings) == ("accepted", ())
    assert got_rows(sub) == rows_tuple(rows)
    assert sub.cells[("冶金", 1, "cumulative")] == f"{S}!" + {"previous_cumulative": "D6", "rate_column": "C6",
                                                            "subtotal_group": "C6"}[variant]


def test_error_values_are_not_a_number_with_their_cell(tmp_path, check):
    rows = random_rows(random.Random(13), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "error_values")
    (sub,) = check(path).submissions
    assert [(f.code, f.cell, f.value) for f in sub.findings] == [
        ("NOT_A_NUMBER", f"{S}!C6", "#DIV/0!"), ("NOT_A_NUMBER", f"{S}!E7", "#N/A")]   # the 合计's errors: no more
    expected = rows_tuple(rows)
    expected[("冶金", 1)] = (expected[("冶金", 1)][0], None, expected[("冶金", 1)][2])
    expected[("机械", 2)] = (None, *expected[("机械", 2)][1:])
    assert sub.status == "rejected" and got_rows(sub) == expected


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_error_values_in_excel_97_and_opendocument(tmp_path, check, kind):
    """The same workbook saved by LibreOffice as .xls and .ods, as a clerk's office suite writes them."""
    import subprocess
    rows = random_rows(random.Random(13), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "error_values")
    subprocess.run(["soffice", "--headless", "--convert-to", kind, "--outdir", str(tmp_path / "out"), str(path)],
                   check=True, capture_output=True, timeout=180)
    (sub,) = check(tmp_path / "out" / path.with_suffix(f".{kind}").name).submissions
    assert [(f.code, f.cell, f.value) for f in sub.findings] == [
        ("NOT_A_NUMBER", f"{S}!C6", "#DIV/0!"), ("NOT_A_NUMBER", f"{S}!E7", "#N/A")]


def test_text_numbers_under_excels_sum_name_the_text_cells_not_the_total(tmp_path, check):
    rows = random_rows(random.Random(14), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "text_sum")
    (sub,) = check(path).submissions
    from python_calamine import CalamineWorkbook
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    texts = {f"{S}!{'ABCDEFGHIJ'[c]}{r + 1}" for r in range(5, 13) for c in range(1, 10)
             if isinstance(grid[r][c], str) and grid[r][c]}
    assert texts and sub.status == "accepted" and got_rows(sub) == rows_tuple(rows)
    assert {f.cell for f in sub.findings} == texts and {f.code for f in sub.findings} == {"TEXT_NUMBER"}
    for f in sub.findings:
        assert "14" in f.message and "直接输入数字" in f.message   # names the 合计 it explains, asks for a number


# --- sheets that are not the form -----------------------------------------------------------------------------

def test_a_sheet_without_the_forms_grid_of_labels_is_not_a_submission(tmp_path, check):
    """Only a list of enterprises (industries and levels in its columns, no level and measure header
    over the industries): no form, not a broken one."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "达标企业名单"
    for row in (("序号", "企业名称", "行业", "达标等级"), (1, "某某机械有限公司", "机械", "三级"),
                (2, "某某铝业有限公司", "有色", "二级"), (3, "某某食品有限公司", "轻工", "三级")):
        ws.append(row)
    wb.save(tmp_path / f"{UNIT}_2016年9月.xlsx")
    (sub,) = check(tmp_path / f"{UNIT}_2016年9月.xlsx").submissions
    assert (sub.sheet, [f.code for f in sub.findings]) == (None, ["NO_FORM"])


def test_an_almost_form_beside_a_good_one_is_still_reported(tmp_path, check):
    """Two months on two sheets, 8月 with its last column deleted: 8月 rejected for it, 9月 accepted."""
    import openpyxl

    from conftest import form_cells
    wb = openpyxl.Workbook()
    for k, (name, month) in enumerate((("8月", 8), ("9月", 9))):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = name
        for ref, value in form_cells(period=(2016, month)).items():
            if not (month == 8 and ref[0] == "J"):
                ws[ref] = value
    wb.save(tmp_path / f"{UNIT}_三季度.xlsx")
    subs = check(tmp_path / f"{UNIT}_三季度.xlsx").submissions
    assert [(s.sheet, s.period, s.status) for s in subs] == [("8月", "2016-08", "rejected"), ("9月", "2016-09", "accepted")]
    assert [(f.code, f.cell, f.value) for f in subs[0].findings] == [("MISSING_COLUMN", "8月!A5", "三级 正在评审")]


def test_a_sheet_named_for_another_month_than_its_header_is_two_periods(tmp_path, check):
    """9月 copied from 8月, its numbers changed and its header left: 8月 is read, 9月 is neither month."""
    from pipeline.demo.variants import months_before
    rows = random_rows(random.Random(15), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_三季度.xlsx", UNIT, PERIOD, rows, "sheet_month")
    first, second = check(path).submissions
    assert (first.sheet, first.period, first.status, first.findings) == ("8月", "2016-08", "accepted", ())
    assert got_rows(first) == rows_tuple(months_before(rows))
    assert (second.sheet, second.period, second.status) == ("9月", None, "rejected")
    assert [(f.code, f.cell) for f in second.findings] == [("TWO_PERIODS", "9月!A3")]
    assert "工作表名“9月”" in second.findings[0].message and "2016年8月" in second.findings[0].message


def test_a_hidden_sheets_form_is_not_a_submission_beside_a_visible_one(tmp_path, check):
    rows = random_rows(random.Random(16), UNIT)
    path = write_sample(tmp_path / f"{UNIT}_2016年9月.xlsx", UNIT, PERIOD, rows, "hidden_sheet")
    from python_calamine import CalamineWorkbook
    assert [str(m.visible) for m in CalamineWorkbook.from_path(str(path)).sheets_metadata] == [
        "SheetVisibleEnum.Hidden", "SheetVisibleEnum.Visible"]
    (sub,) = check(path).submissions
    assert (sub.sheet, sub.period, sub.status) == ("月度报表", PERIOD, "accepted")
