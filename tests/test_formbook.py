"""The canonical form as the seed's 附件 lays it out, readable with its 合计 results stored."""
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from pipeline.core.model import FORM_TITLE, INDUSTRIES, LEVELS, MEASURES
from pipeline.outputs import formbook

ROWS = {(ind, level): (i % 2, i % 5 + 1, (i * 7) % 3)
        for i, (ind, level) in enumerate((ind, level) for ind in INDUSTRIES for level in LEVELS)}
HEADER = ["当月完成 (家)", "累计完成 (家)", "正在评审 (家)"] * 3


def expected_table(rows):
    body = [[v for level in LEVELS for v in rows[(ind, level)]] for ind in INDUSTRIES]
    return body, [sum(col) for col in zip(*body)]


def test_layout_is_the_seeds_annex(tmp_path):
    path = formbook.write_form(tmp_path / "f.xlsx", "侯寨乡", "2016-09", ROWS)
    ws = openpyxl.load_workbook(path)["月度报表"]
    assert ws["A1"].value == "附件"
    assert ws["A2"].value == FORM_TITLE
    assert ws["A3"].value == "填报单位：侯寨乡      2016 年 9 月"
    assert [ws.cell(4, c).value for c in (1, 2, 5, 8)] == ["行业", "一级", "二级", "三级"]
    assert [ws.cell(5, c).value for c in range(2, 11)] == HEADER
    assert [ws.cell(r, 1).value for r in range(6, 15)] == [*INDUSTRIES, "合计"]
    assert {str(r) for r in ws.merged_cells.ranges} >= {"A4:A5", "B4:D4", "E4:G4", "H4:J4"}
    assert [ws.cell(14, c).value for c in (2, 10)] == ["=SUM(B6:B13)", "=SUM(J6:J13)"]


def test_reader_sees_numbers_and_cached_totals(tmp_path):
    path = formbook.write_form(tmp_path / "f.xlsx", "二七区", "2016-09", ROWS)
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("月度报表").to_python()
    body, totals = expected_table(ROWS)
    assert [row[1:10] for row in grid[5:13]] == body
    assert grid[13][1:10] == totals
    values = openpyxl.load_workbook(path, data_only=True)["月度报表"]
    assert [values.cell(14, c).value for c in range(2, 11)] == totals


def test_print_setup_one_a4_landscape_page(tmp_path):
    ws = openpyxl.load_workbook(formbook.write_form(tmp_path / "f.xlsx", "二七区", "2016-09", ROWS)).active
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) in ((1, 1), (None, None))
    assert ws["B6"].border.left.style == "thin"
    assert ws["A2"].font.name == "宋体"


@pytest.mark.parametrize("unit, period, unit_suffix, line", [
    ("", "", True, "填报单位：_____ 乡（镇）办事处      _____ 年 _____ 月"),
    ("", "2016-10", False, "填报单位：_____      2016 年 10 月"),
    ("侯寨乡", "2016-10", True, "填报单位：侯寨乡      2016 年 10 月"),
])
def test_blank_form(tmp_path, unit, period, unit_suffix, line):
    path = formbook.write_form(tmp_path / "b.xlsx", unit, period, None, blank=True, unit_suffix=unit_suffix)
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert grid[2][0] == line
    assert all(v == "" for row in grid[5:13] for v in row[1:10])
    assert grid[13][1:10] == [0] * 9


def test_text_from_data_is_never_a_formula(tmp_path):
    from pipeline.core.text import set_text
    wb = openpyxl.Workbook()
    set_text(wb.active["A1"], "=HYPERLINK(\"http://x\")")
    wb.save(tmp_path / "t.xlsx")
    xml = zipfile.ZipFile(tmp_path / "t.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").active["A1"].value == "=HYPERLINK(\"http://x\")"


def test_count_columns():
    assert [formbook.count_col(level, m) for level in LEVELS for m in MEASURES] == list(range(2, 11))


def test_a_failed_write_leaves_the_earlier_form_whole_and_no_temporary_file(tmp_path, monkeypatch):
    path = formbook.write_form(tmp_path / "f.xlsx", "侯寨乡", "2016-09", ROWS)
    before = path.read_bytes()

    def fail(*_):
        raise OSError("disk full")
    monkeypatch.setattr(formbook, "finish", fail)
    with pytest.raises(OSError):
        formbook.write_form(path, "侯寨乡", "2016-09", {key: (9, 9, 9) for key in ROWS})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.xlsx"]


def test_the_district_form_and_a_template_carry_the_bureau_and_their_title(tmp_path):
    from pipeline.core.settings import load_settings
    from pipeline.outputs import template
    bureau = "郑州市二七区安全生产监督管理局"
    form = formbook.write_form(tmp_path / "二七区_2016年9月_工贸企业安全生产标准化月度报表.xlsx", "二七区", "2016-09",
                               None, author=bureau)
    [blank] = template.make_templates(["侯寨乡"], "2016-10", tmp_path, load_settings(None))
    for path, title in ((form, "二七区 2016年9月 工贸企业安全生产标准化月度报表"), (blank, blank.stem.replace("_", " "))):
        props = openpyxl.load_workbook(path).properties
        assert (props.creator, props.lastModifiedBy, props.title, props.language) == (bureau, bureau, title, "zh-CN")
        assert props.creator != "openpyxl" and props.created is not None
