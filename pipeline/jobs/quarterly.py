"""`quarterly`: intake, then the quarter's ranking, 通报 and 排名表 in `outbox/<2016Q3>/`.

No 通报 from nothing: a quarter not yet over, a year without its target in settings, or a quarter in
which nothing at all was counted is refused (exit 2) with the reason; with --force the 通报 is made
all the same as a draft that says so on its face (its first lines, its file names, the manifest)."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from pipeline.check.certified import with_register_bases
from pipeline.core.findings import CODES
from pipeline.core.period import Month, Quarter
from pipeline.core.settings import Settings, doc_number, doc_number_of, issued_on, load_settings
from pipeline.figures.aggregate import rank, rank_rows, standings
from pipeline.jobs import closing
from pipeline.jobs.monthly import _manifest, run_job
from pipeline.jobs.register import register_import_in_use
from pipeline.jobs.register_ledger import load_import
from pipeline.outputs.bulletin import render_bulletin
from pipeline.outputs.bulletin_context import BulletinContext, DistrictSummary
from pipeline.outputs.ranking_book import write_ranking_book
from pipeline.outputs.register_bulletin import ranked_with_register, register_part
from pipeline.outputs.trends import trends
from pipeline.store.files import atomic_bytes, listed_outputs, publish, staging, sweep, sweep_sets
from pipeline.store.ledger import Ledger

DATA_CODES = ("CUMULATIVE_GAP", "CUMULATIVE_DECREASE", "TOTAL_MISSING", "SAME_AS_OTHER_UNIT", "EMPTY_REPORT",
              "TEXT_NUMBER", "RECONCILE_MISMATCH", "OUTLIER")


def last_quarter(settings: Settings, now: dt.datetime | None = None) -> Quarter:
    return Quarter.at(now or dt.datetime.now(settings.tz)).previous


def _frame(ledger: Ledger, units, quarter: str, settings: Settings, register=None):
    quarter = Quarter(quarter)
    months = quarter.months
    counted = {m: ledger.counted(m) for m in months}
    target = settings.target(quarter.year) or 0.0
    # each unit's 规模以上企业数 from the enterprise register where it has the unit's enterprises (docs/register.md §4)
    active, _ = with_register_bases(units.active(months[-1]) or units.units, register, quarter.last_day)
    st = standings(active, months, counted)
    return rank(st, target), st, counted, target


def choose(ranking, settings: Settings) -> tuple[list[str], list[str]]:
    """Praise the top units with a rate above zero; criticize the units that did not report at all,
    then the lowest-ranked units still below the year's target."""
    ranked = ranking[ranking["status"] == "排名"]
    n_praise, n_crit = int(settings["bulletin"]["praise"]), int(settings["bulletin"]["criticize"])
    praised = [r.unit for r in ranked.itertuples() if r.rate and r.rate > 0 and r.rank <= n_praise]
    below = [r.unit for r in ranked.itertuples() if r.rate is not None and r.rate < r.target]
    lowest = [u for u in below[::-1][:n_crit] if u not in praised][::-1]
    silent = list(ranking[ranking["status"] == "未报送"]["unit"])
    return praised, silent + lowest


def early_reasons(quarter: str, settings: Settings, now: dt.datetime) -> list[str]:
    """Why the quarter's 通报 would say nothing true, known before intake: the quarter is not over,
    or its year has no target in settings."""
    reasons, quarter = [], Quarter(quarter)
    if quarter.last_month >= Month.at(now):
        end = quarter.last_day
        reasons.append(f"{quarter.text}尚未结束（{end.year}年{end.month}月{end.day}日结束）")
    year = quarter.year
    if str(year) not in settings.values["targets"]:
        fallback = settings.target(year)
        reasons.append(f"设置中没有 {year} 年的年度目标（reference/settings.toml 的 [targets]）"
                       + (f"，草稿暂按 {fallback:.0%} 计" if fallback is not None else "，草稿的目标按 0 计"))
    return reasons


def counted_reason(ledger: Ledger, quarter: str) -> list[str]:
    """Why, known after intake: nothing at all was counted in the quarter."""
    if any(ledger.counted(m) for m in Quarter(quarter).months):
        return []
    return [f"{Quarter(quarter).text}没有任何被计入的报表"]


class Refused(Exception):
    """The 通报 is not made: the reasons, for staff."""


