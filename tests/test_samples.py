"""Sample clerk workbooks: every variant of docs/form.md §2 opens and holds what the variant says."""
import random
import zipfile
from itertools import pairwise

import openpyxl
import pytest
import xlrd
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from pipeline.core.model import INDUSTRIES, LEVELS
from pipeline.demo import samples, variants, writers

ROWS = {(ind, level): (i % 2, i % 5 + 1, (i * 7) % 3)
        for i, (ind, level) in enumerate((ind, level) for ind in INDUSTRIES for level in LEVELS)}
BODY = [[v for level in LEVELS for v in ROWS[(ind, level)]] for ind in INDUSTRIES]
TOTALS = [sum(col) for col in zip(*BODY)]


def write(tmp_path, variant, rows=ROWS, unit="侯寨乡", period="2016-09"):
    return samples.write_sample(tmp_path / f"{unit}-2016年9月.xlsx", unit, period, rows, variant)


def grid(path, sheet=-1):
    wb = CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(wb.sheet_names[sheet]).to_python()


def cells(path, sheet=-1):
    """{A1 ref: value} of one sheet, by openpyxl (keeps coordinates and formulas)."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


@pytest.mark.parametrize("variant", [v for v in samples.VARIANTS if v not in samples.SUFFIX])
def test_every_xlsx_variant_opens_with_openpyxl_and_calamine(tmp_path, variant):
    path = write(tmp_path, variant)
    assert path.suffix == ".xlsx"
    assert openpyxl.load_workbook(path).sheetnames
    form = next(k for k, name in enumerate(CalamineWorkbook.from_path(str(path)).sheet_names)
                if name in ("月度报表", "Sheet1", "9月"))
    assert any("填报单位" in str(v) for row in grid(path, form) for v in row)


def test_canonical_numbers_and_cached_totals_at_b6_j14(tmp_path):
    g = grid(write(tmp_path, "canonical"))
    assert g[0][0] == "附件" and g[2][0] == "填报单位：侯寨乡      2016 年 9 月"
    assert [row[1:10] for row in g[5:13]] == BODY
    assert g[13][0] == "合计" and g[13][1:10] == TOTALS
    assert cells(tmp_path / "侯寨乡-2016年9月.xlsx")["B14"] == "=SUM(B6:B13)"


@pytest.mark.parametrize("variant", samples.FAST)
def test_fast_path_writes_the_same_bytes_as_the_general_one(tmp_path, variant):
    fast = samples.write_sample(tmp_path / "fast.xlsx", "侯寨乡", "2016-09", ROWS, variant)
    writers.write_xlsx(tmp_path / "slow.xlsx", variants.workbook_grids("侯寨乡", "2016-09", ROWS, variant))
    assert fast.read_bytes() == (tmp_path / "slow.xlsx").read_bytes()


def test_fast_path_escapes_the_unit(tmp_path):
    path = write(tmp_path, "canonical", unit="<A&B>=1")
    assert grid(path)[2][0].startswith("填报单位：<A&B>=1")


def test_offset_table_at_d6_with_remarks(tmp_path):
    c = cells(write(tmp_path, "offset"))
    assert c["D6"] == "行业" and c["E6"] == "一级" and c["N6"] == "备注"
    assert c["D8"] == "冶金" and c["D16"] == "合计" and c["E16"] == "=SUM(E8:E15)"
    assert not any(ref[0] in "ABC" for ref in c)


def test_spaced_labels(tmp_path):
    c = cells(write(tmp_path, "spaced_labels"))
    assert (c["B4"], c["B5"], c["C5"], c["D5"], c["A6"]) == (
        "一 级", "当月\n完成", "累 计 完 成（家）", "正在评审（家）", "冶 金")


def test_industry_suffix_and_shuffled_rows(tmp_path):
    assert [cells(write(tmp_path, "industry_suffix"))[f"A{r}"] for r in (6, 8, 10)] == ["冶金行业", "轻工业", "纺织业"]
    c = cells(write(tmp_path, "shuffled_rows"))
    assert [c[f"A{r}"] for r in range(6, 14)] == list(variants.SHUFFLED)
    row = 6 + variants.SHUFFLED.index("冶金")
    assert [c.get(f"{col}{row}", 0) for col in "BCD"] == list(ROWS[("冶金", 1)])


def test_text_numbers_use_every_form_and_keep_the_values(tmp_path):
    rows = {key: (1, 3, 0) for key in ROWS}
    g = grid(write(tmp_path, "text_numbers", rows))
    seen = {v for row in g[5:13] for v in row[1:10]}
    assert {"3", " 3 ", "３", "3家", "1", "-", "—", "/", "无", "0", ""} <= {str(v) for v in seen}
    assert 3.0 in seen
    assert g[13][1:4] == [8, 24, 0]


@pytest.mark.parametrize("variant, total", [
    ("total_blank", [""] * 9), ("total_values", TOTALS), ("formula_no_cache", [""] * 9)])
def test_total_row_variants(tmp_path, variant, total):
    path = write(tmp_path, variant)
    assert grid(path)[13][1:10] == total
    formula = cells(path)["B14"] if variant == "formula_no_cache" else None
    assert formula in (None, "=SUM(B6:B13)")


def test_no_total_row(tmp_path):
    assert all("合计" not in str(v) for row in grid(write(tmp_path, "no_total_row")) for v in row)


@pytest.mark.parametrize("variant, line", [
    ("unit_in_title", "填报单位：__________      2016 年 9 月"),
    ("seed_suffix", "填报单位：侯寨乡 乡（镇）办事处      2016 年 9 月"),
    ("period_zero", "填报单位：侯寨乡      2016年09月"),
    ("period_fen", "填报单位：侯寨乡      2016年9月份"),
    ("period_dot", "填报单位：侯寨乡      2016.9"),
    ("period_dash", "填报单位：侯寨乡      2016-09"),
    ("alias_unit", "填报单位：侯寨乡人民政府      2016 年 9 月"),
    ("no_unit_in_sheet", "填报单位：__________      2016 年 9 月"),
    ("no_period_in_sheet", "填报单位：侯寨乡      _____ 年 _____ 月"),
])
def test_unit_line_variants(tmp_path, variant, line):
    g = grid(write(tmp_path, variant))
    assert g[2][0] == line
    assert g[1][0] == ("侯寨乡" if variant == "unit_in_title" else "") + "工贸企业安全生产标准化月度报表"


def test_alias_of_a_street_office(tmp_path):
    assert "淮河路街道办事处" in grid(write(tmp_path, "alias_unit", unit="淮河路街道"))[2][0]


def test_split_header(tmp_path):
    c = cells(write(tmp_path, "split_header"))
    assert (c["A3"], c["B3"], c["G3"], c["H3"], c["I3"], c["J3"]) == ("填报单位：", "侯寨乡", 2016, "年", 9, "月")


def test_footer_under_the_table(tmp_path):
    c = cells(write(tmp_path, "footer"))
    assert c["A16"] == "填表人：张伟" and c["I16"] == "填报日期：2016年9月28日"


def test_instructions_sheet_comes_first(tmp_path):
    path = write(tmp_path, "instructions_sheet")
    assert openpyxl.load_workbook(path).sheetnames == ["填表说明", "月度报表"]
    assert [row[1:10] for row in grid(path, 1)[5:13]] == BODY


def test_multi_month_from_plain_rows_follows_cumulatives(tmp_path):
    path = write(tmp_path, "multi_month")
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["7月", "8月", "9月"]
    sheets = [wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names]
    assert [s[2][0][-10:].strip() for s in sheets] == ["2016 年 7 月", "2016 年 8 月", "2016 年 9 月"]
    for before, after in pairwise(sheets):
        for r in range(5, 13):
            for c in (2, 5, 8):          # 累计完成 = last month's + this month's 当月完成
                assert after[r][c] == before[r][c] + after[r][c - 1]


def test_multi_month_from_history(tmp_path):
    history = samples.rows_with_history(random.Random(3), "马寨镇", ["2016-08", "2016-09"])
    path = samples.write_sample(tmp_path / "马寨镇.xlsx", "马寨镇", "2016-09", history, "multi_month")
    assert CalamineWorkbook.from_path(str(path)).sheet_names == ["8月", "9月"]


def test_xls_is_excel_97(tmp_path):
    path = write(tmp_path, "xls")
    assert path.suffix == ".xls" and path.read_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
    assert sheet.cell_value(2, 0) == "填报单位：侯寨乡      2016 年 9 月"
    assert [sheet.row_values(r)[1:10] for r in range(5, 13)] == BODY
    assert sheet.row_values(13)[1:10] == TOTALS
    assert [row[1:10] for row in grid(path)[5:13]] == BODY


def test_xls_renamed_xlsx_is_excel_97_inside(tmp_path):
    path = write(tmp_path, "xls_renamed_xlsx")
    assert path.suffix == ".xlsx" and not zipfile.is_zipfile(path)
    assert xlrd.open_workbook(str(path)).sheet_by_index(0).row_values(13)[1:10] == TOTALS


def test_ods_keeps_formulas_with_results(tmp_path):
    path = write(tmp_path, "ods")
    assert path.suffix == ".ods"
    g = grid(path)
    assert g[2][0] == "填报单位：侯寨乡      2016 年 9 月"
    assert [row[1:10] for row in g[5:13]] == BODY
    assert g[13][1:10] == TOTALS
    assert "of:=SUM([.B6:.B13])" in zipfile.ZipFile(path).read("content.xml").decode()


def test_xlsm_is_macro_enabled(tmp_path):
    path = write(tmp_path, "xlsm")
    assert path.suffix == ".xlsm"
    assert "macroEnabled" in zipfile.ZipFile(path).read("[Content_Types].xml").decode()
    assert grid(path)[13][1:10] == TOTALS


def test_unknown_variant_is_our_bug(tmp_path):
    with pytest.raises(ValueError):
        write(tmp_path, "pdf")


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(["侯寨乡", "德化街街道", "不在名单"]))
def test_random_rows_are_plausible(seed, unit):
    rows = samples.random_rows(random.Random(seed), unit)
    assert set(rows) == set(ROWS)
    for new, cumulative, reviewing in rows.values():
        assert all(isinstance(v, int) and 0 <= v <= 20 for v in (new, cumulative, reviewing))
        assert cumulative >= new


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32))
def test_history_follows(seed):
    periods = ["2016-07", "2016-08", "2016-09"]
    history = samples.rows_with_history(random.Random(seed), "侯寨乡", periods)
    for before, after in pairwise(periods):
        for key, (new, cumulative, _r) in history[after].items():
            assert cumulative == history[before][key][1] + new


def test_about_half_the_counts_are_zero():
    rng = random.Random(0)
    values = [v for _ in range(200) for row in samples.random_rows(rng, "侯寨乡").values() for v in row]
    assert 0.4 < values.count(0) / len(values) < 0.8
