"""The year's 综合排名 (pipeline/annual.py): the README's worked example by hand, with a tie; and the
annual run over the demo's year, its figures recomputed from the ledger."""
import datetime as dt
import json
import sqlite3

import openpyxl
import pytest
from docx import Document

from pipeline.core.model import INDUSTRIES, LEVELS, Received, Row
from pipeline.figures.annual import Place, quarter_part, rank_year, standings, weights_of
from pipeline.jobs.annual import NothingToRank, build_context, write_annual
from pipeline.jobs.quarterly import build_context as quarter_context
from pipeline.jobs.register_ledger import load_import
from pipeline.read.units import Unit, load_units
from pipeline.store.ledger import Ledger

from conftest import REFERENCE

YEAR = [f"2016-{m:02d}" for m in range(1, 13)]
QUARTERS = ["2016Q1", "2016Q2", "2016Q3", "2016Q4"]
AT = dt.datetime(2016, 1, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def form(unit, month, new, cumulative, late=False):
    """A counted form whose 冶金 三级 row carries the unit's numbers, every other row zero."""
    rows = tuple(Row(i, lv, *((new, cumulative, 0) if (i, lv) == ("冶金", 3) else (0, 0, 0)))
                 for i in INDUSTRIES for lv in LEVELS)
    return Received(1, f"{unit}.xlsx", "", "", AT, "月度报表", unit, month, "accepted", late, rows, ())


def year_of(unit, start, news, late=(), missing=()):
    """A unit's twelve months: cumulative `start` + the new ones so far; `news` month -> 当月完成."""
    out, cum = {}, start
    for m in YEAR:
        cum += news.get(m, 0)
        if m not in missing:
            out[m] = form(unit, m, news.get(m, 0), cum, late=m in late)
    return out


# The README's example: 2016, target 50 %, weights 40 / 30 / 15 / 15; four quarters of four ranked units.
UNITS = [Unit("甲", 10, None, None, ()), Unit("乙", 20, None, None, ()), Unit("丙", 10, None, None, ()),
         Unit("丁", 20, None, None, ()), Unit("戊", 15, None, None, ()), Unit("己", 0, None, None, ())]
FORMS = {
    "甲": year_of("甲", 2, {"2016-03": 1, "2016-06": 1, "2016-09": 1, "2016-12": 1}),              # 6 of 10, 4 new
    "乙": year_of("乙", 2, {m: 1 for m in YEAR[:4] + YEAR[5:9]}, missing=("2016-05",)),            # 10 of 20, 8 new
    "丙": year_of("丙", 2, {"2016-04": 1, "2016-10": 1}),                                          # 4 of 10, 2 new
    "丁": year_of("丁", 2, {m: 1 for m in YEAR[3:9]}, late=("2016-11",)),                          # 8 of 20, 6 new
    "己": year_of("己", 0, {}),
}
RANKS = {"2016Q1": {"甲": 1, "乙": 2, "丙": 3, "丁": 4}, "2016Q2": {"甲": 1, "乙": 2, "丙": 3, "丁": 4},
         "2016Q3": {"乙": 1, "甲": 2, "丁": 3, "丙": 4}, "2016Q4": {"甲": 1, "乙": 2, "丙": 3, "丁": 3}}


def example(settings):
    counted = {m: {u: forms[m] for u, forms in FORMS.items() if m in forms} for m in YEAR}
    places = {q: {**{u: Place(k, 4, "排名") for u, k in ranks.items()}, "戊": Place(None, 4, "未报送"),
                  "己": Place(None, 4, "无规模以上企业")} for q, ranks in RANKS.items()}
    due = {u.name: YEAR for u in UNITS}
    return rank_year(standings(UNITS, YEAR, due, counted, places, QUARTERS), 0.5, weights_of(settings))


def test_the_readme_example_by_hand(settings):
    rows = {r.unit: r for r in example(settings)}
    assert weights_of(settings) == {"rate": 40, "quarters": 30, "on_time": 15, "new": 15}
    # 甲: 60 % ≥ target: 100; quarters (3/3, 3/3, 2/3, 3/3) × 100 → 91.67; 12/12 → 100; 0.4 new a
    # certificate-base, the best ratio → 100.  40 + 27.5 + 15 + 15 = 97.5
    a = rows["甲"]
    assert (a.certified, a.rate, a.new_in_year, a.on_time, a.due) == (6, 0.6, 4, 12, 12)
    assert a.parts == pytest.approx({"rate": 100, "quarters": 275 / 3, "on_time": 100, "new": 100})
    assert a.score == 97.5
    # 乙: 50 %: 100; (2/3, 2/3, 3/3, 2/3) → 75; May missing: 11/12 → 91.67; 8/20 = 0.4 → 100.
    # 40 + 22.5 + 13.75 + 15 = 91.25 → 91.3 (half up)
    b = rows["乙"]
    assert (b.certified, b.on_time, b.missing, b.parts["quarters"], b.score) == (10, 11, ("2016-05",), 75, 91.3)
    # 丙: 40 %: 80; (1/3, 1/3, 0, 1/3) → 25; 12/12; 2/10 = 0.2 → 50.  32 + 7.5 + 15 + 7.5 = 62.0
    c = rows["丙"]
    assert c.parts == pytest.approx({"rate": 80, "quarters": 25, "on_time": 100, "new": 50}) and c.score == 62.0
    # 丁: 40 %: 80; (0, 0, 1/3, 1/3) → 16.67; November late: 11/12; 6/20 = 0.3 → 75.
    # 32 + 5 + 13.75 + 11.25 = 62.0: the same as 丙, so both are 3rd (并列) and nobody is 4th.
    d = rows["丁"]
    assert d.parts == pytest.approx({"rate": 80, "quarters": 50 / 3, "on_time": 275 / 3, "new": 75})
    assert d.score == 62.0 and d.late == ("2016-11",)
    got = [(r.rank, r.unit, r.score, r.status, r.tied) for r in example(settings)]
    assert got == [(1, "甲", 97.5, "排名", False), (2, "乙", 91.3, "排名", False), (3, "丙", 62.0, "排名", True),
                   (3, "丁", 62.0, "排名", True), (None, "戊", None, "全年未报送", False),
                   (None, "己", None, "无规模以上企业", False)]


def test_quarter_part_leaves_out_quarters_without_a_ranking():
    assert quarter_part([Place(1, 4, "排名"), None, Place(None, 4, "未报送")]) == pytest.approx(50)
    assert quarter_part([Place(1, 1, "排名")]) == 100
    assert quarter_part([None, None]) is None


def test_weights_come_from_the_settings(monkeypatch):
    from pipeline.core.settings import load_settings
    monkeypatch.setenv("PIPELINE_ANNUAL_WEIGHT_QUARTERS", "0")
    rows = {r.unit: r for r in example(load_settings(REFERENCE))}
    # without the quarters: 丙 (40 × 80 + 15 × 100 + 15 × 50) / 70 = 77.86 → 77.9;
    # 丁 (40 × 80 + 15 × 91.67 + 15 × 75) / 70 = 81.43 → 81.4: the tie is broken, 丁 ahead
    assert (rows["丙"].score, rows["丁"].score) == (77.9, 81.4)
    assert (rows["丁"].rank, rows["丙"].rank, rows["丙"].tied) == (3, 4, False)


# ---------------------------------------------------------------- the demo's year
@pytest.fixture(scope="module")
def annual(demo_year, tmp_path_factory, settings):
    f, sent = demo_year
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    out = {**f, "outbox": tmp_path_factory.mktemp("annual")}
    units = load_units(REFERENCE)
    folder = write_annual(ledger, out, 2016, settings, units, today=dt.date(2017, 1, 20))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    yield f, ledger, folder, manifest, units
    ledger.close()


def year_end(f, units):
    """达标企业数 per unit straight from the ledger: its last counted month's sum of 累计完成 (in a
    closed quarter's month, the form counted when the quarter closed)."""
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    last = dict(db.execute("SELECT quarter, last_submission FROM closings WHERE reopened_at IS NULL"))
    limit = {m: last[q] for q in last for m in (f"{q[:4]}-{3 * int(q[-1]) - k:02d}" for k in (2, 1, 0))}
    out = {}
    for u in units.units:
        for month in reversed(YEAR):
            got = db.execute("SELECT id FROM submissions WHERE unit=? AND period=? AND status='accepted' AND id <= ?"
                             " ORDER BY received_at DESC, id DESC LIMIT 1", (u.name, month, limit.get(month, 1 << 62))).fetchone()
            if got:
                out[u.name] = db.execute("SELECT sum(cumulative) FROM rows WHERE submission_id=?", got).fetchone()[0]
                break
    return out


def register_bases(f, units) -> dict:
    """Each unit's 规模以上企业数 at the year's end: its above-scale enterprises not closed in the
    enterprise register's last import where it has any (docs/register.md §4), else units.csv's."""
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    last = db.execute("SELECT max(id) FROM register_imports").fetchone()[0]
    counted = dict(db.execute("SELECT unit, sum(scale = '规模以上' AND status <> '已关闭') FROM register_rows"
                              " WHERE import_id = ? GROUP BY unit", (last,)))
    return {u.name: counted.get(u.name, u.base) for u in units.units}


def test_year_end_rates_are_the_ledgers(annual):
    f, _, _, m, units = annual
    want = year_end(f, units)
    base = register_bases(f, units)
    assert base["侯寨乡"] == 57                               # its enterprises are not in the register
    got = {r["unit"]: r["certified"] for r in m["ranking"] if r["certified"] is not None}
    assert got == want
    for r in m["ranking"]:
        if r["rate"] is not None:
            assert r["rate"] == pytest.approx(want[r["unit"]] / base[r["unit"]]) and r["target"] == 0.5
    assert [r["unit"] for r in m["ranking"] if r["status"] == "全年未报送"] == ["德化街街道"]
    assert m["quarters"] == QUARTERS and m["missing_quarters"] == []
    scores = [r["score"] for r in m["ranking"] if r["rank"] is not None]
    assert scores == sorted(scores, reverse=True)


def test_quarter_places_are_the_quarterly_rankings(annual, settings):
    from pipeline.jobs import closing
    _, ledger, _, m, units = annual
    for k, q in enumerate(QUARTERS):
        view, closed = closing.view(ledger, q)
        assert (closed is not None) == (q == "2016Q3")
        latest = ledger.db.execute("SELECT max(id) FROM register_imports").fetchone()[0]
        used = closed.register_import if closed else latest
        assert (used < latest) if closed else (used == latest)   # the closed quarter keeps the register its 通报 used
        ctx, _ = quarter_context(view, units, q, settings, register=load_import(ledger, used))
        ranks = {r.unit: r.rank for r in ctx.ranking}
        assert {r["unit"]: r["quarters"][k] for r in m["ranking"]} == ranks


def test_new_in_year_and_months_on_time_are_the_ledgers(annual):
    f, _, _, m, _ = annual
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    rows = {r["unit"]: r for r in m["ranking"]}
    # 铭功路街道 was late in May, July and August and sent every month: 9 of 12 on time
    assert (rows["铭功路街道"]["on_time"], rows["铭功路街道"]["due"]) == (9, 12)
    # 一马路街道 missed August, never late
    assert rows["一马路街道"]["on_time"] == 11
    new = db.execute("SELECT sum(t.new) FROM form_totals t JOIN submissions s ON s.id = t.submission_id"
                     " WHERE s.unit = '解放路街道' AND s.status = 'accepted'").fetchone()[0]
    assert rows["解放路街道"]["new_in_year"] == new   # one form a month, none superseded


def test_the_bulletin_and_the_workbook(annual):
    _, _, folder, m, units = annual
    doc = Document(folder / m["files"]["docx"])
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "关于2016年度工贸行业企业安全生产标准化\n达标创建情况综合排名的通报" in text
    assert "二七安监管〔2017〕1号" in text and "2017年1月20日" in text
    assert "德化街街道（全年未报送）" in text and "德化街街道全年未报送月度报表。" in text
    assert "京广路街道报表“数字异常偏高”1处" in text   # May's 正在评审, left as sent
    table = doc.tables[0]
    assert [c.text.replace("\n", "") for c in table.rows[0].cells][:4] == ["名次", "单位", "一季度名次", "二季度名次"]
    first = m["ranking"][0]
    assert [c.text for c in table.rows[1].cells][:2] == ["1", first["unit"]]
    assert table.rows[1].cells[9].text == f"{first['score']:.1f}"
    book = openpyxl.load_workbook(folder / m["files"]["ranking"])
    ws = book["综合排名"]
    assert ws.cell(3, 2).value == first["unit"] and ws.cell(3, 19).value == first["score"]
    for r, row in enumerate(m["ranking"], 3):   # 差距 in 百分点, or 已达标, as the quarterly 排名表 says it
        if row.get("rate") is not None:
            below = row["rate"] < row["target"]
            assert ws.cell(r, 11).value == (round((row["target"] - row["rate"]) * 100, 1) if below else "已达标")
    trend = book["月度达标率"]
    assert len(trend._charts) == sum(1 for u in units.units if u.base > 0)
    assert [trend.cell(2, c).value for c in range(1, 14)] == ["单位", *[f"{k}月" for k in range(1, 13)]]
    assert all(trend.cell(3, c).value is None or 0 <= trend.cell(3, c).value <= 1 for c in range(2, 14))
    html = (folder / m["files"]["html"]).read_text(encoding="utf-8")
    assert html.count("<svg") == len(trend._charts)
    assert (folder / m["files"]["pdf"]).stat().st_size > 10_000


def test_a_year_with_missing_quarters_says_which(annual, settings):
    _, ledger, _, _, units = annual
    ctx = build_context(ledger, units, 2016, settings, dt.date(2016, 8, 15))
    assert ctx.quarters == ("2016Q1", "2016Q2")
    assert ctx.missing_quarters == (("2016Q3", "尚未结束"), ("2016Q4", "尚未结束"))
    assert ctx.last_month == 7
    with pytest.raises(NothingToRank):
        build_context(ledger, units, 2015, settings, dt.date(2016, 8, 15))
    with pytest.raises(NothingToRank):
        build_context(ledger, units, 2016, settings, dt.date(2016, 1, 15))


def test_missing_quarters_in_the_text(annual, settings, tmp_path):
    from pipeline.outputs.annual_bulletin import render_docx
    from pipeline.outputs.trends import draw_trends
    _, ledger, _, _, units = annual
    ctx = build_context(ledger, units, 2016, settings, dt.date(2016, 8, 15))
    chart = draw_trends(ctx.trends, 0.5, tmp_path / "t.png", "目标")
    text = "\n".join(p.text for p in Document(render_docx(ctx, tmp_path / "a.docx", chart)).paragraphs)
    assert "和第一季度、第二季度的通报排名" in text
    assert "（第三季度尚未结束，第四季度尚未结束，不计入本次排名）" in text
    assert "2016年1月至7月" in text
