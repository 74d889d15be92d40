"""OUTLIER (pipeline/outliers.py): a month far above the unit's own history is flagged, an ordinary
one is not; over the demo's year only the two implausible forms it holds are flagged."""
import datetime as dt
import sqlite3

import openpyxl
import pytest
from docx import Document

from pipeline.check import outliers
from pipeline.core.model import INDUSTRIES, LEVELS
from pipeline.demo.year import OUTLIERS
from pipeline.jobs.quarterly import build_context
from pipeline.outputs.bulletin import render_docx
from pipeline.outputs.chart import draw_chart
from pipeline.read.units import load_units
from pipeline.store.ledger import Ledger

from conftest import NOW, REFERENCE, form_cells, write_book

ZERO = {(i, lv): (0, 0, 0) for i in INDUSTRIES for lv in LEVELS}


def rows_with(**cells):
    """The form's rows as `check` reads them: all zero but the given (industry, level) -> counts."""
    rows = dict(ZERO)
    for key, value in cells.items():
        rows[(key[:2], int(key[2]))] = value
    return rows


def test_the_robust_rule_on_a_unit_that_adds_about_one_a_month(settings):
    history = [1, 0, 2, 1, 1, 0, 1, 3, 1]             # median 1, MAD 0 -> spread: the floor, 1
    norm = outliers.norm(history, {}, "2016-10", settings)
    assert norm.new_limit() == (6, 1)                   # 1 + 5 × 1
    limit, median, spread = outliers.robust_limit([0, 0, 0, 10, 0, 0], 5, 1)
    assert (median, spread, limit) == (0, 1, 5)         # one spike moves neither the median nor the MAD
    assert outliers.robust_limit([2, 4, 6, 8, 10, 12], 5, 1) == (pytest.approx(7 + 5 * 1.4826 * 3), 7, pytest.approx(1.4826 * 3))


def test_little_history_uses_the_fixed_ceiling(settings):
    norm = outliers.norm([1, 2], {"2016-08": 3, "2016-09": 4}, "2016-10", settings)
    assert (norm.new_limit(), norm.reviewing_limit(), norm.last_reviewing, norm.last_period) == \
        ((10, None), (10, None), 4, "2016-09")
    assert "不足 6 个月" in norm.new_basis()


def check_with(check, tmp_path, rows, norm):
    path = write_book(tmp_path / "侯寨乡_2016年10月.xlsx", form_cells(period=(2016, 10), rows=rows))
    return check(path, past=lambda keys: {k: norm for k in keys})


def test_a_month_far_above_the_units_history_is_flagged_at_its_largest_cell(check, tmp_path, settings):
    norm = outliers.norm([1, 0, 2, 1, 1, 0, 1, 3, 1], {}, "2016-10", settings)
    result = check_with(check, tmp_path, rows_with(机械3=(7, 20, 0), 商贸3=(2, 9, 0)), norm)
    [sub] = result.submissions
    assert sub.status == "accepted"                     # a warning, never a rejection
    [f] = [f for f in sub.findings if f.code == "OUTLIER"]
    assert (f.severity, f.cell, f.value) == ("warning", "月度报表!H7", "7")   # 机械 三级 当月完成
    assert "本月当月完成合计 9 家" in f.message and "中位数为 1 家" in f.message and "超过 6.0 家" in f.message


def test_an_ordinary_month_is_not_flagged(check, tmp_path, settings):
    norm = outliers.norm([1, 0, 2, 1, 1, 0, 1, 3, 1], {m: 3 for m in ("2016-08", "2016-09")}, "2016-10", settings)
    result = check_with(check, tmp_path, rows_with(机械3=(3, 20, 2), 商贸3=(2, 9, 4)), norm)
    assert not [f for f in result.submissions[0].findings if f.code == "OUTLIER"]


def test_a_jump_in_reviewing_with_no_history_to_explain_it(check, tmp_path, settings):
    norm = outliers.norm([], {"2016-09": 2}, "2016-10", settings)
    result = check_with(check, tmp_path, rows_with(建材2=(0, 4, 14), 机械3=(0, 3, 1)), norm)
    [f] = [f for f in result.submissions[0].findings if f.code == "OUTLIER"]
    assert f.cell == "月度报表!G11" and f.value == "14"  # 建材 二级 正在评审
    assert "比上月（2016-09）的 2 家增加 13 家" in f.message
    none_before = outliers.norm([], {}, "2016-10", settings)   # no last month: no increase to judge
    assert not [f for f in check_with(check, tmp_path, rows_with(建材2=(0, 4, 14)), none_before).submissions[0].findings
                if f.code == "OUTLIER"]


