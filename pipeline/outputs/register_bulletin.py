"""The enterprise register in the quarter's ranking and 通报 (docs/register.md §4–5): each unit's base and
its source, the register's own 达标率 beside the reported one, and the short part on certificates
withdrawn or expired, revisits and 重点监管 (class D) enterprises per unit."""
from __future__ import annotations

import dataclasses

import pandas as pd

from pipeline.check.certified import register_standings, with_register_bases, withdrawn_at
from pipeline.core.period import Quarter
from pipeline.core.settings import Settings
from pipeline.figures.aggregate import RankRow
from pipeline.outputs.bulletin_context import RegisterPart
from pipeline.outputs.register_lists import CLASS_WORDS, Intervals, supervision
from pipeline.read.register import Register


def ranked_with_register(rows: tuple[RankRow, ...], units, register: Register | None, quarter: str) -> tuple[RankRow, ...]:
    """The ranking's rows with each base's source and the register's own figures."""
    day = Quarter(quarter).last_day
    _, sources = with_register_bases(units, register, day)
    own = register_standings(register, day) if register is not None and not register.enterprises.empty else {}
    return tuple(dataclasses.replace(
        r, base_source=sources.get(r.unit, "单位名录"),
        register_certified=own[r.unit].certified if r.unit in own else None,
        register_rate=own[r.unit].rate if r.unit in own else None) for r in rows)


def register_part(register: Register | None, quarter: str, rows: tuple[RankRow, ...], settings: Settings,
                  units: list[str]) -> RegisterPart | None:
    """The 通报's part on the register, or None without one."""
    if register is None or register.enterprises.empty:
        return None
    day = Quarter(quarter).last_day
    start, end = pd.Timestamp(Quarter(quarter).first_month.first_day), pd.Timestamp(day)
    own = register_standings(register, day)
    e = register.enterprises
    gone = withdrawn_at(register)
    in_quarter = gone.between(start, end)
    # valid through 有效期至: ran out in the quarter when the day after it falls in the quarter
    expired = e["expires"].between(start - pd.Timedelta(days=1), end - pd.Timedelta(days=1)) \
        & ~(gone <= e["expires"]) & (e["status"] != "已关闭")
    visits = register.revisits[register.revisits["date"].between(start, end)]
    # a 最近回访日期 in the quarter that 回访记录 does not list is a revisit too
    listed = set(zip(visits["code"], visits["date"]))
    extra = sum(1 for c, v in zip(e["code"], e["revisited"]) if pd.notna(v) and start <= v <= end and (c, v) not in listed)
    results = visits["result"].value_counts()
    sup = supervision(register, day, Intervals.of(settings))
    key = sup.loc[sup["监管类别"] == CLASS_WORDS["D"], "单位"].value_counts()
    order = [u for u in units if u in key.index]
    base = sum(s.base for s in own.values())
    certified = sum(s.certified for s in own.values())
    return RegisterPart(
        base=base, certified=certified, rate=certified / base if base else None,
        units=tuple((r.unit, r.register_rate, r.rate) for r in rows if r.unit in own),
        unreconciled=tuple(u for u in units if u not in own),
        withdrawn=int(in_quarter.sum()), expired=int(expired.sum()),
        revisits=len(visits) + extra, passed=int(results.get("合格", 0)),
        rectify=int(results.get("限期整改", 0)), struck=int(results.get("摘牌", 0)), unrecorded=extra,
        key=tuple((u, int(key[u])) for u in order), key_total=int(key.sum()))
