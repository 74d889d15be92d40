"""The quarterly run: its figures are those recomputed from the ledger, in the 通报 and 排名表."""
import json
import random
import sqlite3
import subprocess

import openpyxl
import pytest
from docx import Document

from pipeline.demo.year import MONTHS, drop_month
from pipeline.jobs.monthly import run_monthly
from pipeline.jobs.quarterly import run_quarterly
from pipeline.read.units import load_units

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


def test_ranking_workbook_says_what_the_bulletins_table_says(quarter):
    f, _ = quarter
    out = f["outbox"] / "2016Q3"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(out / m["files"]["ranking"])
    ws = wb["排名表"]
    assert [c.value.replace("\n", "") for c in ws[2]] == [
        "名次", "单位", "规模以上企业数", "达标企业数", "达标率", "目标", "差距（百分点）", "季度新增", "按时报送",
        "正在评审", "备注"]
    table = Document(out / m["files"]["docx"]).tables[0]
    attachment = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(attachment) == len(m["ranking"]) == 16
    for r, (entry, shown) in enumerate(zip(m["ranking"], attachment), start=3):
        cells = [ws.cell(r, c) for c in range(1, 12)]
        values = [c.value for c in cells]
        assert values[1] == entry["unit"] == shown[1]
        assert values[0] == (entry["rank"] if entry["rank"] is not None else "—")
        assert str(values[3]) == shown[3]                                 # 达标企业数: 0 for a unit never heard from
        assert values[10] == (shown[10] or None)                          # 备注: 缺报8月, 未报送, 并列
        if entry["rate"] is None:
            assert values[4] == "—" and values[6] == "—"
            assert cells[0].fill.fgColor.rgb == "00D9D9D9"                 # 灰底, as the note says
            continue
        assert values[4] == pytest.approx(entry["rate"]) and cells[4].number_format == "0.0%"
        assert values[6] == ("已达标" if shown[6] == "已达标" else float(shown[6]))   # 百分点
        below = entry["rate"] < entry["target"]
        assert (cells[4].font.color is not None and cells[4].font.color.rgb == "00C00000") == below   # 红字
    assert (ws.cell(18, 2).value, ws.cell(18, 4).value, ws.cell(18, 11).value) == ("德化街街道", 0, "未报送")
    assert any("红字为未达到年度目标" in (ws.cell(r, 1).value or "") for r in range(19, 24))
    assert len(ws._charts) == 1
    assert (wb.properties.creator, wb.properties.title) == ("郑州市二七区安全生产监督管理局", out.joinpath(
        m["files"]["ranking"]).stem)


@pytest.mark.slow
def test_ranking_workbook_prints_on_one_a4_landscape_page(quarter, tmp_path):
    from pipeline.outputs import pdf

    import pdfs
    f, _ = quarter
    out = f["outbox"] / "2016Q3"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    printed = pdf.to_pdf(out / m["files"]["ranking"], tmp_path)
    assert pdf.page_count(printed) == 1
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
    assert "841.89 x 595.3" in info                                       # A4, landscape
    text = pdfs.pdf_text(printed, raw=False)
    assert "各单位达标率与年度目标" in text and "德化街街道" in text        # the chart on the table's page


def test_criticized_two_quarters_running_are_flagged_for_interview(tmp_path, settings):
    from pipeline.jobs.quarterly import build_context
    from pipeline.store.ledger import Ledger
    f = {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
         "reference": REFERENCE}
    ref = load_units(REFERENCE)
    rng, history = random.Random(8), {}
    for period in ("2016-04", "2016-05", "2016-06", *MONTHS):
        drop_month(f["inbox"], period, ref.names, history, rng, {u.name: u.base for u in ref.units})
        run_monthly(f, period)
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    numbered = {**settings["bulletin"], "numbers": {"2016Q2": 12, "2016Q3": 21}}   # each 通报 has its 文号
    settings = type(settings)({**settings.values, "bulletin": numbered})
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


# --- no 通报 from nothing: refused with exit 2, or with --force a draft that says so on its face -------------
TZ = __import__("datetime").timezone(__import__("datetime").timedelta(hours=8))


def at(*args):
    import datetime as dt
    return dt.datetime(*args, tzinfo=TZ)


def folders(tmp_path, reference=REFERENCE):
    return {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
            "reference": reference}


def one_month(tmp_path, period="2016-10", units=("侯寨乡", "马寨镇"), now=None):
    f = folders(tmp_path)
    drop_month(f["inbox"], period, list(units), {}, random.Random(3), {u: 30 for u in units})
    assert run_monthly(f, period, now=now) == 0
    return f


