"""The register in the runs: a month's forms reconciled with it (the receipt, 报送情况, the ledger),
the quarter's base taken from it and back, and the 通报 and 排名表 that show it."""
import datetime as dt
import json
import os
import shutil

import openpyxl
import pytest
from docx import Document

from pipeline.core.settings import load_settings
from pipeline.jobs.monthly import run_monthly
from pipeline.jobs.quarterly import build_context, run_quarterly
from pipeline.jobs.register import register_in_use
from pipeline.read.units import load_units
from pipeline.store.ledger import Ledger

from conftest import REFERENCE, ROWS, form_cells, write_book
from registers import row, write_register

MONTHS = ("2016-07", "2016-08", "2016-09")


def honest(cumulative: int, new: int = 0) -> dict:
    """A form whose only counts are 机械 三级's."""
    rows = {k: (0, 0, 0) for k in ROWS}
    rows[("机械", 3)] = (new, cumulative, 0)
    return rows


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    """侯寨乡 (in the register: 4 above-scale enterprises, 2 of them certified 机械 三级) reports 2, then
    3 in September; 马寨镇 (not in the register) reports 5. Each month's forms arrive before its end."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PIPELINE_BULLETIN_DATE", "2016-10-10")
    tmp = tmp_path_factory.mktemp("reg")
    ref = tmp / "reference"
    ref.mkdir()
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(REFERENCE / name, ref / name)
    write_register(ref / "enterprises.xlsx", [
        row(1, "甲机械有限公司", issued=dt.date(2016, 2, 1)), row(2, "乙机械有限公司", issued=dt.date(2015, 6, 1)),
        row(3, "丙机械有限公司", issued=dt.date(2013, 5, 1)),   # expired 2016-04-30
        row(4, "丁机械有限公司", status="创建中", grade=None, cert_no=None, issued=None),
        row(5, "戊机械有限公司", scale="小微", status="未开展", grade=None, cert_no=None, issued=None)])
    f = {"inbox": tmp / "inbox", "archive": tmp / "archive", "outbox": tmp / "outbox", "reference": ref}
    f["inbox"].mkdir()
    for period in MONTHS:
        y, m = int(period[:4]), int(period[5:])
        for unit, count, new in (("侯寨乡", 3, 1) if period == "2016-09" else ("侯寨乡", 2, 0), ("马寨镇", 5, 0)):
            path = write_book(f["inbox"] / f"{unit}_{y}年{m}月.xlsx", form_cells(unit, (y, m), honest(count, new)))
            when = dt.datetime(y, m, 20, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
            os.utime(path, (when, when))
        run_monthly(f, period)
    yield f
    mp.undo()


def test_a_form_that_differs_gets_the_warning_in_its_receipt_and_the_status_book(quarter):
    f = quarter
    m = json.loads((f["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    codes = {s["unit"]: s["codes"] for s in m["submissions"]}
    assert codes["侯寨乡"] == ["RECONCILE_MISMATCH"] and codes["马寨镇"] == []     # 马寨镇: not in the register
    assert {s["unit"]: s["codes"] for s in json.loads(
        (f["outbox"] / "2016-08" / "manifest.json").read_text(encoding="utf-8"))["submissions"]}["侯寨乡"] == []
    [receipt] = (f["outbox"] / "2016-09" / "回执").glob("回执_侯寨乡_*.txt")
    text = receipt.read_text(encoding="utf-8-sig")
    assert "【提示】月度报表!I7：“机械 三级 累计完成”填报 3 家，区局企业台账中截至 2016年9月30日 达标有效的为 2 家" in text
    assert "丙机械有限公司（证书2016年4月30日到期）" in text and "处理结果：已接收" in text
    marked = openpyxl.load_workbook(next((f["outbox"] / "2016-09" / "回执").glob("回执_侯寨乡_*_标注.xlsx")))
    assert "达标有效的为 2 家" in marked["月度报表"]["I7"].comment.text     # the cell marked, the message its comment
    status = openpyxl.load_workbook(next((f["outbox"] / "2016-09").glob("*_报送情况.xlsx")))["报送情况"]
    cells = [c for r in status.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert "与企业台账不符（错误 0 项，提示 1 项）" in cells
    note = next(c for c in cells if "未与台账核对" in c)
    assert note.startswith("企业台账中没有淮河路街道、") and "等 15 个单位的企业" in note and "侯寨乡" not in note


def test_the_base_switches_to_the_register_and_back(quarter):
    f = quarter
    settings, units = load_settings(f["reference"]), load_units(f["reference"])
    ledger = Ledger.open(f["archive"] / "ledger.sqlite")
    try:
        register = register_in_use(f, ledger, settings)
        ctx, ranking = build_context(ledger, units, "2016Q3", settings, register=register)
        rows = {r.unit: r for r in ctx.ranking}
        assert (rows["侯寨乡"].base, rows["侯寨乡"].base_source) == (4, "企业台账")   # 1–4 above scale, not closed
        assert (rows["侯寨乡"].certified, rows["侯寨乡"].rate) == (3, 0.75)             # the ranking: the forms
        assert (rows["侯寨乡"].register_certified, rows["侯寨乡"].register_rate) == (2, 0.5)
        base = units.get("马寨镇").base
        assert (rows["马寨镇"].base, rows["马寨镇"].base_source, rows["马寨镇"].register_rate) == (base, "单位名录", None)
        assert ctx.summary.base == sum(r.base for r in ctx.ranking)
        part = ctx.register
        assert (part.base, part.certified, part.rate) == (4, 2, 0.5)
        assert part.units == (("侯寨乡", 0.5, 0.75),)
        assert "马寨镇" in part.unreconciled and part.key == (("侯寨乡", 2),)   # 丙 expired, 戊 not started
        assert part.expired == 0 and part.withdrawn == 0                       # 丙 ran out in Q2

        back, _ = build_context(ledger, units, "2016Q3", settings, register=None)       # the register taken away
        rows = {r.unit: r for r in back.ranking}
        assert (rows["侯寨乡"].base, rows["侯寨乡"].base_source, rows["侯寨乡"].rate) == \
            (units.get("侯寨乡").base, "单位名录", 3 / units.get("侯寨乡").base)
        assert back.register is None
    finally:
        ledger.close()


def test_without_the_register_file_the_run_uses_none(quarter, tmp_path):
    f = dict(quarter)
    f["reference"] = tmp_path
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(quarter["reference"] / name, tmp_path / name)
    ledger = Ledger.open(f["archive"] / "ledger.sqlite")
    try:
        assert register_in_use(f, ledger, load_settings(tmp_path)) is None
    finally:
        ledger.close()


@pytest.mark.slow
def test_the_bulletin_and_the_ranking_workbook_show_the_register(quarter):
    f = quarter
    assert run_quarterly(f, "2016Q3") == 0
    out = f["outbox"] / "2016Q3"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    by = {r["unit"]: r for r in m["ranking"]}
    assert (by["侯寨乡"]["base"], by["侯寨乡"]["base_source"], by["侯寨乡"]["register_rate"]) == (4, "企业台账", 0.5)
    assert by["马寨镇"]["base_source"] == "单位名录"
    ws = openpyxl.load_workbook(next(out.glob("*排名表.xlsx")))["排名表"]
    heads = [c.value for c in ws[2]]
    assert heads[-3:] == ["基数来源", "台账达标企业数", "台账达标率"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True) if r[1]}
    assert rows["侯寨乡"][-3:] == ("企业台账", 2, 0.5) and rows["马寨镇"][-3] == "单位名录"
    text = "\n".join(p.text for p in Document(next(out.glob("*.docx"))).paragraphs)
    assert "企业台账核对情况。按区安全监管局企业台账核算，截至2016年9月底，除" in text
    assert "台账达标率为50.0%" in text and "侯寨乡50.0%（75.0%）" in text
    assert "列为重点监管的企业共2家：侯寨乡2家" in text
    assert "侯寨乡报表“与企业台账不符”1处" in text          # the data-quality part
