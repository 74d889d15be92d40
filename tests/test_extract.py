"""extract.examine: one file's work as stages, so that the sandbox can take a parcel a stage at a time."""
from __future__ import annotations

import zipfile

from pipeline.read import extract
from pipeline.read.extract import Context, examine

from conftest import ROWS, form_cells, write_book


def steps_and_result(context, path):
    """How many times examining `path` stops between stages, and what it found."""
    work = examine(context, (0, str(path), path.name, None, None))
    steps = 0
    while True:
        try:
            next(work)
        except StopIteration as done:
            return steps, done.value
        steps += 1


def found_rows(examined):
    (found,) = examined.got
    return found.unit, found.period, {(r.industry, r.level): (r.new, r.cumulative, r.reviewing) for r in found.draft.rows()}


def test_a_form_is_examined_in_six_stages(tmp_path, settings, units):
    path = write_book(tmp_path / "侯寨乡9月报表.xlsx", form_cells())
    steps, examined = steps_and_result(Context(settings.limits, units, "2016-10"), path)
    assert steps == 5   # read | sniffed | read by calamine | located | drafted | unit and period
    assert found_rows(examined) == ("侯寨乡", "2016-09", ROWS)


def test_a_file_over_step_bytes_is_examined_in_one_go_to_the_same_result(tmp_path, settings, units, monkeypatch):
    path = write_book(tmp_path / "侯寨乡9月报表.xlsx", form_cells())
    monkeypatch.setattr(extract, "STEP_BYTES", path.stat().st_size - 1)
    steps, examined = steps_and_result(Context(settings.limits, units, "2016-10"), path)
    assert steps == 0
    assert found_rows(examined) == ("侯寨乡", "2016-09", ROWS)


def test_a_file_refused_before_parsing_stops_after_sniffing(tmp_path, settings, units):
    path = tmp_path / "侯寨乡9月报表.xlsx"
    path.write_text("单位,当月完成\n侯寨乡,1\n", encoding="utf-8")
    steps, examined = steps_and_result(Context(settings.limits, units, "2016-10"), path)
    assert (steps, examined.refused.code, examined.got) == (1, "UNREADABLE", None)


def test_an_unreadable_workbook_stops_after_calamine(tmp_path, settings, units):
    good = write_book(tmp_path / "good.xlsx", form_cells())
    path = tmp_path / "侯寨乡9月报表.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData><row r=\"x\">", 1)   # a row calamine refuses
            dst.writestr(info.filename, data)
    steps, examined = steps_and_result(Context(settings.limits, units, "2016-10"), path)
    assert steps == 2
    assert examined.got.code == "UNREADABLE"


def test_an_old_excel_error_cell_is_its_text_never_its_code():
    import xlrd

    from pipeline.read.draft import to_count
    from pipeline.read.grids import _xlrd_value
    value = _xlrd_value(xlrd.sheet.Cell(xlrd.XL_CELL_ERROR, 7))      # #DIV/0!: code 7
    assert value == "#DIV/0!" and to_count(value).problem == ("NOT_A_NUMBER", "#DIV/0!")
    assert _xlrd_value(xlrd.sheet.Cell(xlrd.XL_CELL_NUMBER, 7.0)) == 7.0
