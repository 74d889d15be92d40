"""What the register says at a date (docs/register.md §2–4): who is certified, how that compares with a
township's monthly form, and the base of its 达标率.

An enterprise is certified at D (达标有效) when 发证日期 ≤ D ≤ 有效期至, it was not withdrawn on or
before D (摘牌日期, or a revisit whose 结果 is 摘牌), and it is not 已关闭; its level is its 等级.
A withdrawal dated before the certificate's 发证日期 belongs to an earlier certificate and does not
end this one. Everything here is a column operation over the register's frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.findings import Finding, finding
from pipeline.core.model import LEVEL_NAMES, Row
from pipeline.core.period import Month
from pipeline.read.register import Register

GRADE_LEVEL = {"一级": 1, "二级": 2, "三级": 3}
NAMED = 10   # enterprises a RECONCILE_MISMATCH names


def _day(day) -> pd.Timestamp:
    return pd.Timestamp(day)


def withdrawn_at(register: Register) -> pd.Series:
    """Each enterprise's withdrawal of its certificate: the earliest of its 摘牌日期 and the dates of
    revisits that found 摘牌, on or after its 发证日期 (NaT: never withdrawn)."""
    e = register.enterprises
    issued = e["issued"]
    own = e["withdrawn"].where(~(e["withdrawn"] < issued))
    r = register.revisits
    if r.empty:
        return own.astype("datetime64[us]")
    struck = r[r["result"] == "摘牌"]
    by_code = pd.Series(issued.values, index=e["code"].values)
    struck = struck[~(struck["date"].values < by_code.reindex(struck["code"]).values)]
    first = struck.groupby("code")["date"].min()
    from_revisits = pd.Series(first.reindex(e["code"]).values, index=e.index, dtype="datetime64[us]")
    return pd.concat([own, from_revisits], axis=1).min(axis=1).astype("datetime64[us]")


def last_revisit(register: Register) -> pd.Series:
    """Each enterprise's latest revisit: its 最近回访日期 or a dated row of 回访记录, whichever is later."""
    e = register.enterprises
    r = register.revisits
    if r.empty:
        return e["revisited"].astype("datetime64[us]")
    latest = pd.Series(r.groupby("code")["date"].max().reindex(e["code"]).values, index=e.index, dtype="datetime64[us]")
    return pd.concat([e["revisited"], latest], axis=1).max(axis=1).astype("datetime64[us]")


def certified(register: Register, day) -> pd.Series:
    """Whether each enterprise of the register is certified at `day` (a boolean per row)."""
    e = register.enterprises
    d = _day(day)
    gone = withdrawn_at(register)
    return ((e["issued"] <= d) & (d <= e["expires"]) & ~(gone <= d) & (e["status"] != "已关闭")
            & e["grade"].isin(GRADE_LEVEL.keys()))


def certified_counts(register: Register, day) -> dict[tuple[str, str, int], int]:
    """(unit, industry, level) -> enterprises certified at `day`."""
    e = register.enterprises[certified(register, day)]
    if e.empty:
        return {}
    sizes = e.groupby(["unit", "industry", e["grade"].map(GRADE_LEVEL)]).size()
    return {(u, i, int(lv)): int(n) for (u, i, lv), n in sizes.items()}


