"""`annual 2016`: intake, then the year's 综合排名, its 通报 and 年度排名表 in `outbox/2016/`.

The quarters' places are those of the quarterly rankings, recomputed from the ledger as each
quarterly 通报 saw it (a closed quarter as it stood when closed: closing.py). A quarter not yet
ended, or with nothing counted, is left out and named.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from pipeline.check.certified import with_register_bases
from pipeline.core.period import Month, Quarter, year_months
from pipeline.core.settings import Settings, load_settings
from pipeline.figures.annual import PART_NAMES, PARTS, Place, rank_year, standings, weights_of
from pipeline.jobs import closing
from pipeline.jobs.monthly import run_job
from pipeline.jobs.quarterly import _frame, choose, problems
from pipeline.jobs.register import register_import_in_use
from pipeline.jobs.register_ledger import load_import
from pipeline.outputs.annual_book import write_annual_book
from pipeline.outputs.annual_bulletin import AnnualContext, YearSummary, quarter_word, render_annual
from pipeline.outputs.trends import trends
from pipeline.store.files import atomic_bytes, sweep
from pipeline.store.ledger import Ledger


class NothingToRank(Exception):
    """The year has no quarter with counted submissions (or has not begun)."""


def last_year(settings: Settings) -> int:
    return dt.datetime.now(settings.tz).year - 1


def ended_months(year: int, today: dt.date) -> list[Month]:
    """The year's months that have ended by `today`."""
    return [m for m in year_months(year) if m < Month.at(today)]


def _register_of(ledger: Ledger, quarter: str, current: int | None):
    """The enterprise register a quarter is ranked with, as its quarterly run does: a closed
    quarter's the one its 通报 used, else the one in use now (`current`, an import id)."""
    closed = closing.current(ledger, quarter)
    used = closed.register_import if closed else current
    return load_import(ledger, used) if used else None


def _places(ledger: Ledger, units, year: int, settings: Settings, ended: list[str], register: int | None):
    """quarter -> unit -> Place for each quarter ranked; the quarters left out, with why; and the
    units each quarter criticized. `register`: the import id of the enterprise register in use."""
    places, missing, criticized = {}, [], {}
    for q in range(1, 5):
        quarter = Quarter.of(year, q)
        months = quarter.months
        if months[-1] not in ended:
            missing.append((quarter, "尚未结束"))
            places[quarter] = {}
            continue
        view, _ = closing.view(ledger, quarter)
        ranking, _st, counted, _ = _frame(view, units, quarter, settings, _register_of(ledger, quarter, register))
        if not any(counted[m] for m in months):
            missing.append((quarter, "没有报表数据"))
            places[quarter] = {}
            continue
        ranked = int((ranking["status"] == "排名").sum())
        places[quarter] = {r.unit: Place(None if r.rank is None or r.rank != r.rank else int(r.rank), ranked,
                                         r.status) for r in ranking.itertuples()}
        criticized[quarter] = choose(ranking, settings)[1]
    return places, missing, criticized


def build_context(ledger: Ledger, units, year: int, settings: Settings, today: dt.date,
                  register: int | None = None) -> AnnualContext:
    """The year's ranking; `register`: the import id of the enterprise register in use (its bases
    are the quarterly rankings' and the year end's, as `quarterly` takes them)."""
    ended = ended_months(year, today)
    if not ended:
        raise NothingToRank(f"{year}年还没有结束的月份。")
    places, missing, criticized = _places(ledger, units, year, settings, ended, register)
    quarters = [q for q in places if places[q]]
    if not quarters:
        raise NothingToRank(f"{year}年没有任何季度有被计入的报表。")
    counted = {m: ledger.counted(m) for m in ended}
    last = ended[-1]
    roster, _ = with_register_bases(units.active(last) or list(units.units),   # the bases at that day, as
                                    _register_of(ledger, last.quarter, register), last.last_day)   # its quarter's
    due = {u.name: [m for m in ended if u.active(m)] for u in roster}
    target = settings.target(year) or 0.0
    st = standings(roster, ended, due, counted, places, list(places))
    ranking = rank_year(st, target, weights_of(settings))

    n_praise, n_crit = int(settings["bulletin"]["praise"]), int(settings["bulletin"]["criticize"])
    ranked = [r for r in ranking if r.rank is not None]
    praised = [r.unit for r in ranked if r.rank <= n_praise and r.score and r.rate]
    below = [r.unit for r in ranked if r.rate < r.target and r.unit not in praised]
    silent = [r.unit for r in ranking if r.status == "全年未报送"]

    by_level = {1: 0, 2: 0, 3: 0}
    for s in st:
        if s.as_of:
            for r in counted[s.as_of][s.unit].rows:
                by_level[r.level] += r.cumulative or 0
    base = sum(u.base for u in roster)
    certified = sum(s.certified for s in st if s.certified is not None)
    summary = YearSummary(by_level, certified, base, certified / base if base else None, target,
                          sum(s.new_in_year for s in st), sum(s.reviewing for s in st))

    rejected, data_warnings = problems(ledger, ended, units)
    often = [(u, tuple(q for q in criticized if u in criticized[q])) for u in (x.name for x in roster)]
    a = settings["annual"]
    issued = dt.date.fromisoformat(a["date"]) if a["date"] else today
    return AnnualContext(
        year=year, bureau=settings["district"]["bureau"], district=settings["district"]["name"],
        doc_number=settings["bulletin"]["doc_number"].format(year=issued.year, n=a["number"]), issued=issued,
        first_month=1, last_month=ended[-1].number, summary=summary, ranking=tuple(ranking),
        quarters=tuple(quarters), missing_quarters=tuple(missing), weights=weights_of(settings),
        praised=tuple(praised), criticized=tuple(silent + below[::-1][:n_crit][::-1]),
        not_reported=tuple(silent),
        reporting=tuple((r.unit, len(r.late), len(r.missing)) for r in ranking
                        if r.status == "排名" and (r.late or r.missing)),
        rejected=rejected, data_warnings=data_warnings,
        far_below=tuple(r.unit for r in ranked if r.rate < target / 2),
        often_criticized=tuple((u, qs) for u, qs in often if len(qs) >= 2),
        next_target=settings.target(year + 1) if str(year + 1) in settings["targets"] else None,
        copy_to=settings["bulletin"]["copy_to"], issuer=settings["bulletin"]["issuer"],
        trends=trends(roster, ended, counted))


