"""Months and quarters (pipeline/core/period.py): the arithmetic every run relies on, across year ends."""
import datetime as dt
import json
import pickle
import sqlite3

import pytest

from pipeline.core.period import Month, Quarter, month_text, year_months


def test_a_month_steps_across_the_year_end():
    assert Month("2016-01").previous == "2015-12"
    assert Month("2016-12").next == "2017-01"
    assert Month("2016-09").plus(-21) == "2014-12"
    assert Month.at(dt.datetime(2016, 9, 30, 23, 59)) == "2016-09"


def test_a_month_knows_its_quarter_days_and_words():
    m = Month("2016-02")
    assert (m.year, m.number, m.quarter) == (2016, 2, "2016Q1")
    assert (m.first_day, m.last_day) == (dt.date(2016, 2, 1), dt.date(2016, 2, 29))   # a leap year
    assert m.text == "2016年2月"
    assert month_text(None) == "月份不明"


def test_a_quarter_has_its_months_and_the_one_before():
    q = Quarter("2016q3")
    assert q == "2016Q3"
    assert q.months == ("2016-07", "2016-08", "2016-09")
    assert (q.first_month, q.last_month, q.last_day) == ("2016-07", "2016-09", dt.date(2016, 9, 30))
    assert Quarter("2016Q1").previous == "2015Q4"
    assert (q.name, q.text) == ("第三季度", "2016年第三季度")
    assert q.months_of_year() == year_months(2016)[:9]
    assert Quarter.at(dt.date(2016, 12, 31)) == "2016Q4"


@pytest.mark.parametrize("text", ["2016-13", "2016-9", "16-09", "2016-09-01", ""])
def test_not_a_month_is_refused(text):
    with pytest.raises(ValueError):
        Month(text)


def test_periods_are_kept_as_the_text_they_are():
    m = Month("2016-09")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (p TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (m,))
    assert db.execute("SELECT p, typeof(p) FROM t").fetchone() == ("2016-09", "text")
    assert json.dumps({m: m.previous}) == '{"2016-09": "2016-08"}'
    assert pickle.loads(pickle.dumps(m)).previous == "2016-08"
    assert sorted([Month("2016-10"), Month("2015-12"), Month("2016-02")]) == ["2015-12", "2016-02", "2016-10"]