# ---------------------------------------------------------------- reconciling a monthly form (§3)
class Reconciler:
    """RECONCILE_MISMATCH for a township's form: its 累计完成 by industry and level against the
    enterprises of the register certified at the month's last day. A unit with no enterprise in the
    register is not reconciled. The counts of each month are made once, for every form of it."""

    def __init__(self, register: Register):
        self.register = register
        self.units = register.units
        self._months: dict[str, tuple] = {}

    def month(self, period: str):
        if period not in self._months:
            day = Month(period).last_day
            e = self.register.enterprises
            ok = certified(self.register, day)
            gone = withdrawn_at(self.register)
            groups = e.assign(level=e["grade"].map(GRADE_LEVEL)).groupby(["unit", "industry", "level"]).indices
            under_review = ((e["status"] == "正在评审") & ~ok).to_numpy()
            where = np.flatnonzero(under_review)   # `indices` gives places in the rows grouped: these are theirs
            reviewing = {k: where[v] for k, v in e[under_review].groupby(["unit", "industry"]).indices.items()}
            self._months[period] = (day, certified_counts(self.register, day), ok.to_numpy(), gone, groups,
                                    reviewing)
        return self._months[period]

    def __call__(self, unit: str | None, period: str | None, rows: tuple[Row, ...], cells) -> list[Finding]:
        if not unit or not period or unit not in self.units or not rows:
            return []
        day, counts, ok, gone, groups, reviewing = self.month(period)
        out = []
        for r in rows:
            if r.cumulative is None:
                continue
            want = counts.get((unit, r.industry, r.level), 0)
            if r.cumulative == want:
                continue
            level = groups.get((unit, r.industry, r.level), ())
            if r.cumulative < want:
                detail = self._certified(level, ok)
            else:
                detail = self._not_certified(level, reviewing.get((unit, r.industry), ()), ok, gone, day)
            out.append(finding("RECONCILE_MISMATCH", cells.get((r.industry, r.level, "cumulative")) if cells else None,
                               label=f"{r.industry} {LEVEL_NAMES[r.level]} 累计完成", value=r.cumulative,
                               expected=want, date=_date_text(day), detail=detail))
        return out

    def _certified(self, positions, ok) -> str:
        """Under-reported: the enterprises certified, the latest certificates first (the likeliest not
        yet reported)."""
        part = self.register.enterprises.iloc[[p for p in positions if ok[p]]]
        part = part.sort_values(["issued", "name"], ascending=[False, True])
        names = [f"{n}（{_date_text(i)}发证）" for n, i in zip(part["name"], part["issued"])]
        return f"台账中达标有效的企业（按发证日期从近到远）有：{'、'.join(names[:NAMED])}{_more(len(names))}。"

    def _not_certified(self, positions, reviewing, ok, gone, day) -> str:
        """Over-reported: the enterprises of this industry and level whose certificate is no longer
        valid (the latest first), then those of the industry under review, which may hold a new
        certificate the register does not have yet."""
        e = self.register.enterprises
        mine = [p for p in positions if not ok[p]]
        part = e.iloc[mine].assign(gone=gone.iloc[mine].values)
        why = [_why_not(i, x, g, s, day) for i, x, g, s in zip(part["issued"], part["expires"], part["gone"],
                                                                part["status"])]
        ended = [g if pd.notna(g) and g <= _day(day) else x for g, x in zip(part["gone"], part["expires"])]
        part = part.assign(why=why, ended=pd.Series(ended, index=part.index, dtype="datetime64[us]"))
        part = part.sort_values(["ended", "name"], ascending=[False, True], na_position="last")
        names = [f"{n}（{w}）" for n, w in zip(part["name"], part["why"])]
        names += [f"{n}（正在评审）" for n in e.iloc[list(reviewing)].sort_values("name")["name"]]
        if not names:
            return "台账中该行业该级别没有其他企业，多报的企业不在台账中：请补录台账或改正报表。"
        return (f"台账中该级别证书已失效、或该行业正在评审（可能已取证而台账未更新）的企业有："
                f"{'、'.join(names[:NAMED])}{_more(len(names))}。")


def _more(n: int) -> str:
    return f"等 {n} 家" if n > NAMED else f"共 {n} 家"


def _why_not(issued, expires, gone, status, day) -> str:
    d = _day(day)
    if status == "已关闭":
        return "已关闭"
    if pd.notna(gone) and gone <= d:
        return f"{_date_text(gone)}摘牌"
    if pd.isna(issued) or issued > d:
        return "月底尚未发证" if pd.notna(issued) else "没有发证日期"
    return f"证书{_date_text(expires)}到期"


def _date_text(day) -> str:
    day = pd.Timestamp(day)
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------- the base of the rate (§4)
@dataclass(frozen=True)
class RegisterStanding:
    """A unit's base and rate by the register, at a quarter's last day."""
    base: int          # 规模以上 enterprises not 已关闭
    certified: int     # of them, certified at the day

    @property
    def rate(self) -> float | None:
        return self.certified / self.base if self.base else None


def register_standings(register: Register, day) -> dict[str, RegisterStanding]:
    """unit -> its base and certified above-scale enterprises, for every unit the register has."""
    e = register.enterprises
    above = (e["scale"] == "规模以上") & (e["status"] != "已关闭")
    ok = certified(register, day) & above
    base = above.groupby(e["unit"]).sum()
    got = ok.groupby(e["unit"]).sum()
    return {u: RegisterStanding(int(base.get(u, 0)), int(got.get(u, 0))) for u in e["unit"].unique()}


def with_register_bases(units, register: Register | None, day) -> tuple[list, dict[str, str]]:
    """The units with each one's 规模以上企业数 taken from the register where it has enterprises of
    the unit (units.csv's number the fallback), and the source of each base."""
    if register is None or register.enterprises.empty:
        return list(units), {u.name: "单位名录" for u in units}
    standings = register_standings(register, day)
    out, sources = [], {}
    for u in units:
        if u.name in standings:
            out.append(u._replace(base=standings[u.name].base))
            sources[u.name] = "企业台账"
        else:
            out.append(u)
            sources[u.name] = "单位名录"
    return out, sources