def test_the_demo_year_has_no_false_alarm(demo_year):
    f, _ = demo_year
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    flagged = db.execute("SELECT s.unit, s.period, s.status, x.cell, x.message FROM findings x"
                         " JOIN submissions s ON s.id = x.submission_id WHERE x.code = 'OUTLIER'").fetchall()
    assert {(u, p) for u, p, *_ in flagged} == OUTLIERS and len(flagged) == 2
    forms = db.execute("SELECT count(*) FROM submissions WHERE counts IS NOT NULL").fetchone()[0]
    assert forms > 170                                   # every unit's months but the one that never reports
    by = {u: (status, cell, msg) for u, _, status, cell, msg in flagged}
    assert by["京广路街道"][:2] == ("accepted", "月度报表!J7") and "正在评审" in by["京广路街道"][2]
    assert "当月完成" in by["福华街街道"][2]
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    november = [(s.status, "OUTLIER" in s.codes) for s in ledger.period_submissions("2016-11") if s.unit == "福华街街道"]
    assert november == [("superseded", True), ("accepted", False)]   # corrected two days later: that one counts


def test_the_receipt_and_the_status_book_show_it(demo_year):
    f, _ = demo_year
    folder = f["outbox"] / "2016-05"
    [txt] = [p for p in (folder / "回执").glob("回执_京广路街道_*.txt")]
    text = txt.read_text(encoding="utf-8-sig")
    assert "处理结果：已接收" in text and "【提示】月度报表!J7：“机械 三级 正在评审”为 26。" in text
    [book] = folder.glob("*报送情况.xlsx")
    rows = {r[1]: r for r in openpyxl.load_workbook(book)["报送情况"].iter_rows(values_only=True) if r[1]}
    assert "数字异常偏高" in rows["京广路街道"][5]


def test_the_bulletins_data_quality_part_names_it(demo_year, settings, tmp_path):
    f, _ = demo_year
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    ctx, _ = build_context(ledger, load_units(REFERENCE), "2016Q2", settings)
    assert ("京广路街道", "数字异常偏高", 1) in ctx.data_warnings
    chart = draw_chart(ctx.ranking, ctx.summary.target, tmp_path / "c.png", "目标")
    text = "\n".join(p.text for p in Document(render_docx(ctx, tmp_path / "q.docx", chart)).paragraphs)
    assert "京广路街道报表“数字异常偏高”1处" in text
    q4, _ = build_context(ledger, load_units(REFERENCE), "2016Q4", settings)
    assert not [w for w in q4.data_warnings if w[1] == "数字异常偏高"]   # the corrected form counts


def test_the_history_comes_from_the_ledger(demo_year, settings):
    f, sent = demo_year
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    norms = outliers.history(ledger, settings)([("嵩山路街道", "2017-01"), ("德化街街道", "2017-01")])
    months = [f"2016-{m:02d}" for m in range(1, 13)]
    news = sorted(sum(v[0] for v in sent[("嵩山路街道", m)].values()) for m in months)
    median = (news[5] + news[6]) / 2
    assert f"中位数为 {median:g} 家" in norms[("嵩山路街道", "2017-01")].new_basis()
    december = sum(v[2] for v in sent[("嵩山路街道", "2016-12")].values())
    assert norms[("嵩山路街道", "2017-01")].last_reviewing == december
    assert norms[("德化街街道", "2017-01")].new_limit() == (settings["outliers"]["ceiling_new"], None)   # never reported
    assert NOW < dt.datetime(2017, 1, 1, tzinfo=NOW.tzinfo)


def test_a_rise_in_reviewing_judged_by_the_units_own_rises(check, tmp_path, settings):
    # 正在评审 month by month 4, 6, 5, 7, 6, 8, 7, 9: rises +2, −1 alternating, median +2 (of 7: four +2,
    # three −1), MAD 0 -> spread 1 -> limit 2 + 5 = 7
    months = [f"2016-{m:02d}" for m in range(2, 10)]
    norm = outliers.norm([1] * 8, dict(zip(months, (4, 6, 5, 7, 6, 8, 7, 9))), "2016-10", settings)
    assert norm.reviewing_limit() == (7, 2)
    flagged = check_with(check, tmp_path, rows_with(建材2=(0, 4, 17)), norm)      # 9 -> 17: +8
    assert [f.cell for f in flagged.submissions[0].findings if f.code == "OUTLIER"] == ["月度报表!G11"]
    assert "增减的中位数为 +2 家，按规则增加超过 7.0 家" in flagged.submissions[0].findings[-1].message
    ordinary = check_with(check, tmp_path, rows_with(建材2=(0, 4, 16)), norm)     # +7: not above the limit
    assert not [f for f in ordinary.submissions[0].findings if f.code == "OUTLIER"]
