"""`python -m pipeline template --register`: a blank register with drop-down lists and checked dates,
read back by the pipeline as a register with no enterprise, opening cleanly in LibreOffice."""
import re
import subprocess

import openpyxl
import pytest

from pipeline.cli import main
from pipeline.core.model import INDUSTRIES
from pipeline.outputs.pdf import to_pdf
from pipeline.read.register import LABELS, read_register

from conftest import REFERENCE


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    out = tmp_path_factory.mktemp("tpl")
    assert main(["template", "--register", f"--outbox={out}", f"--reference={REFERENCE}"]) == 0
    return out / "templates" / "企业台账_空白.xlsx"


def lists_of(ws) -> dict[str, tuple[str, str]]:
    """Each validated column's header -> (kind, formula)."""
    heads = {c.column_letter: c.value for c in ws[1]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        first = str(dv.sqref).split(":")[0]
        out[heads[first.rstrip("0123456789")]] = (dv.type, dv.formula1)
    return out


def test_the_blank_register_has_the_columns_and_the_lists(blank, units):
    book = openpyxl.load_workbook(blank)
    assert book.sheetnames == ["企业台账", "选项", "回访记录", "填写说明"]
    assert book["选项"].sheet_state == "hidden"
    ws = book["企业台账"]
    assert [c.value for c in ws[1]] == list(LABELS)
    assert ws.freeze_panes == "B2"
    got = lists_of(ws)
    options = book["选项"]
    column = {options.cell(1, c).value: [options.cell(r, c).value for r in range(2, options.max_row + 1)
                                         if options.cell(r, c).value] for c in range(1, options.max_column + 1)}
    for name, values in (("所属单位", units.names), ("行业", list(INDUSTRIES)),
                         ("规模", ["规模以上", "规模以下", "小微"]),
                         ("状态", ["未开展", "创建中", "正在评审", "已达标", "已摘牌", "已关闭"]),
                         ("等级", ["一级", "二级", "三级"])):
        kind, source = got[name]
        assert kind == "list" and source.startswith("选项!$"), name
        assert column[name] == values
    for name in ("发证日期", "有效期至", "摘牌日期", "最近检查日期", "最近回访日期"):
        assert got[name][0] == "date", name
    assert got["统一社会信用代码"][0] == "textLength"
    assert got["高风险作业"][0] is None              # several a cell: a prompt, no list
    assert ws.column_dimensions["A"].number_format == "@"           # the code kept as text
    assert ws.column_dimensions["I"].number_format == "yyyy-mm-dd"
    assert lists_of(book["回访记录"])["结果"][0] == "list"


def test_the_blank_register_reads_as_one_with_no_enterprise(blank, units, settings):
    got = read_register(blank, units, settings)
    assert (got.findings, got.rows, len(got.enterprises), len(got.revisits)) == ((), 0, 0, 0)


def test_a_filled_in_blank_register_is_read(blank, tmp_path, units, settings):
    from registers import code, row
    book = openpyxl.load_workbook(blank)
    book["企业台账"].append(row(1))
    book["回访记录"].append([code(1), "2016-06-01", "合格", ""])
    book.save(tmp_path / "enterprises.xlsx")
    got = read_register(tmp_path / "enterprises.xlsx", units, settings)
    assert got.findings == ()
    assert list(got.enterprises["code"]) == [code(1)] and len(got.revisits) == 1


@pytest.mark.slow
def test_libreoffice_opens_the_blank_register(blank, tmp_path):
    pdf = to_pdf(blank, tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+3$", info, re.M)      # 企业台账, 回访记录, 填写说明 (选项 is hidden)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "统一社会信用代码" in text and "填写说明" in text
