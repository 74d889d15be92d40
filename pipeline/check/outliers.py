"""OUTLIER: a month whose figures the unit's own history does not explain. A warning, never a
rejection: the form is counted, the clerk is asked to look again.

Two checks, each on the form's sums over the eight industries and three levels:
- 当月完成: this month's sum against the sums of the unit's counted forms of the last
  `outliers.months` months. With at least `min_history` of them, the robust rule: flagged when
  above median + k × spread, where spread = 1.4826 × MAD (the median of the distances from the
  median; 1.4826 makes it a standard deviation for normal data), but at least `spread_floor`.
  A spike or two in the history moves neither the median nor the MAD. With less history, a fixed
  ceiling: flagged above `ceiling_new`. With none (the unit's first form in the ledger) there is
  nothing of its own to judge by, and no finding.
- 正在评审: this month's sum less last month's (the unit's increase), against the increases of
  the same history by the same rule, or above `ceiling_reviewing` with less history. Without a
  counted form last month there is no increase to judge.
The finding points at the cell holding the largest count of the measure (where such a slip is).

The history is the ledger's `form_totals` (two numbers a form), read once for all the forms of a
chunk: a form costs two sums and two comparisons; the medians are worked out only for the few
forms that come near a limit.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

from pipeline.core.findings import Finding, finding
from pipeline.core.model import LEVEL_NAMES
from pipeline.core.period import Month

MAD_SCALE = 1.4826
_NEW, _REVIEWING = operator.itemgetter(2), operator.itemgetter(4)


@dataclass(frozen=True)
class Rule:
    """The thresholds (settings `[outliers]`)."""
    window: int
    least: int
    k: float
    floor: float
    ceiling_new: float
    ceiling_reviewing: float

    @classmethod
    def of(cls, settings) -> Rule:
        s = settings["outliers"]
        return cls(int(s["months"]), int(s["min_history"]), float(s["k"]), float(s["spread_floor"]),
                   float(s["ceiling_new"]), float(s["ceiling_reviewing"]))


@dataclass(frozen=True)
class Norm:
    """A unit's history before a month, by which the rule judges that month. The limits are worked
    out only for a month that comes near them: most never do."""
    rule: Rule
    new: tuple[int, ...]                  # 当月完成 sums of the window's counted months, oldest first
    reviewing: tuple[int | None, ...]     # 正在评审 sums of each month of the window, None: not counted
    last_period: str                      # the month before

    @property
    def last_reviewing(self) -> int | None:
        return self.reviewing[-1] if self.reviewing else None

    def new_limit(self) -> tuple[float, float | None]:
        """(limit, median of the history; None where the fixed ceiling applies)."""
        if len(self.new) < self.rule.least:
            return self.rule.ceiling_new, None
        limit, median, _ = robust_limit(self.new, self.rule.k, self.rule.floor)
        return limit, median

    def reviewing_limit(self) -> tuple[float, float | None]:
        r = self.reviewing
        rises = [b - a for a, b in zip(r, r[1:]) if a is not None and b is not None]
        if len(rises) < self.rule.least:
            return self.rule.ceiling_reviewing, None
        limit, median, _ = robust_limit(rises, self.rule.k, self.rule.floor)
        return limit, median

    def new_basis(self) -> str:
        limit, median = self.new_limit()
        if median is None:
            return f"本单位以往报表不足 {self.rule.least} 个月，按固定上限每月 {limit:g} 家判断。"
        return (f"本单位近 {self.rule.window} 个月中有 {len(self.new)} 个月的报表，每月当月完成合计的中位数为 "
                f"{median:g} 家，按规则超过 {limit:.1f} 家即属异常。")

    def reviewing_basis(self) -> str:
        limit, median = self.reviewing_limit()
        if median is None:
            return f"本单位以往报表不足以判断，按固定上限每月增加 {limit:g} 家判断。"
        return (f"本单位近 {self.rule.window} 个月正在评审合计每月增减的中位数为 {median:+g} 家，"
                f"按规则增加超过 {limit:.1f} 家即属异常。")


def _median(values) -> float:
    v = sorted(values)
    n = len(v)
    return (v[n // 2] + v[(n - 1) // 2]) / 2


def robust_limit(values, k: float, floor: float) -> tuple[float, float, float]:
    """(limit, median, spread) of the robust rule over `values`."""
    median = _median(values)
    spread = max(MAD_SCALE * _median([abs(v - median) for v in values]), floor)
    return median + k * spread, median, spread


def norm(new: list[int], reviewing: dict[str, int], period: str, settings) -> Norm:
    """A unit's Norm from its history: `new` the 当月完成 sums of its counted months in the window,
    oldest first; `reviewing` month -> 正在评审 sum."""
    rule = Rule.of(settings)
    months = _window(period, rule.window)
    return Norm(rule, tuple(new), tuple(reviewing.get(m) for m in months) if reviewing else (), months[-1])


def flag(draft, rows, unit_norm: Norm) -> list[Finding]:
    """OUTLIER findings of one form (its 24 rows, as validated) against its unit's Norm."""
    if not rows:
        return []
    rule, history = unit_norm.rule, unit_norm.new
    new = sum(filter(None, map(_NEW, rows)))
    out = []
    # the robust limit is at least the history's least value + k × floor: below that, nothing to work out
    if history and new > (min(history) + rule.k * rule.floor if len(history) >= rule.least else rule.ceiling_new) \
            and new > unit_norm.new_limit()[0]:
        out.append(_finding(draft, rows, "new", f"本月当月完成合计 {new} 家，{unit_norm.new_basis()}"))
    last = unit_norm.last_reviewing
    if last is not None:
        rise = sum(filter(None, map(_REVIEWING, rows))) - last
        if rise > 0 and rise > unit_norm.reviewing_limit()[0]:
            out.append(_finding(draft, rows, "reviewing",
                                f"本月正在评审合计 {rise + last} 家，比上月（{unit_norm.last_period}）的 {last} 家增加 "
                                f"{rise} 家，{unit_norm.reviewing_basis()}"))
    return out


def _finding(draft, rows, measure: str, detail: str) -> Finding:
    pick = _NEW if measure == "new" else _REVIEWING
    row = max(rows, key=lambda r: pick(r) or 0)   # the first of the largest, in the form's order
    label = f"{row.industry} {LEVEL_NAMES[row.level]} {'当月完成' if measure == 'new' else '正在评审'}"
    cell = draft.cells.get((row.industry, row.level, measure)) if draft is not None else None
    return finding("OUTLIER", cell, value=pick(row), label=label, detail=detail)


def history(ledger, settings):
    """`past(keys)` for `check.conclude`: {(unit, period): Norm} for each (unit, period) of `keys`,
    from the unit's counted forms of the months before (a unit with no history: nothing to judge by)."""
    rule = Rule.of(settings)

    def past(keys) -> dict:
        wanted: dict[str, set] = {}
        for unit, period in keys:
            if unit and period:
                wanted.setdefault(period, set()).add(unit)
        closed = ledger.closed_months()
        out = {}
        for period, units in wanted.items():
            months = _window(period, rule.window)
            got = _counted_totals(ledger, months, sorted(units), closed)
            none = Norm(rule, (), (), months[-1])   # a unit with no history: the ceilings, made once
            for unit in units:
                mine = got.get(unit)
                out[(unit, period)] = none if mine is None else Norm(
                    rule, tuple(mine[m][0] for m in months if m in mine),
                    tuple(mine[m][1] if m in mine else None for m in months), months[-1])
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
    month = Month(period)
    return [month.plus(-k) for k in range(n, 0, -1)]
