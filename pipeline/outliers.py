"""OUTLIER: a month whose figures the unit's own history does not explain. A warning, never a
rejection: the form is counted, the clerk is asked to look again.

Two checks, each on the form's sums over the eight industries and three levels:
- 当月完成: this month's sum against the sums of the unit's counted forms of the last
  `outliers.months` months. With at least `min_history` of them, the robust rule: flagged when
  above median + k × spread, where spread = 1.4826 × MAD (the median of the distances from the
  median; 1.4826 makes it a standard deviation for normal data), but at least `spread_floor`.
  A spike or two in the history moves neither the median nor the MAD. With less history, a fixed
  ceiling: flagged above `ceiling_new`.
- 正在评审: this month's sum less last month's (the unit's increase), against the increases of
  the same history by the same rule, or above `ceiling_reviewing` with less history. Without a
  counted form last month there is no increase to judge.
The finding points at the cell holding the largest count of the measure (where such a slip is).

The history is the ledger's `form_totals` (two numbers a form), read once for all the forms of a
chunk: a form costs two sums and two comparisons.
"""
from __future__ import annotations

import operator
import statistics
from dataclasses import dataclass

from .findings import Finding, finding
from .model import LEVEL_NAMES

MAD_SCALE = 1.4826
_NEW, _REVIEWING = operator.itemgetter(2), operator.itemgetter(4)


@dataclass(frozen=True)
class Norm:
    """What a unit's history says one of its months may hold."""
    new_limit: float
    new_basis: str                  # how the limit was set, in words for the message
    reviewing_limit: float
    reviewing_basis: str
    last_reviewing: int | None      # last month's 正在评审 sum, None if the unit did not report
    last_period: str | None


def robust_limit(values: list[float], k: float, floor: float) -> tuple[float, float, float]:
    """(limit, median, spread) of the robust rule over `values`."""
    median = statistics.median(values)
    spread = max(MAD_SCALE * statistics.median(abs(v - median) for v in values), floor)
    return median + k * spread, median, spread


def norm(new: list[int], reviewing: dict[str, int], period: str, settings) -> Norm:
    """A unit's Norm from its history: `new` the 当月完成 sums of its counted months in the window,
    `reviewing` month -> 正在评审 sum."""
    s = settings["outliers"]
    k, floor, least, window = float(s["k"]), float(s["spread_floor"]), int(s["min_history"]), int(s["months"])
    if len(new) >= least:
        limit, median, _ = robust_limit(new, k, floor)
        new_basis = (f"本单位近 {window} 个月中有 {len(new)} 个月的报表，每月当月完成合计的中位数为 {median:g} 家，"
                     f"按规则超过 {limit:.1f} 家即属异常。")
    else:
        limit = float(s["ceiling_new"])
        new_basis = f"本单位以往报表不足 {least} 个月，按固定上限每月 {limit:g} 家判断。"
    months = sorted(reviewing)
    rises = [reviewing[b] - reviewing[a] for a, b in zip(months, months[1:]) if _next(a) == b]
    if len(rises) >= least:
        r_limit, r_median, _ = robust_limit(rises, k, floor)
        r_basis = (f"本单位近 {window} 个月正在评审合计每月增减的中位数为 {r_median:+g} 家，"
                   f"按规则增加超过 {r_limit:.1f} 家即属异常。")
    else:
        r_limit = float(s["ceiling_reviewing"])
        r_basis = f"本单位以往报表不足以判断，按固定上限每月增加 {r_limit:g} 家判断。"
    last = _before(period)
    return Norm(limit, new_basis, r_limit, r_basis, reviewing.get(last), last if last in reviewing else None)


def flag(draft, rows, unit_norm: Norm) -> list[Finding]:
    """OUTLIER findings of one form (its 24 rows, as validated) against its unit's Norm."""
    if not rows:
        return []
    new = sum(filter(None, map(_NEW, rows)))
    reviewing = sum(filter(None, map(_REVIEWING, rows)))
    out = []
    if new > unit_norm.new_limit:
        out.append(_finding(draft, rows, "new", f"本月当月完成合计 {new} 家，{unit_norm.new_basis}"))
    last = unit_norm.last_reviewing
    if last is not None and reviewing - last > unit_norm.reviewing_limit:
        out.append(_finding(draft, rows, "reviewing",
                            f"本月正在评审合计 {reviewing} 家，比上月（{unit_norm.last_period}）的 {last} 家增加 "
                            f"{reviewing - last} 家，{unit_norm.reviewing_basis}"))
    return out


def _finding(draft, rows, measure: str, detail: str) -> Finding:
    pick = _NEW if measure == "new" else _REVIEWING
    row = max(rows, key=lambda r: pick(r) or 0)   # the first of the largest, in the form's order
    label = f"{row.industry} {LEVEL_NAMES[row.level]} {'当月完成' if measure == 'new' else '正在评审'}"
    cell = draft.cells.get((row.industry, row.level, measure)) if draft is not None else None
    return finding("OUTLIER", cell, value=pick(row), label=label, detail=detail)


def history(ledger, settings):
    """`past(keys)` for `check.conclude`: {(unit, period): Norm} for each (unit, period) of `keys`,
    from the unit's counted forms of the months before (a unit with no history gets the ceilings)."""
    window = int(settings["outliers"]["months"])

    def past(keys) -> dict:
        wanted: dict[str, set] = {}
        for unit, period in keys:
            if unit and period:
                wanted.setdefault(period, set()).add(unit)
        closed = ledger.closed_months()
        out = {}
        for period, units in wanted.items():
            months = _window(period, window)
            got = _counted_totals(ledger, months, sorted(units), closed)
            none = norm([], {}, period, settings)   # a unit with no history: the ceilings, made once
            for unit in units:
                mine = got.get(unit)
                out[(unit, period)] = none if mine is None else norm(
                    [mine[m][0] for m in months if m in mine], {m: mine[m][1] for m in months if m in mine},
                    period, settings)
        return out
    return past


def _counted_totals(ledger, months: list[str], units: list[str], closed: dict) -> dict:
    """unit -> month -> (当月完成 sum, 正在评审 sum) of its counted form (the accepted one received last;
    in a closed month, the last one counted when it was closed)."""
    out: dict = {}
    marks = ",".join("?" * len(months))
    upto = ledger.upto if ledger.upto is not None else 1 << 62
    for k in range(0, len(units), 900):
        part = units[k:k + 900]
        for unit, period, sid, new, reviewing in ledger.db.execute(
                "SELECT s.unit, s.period, s.id, t.new, t.reviewing FROM submissions s JOIN form_totals t"
                f" ON t.submission_id = s.id WHERE s.status = 'accepted' AND s.period IN ({marks})"
                f" AND s.unit IN ({','.join('?' * len(part))}) AND s.id <= ? ORDER BY s.received_at, s.id",
                (*months, *part, upto)):
            if sid <= closed.get(period, sid):
                out.setdefault(unit, {})[period] = (new or 0, reviewing or 0)   # the last one received wins
    return out


def _window(period: str, n: int) -> list[str]:
    """The n months before `period`, oldest first."""
    out, m = [], period
    for _ in range(n):
        m = _before(m)
        out.append(m)
    return out[::-1]


def _before(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def _next(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"


def ceilings(settings):
    """`past` without a ledger: every unit gets the fixed ceilings (`check` with no archive)."""
    def past(keys) -> dict:
        return {(u, p): norm([], {}, p, settings) for u, p in keys if u and p}
    return past