def test_a_quarter_not_over_is_refused_before_anything_is_done(tmp_path, capsys):
    f = folders(tmp_path)
    drop_month(f["inbox"], "2016-10", ["马寨镇"], {}, random.Random(3), {"马寨镇": 30})
    assert run_quarterly(f, "2016Q4", now=at(2016, 11, 15, 9, 0)) == 2
    err = capsys.readouterr().err
    assert "2016年第四季度尚未结束（2016年12月31日结束）" in err and "--force" in err
    assert not f["outbox"].exists() and not f["archive"].exists()        # not even taken in
    assert len(list(f["inbox"].iterdir())) == 1


def test_a_quarter_with_nothing_counted_is_refused(tmp_path, capsys):
    f = folders(tmp_path)
    f["inbox"].mkdir()
    assert run_quarterly(f, "2016Q3", now=at(2016, 10, 8, 9, 0)) == 2
    assert "2016年第三季度没有任何被计入的报表" in capsys.readouterr().err
    assert not (f["outbox"] / "2016Q3").exists()


@pytest.mark.parametrize("quarter, said", [
    ("2015Q4", "设置中没有 2015 年的年度目标（reference/settings.toml 的 [targets]），草稿的目标按 0 计"),
    ("2019Q1", "设置中没有 2019 年的年度目标（reference/settings.toml 的 [targets]），草稿暂按 100% 计"),
])
def test_a_year_without_its_target_is_refused(tmp_path, capsys, quarter, said):
    f = folders(tmp_path)
    assert run_quarterly(f, quarter, now=at(2019, 10, 8, 9, 0)) == 2
    assert said in capsys.readouterr().err
    from pipeline.core.settings import load_settings
    from pipeline.jobs.quarterly import early_reasons
    assert early_reasons(quarter, load_settings(REFERENCE), at(2019, 10, 8, 9, 0)) == [said]


def test_forced_a_quarter_not_over_is_a_draft_that_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_BULLETIN_DATE", "2016-11-15")
    f = one_month(tmp_path, now=at(2016, 11, 2, 9, 0))
    assert run_quarterly(f, "2016Q4", force=True, now=at(2016, 11, 15, 9, 0)) == 0
    out = f["outbox"] / "2016Q4"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["draft"] == "2016年第四季度尚未结束（2016年12月31日结束）"
    assert all("（草稿）" in name for key, name in m["files"].items())
    paragraphs = [p.text for p in Document(out / m["files"]["docx"]).paragraphs if p.text.strip()]
    assert paragraphs[0] == "草稿　不得印发" and m["draft"] in paragraphs[1]
    assert "草稿　不得印发" in (out / m["files"]["html"]).read_text(encoding="utf-8")
    assert "（草稿）" in openpyxl.load_workbook(out / m["files"]["ranking"])["排名表"]["A1"].value
    assert "二七安监管〔2016〕__号" in paragraphs       # no 文号 given yet: a draft leaves it blank
    # the quarter over and its 文号 given, the real 通报 replaces the draft
    monkeypatch.setenv("PIPELINE_BULLETIN_NUMBERS", '{ "2016Q4" = 30 }')
    assert run_quarterly(f, "2016Q4", now=at(2017, 1, 5, 9, 0)) == 0
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "draft" not in m and not list(out.glob("*草稿*"))
    assert "草稿" not in "".join(p.text for p in Document(out / m["files"]["docx"]).paragraphs)


def test_monthly_for_a_month_not_begun_is_refused(tmp_path, capsys):
    f = folders(tmp_path)
    drop_month(f["inbox"], "2016-10", ["马寨镇"], {}, random.Random(3), {"马寨镇": 30})
    assert run_monthly(f, "2016-11", now=at(2016, 10, 20, 9, 0)) == 2
    assert "2016年11月还没有开始" in capsys.readouterr().err
    assert not f["outbox"].exists() and not f["archive"].exists()


def test_monthly_for_the_current_month_is_interim_and_says_so(tmp_path):
    f = one_month(tmp_path, now=at(2016, 10, 20, 14, 5))
    out = f["outbox"] / "2016-10"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["interim"] == "2016-10-20T14:05:00+08:00"
    note = "注：2016年10月尚未结束，本表为截至 2016年10月20日 14:05 的中期汇总，不是该月的正式月报；月底后重新运行即得正式月报。"
    form = openpyxl.load_workbook(out / m["files"]["form"]).active
    assert form["A16"].value == note and form["A16"].font.color.rgb == "FFC00000"
    book = openpyxl.load_workbook(out / m["files"]["status"])["报送情况"]
    texts = [c.value for row in book.iter_rows() for c in row if c.value]
    assert texts[0].endswith("报送情况（中期）") and note in texts
    # after the month: the same ledger, the final outputs, with no word of an interim
    assert run_monthly(f, "2016-10", now=at(2016, 11, 2, 9, 0)) == 0
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "interim" not in m
    form = openpyxl.load_workbook(out / m["files"]["form"]).active
    assert form["A16"].value is None
