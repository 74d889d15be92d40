"""What a text cell can be in the form (an industry, a level or measure of the header, a 合计), and a cell as text."""
from __future__ import annotations

import datetime as dt
import functools
import re

from pipeline.core.model import INDUSTRIES, norm

_LEVELS = {"一级": 1, "二级": 2, "三级": 3}
_MEASURE_KEYS = (("当月", "new"), ("累计", "cumulative"), ("评审", "reviewing"))
# Header words of columns that are not this month's counts: 上月累计 is not 累计完成, nor is a 达标率,
# a 小计 or 合计 group, a target or a comparison.
_NOT_COUNT = re.compile(r"上月|上年|去年|上期|年初(?:数|累计|值)|同期|同比|环比|率|%|比例|占比|小计|合计|总计|目标|计划")
TOTALS = ("合计", "总计", "小计", "全区合计")
_ENUM = re.compile(r"^[\d一二三四五六七八]+[.、)]")


@functools.lru_cache(maxsize=65536)
def industry_of(text: str) -> str | None:
    key = _ENUM.sub("", text)
    for suffix in ("行业", "业"):
        if key.endswith(suffix) and key[: -len(suffix)] in INDUSTRIES:
            return key[: -len(suffix)]
    return key if key in INDUSTRIES else None


def _header(text: str) -> tuple[int | None, str | None]:
    key = re.sub(r"\(家\)|家|\(户\)", "", text)
    if _NOT_COUNT.search(key):
        return None, None
    level = next((v for k, v in _LEVELS.items() if key.startswith(k) and len(key) <= 12), None)
    measure = next((m for k, m in _MEASURE_KEYS if k in key and len(key) <= 12), None)
    return level, measure


@functools.lru_cache(maxsize=65536)   # the same labels come back in every form
def classify(value: str) -> tuple | None:
    """What a text cell can be in the table: ("industry", name), ("total",), ("header", level,
    measure) with either part None, or None."""
    key = norm(value)
    if not key or len(key) > 16:
        return None
    ind = industry_of(key)
    if ind:
        return ("industry", ind)
    if key in TOTALS:
        return ("total",)
    level, measure = _header(key)
    return ("header", level, measure) if level or measure else None


def cell_text(value) -> str:
    if type(value) is str:
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.datetime)):   # a month typed becomes its first day; another day is a date
        return f"{value.year}年{value.month}月" + (f"{value.day}日" if value.day != 1 else "")
    return str(value) if value is not None else ""
