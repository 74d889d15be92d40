"""The unit and the period in the lines above the table: after 填报单位, the months named, the unit in the title."""
from __future__ import annotations

import functools
import re

from pipeline.core.findings import finding
from pipeline.core.model import norm
from pipeline.core.period import month_text
from pipeline.read.grids import Grid
from pipeline.read.labels import cell_text

_UNIT_LABEL = re.compile(r"(?:(?:填报|报送|上报)单位|单位名称)[:：]?")
# What the template prints on the unit line around the blanks: not a unit's name.
_TEMPLATE_LABEL = re.compile(
    r"乡\s*[(（]\s*镇\s*[)）]\s*(街道)?办事处|[_＿]+|[×xXＸ＊*]{2,}|[(（]\s*盖?\s*公?\s*章\s*[)）]"
    r"|(?:\d{2,4}[\s_＿]*)?年[\s_＿]*(?:\d{1,2}[\s_＿]*)?月[\s_＿]*(?:\d{1,2}[\s_＿]*)?[日份]?|\d{4}\s*年度?")
# Other labels of the unit line: what follows them is not the unit (填报日期：2016年10月8日).
_OTHER_LABEL = re.compile(r"(?:填报|报送|填表|制表|报表)?(?:日期|时间)|填表人|审核人?|联系人|联系电话|电话|负责人|制表人")
# A month right after one of these is the day the form was filled in or sent, not its period (统计时间
# and 报表时间 do name the period).
_OTHER_END = re.compile("[期间人话核]")
_SEPARATOR = re.compile(r"[.\-/．－]")
_DATE_LABEL = re.compile(r"(?:(?:填报|填表|报送|上报|制表|打印)(?:日期|时间)|(?:^|\s)日期)\s*[:：]?\s*$")
_PERIODS = (
    re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*份)?(?!\s*\d{1,2}\s*日)"),
    re.compile(r"(?<![\d.])(\d{4})\s*[.\-/．－]\s*(\d{1,2})(?![\d])(?!\s*[.\-/．－]\s*\d)"),
)


def find_periods(text: str) -> list[tuple[str, int]]:
    """[("2016-09", position), …]: every month named in a text, but a month labelled as a date
    (填报日期：2016年10月) and a day (2016年9月28日), which are not a report's period."""
    found = []
    for pattern in _PERIODS if _SEPARATOR.search(text) else _PERIODS[:1]:   # the second needs a separator
        for m in pattern.finditer(text):
            hit = _month_of(m, text)
            if hit:
                found.append(hit)
    return found


def find_period(text: str) -> tuple[str, int] | None:
    """("2016-09", position) for the first month named in a text, if any."""
    for pattern in _PERIODS:
        m = pattern.search(text)
        while m:
            hit = _month_of(m, text)
            if hit:
                return hit
            m = pattern.search(text, m.end())
    return None


def _month_of(m: re.Match, text: str) -> tuple[str, int] | None:
    year, month = int(m.group(1)), int(m.group(2))
    if 2000 <= year <= 2099 and 1 <= month <= 12 and not (
            ("日期" in text or "时间" in text) and _DATE_LABEL.search(text, 0, m.start())):
        return f"{year:04d}-{month:02d}", m.start()
    return None


def unit_and_period(grid: Grid, top: int, cols: tuple[int, int]):
    """The unit and period from the lines above the table, in columns `cols`: (unit text, its cell,
    period, its cell, findings). Two different months there are TWO_PERIODS, and no period: neither
    is chosen."""
    unit_text = unit_cell = None
    periods: dict = {}   # period -> the first cell naming it
    title_unit = None
    for r in range(grid.origin[0], top):
        line, spans = _line(grid, r, cols)
        if not line:
            continue
        hits, unit, title = _line_facts(line)
        for period, pos in hits:
            if period not in periods:
                periods[period] = grid.ref(r, _col_at(spans, pos))
        if unit and unit_text is None:
            candidate, offset = unit
            unit_text = candidate
            unit_cell = grid.ref(r, _col_at(spans, offset))
        if title and title_unit is None:
            title_unit = (title, grid.ref(r, spans[0][1]))
    if unit_text is None and title_unit:
        unit_text, unit_cell = title_unit
    if len(periods) > 1:
        (first, cell), (second, other) = list(periods.items())[:2]
        return unit_text, unit_cell, None, cell, (finding("TWO_PERIODS", cell, value=month_text(first),
                                                          expected=month_text(second), other=other),)
    period, period_cell = next(iter(periods.items()), (None, None))
    return unit_text, unit_cell, period, period_cell, ()


@functools.lru_cache(maxsize=4096)   # the lines of the template's title come back in every form
def _line_facts(line: str) -> tuple:
    """What one line above the table says: (the months it names, each with where it starts; the unit
    after 填报单位 — its text, or None when only the label and the template's blanks are there — and
    where it starts, or None; the unit in a 月度报表 title, or None)."""
    hits = tuple(find_periods(line.replace("：", ":")))
    unit = title = None
    m = _UNIT_LABEL.search(line) if "单位" in line else None
    if m:
        rest = line[m.end():]
        if _OTHER_END.search(rest):   # what the other labels end with
            other = _OTHER_LABEL.search(rest)
            if other:
                rest = rest[: other.start()]
        p = next((pos - m.end() for _, pos in hits if pos >= m.end()), None)   # the month after the unit
        if p is not None:
            rest = rest[:p]
        candidate = _TEMPLATE_LABEL.sub(" ", rest).strip(" :：")
        if candidate:
            unit = (candidate, m.end() + line[m.end():].find(candidate.split()[0]))
        else:
            unit = (None, m.start())
    key = norm(line)
    if "月度报表" in key:
        prefix = key.split("工贸")[0] if "工贸" in key else ""
        p = find_period(prefix)
        if p:
            prefix = prefix[: p[1]]
        title = _TEMPLATE_LABEL.sub("", prefix.replace("附件", "")).strip(":：") or None
    return hits, unit, title


def _line(grid: Grid, r: int, cols: tuple[int, int]) -> tuple[str, list[tuple[int, int]]]:
    """The row's texts between columns `cols` (inclusive) joined with spaces, and (start offset, col)
    of each piece."""
    parts, spans, pos = [], [], 0
    r0, c0 = grid.origin
    row = grid.rows[r - r0] if 0 <= r - r0 < len(grid.rows) else []
    lo, hi = max(cols[0] - c0, 0), cols[1] - c0 + 1
    for j, v in enumerate(row if lo == 0 and hi >= len(row) else row[lo:hi], lo):
        if v == "":
            continue
        t = cell_text(v).strip()
        if t:
            spans.append((pos, c0 + j))
            parts.append(t)
            pos += len(t) + 1
    return " ".join(parts), spans


def _col_at(spans, offset: int) -> int | None:
    col = None
    for start, c in spans:
        if start <= offset:
            col = c
    return col
