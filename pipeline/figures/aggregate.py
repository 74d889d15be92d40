"""Totals over counted submissions, and the quarter's ranking (docs/runs.md, `quarterly`)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from pipeline.core.model import ROW_KEYS, Received, Row


def district_rows(counted: dict[str, Received], carried: dict | None = None) -> tuple[Row, ...]:
    """The 24 rows of the district's own form: the sum over units' counted submissions (a blank
    count adds nothing), and over `carried` ({unit: (month, rows)}: the last counted month of each
    unit that did not report) as `carried_rows` carries them."""
    forms = [rec.rows for rec in counted.values()] + [carried_rows(rows) for _, rows in (carried or {}).values()]
    if all(len(rows) == len(ROW_KEYS) for rows in forms):
        # Every form's rows one after another, as the ledger gives them (in the form's order): each
        # count is then a column of this list, summed in one step (a country's million rows, a Python
        # step each, took a second).
        flat, width = list(itertools.chain.from_iterable(itertools.chain.from_iterable(forms))), len(Row._fields)
        stride = len(ROW_KEYS) * width
        if all(set(flat[k * width::stride]) <= {industry} and set(flat[k * width + 1::stride]) <= {level}
               for k, (industry, level) in enumerate(ROW_KEYS)):
            return tuple(Row(industry, level, *(sum(filter(None, flat[k * width + m::stride])) for m in (2, 3, 4)))
                         for k, (industry, level) in enumerate(ROW_KEYS))
    sums = {key: [0, 0, 0] for key in ROW_KEYS}
    for rows in forms:
        for r in rows:
            acc = sums[(r.industry, r.level)]
            acc[0] += r.new or 0
            acc[1] += r.cumulative or 0
            acc[2] += r.reviewing or 0
    return tuple(Row(*key, *sums[key]) for key in ROW_KEYS)


def carried_rows(rows) -> tuple[Row, ...]:
    """A unit's last counted rows as the district's form carries them into a month it did not report:
    its 累计完成 and 正在评审 as they were, its 当月完成 0. The district's 累计完成 then stays continuous
    from month to month (the city checks it: last month's 累计 + this month's 当月), as the quarterly
    ranking carries a unit's latest month."""
    return tuple(Row(r.industry, r.level, 0, r.cumulative, r.reviewing) for r in rows)


@dataclass(frozen=True)
class Standing:
    unit: str
    base: int
    certified: int | None        # None: no counted submission in the quarter
    reviewing: int
    new_in_quarter: int
    on_time: int
    reported: tuple[str, ...]    # months with a counted submission
    missing: tuple[str, ...]
    late: tuple[str, ...]
    as_of: str | None            # the month `certified` comes from

    @property
    def rate(self) -> float | None:
        if self.certified is None or self.base <= 0:
            return None
        return self.certified / self.base


def standings(units, months: list[str], counted_by_month: dict[str, dict[str, Received]]) -> list[Standing]:
    out = []
    for u in units:
        recs = {m: counted_by_month[m].get(u.name) for m in months}
        reported = tuple(m for m in months if recs[m] is not None)
        last = recs[reported[-1]] if reported else None
        out.append(Standing(
            unit=u.name, base=u.base,
            certified=sum(r.cumulative or 0 for r in last.rows) if last else None,
            reviewing=sum(r.reviewing or 0 for r in last.rows) if last else 0,
            new_in_quarter=sum(sum(r.new or 0 for r in recs[m].rows) for m in reported),
            on_time=sum(1 for m in reported if not recs[m].late),
            reported=reported, missing=tuple(m for m in months if recs[m] is None),
            late=tuple(m for m in reported if recs[m].late),
            as_of=reported[-1] if reported else None))
    return out


def rank(rows: list[Standing], target: float) -> pd.DataFrame:
    """The ranking table: ranked units by 达标率, 季度新增, 按时报送 (all descending, ties share a
    rank: 1, 1, 3), then units with no counted submission (未报送), then units with no above-scale
    enterprises (not ranked)."""
    frame = pd.DataFrame([{
        "unit": s.unit, "base": s.base, "certified": s.certified, "rate": s.rate, "target": target,
        "new_in_quarter": s.new_in_quarter, "on_time": s.on_time, "reviewing": s.reviewing,
        "missing": s.missing, "late": s.late, "order": i} for i, s in enumerate(rows)])
    frame["status"] = "排名"
    frame.loc[frame["certified"].isna(), "status"] = "未报送"
    frame.loc[frame["base"] <= 0, "status"] = "无规模以上企业"
    ranked = frame[frame["status"] == "排名"].sort_values(
        ["rate", "new_in_quarter", "on_time", "order"], ascending=[False, False, False, True])
    key = list(zip(ranked["rate"].round(12), ranked["new_in_quarter"], ranked["on_time"]))
    ranks, tied = [], []
    for i, k in enumerate(key):
        ranks.append(ranks[i - 1] if i and key[i - 1] == k else i + 1)
    counts = pd.Series(ranks).value_counts()
    tied = [counts[r] > 1 for r in ranks]
    ranked = ranked.assign(rank=ranks, tied=tied)
    rest = frame[frame["status"] != "排名"].sort_values(["status", "order"], ascending=[False, True])
    rest = rest.assign(rank=None, tied=False)
    out = pd.concat([ranked, rest], ignore_index=True)
    out["gap"] = out["target"] - out["rate"]
    return out.drop(columns=["order"])


@dataclass(frozen=True)
class RankRow:
    rank: int | None          # None = not ranked
    unit: str
    certified: int            # 达标企业数 (sum of 累计完成 at quarter end)
    base: int                 # 规模以上企业数
    rate: float | None        # 达标率 as a fraction (0.5 = 50%); None when base == 0
    target: float             # the year's target, fraction
    gap: float | None         # target - rate
    new_in_quarter: int       # 季度新增
    on_time: int              # months reported on time, of 3
    reviewing: int            # 正在评审 at quarter end
    status: str               # "排名" | "未报送" | "无规模以上企业"
    missing_months: tuple[str, ...] = ()   # months of the quarter with no counted submission
    tied: bool = False        # shares its rank (并列)
    base_source: str = "单位名录"            # where `base` comes from: 单位名录 (units.csv) or 企业台账
    register_certified: int | None = None   # certified above-scale enterprises by the register (docs/register.md §4)
    register_rate: float | None = None      # the register's own 达标率: register_certified / base


def rank_rows(ranking) -> tuple[RankRow, ...]:
    """The frame of `aggregate.rank` as the bulletin's and the workbook's rows (NaN → None, a unit
    that never reported 0 certified)."""
    return tuple(RankRow(
        rank=None if r.rank is None or r.rank != r.rank else int(r.rank), unit=r.unit,
        certified=int(r.certified) if r.certified == r.certified and r.certified is not None else 0,
        base=int(r.base), rate=None if r.rate is None or r.rate != r.rate else float(r.rate),
        target=float(r.target), gap=None if r.gap is None or r.gap != r.gap else float(r.gap),
        new_in_quarter=int(r.new_in_quarter), on_time=int(r.on_time), reviewing=int(r.reviewing),
        status=r.status, missing_months=tuple(r.missing), tied=bool(r.tied)) for r in ranking.itertuples())
