"""docs/form.md §2, promise by promise: where each is tested.

Most promises are clerk variants of `pipeline.demo.samples`, each read to exactly the numbers written by
tests/test_variants.py::test_variant_read_exactly (and, with any offset on the sheet, by
tests/test_reader_property.py); the rest are tested here or in the file named."""
import pytest

from pipeline.demo.samples import VARIANTS

from conftest import ROOT, form_cells, rows_json, write_book

PROMISES = {
    "the table anywhere: title rows, blank rows and columns, a 备注 column": ["offset", "canonical"],
    "labels with spaces, line breaks, full- and half-width brackets": ["spaced_labels", "canonical"],
    "industry labels with spaces or a 行业/业 suffix": ["spaced_labels", "industry_suffix"],
    "rows in another order": ["shuffled_rows"],
    "merged header cells, vertical and horizontal": ["canonical"],
    "counts as integers, whole floats, text, with 家; blank - — / 无 0 as zero": ["text_numbers", "text_sum"],
    "合计 as formulas (stored results read), or blank (computed, warning)": [
        "canonical", "total_values", "total_blank", "formula_no_cache", "no_total_row"],
    "unit and period in one cell, over several cells, the unit in the title": [
        "canonical", "seed_suffix", "split_header", "unit_in_title"],
    "the period written 2016 年 9 月, 2016年09月, 2016年9月份, 2016.9, 2016-09": [
        "canonical", "period_zero", "period_fen", "period_dot", "period_dash"],
    "the unit with or without 办事处/街道/人民政府": ["alias_unit", "seed_suffix"],
    "a footer under the table; its 填报日期 is not the period": ["footer", "fill_date"],
    "unit or period from the file name, with a warning": [
        "no_unit_in_sheet", "no_period_in_sheet", "blank_header", "blank_header_spaces"],
    "the form after an instructions sheet; a sheet per month": ["instructions_sheet", "multi_month"],
    "other sheets (a list of enterprises, notes, a chart, a hidden copy) are not submissions": [
        "enterprise_list", "notes_sheet", "chart_sheet", "hidden_sheet"],
    ".xlsx .xlsm .xls .ods; an Excel 97 file renamed .xlsx": ["canonical", "xlsm", "xls", "ods", "xls_renamed_xlsx"],
}
ELSEWHERE = {
    "saved e-mails, attachment names in RFC 2047/2231, GBK, UTF-8": "tests/test_mail.py",
    "the file name's unit and period, either order": "tests/test_check_codes.py::test_warning_codes",
    "each sheet of a multi-month workbook its own submission":
        "tests/test_variants.py::test_one_form_per_sheet_each_its_own_submission",
}


@pytest.mark.parametrize("promise", PROMISES)
def test_each_promise_has_its_variants(promise):
    assert set(PROMISES[promise]) <= set(VARIANTS), promise


def test_every_variant_keeps_a_promise():
    assert {v for vs in PROMISES.values() for v in vs} | {
        "previous_cumulative", "rate_column", "subtotal_group"} == set(VARIANTS)


@pytest.mark.parametrize("promise", ELSEWHERE)
def test_the_other_promises_are_tested_where_named(promise):
    path, _, name = ELSEWHERE[promise].partition("::")
    text = (ROOT / path).read_text(encoding="utf-8")
    assert f"def {name or 'test_'}" in text, promise


@pytest.mark.parametrize("written, unit", [
    ("淮河路街道", "淮河路街道"), ("淮河路街道办事处", "淮河路街道"), ("淮河路办事处", "淮河路街道"),
    ("淮河路街道办", "淮河路街道"), ("侯寨乡", "侯寨乡"), ("侯寨乡人民政府", "侯寨乡"), ("侯寨乡 乡（镇）办事处", "侯寨乡"),
    ("马寨镇政府", "马寨镇"),
])
def test_the_unit_with_or_without_its_endings(tmp_path, check, written, unit):
    cells = form_cells()
    cells["A3"] = f"填报单位：{written}      2016 年 9 月"
    (sub,) = check(write_book(tmp_path / "报表.xlsx", cells)).submissions
    assert (sub.status, sub.unit, sub.period, sub.findings) == ("accepted", unit, "2016-09", ())
    assert [r.as_json() for r in sub.rows] == rows_json()


def test_a_footer_date_is_not_the_period(tmp_path, check):
    cells = form_cells()
    cells["A3"] = "填报单位：侯寨乡"
    cells["A16"], cells["H16"] = "填表人：张伟", "填报日期：2016年10月"
    (sub,) = check(write_book(tmp_path / "报表.xlsx", cells)).submissions
    assert [(f.code, f.cell) for f in sub.findings] == [("NO_PERIOD", "月度报表!A3")]
    assert [r.as_json() for r in sub.rows] == rows_json()
