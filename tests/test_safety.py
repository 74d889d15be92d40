"""Untrusted names and text: never a path outside our folders, never a formula in our workbooks."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from pipeline.core.text import ILLEGAL_CHARACTERS_RE, cell_text, safe_name, set_text, within


@pytest.mark.parametrize("name, expected", [
    ("侯寨乡2016年9月报表.xlsx", "侯寨乡2016年9月报表.xlsx"),
    ("../../etc/passwd", "passwd"),
    ("/etc/cron.d/x.xlsx", "x.xlsx"),
    ("..\\..\\Windows\\system32\\报表.xls", "报表.xls"),
    ("C:\\Users\\clerk\\报表.xlsx", "报表.xlsx"),
    ("报\x00表\r\n.xlsx", "报表.xlsx"),
    ("\u202egpj.xlsx", "gpj.xlsx"),  # right-to-left override
    (".bashrc", "bashrc"),
    ("报表.xlsx. . ", "报表.xlsx"),
    ('a<b>c:d"e|f?g*.xlsx', "a_b_c_d_e_f_g_.xlsx"),
    ("CON.xlsx", "_CON.xlsx"),
    ("nul", "_nul"),
    ("com1.tar.xlsx", "_com1.tar.xlsx"),
    ("LPT9.xls", "_LPT9.xls"),
    ("CONSOLE.xlsx", "CONSOLE.xlsx"),
    ("", "附件1.xlsx"),
    ("..", "附件1.xlsx"),
    ("../", "附件1.xlsx"),
    ("\x00\x01", "附件1.xlsx"),
    (".xlsx", "xlsx"),
])
def test_safe_name(name, expected):
    assert safe_name(name, "附件1.xlsx") == expected


def test_long_names_are_cut_at_150_bytes_keeping_the_extension():
    name = safe_name("侯寨乡" * 100 + ".xlsx", "x")
    assert name.endswith("侯寨乡.xlsx".removeprefix("侯寨乡")) and name.endswith(".xlsx")
    assert len(name.encode()) <= 150
    name.encode().decode()  # no character cut in half


@given(st.text())
def test_safe_name_is_always_one_harmless_component(name):
    result = safe_name(name, "fallback")
    assert result and "/" not in result and "\\" not in result and "\x00" not in result
    assert result not in (".", "..") and not result.startswith(".")
    assert len(result.encode()) <= 150 or result == "fallback"
    assert within(Path("/srv/inbox"), Path("/srv/inbox") / result)


TEXTS = ["=1+2", '=HYPERLINK("http://evil","点我")', "+86 371 1234", "-3", "@SUM(A1)", "\t=1", "\r=1",
         "＝1+1", "冶金", "3家", "=cmd|' /C calc'!A0"]


def test_set_text_writes_text_not_formulas(tmp_path):
    wb = openpyxl.Workbook()
    for row, text in enumerate(TEXTS, start=1):
        set_text(wb.active.cell(row, 1), text)
    path = tmp_path / "回执.xlsx"
    wb.save(path)

    reread = openpyxl.load_workbook(path)
    cells = [reread.active.cell(row, 1) for row in range(1, len(TEXTS) + 1)]
    assert [c.value for c in cells] == TEXTS
    assert all(c.data_type == "s" for c in cells)
    assert reread.active["A1"].quotePrefix and not reread.active["A9"].quotePrefix
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert [row[0] for row in calamine.to_python()] == TEXTS
    assert b"<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")


def test_cell_text_drops_what_xml_cannot_hold():
    assert cell_text("冶\x00金\x0b") == "冶金"
    assert cell_text(None) is None and cell_text(3) == "3"
    assert len(cell_text("x" * 40_000)) == 32_767


def test_the_characters_dropped_are_those_openpyxl_refuses():
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as OPENPYXL
    ours = [c for c in map(chr, range(0x3000)) if ILLEGAL_CHARACTERS_RE.match(c)]
    assert ours == [c for c in map(chr, range(0x3000)) if OPENPYXL.match(c)]


def test_check_workers_load_neither_openpyxl_nor_numpy():
    """What a check worker imports (~0.35 s less a worker start without them)."""
    import subprocess
    import sys
    code = "import sys, pipeline.read.extract; print(sorted({'openpyxl', 'numpy', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"


def test_within(tmp_path):
    (tmp_path / "archive").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "archive" / "link").symlink_to(tmp_path / "outside")
    root = tmp_path / "archive"
    assert within(root, root / "2016-09" / "a.xlsx")
    assert not within(root, root / ".." / "outside" / "a.xlsx")
    assert not within(root, root / "link" / "a.xlsx")
    assert not within(root, Path("/etc/passwd"))


def test_openpyxl_parses_clerks_xml_defused():
    # The marked receipt copies open clerks' .xlsx with openpyxl: it must go through defusedxml.
    import openpyxl.xml
    assert openpyxl.xml.DEFUSEDXML


def test_display_width_counts_what_chinese_fonts_draw_wide_as_two():
    from pipeline.core.text import display_width
    assert display_width("B14") == 3
    assert display_width("侯寨乡，B14") == 11
    assert display_width("“合计”→（空）") == 16   # quotes and arrows are drawn wide in a CJK font