def build_context(ledger: Ledger, units, quarter: str, settings: Settings, draft: str = "", register=None):
    quarter = Quarter(quarter)
    ranking, st, counted, target = _frame(ledger, units, quarter, settings, register)
    months = quarter.months
    praised, criticized = choose(ranking, settings)

    prev = quarter.previous
    prev_ranking, prev_st, prev_counted, _ = _frame(ledger, units, prev, settings, register)
    has_prev = any(prev_counted[m] for m in prev_counted)
    prev_criticized = choose(prev_ranking, settings)[1] if has_prev else []

    by_level = {1: 0, 2: 0, 3: 0}
    for s in st:
        if s.as_of:
            for r in counted[s.as_of][s.unit].rows:
                by_level[r.level] += r.cumulative or 0
    reporting = [s for s in st if s.certified is not None]
    base = sum(s.base for s in st)   # units.csv's, or the register's where it has the unit
    certified = sum(s.certified for s in reporting)
    prev_certified = sum(s.certified for s in prev_st if s.certified is not None) if has_prev else None
    summary = DistrictSummary(
        by_level=by_level, certified=certified, base=base, rate=certified / base if base else None,
        target=target, new_in_quarter=sum(s.new_in_quarter for s in st),
        reviewing=sum(s.reviewing for s in st),
        previous_rate=(prev_certified / base if base and has_prev else None),
        previous_certified=prev_certified)

    rejected, data_warnings = problems(ledger, months, units)
    rows = ranked_with_register(rank_rows(ranking), units.active(months[-1]) or units.units, register, quarter)
    ctx = BulletinContext(
        year=quarter.year, quarter=quarter.number, period=quarter,
        bureau=settings["district"]["bureau"], district=settings["district"]["name"],
        doc_number=doc_number(settings, quarter), issued=issued_on(settings), summary=summary,
        ranking=rows, praised=tuple(praised), criticized=tuple(criticized),
        interview=tuple(u for u in criticized if u in prev_criticized),
        not_reported=tuple(r.unit for r in rows if r.status == "未报送"),
        late=tuple((s.unit, s.late) for s in st if s.late),
        missed_months=tuple((s.unit, s.missing) for s in st if s.missing and s.reported),
        rejected=rejected, data_warnings=data_warnings,
        far_below=tuple(r.unit for r in rows if r.rate is not None and r.rate < target / 2),
        copy_to=settings["bulletin"]["copy_to"], issuer=settings["bulletin"]["issuer"], draft=draft,
        register=register_part(register, quarter, rows, settings, [u.name for u in units.active(months[-1]) or units.units]),
        trends=year_trends(ledger, with_register_bases(units.active(months[-1]) or units.units, register,
                                                       quarter.last_day)[0], quarter, counted))
    return ctx, ranking


def year_trends(ledger: Ledger, roster: list, quarter: str, counted: dict):
    """Each unit of `roster` (with the bases the ranking uses): its rate at the end of each month of
    the year up to the quarter's end (the HTML's trends)."""
    months = Quarter(quarter).months_of_year()
    counted = {m: counted[m] if m in counted else ledger.counted(m) for m in months}
    return trends(roster, months, counted)


def run_quarterly(folders: dict, quarter: str | None, force: bool = False, now: dt.datetime | None = None,
                  settings: Settings | None = None, units=None) -> int:
    """The quarter's run; 2 when its 通报 would say nothing true (unless `force`: a draft that says so)."""
    settings = settings or load_settings(folders["reference"])
    now = now or dt.datetime.now(settings.tz)
    quarter = Quarter(quarter) if quarter else last_quarter(settings, now)
    early = early_reasons(quarter, settings, now)
    if early and not force:
        _refuse(quarter, early, taken_in=False)
        return 2
    if not early:   # asked for before anything is taken in (a draft may leave it blank)
        doc_number_of(settings, quarter, folders["reference"])
    # a quarter not over takes in the inbox for the month now running, never for one not begun
    intake_period = min(quarter.last_month, Month.at(now))
    try:
        out, counts = run_job(folders, "quarterly", intake_period, lambda ledger, settings, units: write_quarterly(
            ledger, folders, quarter, settings, units, early if force else None), settings, units, now)
    except Refused as refused:
        _refuse(quarter, refused.args[0], taken_in=True)
        return 2
    drafted = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("draft")
    print(f"{quarter.text}通报与排名{'（草稿）' if drafted else ''}：{out}")
    print(f"{intake_period.text}：{counts.line()}")
    return counts.exit_status


