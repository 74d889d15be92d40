"""Closing a quarter once its 通报 is issued, and reopening it (`close 2016Q3`, `reopen 2016Q3`).

A closed quarter's numbers do not move under its 通报. Its months keep counting the submissions
that were counted when the 通报 was made (the ledger up to `last_submission`, the manifest's
`ledger_upto`); a file for one of them received later is archived, checked, recorded with the
warning PERIOD_CLOSED and answered by its receipt, but is `held` (shown in `status` and 报送情况,
counted in no total) until staff reopen the quarter, giving a reason that the ledger keeps.

The quarter's outputs are made from the ledger as it stood then (`view`): rebuilt at any time,
they say the same thing, with the same 成文日期 and 文号.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.period import Month, Quarter
from pipeline.core.settings import doc_number, issued_on, load_settings
from pipeline.store.ledger import Ledger


@dataclass(frozen=True)
class Closing:
    quarter: str                    # "2016Q3"
    closed_at: dt.datetime
    last_submission: int            # the last submission the quarter's outputs were made from
    closed_then: dict[str, int]     # every month closed at that time -> its last submission
    issued: dt.date                 # the 通报's 成文日期 and 文号, kept for every rebuild
    doc_number: str
    note: str
    register_import: int | None     # the enterprise register's import its 通报 used (None: units.csv's bases)


def current(ledger: Ledger, quarter: str) -> Closing | None:
    """The quarter's closing, if it is closed now."""
    row = ledger.db.execute(
        "SELECT quarter, closed_at, last_submission, closed_then, issued, doc_number, note, register_import"
        " FROM closings WHERE quarter = ? AND reopened_at IS NULL ORDER BY id DESC LIMIT 1", (quarter,)).fetchone()
    if row is None:
        return None
    q, at, last, then, issued, number, note, register = row
    return Closing(q, dt.datetime.fromisoformat(at), last, json.loads(then), dt.date.fromisoformat(issued),
                   number, note or "", register)


def view(ledger: Ledger, quarter: str) -> tuple[Ledger, Closing | None]:
    """The ledger a quarter's outputs are made from: as it stood when the quarter was closed, or as
    it is when the quarter is open."""
    closing = current(ledger, quarter)
    if closing is None:
        return ledger, None
    return ledger.as_of(closing.last_submission, closing.closed_then), closing


def last_submission(ledger: Ledger) -> int:
    """The last submission recorded in the ledger (or as it stood, for a view)."""
    if ledger.upto is not None:
        return ledger.upto
    return ledger.db.execute("SELECT coalesce(max(id), 0) FROM submissions").fetchone()[0]


def closed_notes(ledger: Ledger) -> dict[str, tuple[str, str]]:
    """Each month of a closed quarter -> (the quarter in words, its 通报's 文号 and date), for PERIOD_CLOSED."""
    out = {}
    for quarter, number, issued in ledger.db.execute(
            "SELECT quarter, doc_number, issued FROM closings WHERE reopened_at IS NULL"):
        day = dt.date.fromisoformat(issued)
        for month in Quarter(quarter).months:
            out[month] = (Quarter(quarter).text, f"{number}，{day.year}年{day.month}月{day.day}日")
    return out


def held(ledger: Ledger, period: str) -> list:
    """The submissions of a month received after its quarter was closed and not counted until reopened."""
    return [r for r in ledger.period_submissions(period, rows=False) if r.status == "held"]


def _ended(quarter: str, settings) -> bool:
    return Quarter(quarter).last_month < Month.at(dt.datetime.now(settings.tz))


def close_quarter(folders: dict, quarter: str, note: str = "") -> int:
    """Close a quarter: from now on its months count what its 通报 counted."""
    from pipeline.jobs.lock import run_lock

    settings = load_settings(folders["reference"])
    path = folders["archive"] / "ledger.sqlite"
    if not _ended(quarter, settings):
        print(f"{Quarter(quarter).text}尚未结束，不能关账。", file=sys.stderr)
        return 2
    if not path.exists():
        print("存档中还没有台账，没有可关账的数据。", file=sys.stderr)
        return 2
    with run_lock(folders["archive"]):
        ledger = Ledger.open(path)
        try:
            return _close(ledger, folders, quarter, note, settings, doc_number, issued_on)
        finally:
            ledger.close()


