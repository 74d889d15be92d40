"""Months and quarters, as the pipeline names them everywhere: "2016-09" and "2016Q3".

Both are `str`: the ledger, the outbox's folders, the manifests and the command line hold the text
itself, sorted as text sorts (by time). What is done with a period (the month before, a quarter's
months, the last day, the words on a document) is done here and nowhere else.
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import re

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"[0-9]{4}Q[1-4]")
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


class Month(str):
    """A calendar month: Month("2016-09"), Month.of(2016, 9), Month.at(a date or time)."""
    __slots__ = ()

    def __new__(cls, text: str) -> Month:
        if type(text) is cls:
            return text
        if not _MONTH.fullmatch(text):
            raise ValueError(f"not a month (YYYY-MM): {text!r}")
        return str.__new__(cls, text)

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        return str.__new__(cls, f"{year:04d}-{month:02d}")

    @classmethod
    def at(cls, moment: dt.date) -> Month:
        """The month a date (or time, in its own zone) falls in."""
        return cls.of(moment.year, moment.month)

    def __reduce__(self):
        return Month, (str(self),)

    @property
    def year(self) -> int:
        return int(self[:4])

    @property
    def number(self) -> int:
        """1 for January … 12 for December."""
        return int(self[5:])

    def plus(self, months: int) -> Month:
        k = self.year * 12 + self.number - 1 + months
        return Month.of(k // 12, k % 12 + 1)

    @property
    def previous(self) -> Month:
        return self.plus(-1)

    @property
    def next(self) -> Month:
        return self.plus(1)

    @property
    def quarter(self) -> Quarter:
        return Quarter.of(self.year, (self.number + 2) // 3)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.number, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.number, calendar.monthrange(self.year, self.number)[1])

    @property
    def text(self) -> str:
        """2016年9月"""
        return f"{self.year}年{self.number}月"


class Quarter(str):
    """A quarter of a year: Quarter("2016Q3"), Quarter.of(2016, 3), Quarter.at(a date)."""
    __slots__ = ()

    def __new__(cls, text: str) -> Quarter:
        if type(text) is cls:
            return text
        text = text.upper()
        if not _QUARTER.fullmatch(text):
            raise ValueError(f"not a quarter (YYYYQn): {text!r}")
        return str.__new__(cls, text)

    @classmethod
    def of(cls, year: int, number: int) -> Quarter:
        return str.__new__(cls, f"{year:04d}Q{number}")

    @classmethod
    def at(cls, moment: dt.date) -> Quarter:
        return Month.at(moment).quarter

    def __reduce__(self):
        return Quarter, (str(self),)

    @property
    def year(self) -> int:
        return int(self[:4])

    @property
    def number(self) -> int:
        """1 to 4."""
        return int(self[5])

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = 3 * self.number - 2
        return tuple(Month.of(self.year, m) for m in range(first, first + 3))

    @property
    def first_month(self) -> Month:
        return Month.of(self.year, 3 * self.number - 2)

    @property
    def last_month(self) -> Month:
        return Month.of(self.year, 3 * self.number)

    @property
    def previous(self) -> Quarter:
        return Quarter.of(self.year - 1, 4) if self.number == 1 else Quarter.of(self.year, self.number - 1)

    @property
    def last_day(self) -> dt.date:
        return self.last_month.last_day

    @property
    def name(self) -> str:
        """第三季度"""
        return QUARTER_NAMES[self.number]

    @property
    def text(self) -> str:
        """2016年第三季度"""
        return f"{self.year}年{self.name}"

    def months_of_year(self) -> tuple[Month, ...]:
        """January to the quarter's last month."""
        return tuple(Month.of(self.year, m) for m in range(1, 3 * self.number + 1))


def year_months(year: int) -> tuple[Month, ...]:
    return tuple(Month.of(year, m) for m in range(1, 13))


@functools.lru_cache(maxsize=1024)   # a receipt and a status-book row each say their month
def month_text(period: str | None) -> str:
    """2016年9月, or 月份不明 for a form whose month could not be read."""
    return Month(period).text if period else "月份不明"