def rule_text(ctx: AnnualContext) -> str:
    total = sum(ctx.weights.values()) or 1
    shares = "、".join(f"{PART_NAMES[k]} {ctx.weights[k] / total:.0%}" for k in PARTS)
    return (f"综合得分（满分 100）= 各项得分按权重加权（{shares}；权重在 settings.toml 的 [annual] 中设置）。"
            "年末达标率得分 = 达标率 ÷ 年度目标 × 100，达到目标为 100；季度排名得分 = 各季度（参加排名单位数 − 名次）"
            "÷（参加排名单位数 − 1）× 100 的平均，该季度未报送为 0；按时报送得分 = 按时报送且被计入的月数 ÷ 应报月数 × 100；"
            "全年新增得分 =（全年新增 ÷ 规模以上企业数）÷ 各单位中此比值的最大者 × 100。综合得分保留一位小数（四舍五入），"
            "相同者并列。")


def run_annual(folders: dict, year: int | None) -> int:
    settings = load_settings(folders["reference"])
    year = year or last_year(settings)
    try:
        out, counts = run_job(folders, "annual", f"{year:04d}-12",
                              lambda ledger, settings, units: write_annual(ledger, folders, year, settings, units))
    except NothingToRank as e:
        print(f"不生成年度排名：{e}", file=sys.stderr)
        return 2
    print(f"{year}年度综合排名、通报与排名表：{out}")
    print(f"{year}年12月：{counts.line()}")
    return counts.exit_status


def write_annual(ledger: Ledger, folders: dict, year: int, settings: Settings, units,
                 today: dt.date | None = None) -> Path:
    ctx = build_context(ledger, units, year, settings, today or dt.datetime.now(settings.tz).date(),
                        register_import_in_use(folders, ledger, settings))
    out = folders["outbox"] / f"{year:04d}"
    out.mkdir(parents=True, exist_ok=True)
    sweep(out)   # what a run killed mid-write left
    stem = f"关于{year}年度工贸行业企业安全生产标准化达标创建情况综合排名的通报"
    files = {k: p.name for k, p in render_annual(ctx, out, stem).items()}
    book = out / f"{year}年度各乡（镇）办事处安全生产标准化达标创建综合排名表.xlsx"
    write_annual_book(book, ctx, rule_text(ctx))
    files["ranking"] = book.name
    manifest = {
        "period": str(year), "kind": "annual", "files": files,
        "quarters": list(ctx.quarters),
        "missing_quarters": [{"quarter": q, "why": why} for q, why in ctx.missing_quarters],
        "weights": ctx.weights,
        "ranking": [{"rank": r.rank, "unit": r.unit, "quarters": [None if p is None else p.rank for p in r.places],
                     "certified": r.certified, "base": r.base, "rate": r.rate, "target": r.target,
                     "new_in_year": r.new_in_year, "on_time": r.on_time, "due": r.due, "parts": r.parts,
                     "score": r.score, "status": r.status} for r in ctx.ranking],
        "praised": list(ctx.praised), "criticized": list(ctx.criticized),
        "issued": ctx.issued.isoformat(), "doc_number": ctx.doc_number,
    }
    atomic_bytes(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), sync=True)
    for q, why in ctx.missing_quarters:
        print(f"注意：{quarter_word(q)}{why}，不计入本次排名。")
    return out
