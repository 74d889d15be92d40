"""Issue 7: per-unit templates that only take valid counts, print on one page, and round-trip."""
import copy
import json
import random
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from pipeline.core.model import INDUSTRIES, LEVELS, MEASURES
from pipeline.core.settings import Settings, load_settings
from pipeline.demo.samples import random_rows
from pipeline.outputs import template

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = load_settings(ROOT / "reference")
UNITS = ["侯寨乡", "淮河路街道", "马寨镇"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("outbox") / "templates"
    return template.make_templates(UNITS, "2016-10", out, SETTINGS)


@pytest.fixture
def form(made):
    return openpyxl.load_workbook(made[0])["月度报表"]


def test_one_file_per_unit_named_after_it(made):
    assert [(p.parent.name, p.name) for p in made] == [
        ("2016-10", "侯寨乡_2016年10月_月度报表.xlsx"), ("2016-10", "淮河路街道_2016年10月_月度报表.xlsx"),
        ("2016-10", "马寨镇_2016年10月_月度报表.xlsx")]


def test_form_first_with_unit_and_period_filled(made):
    wb = openpyxl.load_workbook(made[1])
    assert wb.sheetnames == ["月度报表", "填表说明"]
    grid = CalamineWorkbook.from_path(str(made[1])).get_sheet_by_index(0).to_python()
    assert grid[2][0] == "填报单位：淮河路街道      2016 年 10 月"
    assert [row[0] for row in grid[5:14]] == [*INDUSTRIES, "合计"]
    assert grid[13][1:10] == [0] * 9           # the 合计 formulas carry stored results


def test_count_cells_unlocked_and_shaded_everything_else_locked(form):
    for row in form.iter_rows(min_row=1, max_row=14, max_col=10):
        for cell in row:
            is_count = 6 <= cell.row <= 13 and cell.column >= 2
            assert cell.protection.locked is not is_count, cell.coordinate
            assert (cell.fill.fgColor.rgb == "FFFFF2CC") is is_count, cell.coordinate
    assert form["B14"].value == "=SUM(B6:B13)"


def test_sheet_protected_without_password(form):
    assert form.protection.sheet
    assert not form.protection.password


def test_every_count_cell_validated_as_whole_number_0_to_9999(form):
    [dv] = form.data_validations.dataValidation
    assert str(dv.sqref) == "B6:J13"
    # ECMA-376 §18.3.1.32: operator "between" and errorStyle "stop" when not written (Excel leaves them out too)
    operator, style = dv.operator or "between", dv.errorStyle or "stop"
    assert (dv.type, operator, dv.formula1, dv.formula2) == ("whole", "between", "0", "9999")
    assert dv.showErrorMessage and dv.showInputMessage and style == "stop"
    assert re.search("[\u4e00-\u9fff]", dv.prompt) and re.search("[\u4e00-\u9fff]", dv.error)


def test_cumulative_below_new_turns_red(form):
    rules = {str(rng.sqref): rng.rules for rng in form.conditional_formatting}
    assert set(rules) == {"C6:C13", "F6:F13", "I6:I13"}
    [rule] = rules["C6:C13"]
    assert rule.formula == ["N(C6)<N(B6)"]
    assert rule.dxf.fill.fgColor.rgb == "FFFF9999"


def test_prints_on_one_a4_landscape_page(form):
    assert form.page_setup.orientation == "landscape" and int(form.page_setup.paperSize) == 9
    assert form.sheet_properties.pageSetUpPr.fitToPage


def test_instructions_say_how_to_fill_send_and_by_when(made):
    notes = openpyxl.load_workbook(made[0])["填表说明"]
    text = "\n".join(str(c.value) for c in notes["A"] if c.value)
    assert "2016年10月31日（星期一）23:59 前" in text
    assert "浅黄色" in text and "电子邮件" in text and "0 到 9999" in text
    assert notes.protection.sheet


def test_deadline_follows_settings():
    assert template.deadline("2016-02", SETTINGS) == date(2016, 2, 29)
    values = copy.deepcopy(SETTINGS.values)
    values["deadline"]["day"] = 25
    assert template.deadline("2016-10", Settings(values)) == date(2016, 10, 25)


def test_file_name_is_safe():
    assert template.file_name("a/b:c", "2016-09") == "a_b_c_2016年9月_月度报表.xlsx"


# --- slow: LibreOffice ----------------------------------------------------------------------

def soffice(tmp_path, convert_to, src, outdir):
    """Convert with LibreOffice headless, in a profile of its own (parallel runs collide)."""
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", convert_to,
                    "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=180)
    return outdir / (src.stem + "." + convert_to.split(":")[0])




@pytest.mark.slow
def test_form_prints_on_one_a4_landscape_page(made, tmp_path):
    pdf = soffice(tmp_path, "pdf", made[0], tmp_path)
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    # the form on one landscape A4 page, then the instructions on one page
    assert len(sizes) == 2
    width, height = map(float, sizes[0])
    assert (round(width), round(height)) == (842, 595)
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    assert list(tmp_path.glob("page*.png"))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_filled_template_saved_by_libreoffice_is_accepted_as_typed(made, tmp_path, fmt):
    rows = random_rows(random.Random(7), "侯寨乡")
    wb = openpyxl.load_workbook(made[0])
    ws = wb["月度报表"]
    for i, industry in enumerate(INDUSTRIES):
        for level in LEVELS:
            for m, _measure in enumerate(MEASURES):
                ws.cell(6 + i, 2 + (level - 1) * 3 + m, rows[(industry, level)][m])
    filled = tmp_path / "filled" / made[0].name
    filled.parent.mkdir()
    wb.save(filled)
    converted = soffice(tmp_path, fmt, filled, tmp_path)

    out = subprocess.run([sys.executable, "-m", "pipeline", "check", "--json", str(converted)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    [submission] = json.loads(out.stdout.strip().splitlines()[0])["submissions"]
    assert (submission["sheet"], submission["unit"], submission["period"], submission["status"]) == (
        "月度报表", "侯寨乡", "2016-10", "accepted")
    assert submission["findings"] == []
    assert {(r["industry"], r["level"]): (r["new"], r["cumulative"], r["reviewing"])
            for r in submission["rows"]} == rows
    assert out.returncode == 0
