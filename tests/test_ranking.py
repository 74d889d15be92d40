"""The quarter's ranking (docs/runs.md) on hand-computed cases."""
import datetime as dt

from pipeline.core.model import INDUSTRIES, LEVELS, Received, Row
from pipeline.core.period import Quarter
from pipeline.figures.aggregate import rank, standings
from pipeline.read.units import Unit

Q = Quarter("2016Q3").months
AT = dt.datetime(2016, 9, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def rec(unit, certified, new=0, reviewing=0, late=False):
    """A counted form whose 冶金 三级 row carries the unit's numbers, every other row zero."""
    rows = tuple(Row(i, lv, *( (new, certified, reviewing) if (i, lv) == ("冶金", 3) else (0, 0, 0)))
                 for i in INDUSTRIES for lv in LEVELS)
    return Received(1, f"{unit}.xlsx", "", "", AT, "月度报表", unit, "2016-09", "accepted", late, rows, ())


def table(units, months):
    counted = {m: {} for m in Q}
    for m, recs in months.items():
        for r in recs:
            counted[m][r.unit] = r
    frame = rank(standings(units, Q, counted), 0.5)
    return [(r.rank, r.unit, r.status, r.tied) for r in frame.itertuples()], frame


def units(*spec):
    return [Unit(name, base, None, None, ()) for name, base in spec]


def test_order_by_rate_then_new_then_on_time_with_ties():
    us = units(("甲", 10), ("乙", 20), ("丙", 10), ("丁", 10), ("戊", 40))
    months = {
        "2016-07": [rec("甲", 4, new=1), rec("乙", 8, new=1), rec("丙", 4, new=1), rec("丁", 4, new=1),
                    rec("戊", 30)],
        "2016-08": [rec("甲", 5, new=1), rec("乙", 10, new=2), rec("丙", 5, new=1), rec("丁", 5, new=1),
                    rec("戊", 30)],
        "2016-09": [rec("甲", 5), rec("乙", 10), rec("丙", 5), rec("丁", 5, late=True), rec("戊", 30)],
    }
    got, frame = table(us, months)
    # 戊 75 %; 乙 50 % with 3 new; 甲 and 丙 50 %, 2 new, 3 on time: tied 3rd; 丁 the same but late once: 5th.
    assert got == [(1, "戊", "排名", False), (2, "乙", "排名", False), (3, "甲", "排名", True),
                   (3, "丙", "排名", True), (5, "丁", "排名", False)]
    row = frame.set_index("unit").loc["乙"]
    assert (row.certified, row.base, row.rate, row.new_in_quarter, row.on_time) == (10, 20, 0.5, 3, 3)
    assert abs(frame.set_index("unit").loc["戊"].gap - (0.5 - 0.75)) < 1e-12


def test_missing_month_uses_latest_counted_month_and_counts_on_time():
    us = units(("甲", 10), ("乙", 10))
    months = {"2016-07": [rec("甲", 2), rec("乙", 2)], "2016-08": [rec("甲", 6, new=4), rec("乙", 3, new=1)],
              "2016-09": [rec("乙", 3)]}
    got, frame = table(us, months)
    a = frame.set_index("unit").loc["甲"]
    assert (a.certified, a.rate, a.new_in_quarter, a.on_time, a.missing) == (6, 0.6, 4, 2, ("2016-09",))
    assert got[0][:2] == (1, "甲")


def test_units_never_reporting_and_with_no_base_are_listed_not_ranked():
    us = units(("甲", 10), ("无企业", 0), ("沉默", 12))
    months = {"2016-09": [rec("甲", 1), rec("无企业", 0)]}
    got, frame = table(us, months)
    assert got == [(1, "甲", "排名", False), (None, "沉默", "未报送", False), (None, "无企业", "无规模以上企业", False)]
    assert frame.set_index("unit").loc["沉默"].on_time == 0


def test_zero_rate_is_ranked_last_among_reporters():
    us = units(("甲", 10), ("乙", 10))
    got, _ = table(us, {"2016-09": [rec("甲", 0, reviewing=5), rec("乙", 1)]})
    assert got == [(1, "乙", "排名", False), (2, "甲", "排名", False)]


def test_praise_never_a_unit_at_zero_and_criticize_non_reporters_first(settings):
    from pipeline.jobs.quarterly import choose
    us = units(("甲", 10), ("乙", 10), ("丙", 10), ("丁", 10))
    _, frame = table(us, {"2016-09": [rec("甲", 0), rec("乙", 0), rec("丙", 6)]})
    praised, criticized = choose(frame, settings)
    assert praised == ["丙"]
    assert criticized == ["丁", "甲", "乙"]


def test_ranking_workbook_writes_hostile_unit_names_as_text(tmp_path):
    import zipfile

    import openpyxl

    from pipeline.figures.aggregate import rank_rows
    from pipeline.outputs.ranking_book import write_ranking_book
    hostile = '=HYPERLINK("http://x","点我")'
    _, frame = table(units((hostile, 10), ("乙", 10)), {"2016-09": [rec(hostile, 6), rec("乙", 2)]})
    path = write_ranking_book(tmp_path / "排名表.xlsx", "排名表", rank_rows(frame), 0.5, author="区安监局")
    ws = openpyxl.load_workbook(path)["排名表"]
    assert ws["B3"].value == hostile and ws["B3"].data_type == "s"
    with zipfile.ZipFile(path) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")
