"""The district's totals: every count column summed over the counted forms, a blank count adding
nothing, whatever order a form's rows come in."""
import dataclasses
import datetime as dt

import pytest

from pipeline.core.model import ROW_KEYS, Received, Row, replaced, rows_of_counts
from pipeline.figures.aggregate import district_rows


def counted(rows_by_unit: dict) -> dict:
    at = dt.datetime(2016, 10, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return {unit: Received(k, f"{unit}.xlsx", f"/a/{k}", "0" * 64, at, "月度报表", unit, "2016-09", "accepted",
                           False, rows, ()) for k, (unit, rows) in enumerate(rows_by_unit.items(), 1)}


def test_each_count_is_the_sum_over_the_units():
    a = rows_of_counts(list(range(72)))                  # 冶金 一级: 0, 1, 2; 冶金 二级: 3, 4, 5 …
    b = rows_of_counts([10] * 72)
    totals = district_rows(counted({"甲街道": a, "乙街道": b}))
    assert [tuple(r[:2]) for r in totals] == list(ROW_KEYS)
    assert totals[0] == Row("冶金", 1, 10, 11, 12)
    assert totals[23] == Row("烟草", 3, 79, 80, 81)
    assert sum(r.cumulative for r in totals) == sum(range(1, 72, 3)) + 240


def test_a_blank_count_adds_nothing_and_the_order_of_rows_does_not_matter():
    a = rows_of_counts([1] * 72)
    blank = list(rows_of_counts([2] * 72))
    blank[5] = blank[5]._replace(new=None)               # 机械 三级 当月完成 left blank
    totals = {(r.industry, r.level): r for r in district_rows(counted({"甲": a, "乙": tuple(blank)}))}
    assert totals[("机械", 3)] == Row("机械", 3, 1, 3, 3)
    assert totals[("冶金", 1)] == Row("冶金", 1, 3, 3, 3)

    backwards = tuple(reversed(rows_of_counts(list(range(100, 172)))))   # 冶金 一级 last: 100, 101, 102
    totals = {(r.industry, r.level): r for r in district_rows(counted({"甲": a, "乙": tuple(blank), "丙": backwards}))}
    assert totals[("机械", 3)] == Row("机械", 3, 116, 119, 120)
    assert totals[("冶金", 1)] == Row("冶金", 1, 103, 104, 105)


def test_no_counted_form_gives_zeros():
    assert district_rows({}) == tuple(Row(i, lv, 0, 0, 0) for i, lv in ROW_KEYS)


def test_a_counted_form_given_its_rows_is_the_same_record_with_them():
    rec = counted({"甲街道": ()})["甲街道"]
    rows = rows_of_counts([4] * 72)
    made = replaced(rec, rows=rows)
    assert made == dataclasses.replace(rec, rows=rows) and vars(made) == vars(dataclasses.replace(rec, rows=rows))
    assert made.rows == rows and rec.rows == ()          # the record read from the ledger is left as it was
    with pytest.raises(TypeError):                       # as dataclasses.replace: no field it does not have
        replaced(rec, rws=rows)


def test_a_unit_that_did_not_report_adds_its_last_cumulative_and_no_new():
    a = rows_of_counts([1] * 72)
    july = rows_of_counts(list(range(72)))                  # 冶金 一级: new 0, cumulative 1, reviewing 2 …
    totals = district_rows(counted({"甲": a}), {"乙": ("2016-07", july)})
    assert totals[0] == Row("冶金", 1, 1, 2, 3)              # 当月 1 + 0; 累计 1 + 1; 评审 1 + 2
    assert totals[23] == Row("烟草", 3, 1, 71, 72)
    assert sum(r.new for r in totals) == 24                  # the carried unit's 当月 is zero
