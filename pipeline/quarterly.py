"""`quarterly`: intake, then the quarter's ranking, 通报 and 排名表 in `outbox/<2016Q3>/`."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

from . import closing
from .aggregate import previous_quarter, quarter_months, rank, standings
from .bulletin import BulletinContext, DistrictSummary, RankRow, render_bulletin
from .findings import CODES
from .ledger import Ledger
from .monthly import run_job
from .ranking_book import write_ranking_book
from .settings import Settings, load_settings
from .store import atomic_bytes, sweep
from .trends import trends

QUARTER_ZH = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
DATA_CODES = ("CUMULATIVE_GAP", "CUMULATIVE_DECREASE", "TOTAL_MISSING", "SAME_AS_OTHER_UNIT", "EMPTY_REPORT",
              "OUTLIER")


def last_quarter(settings: Settings, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(settings.tz)
    q = (now.month - 1) // 3 + 1
    return f"{now.year - 1}Q4" if q == 1 else f"{now.year}Q{q - 1}"


def _frame(ledger: Ledger, units, quarter: str, settings: Settings):
    months = quarter_months(quarter)
    counted = {m: ledger.counted(m) for m in months}
    target = settings.target(int(quarter[:4])) or 0.0
    st = standings(units.active(months[-1]) or units.units, months, counted)
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


def _doc_number(settings: Settings, quarter: str) -> str:
    numbers = settings["bulletin"]["numbers"] or {}
    n = numbers.get(quarter, int(quarter[-1]))
    return settings["bulletin"]["doc_number"].format(year=int(quarter[:4]), n=n)


def _issued(settings: Settings) -> dt.date:
    given = settings["bulletin"]["date"]
    return dt.date.fromisoformat(given) if given else dt.datetime.now(settings.tz).date()


def build_context(ledger: Ledger, units, quarter: str, settings: Settings):
    ranking, st, counted, target = _frame(ledger, units, quarter, settings)
    months = quarter_months(quarter)
    praised, criticized = choose(ranking, settings)

    prev = previous_quarter(quarter)
    prev_ranking, prev_st, prev_counted, _ = _frame(ledger, units, prev, settings)
    has_prev = any(prev_counted[m] for m in prev_counted)
    prev_criticized = choose(prev_ranking, settings)[1] if has_prev else []

    by_level = {1: 0, 2: 0, 3: 0}
    for s in st:
        if s.as_of:
            for r in counted[s.as_of][s.unit].rows:
                by_level[r.level] += r.cumulative or 0
    reporting = [s for s in st if s.certified is not None]
    base = sum(u.base for u in (units.active(months[-1]) or units.units))
    certified = sum(s.certified for s in reporting)
    prev_certified = sum(s.certified for s in prev_st if s.certified is not None) if has_prev else None
    summary = DistrictSummary(
        by_level=by_level, certified=certified, base=base, rate=certified / base if base else None,
        target=target, new_in_quarter=sum(s.new_in_quarter for s in st),
        reviewing=sum(s.reviewing for s in st),
        previous_rate=(prev_certified / base if base and has_prev else None),
        previous_certified=prev_certified)

    rejected, warnings = Counter(), Counter()
    for m in months:
        for rec in ledger.period_submissions(m):
            if rec.status == "rejected" and rec.unit:
                rejected[rec.unit] += 1
            if rec.status == "accepted":
                for code in rec.codes:
                    if code in DATA_CODES:
                        warnings[(rec.unit, CODES[code].title)] += 1
    order = {u.name: i for i, u in enumerate(units.units)}
    rows = tuple(RankRow(
        rank=None if r.rank is None or r.rank != r.rank else int(r.rank), unit=r.unit,
        certified=int(r.certified) if r.certified == r.certified and r.certified is not None else 0,
        base=int(r.base), rate=None if r.rate is None or r.rate != r.rate else float(r.rate),
        target=float(r.target), gap=None if r.gap is None or r.gap != r.gap else float(r.gap),
        new_in_quarter=int(r.new_in_quarter), on_time=int(r.on_time), reviewing=int(r.reviewing),
        status=r.status, missing_months=tuple(r.missing), tied=bool(r.tied)) for r in ranking.itertuples())
    ctx = BulletinContext(
        year=int(quarter[:4]), quarter=int(quarter[-1]), period=quarter,
        bureau=settings["district"]["bureau"], district=settings["district"]["name"],
        doc_number=_doc_number(settings, quarter), issued=_issued(settings), summary=summary,
        ranking=rows, praised=tuple(praised), criticized=tuple(criticized),
        interview=tuple(u for u in criticized if u in prev_criticized),
        not_reported=tuple(r.unit for r in rows if r.status == "未报送"),
        late=tuple((s.unit, s.late) for s in st if s.late),
        missed_months=tuple((s.unit, s.missing) for s in st if s.missing and s.reported),
        rejected=tuple(sorted(rejected.items(), key=lambda kv: order.get(kv[0], 99))),
        data_warnings=tuple((u, t, n) for (u, t), n in sorted(warnings.items(), key=lambda kv: order.get(kv[0][0], 99))),
        far_below=tuple(r.unit for r in rows if r.rate is not None and r.rate < target / 2),
        copy_to=settings["bulletin"]["copy_to"], issuer=settings["bulletin"]["issuer"],
        trends=year_trends(ledger, units, quarter, counted))
    return ctx, ranking


def year_trends(ledger: Ledger, units, quarter: str, counted: dict):
    """Each unit's rate at the end of each month of the year up to the quarter's end (the HTML's trends)."""
    months = [f"{quarter[:4]}-{m:02d}" for m in range(1, 3 * int(quarter[-1]) + 1)]
    counted = {m: counted[m] if m in counted else ledger.counted(m) for m in months}
    return trends(units.active(months[-1]) or units.units, months, counted)


def run_quarterly(folders: dict, quarter: str | None) -> int:
    quarter = (quarter or last_quarter(load_settings(folders["reference"]))).upper()
    out = run_job(folders, "quarterly", quarter_months(quarter)[-1],
                  lambda ledger, settings, units: write_quarterly(ledger, folders, quarter, settings, units))
    print(f"{quarter[:4]}年{QUARTER_ZH[int(quarter[-1])]}通报与排名：{out}")
    return 0


def write_quarterly(ledger: Ledger, folders: dict, quarter: str, settings: Settings, units) -> Path:
    out = folders["outbox"] / quarter
    out.mkdir(parents=True, exist_ok=True)
    sweep(out)   # what a run killed mid-write left
    view, closed = closing.view(ledger, quarter)   # a closed quarter: the ledger as its 通报 saw it
    ctx, ranking = build_context(view, units, quarter, settings)
    if closed:
        ctx = replace(ctx, issued=closed.issued, doc_number=closed.doc_number)
    year, qname = quarter[:4], QUARTER_ZH[int(quarter[-1])]
    stem = f"关于{year}年{qname}工贸行业企业安全生产标准化达标创建情况的通报"
    files = {k: p.name for k, p in render_bulletin(ctx, out, stem).items()}
    book = out / f"{year}年{qname}各乡（镇）办事处安全生产标准化达标创建情况排名表.xlsx"
    write_ranking_book(book, book.stem, ranking, ctx.summary.target)
    files["ranking"] = book.name
    manifest = {
        "period": quarter, "kind": "quarterly", "files": files,
        "ranking": [{"rank": r.rank, "unit": r.unit, "certified": r.certified if r.status != "未报送" else None,
                     "base": r.base, "rate": r.rate, "target": r.target, "new_in_quarter": r.new_in_quarter,
                     "on_time": r.on_time, "status": r.status} for r in ctx.ranking],
        "praised": list(ctx.praised), "criticized": list(ctx.criticized), "interview": list(ctx.interview),
        "issued": ctx.issued.isoformat(), "doc_number": ctx.doc_number, "ledger_upto": closing.last_submission(view),
    }
    atomic_bytes(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), sync=True)
    return out