def _refuse(quarter: str, reasons: list[str], taken_in: bool) -> None:
    print(f"不生成{Quarter(quarter).text}的通报：{'；'.join(reasons)}。"
          + ("收件箱中的文件已照常收取登记。" if taken_in else "")
          + "如确需先看一稿，加 --force：生成的通报标明“草稿”，不得印发。", file=sys.stderr)


def write_quarterly(ledger: Ledger, folders: dict, quarter: str, settings: Settings, units,
                    force: list[str] | None = None) -> Path:
    """The quarter's outputs. `force`: None to refuse a quarter with nothing counted (Refused), else
    the reasons already known (possibly none) to make the 通报 a draft for, with any found here."""
    reasons = (force or []) + counted_reason(ledger, quarter)
    if reasons and force is None:
        raise Refused(reasons)
    out = folders["outbox"] / quarter
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_sets(out)   # what a run killed mid-write left
    sweep(out)
    draft = "；".join(reasons)
    new = staging(out)   # the whole set is written here, then put in place of the old at once (a draft
    try:                 # made before the quarter was over is listed in the old manifest: it goes)
        _write_quarter(ledger, folders, new, quarter, settings, units, draft)
        publish(new, out, listed_outputs(_manifest(out)))
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    return out


def _write_quarter(ledger: Ledger, folders: dict, out: Path, quarter: str, settings: Settings, units,
                   draft: str) -> None:
    # a closed quarter: the ledger and the enterprise register as its 通报 saw them, its date and 文号
    view, closed = closing.view(ledger, quarter)
    used = closed.register_import if closed else register_import_in_use(folders, ledger, settings)
    ctx, ranking = build_context(view, units, quarter, settings, draft, load_import(ledger, used) if used else None)
    if closed:
        ctx = replace(ctx, issued=closed.issued, doc_number=closed.doc_number)
    year, qname = Quarter(quarter).year, Quarter(quarter).name
    stem = f"关于{year}年{qname}工贸行业企业安全生产标准化达标创建情况的通报" + ("（草稿）" if draft else "")
    files = {k: p.name for k, p in render_bulletin(ctx, out, stem).items()}
    book = out / f"{year}年{qname}各乡（镇）办事处安全生产标准化达标创建情况排名表{'（草稿）' if draft else ''}.xlsx"
    write_ranking_book(book, book.stem, ctx.ranking, ctx.summary.target, author=ctx.bureau,
                       register=ctx.register is not None)
    files["ranking"] = book.name
    manifest = {
        "period": quarter, "kind": "quarterly", "files": files,
        "ranking": [{"rank": r.rank, "unit": r.unit, "certified": r.certified if r.status != "未报送" else None,
                     "base": r.base, "rate": r.rate, "target": r.target, "new_in_quarter": r.new_in_quarter,
                     "on_time": r.on_time, "status": r.status, "base_source": r.base_source,
                     "register_rate": r.register_rate} for r in ctx.ranking],
        "praised": list(ctx.praised), "criticized": list(ctx.criticized), "interview": list(ctx.interview),
        "issued": ctx.issued.isoformat(), "doc_number": ctx.doc_number, "ledger_upto": closing.last_submission(view),
        "ledger_id": ledger.identity,
        "register_import": used,
    }
    if draft:
        manifest["draft"] = draft
    atomic_bytes(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), sync=True)


def problems(ledger: Ledger, months, units) -> tuple[tuple, tuple]:
    """Over the months, in the units' order: (unit, forms rejected) and (unit, finding's title, times)
    for the data findings on counted forms — what the 通报 asks each unit to put right."""
    rejected, warnings = Counter(), Counter()
    for m in months:
        for rec in ledger.period_submissions(m, rows=False):
            if rec.status == "rejected" and rec.unit:
                rejected[rec.unit] += 1
            if rec.status == "accepted":
                for code in rec.codes:
                    if code in DATA_CODES:
                        warnings[(rec.unit, CODES[code].title)] += 1
    order = {u.name: i for i, u in enumerate(units.units)}
    return (tuple(sorted(rejected.items(), key=lambda kv: order.get(kv[0], 1 << 30))),
            tuple((u, t, n) for (u, t), n in sorted(warnings.items(), key=lambda kv: order.get(kv[0][0], 1 << 30))))
