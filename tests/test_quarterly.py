"""The quarterly run: its figures are those recomputed from the ledger, in the 通报 and 排名表."""
import json
import random
import sqlite3

import openpyxl
import pytest
from docx import Document

from pipeline.demo import MONTHS, drop_month
from pipeline.monthly import run_monthly
from pipeline.quarterly import run_quarterly
from pipeline.reference import load_units

from conftest import REFERENCE

LEFT_BY_A_KILLED_RUN = [".关于2016年第三季度工贸行业企业安全生产标准化达标创建情况的通报.4242.tmp.docx",
                        ".manifest.4242.tmp.json"]
KEPT = ["说明.tmp", ".hidden"]


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PIPELINE_BULLETIN_DATE", "2016-10-10")
    tmp = tmp_path_factory.mktemp("q")
    f = {"inbox": tmp / "inbox", "archive": tmp / "archive", "outbox": tmp / "outbox", "reference": REFERENCE}
    ref = load_units(REFERENCE)
    rng, history = random.Random(5), {}
    for period in MONTHS:
        drop_month(f["inbox"], period, ref.names, history, rng, {u.name: u.base for u in ref.units})
        run_monthly(f, period)
    (f["outbox"] / "2016Q3").mkdir(parents=True)
    for name in LEFT_BY_A_KILLED_RUN + KEPT:
        (f["outbox"] / "2016Q3" / name).write_bytes(b"half a file")
    assert run_quarterly(f, "2016Q3") == 0
    yield f, ref
    mp.undo()


def recomputed(f, ref):
    """达标企业数 per unit straight from the ledger: the last counted month's sum of 累计完成."""
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    out = {}
    for u in ref.units:
        got = db.execute(
            "SELECT s.id FROM submissions s WHERE s.unit=? AND s.status='accepted' AND s.period IN (?,?,?)"
            " ORDER BY s.period DESC, s.received_at DESC, s.id DESC LIMIT 1", (u.name, *MONTHS)).fetchone()
        if got:
            out[u.name] = db.execute("SELECT sum(cumulative) FROM rows WHERE submission_id=?", got).fetchone()[0]
    return out


def test_ranking_figures_equal_the_ledger(quarter):
    f, ref = quarter
    m = json.loads((f["outbox"] / "2016Q3" / "manifest.json").read_text(encoding="utf-8"))
    want = recomputed(f, ref)
    got = {r["unit"]: r["certified"] for r in m["ranking"] if r["certified"] is not None}
    assert got == want
    base = {u.name: u.base for u in ref.units}
    for r in m["ranking"]:
        if r["rate"] is not None:
            assert r["rate"] == pytest.approx(want[r["unit"]] / base[r["unit"]])
            assert r["target"] == 0.5
    ranks = [r["rank"] for r in m["ranking"] if r["rank"] is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert [r["unit"] for r in m["ranking"] if r["status"] == "未报送"] == ["德化街街道"]
    assert "德化街街道" in m["criticized"]


def test_bulletin_states_the_ledger_totals(quarter):
    f, ref = quarter
    out = f["outbox"] / "2016Q3"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    text = "\n".join(p.text for p in Document(out / m["files"]["docx"]).paragraphs)
    want = recomputed(f, ref)
    certified, base = sum(want.values()), sum(u.base for u in ref.units)
    assert f"累计完成安全生产标准化达标创建{certified}家" in text
    assert f"全区达标率为{certified / base * 100:.1f}%" in text
    assert "二七安监管〔2016〕" in text and "2016年10月10日" in text
    for unit in m["praised"]:
        assert unit in text
    assert "德化街街道" in text
    assert (out / m["files"]["pdf"]).stat().st_size > 10_000
    html = (out / m["files"]["html"]).read_text(encoding="utf-8")
    assert f"{certified / base * 100:.1f}%" in html
    assert html.count("<svg") == len(ref.units) and "走势（1月至9月）" in html   # each unit's rate month by month


def test_ranking_workbook_has_every_component_and_a_chart(quarter):
    f, _ = quarter
    out = f["outbox"] / "2016Q3"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(out / m["files"]["ranking"])
    ws = wb["排名表"]
    assert [c.value for c in ws[2]][:10] == ["名次", "单位", "规模以上企业数", "达标企业数", "达标率", "年度目标",
                                            "差距", "季度新增", "按时报送（月）", "正在评审"]
    rows = {ws.cell(r, 2).value: r for r in range(3, 3 + len(m["ranking"]))}
    for entry in m["ranking"]:
        r = rows[entry["unit"]]
        assert ws.cell(r, 1).value == entry["rank"]
        if entry["rate"] is not None:
            assert ws.cell(r, 5).value == pytest.approx(entry["rate"])
            below = entry["rate"] < entry["target"]
            assert (ws.cell(r, 5).fill.fgColor.rgb == "00F8CBAD") == below
    assert len(ws._charts) == 1


def test_criticized_two_quarters_running_are_flagged_for_interview(tmp_path, settings):
    from pipeline.ledger import Ledger
    from pipeline.quarterly import build_context
    f = {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
         "reference": REFERENCE}
    ref = load_units(REFERENCE)
    rng, history = random.Random(8), {}
    for period in ("2016-04", "2016-05", "2016-06", *MONTHS):
        drop_month(f["inbox"], period, ref.names, history, rng, {u.name: u.base for u in ref.units})
        run_monthly(f, period)
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    q2, _ = build_context(ledger, ref, "2016Q2", settings)
    q3, _ = build_context(ledger, ref, "2016Q3", settings)
    assert "德化街街道" in q2.criticized and "德化街街道" in q3.criticized   # never reports
    assert set(q3.interview) == set(q2.criticized) & set(q3.criticized)
    assert "德化街街道" in q3.interview
    assert q3.summary.previous_rate == pytest.approx(q2.summary.rate)
    assert q2.summary.previous_rate is None                                   # nothing before Q2


def test_the_folder_holds_the_outputs_and_no_temporary_file(quarter):
    f, _ = quarter
    out = f["outbox"] / "2016Q3"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(p.name for p in out.iterdir()) == sorted([*m["files"].values(), "manifest.json", *KEPT])