def _close(ledger: Ledger, folders: dict, quarter: str, note: str, settings, doc_number, issued_on) -> int:
    from pipeline.jobs.register import register_import_in_use
    closing = current(ledger, quarter)
    if closing is not None:
        print(f"{Quarter(quarter).text}已于 {closing.closed_at:%Y-%m-%d %H:%M} 关账，无需再关。")
        return 0
    manifest = _manifest(folders["outbox"] / quarter)
    if manifest.get("ledger_id", ledger.identity) != ledger.identity:   # its ledger_upto numbers another ledger's forms
        print(f"{Quarter(quarter).text}的通报是按重建之前的台账生成的，其中记下的报表编号与现在的台账不同，不能据此关账。"
              f"请先重新运行 python -m pipeline quarterly {quarter}，核对通报后再关账。", file=sys.stderr)
        return 2
    last = manifest.get("ledger_upto", last_submission(ledger))
    issued = dt.date.fromisoformat(manifest["issued"]) if "issued" in manifest else issued_on(settings)
    number = manifest.get("doc_number") or doc_number(settings, quarter)
    register = manifest["register_import"] if "register_import" in manifest else \
        register_import_in_use(folders, ledger, settings)
    months = Quarter(quarter).months
    frozen = ledger.as_of(last, ledger.closed_months())
    if not any(frozen.counted(m) for m in months):
        print(f"{Quarter(quarter).text}没有任何被计入的报表，无需关账。", file=sys.stderr)
        return 2
    closed_then = {**ledger.closed_months(), **dict.fromkeys(months, last)}
    now = dt.datetime.now(settings.tz)
    with ledger.transaction():
        ledger.db.execute(
            "INSERT INTO closings(quarter, closed_at, last_submission, closed_then, issued, doc_number, note,"
            " register_import) VALUES (?,?,?,?,?,?,?,?)", (quarter, now.isoformat(timespec="seconds"), last,
                                                           json.dumps(closed_then, sort_keys=True), issued.isoformat(),
                                                           number, note, register))
    since = sum(len(held(ledger, m)) for m in months)
    basis = "按已生成的通报" if manifest else "按台账现状"
    print(f"已关账：{Quarter(quarter).text}（{months[0].number}月至{months[-1].number}月），{basis}"
          f"（{number}，{issued.year}年{issued.month}月{issued.day}日）。")
    if since:
        print(f"通报生成之后收到的 {since} 份该季度报表暂不计入。")
    print("此后收到的这三个月的报表照常存档、检查、登记并回执，但在重新开账"
          f"（python -m pipeline reopen {quarter}）之前不计入任何汇总。")
    return 0


def _manifest(folder: Path) -> dict:
    """The quarter's manifest, if its outputs were made by a version that records what they were made from."""
    path = folder / "manifest.json"
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return manifest if "ledger_upto" in manifest else {}


def reopen_quarter(folders: dict, quarter: str, reason: str | None) -> int:
    """Reopen a closed quarter, with the reason recorded: what was held is counted again."""
    from pipeline.jobs.lock import run_lock

    settings = load_settings(folders["reference"])
    path = folders["archive"] / "ledger.sqlite"
    if not path.exists():
        print("存档中还没有台账。", file=sys.stderr)
        return 2
    if reason is None:
        if not sys.stdin.isatty():
            print("请用 --reason 说明重新开账的原因。", file=sys.stderr)
            return 2
        reason = input(f"重新开账 {Quarter(quarter).text} 的原因：")
    reason = reason.strip()
    if not reason:
        print("重新开账必须说明原因（记入台账）。", file=sys.stderr)
        return 2
    with run_lock(folders["archive"]):
        ledger = Ledger.open(path)
        try:
            closing = current(ledger, quarter)
            if closing is None:
                print(f"{Quarter(quarter).text}没有关账，无需重新开账。", file=sys.stderr)
                return 2
            waiting = {m: len(held(ledger, m)) for m in Quarter(quarter).months}
            now = dt.datetime.now(settings.tz)
            with ledger.transaction():
                ledger.db.execute("UPDATE closings SET reopened_at = ?, reason = ? WHERE quarter = ? AND reopened_at IS NULL",
                                  (now.isoformat(timespec="seconds"), reason, quarter))
        finally:
            ledger.close()
    print(f"已重新开账：{Quarter(quarter).text}（原因：{reason}）。")
    for month, n in waiting.items():
        if n:
            print(f"  {month.number}月：关账期间收到的 {n} 份报表现在按规则计入；"
                  f"请运行 make monthly PERIOD={month} 更新该月输出。")
    print(f"请运行 make quarterly PERIOD={quarter} 重新生成通报（数字可能改变）。")
    return 0
