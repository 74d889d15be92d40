"""The year's 综合排名 (二七安监管〔2016〕8号 六(四): the quarterly rankings count toward each
township's annual safety assessment). Pure functions from counted submissions and the quarters'
places to the ranking; the run that reads the ledger is annual_run.py.

Per unit: the four quarters' places, the year-end 达标率 against the year's target, months
reported on time of those due, new certifications in the year, and a composite score out of 100:

    score = Σ weight × part ÷ Σ weight      (weights: settings `[annual]`)
    年末达标率 part  = min(达标率 ÷ 年度目标, 1) × 100
    季度排名 part    = the mean over the year's quarters with a ranking of (N − 名次) ÷ (N − 1) × 100,
                       N the units ranked that quarter (first 100, last 0; 未报送 that quarter 0)
    按时报送 part    = months on time ÷ months due × 100
    全年新增 part    = (全年新增 ÷ 规模以上企业数) ÷ the largest such ratio among the ranked units × 100

The score is rounded to one decimal (half up); equal rounded scores share a rank (1, 2, 2, 4).
Units with no counted form all year follow (全年未报送); units with no above-scale enterprises are
listed, not ranked. README.md works an example through (tests/test_annual.py checks it).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

PARTS = ("rate", "quarters", "on_time", "new")
PART_NAMES = {"rate": "年末达标率", "quarters": "季度排名", "on_time": "按时报送", "new": "全年新增"}


@dataclass(frozen=True)
class Place:
    """A unit's place in one quarter's ranking."""
    rank: int | None      # None: not ranked
    ranked: int           # how many units were ranked that quarter
    status: str           # 排名 | 未报送 | 无规模以上企业


@dataclass(frozen=True)
class Standing:
    unit: str
    base: int                              # 规模以上企业数
    places: tuple[Place | None, ...]       # each quarter used; None where the unit was not listed
    certified: int | None                  # 累计完成 at the year's last counted month; None: none counted
    reviewing: int
    new_in_year: int                       # 当月完成 over the counted months
    on_time: int                           # months counted and received on time
    due: int                               # months the unit had to report (ended, while it existed)
    missing: tuple[str, ...]               # months due with no counted form
    late: tuple[str, ...]
    as_of: str | None                      # the month `certified` comes from


@dataclass(frozen=True)
class AnnualRow:
    rank: int | None
    unit: str
    base: int
    places: tuple[Place | None, ...]
    certified: int | None
    rate: float | None
    target: float
    gap: float | None
    new_in_year: int
    on_time: int
    due: int
    reviewing: int
    parts: dict                            # part -> 0..100, or {} when not ranked
    score: float | None
    status: str                            # 排名 | 全年未报送 | 无规模以上企业
    tied: bool = False
    missing: tuple[str, ...] = ()
    late: tuple[str, ...] = ()
    as_of: str | None = None


def standings(units, months: list[str], due: dict[str, list[str]], counted: dict[str, dict],
              places: dict[str, dict[str, Place]], quarters: list[str]) -> list[Standing]:
    """`months`: the year's months with data to look at, in order; `due`: unit -> the months it had
    to report; `counted`: month -> unit -> counted submission; `places`: quarter -> unit -> Place."""
    out = []
    for u in units:
        recs = {m: counted[m].get(u.name) for m in months}
        reported = [m for m in months if recs[m] is not None]
        last = recs[reported[-1]] if reported else None
        mine = due.get(u.name, [])
        out.append(Standing(
            unit=u.name, base=u.base, places=tuple(places[q].get(u.name) for q in quarters),
            certified=sum(r.cumulative or 0 for r in last.rows) if last else None,
            reviewing=sum(r.reviewing or 0 for r in last.rows) if last else 0,
            new_in_year=sum(r.new or 0 for m in reported for r in recs[m].rows),
            on_time=sum(1 for m in reported if m in mine and not recs[m].late),
            due=len(mine), missing=tuple(m for m in mine if recs.get(m) is None),
            late=tuple(m for m in reported if recs[m].late), as_of=reported[-1] if reported else None))
    return out


def half_up(x: float, digits: int = 1) -> float:
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def quarter_part(places) -> float | None:
    """The mean of the quarters' (N − 名次) ÷ (N − 1) × 100; 未报送 scores 0; a quarter the unit
    was not listed in, or not ranked for lack of enterprises, is left out."""
    got = []
    for p in places:
        if p is None or p.status == "无规模以上企业":
            continue
        if p.rank is None:
            got.append(0.0)
        else:
            got.append(100.0 if p.ranked <= 1 else (p.ranked - p.rank) / (p.ranked - 1) * 100)
    return sum(got) / len(got) if got else None


def rank_year(rows: list[Standing], target: float, weights: dict[str, float]) -> list[AnnualRow]:
    """Score and rank the year: ranked units by score (ties share a rank), then 全年未报送, then
    units without above-scale enterprises; units in reference order within each."""
    scored = [s for s in rows if s.base > 0 and s.certified is not None]
    best_new = max((s.new_in_year / s.base for s in scored), default=0)
    out = []
    for s in scored:
        rate = s.certified / s.base
        parts = {"rate": min(rate / target, 1) * 100 if target > 0 else 100.0,
                 "quarters": quarter_part(s.places),
                 "on_time": s.on_time / s.due * 100 if s.due else None,
                 "new": s.new_in_year / s.base / best_new * 100 if best_new > 0 else 0.0}
        used = {k: v for k, v in parts.items() if v is not None and weights.get(k, 0) > 0}
        total = sum(weights[k] for k in used)
        score = half_up(sum(weights[k] * v for k, v in used.items()) / total) if total else 0.0
        out.append(_row(s, target, rate, parts, score, "排名"))
    out.sort(key=lambda r: -r.score)   # stable: reference order among equal scores
    ranks: list[int] = []
    for k, r in enumerate(out):
        ranks.append(ranks[-1] if k and out[k - 1].score == r.score else k + 1)
    shared = {k for k in ranks if ranks.count(k) > 1}
    out = [replace(r, rank=k, tied=k in shared) for r, k in zip(out, ranks)]
    silent = [_row(s, target, None, {}, None, "全年未报送") for s in rows if s.base > 0 and s.certified is None]
    empty = [_row(s, target, None, {}, None, "无规模以上企业") for s in rows if s.base <= 0]
    return out + silent + empty


def _row(s: Standing, target: float, rate, parts, score, status) -> AnnualRow:
    return AnnualRow(None, s.unit, s.base, s.places, s.certified, rate, target,
                     None if rate is None else target - rate, s.new_in_year, s.on_time, s.due, s.reviewing,
                     parts, score, status, False, s.missing, s.late, s.as_of)


def weights_of(settings) -> dict[str, float]:
    a = settings["annual"]
    return {k: float(a[f"weight_{k}"]) for k in PARTS}
