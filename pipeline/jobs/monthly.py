"""`monthly`: intake, then the period's outputs in `outbox/<period>/` (docs/runs.md, `monthly`)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

from pipeline.core.model import no_gc, replaced
from pipeline.core.period import Month, month_text
from pipeline.core.settings import Settings, load_settings
from pipeline.core.text import printable
from pipeline.figures.aggregate import district_rows
from pipeline.jobs.inbox import wanted
from pipeline.jobs.intake import RunCounts, intake_run
from pipeline.jobs.lock import crash_point, run_lock
from pipeline.jobs.mail.mailrun import mail_before_intake
from pipeline.jobs.mail.outmail import unsent_lines
from pipeline.jobs.register import register_in_use, unreconciled_note
from pipeline.outputs.formbook import write_form
from pipeline.outputs.receipts import receipt_pool, write_receipts
from pipeline.outputs.status_book import carried_note, write_status_book
from pipeline.read.register import find_register
from pipeline.read.units import load_units
from pipeline.store.files import atomic_bytes, listed_outputs, publish, staging, sweep, sweep_sets
from pipeline.store.ledger import Ledger
from pipeline.store.schema import archived_anything


def last_month(settings: Settings, now: dt.datetime | None = None) -> Month:
    return Month.at(now or dt.datetime.now(settings.tz)).previous


def run_job(folders: dict, kind: str, intake_period: str, write, settings: Settings | None = None,
            units=None, now: dt.datetime | None = None) -> tuple[Path, RunCounts]:
    """Every run: one at a time per archive, intake first, then `write(ledger, settings, units)`, then
    the monthly outputs of every other month the intake recorded a form for (a late form for an
    earlier month gets its receipt), saying which periods the run touched. Returns what `write`
    returned and what the intake took in."""
    settings = settings or load_settings(folders["reference"])
    units = units or load_units(folders["reference"])
    now = now or dt.datetime.now(settings.tz)
    current = Month.at(now)
    touched: set = set()
    # A run makes millions of small objects and few cycles (openpyxl's books: a handful, in a month
    # small enough to mark its copies here). Each collection walks the young objects, a whole month
    # of them at the end of each stage that paused collecting (0.2 s of a national month's outputs).
    with run_lock(folders["archive"]), no_gc():
        mail = mail_before_intake(folders, settings)   # docs/mail.md: new mail into the inbox first, when mail is on
        ledger, counts = intake_run(folders, kind, intake_period, settings, units, touched)
        if mail is not None:
            mail.after_intake(ledger)
            mail.close()
        crash_point("taken_in")
        try:
            out = write(ledger, settings, units)
            others = sorted(p for p in touched if p and (kind != "monthly" or p != intake_period))
            for period in others:   # a month not over yet (or a mistyped later one) gets interim outputs
                write_monthly(ledger, folders, period, settings, units, interim=now if period >= current else None)
        finally:
            ledger.close()
    if others:
        print("本次收到的报表也涉及：" + "、".join(f"{month_text(p)}（已更新 {folders['outbox'] / p}）" for p in others))
    elif touched:
        print(f"本次收到的报表涉及：{'、'.join(month_text(p) for p in sorted(p for p in touched if p))}")
    return out, counts


def run_monthly(folders: dict, period: str | None, settings: Settings | None = None, units=None,
                now: dt.datetime | None = None) -> int:
    """The month's run. A month that has not begun is refused (2); the month now running gives an
    interim set of outputs, each saying so; `now` is the run's time (the clock's, unless a test says)."""
    settings = settings or load_settings(folders["reference"])
    now = now or dt.datetime.now(settings.tz)
    period = period or last_month(settings, now)
    current = Month.at(now)
    if period > current:
        print(f"{month_text(period)}还没有开始，不能汇总（现在是 {now.year}年{now.month}月{now.day}日）。"
              "请检查 --period。", file=sys.stderr)
        return 2
    interim = now if period == current else None
    out, counts = run_job(folders, "monthly", period, lambda ledger, settings, units: write_monthly(
        ledger, folders, period, settings, units, interim=interim), settings, units, now)
    print(f"{month_text(period)} {'中期' if interim else '月度'}输出：{out}")
    print(f"{month_text(period)}：{counts.line()}")
    return counts.exit_status


def interim_note(period: str, at: dt.datetime) -> str:
    return (f"注：{month_text(period)}尚未结束，本表为截至 {at.year}年{at.month}月{at.day}日 {at:%H:%M} 的中期汇总，"
            "不是该月的正式月报；月底后重新运行即得正式月报。")


def _reference_digest(folders: dict) -> str:
    h = hashlib.sha256()
    for name in ("units.csv", "settings.toml"):
        p = folders["reference"] / name
        if p.exists():
            h.update(p.read_bytes())
    register = find_register(folders["reference"], load_settings(folders["reference"]))
    if register is not None:   # the status book says which units it could not reconcile
        h.update(register.read_bytes())
    return h.hexdigest()[:16]


def write_monthly(ledger: Ledger, folders: dict, period: str, settings: Settings, units,
                  interim: dt.datetime | None = None) -> Path:
    """The period's outputs (docs/runs.md), made in `run_job`: the cycle collector is paused there.
    `interim`: the time of a run before the month is over, which the district's form, 报送情况 and
    the manifest say."""
    out = folders["outbox"] / period
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_sets(out)   # what a run killed mid-write left
    for folder in (out, out / "回执"):
        sweep(folder)
    digest = f"{ledger.state_digest(period)}-{_reference_digest(folders)}" + ("-interim" if interim else "")
    old = _manifest(out)
    if old.get("state") == digest:
        print(f"{month_text(period)}：没有新的报表，输出未改变。")
        return out
    new = staging(out)   # the whole set is written here, then put in place of the old at once
    try:
        _write_set(ledger, new, period, settings, units, digest, interim,
                   unreconciled_note(register_in_use(folders, ledger, settings), [u.name for u in units.active(period)]))
        publish(new, out, listed_outputs(old))
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    return out


def _manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_set(ledger: Ledger, out: Path, period: str, settings: Settings, units, digest: str,
               interim: dt.datetime | None, register_note: str | None) -> None:
    """The period's outputs, written into `out` (a fresh folder); `register_note`: the units the
    enterprise register could not reconcile."""
    receipts_dir = out / "回执"
    manifest_path = out / "manifest.json"
    district = settings["district"]["name"]
    with receipt_pool(ledger.period_count(period)) as pool:   # its workers load while the month is read
        subs = ledger.period_submissions(period, rows=False)   # all a receipt needs: the rows come meanwhile
        accepted = {r.unit: r for r in subs if r.status == "accepted" and r.unit}   # superseded ones are marked
        counted: dict = {}
        active = [u.name for u in units.active(period)]
        form = out / f"{district}_{month_text(period)}_工贸企业安全生产标准化月度报表.xlsx"
        status = out / f"{district}_{month_text(period)}_报送情况.xlsx"
        dl = settings.deadline(period)
        deadline_text = f"{dl.year}年{dl.month}月{dl.day}日"
        resend = settings.resend_by(period, dt.datetime.now(settings.tz))
        bureau = settings["district"]["bureau"]
        receipts_dir.mkdir(exist_ok=True)
        files = {"form": form.name, "status": status.name}
        manifest: dict = {}

        def meanwhile():
            """Everything but the receipts, in this process while the pool writes them; 报送情况 last:
            it deflates on a second thread, so it makes the best use of the cores the pool has left."""
            rows = ledger.rows_of_ids([r.id for r in accepted.values()])
            counted.update({unit: replaced(r, rows=rows[r.id]) for unit, r in accepted.items()})
            missing = [u for u in active if u not in counted]
            carried = ledger.last_counted(missing, period)   # the district's 累计 stays continuous
            totals = district_rows(counted, carried)
            note = interim and interim_note(period, interim)
            notes = [(note, True)] if note else []
            if carried:
                notes.append((carried_note(carried), False))
            write_form(form, district, period, {(r.industry, r.level): (r.new, r.cumulative, r.reviewing) for r in totals},
                       notes=notes, author=bureau)
            manifest.update({
                "period": period, "kind": "monthly", "files": files,
                "submissions": _Text(_json_text([_Text(_submission_line(r)) for r in subs], " ")),
                "missing": missing,
                "carried": [{"unit": unit, "from": month} for unit, (month, _) in carried.items()],
                "totals": [r.as_json() for r in totals],
                "state": digest,
            })
            if interim:
                manifest["interim"] = interim.isoformat(timespec="seconds")
            write_status_book(status, period, active, subs, counted, deadline_text, district, carried, note, bureau,
                              register_note=register_note, tz=settings.tz)
            crash_point("outputs")

        written = write_receipts(subs, receipts_dir, bureau, f"{resend.year}年{resend.month}月{resend.day}日", settings,
                                 meanwhile=meanwhile, pool=pool)
    files["receipts"] = [f"{receipts_dir.name}/{p.name}" for p in written]   # all of them in 回执/
    atomic_bytes(manifest_path, manifest_text(manifest).encode("utf-8"), sync=True)


class _Text(str):
    """A value's JSON text, made already."""


_JSON = json.JSONEncoder(ensure_ascii=False)   # made once: json.dumps makes one a call when given options


def _json_text(v, pad: str = "") -> str:
    if isinstance(v, _Text):
        return v
    if isinstance(v, dict) and v:
        inner = ",\n".join(f"{pad} {_JSON.encode(k)}: {_json_text(x, pad + ' ')}" for k, x in v.items())
        return "{\n" + inner + f"\n{pad}}}"
    if isinstance(v, list) and v:
        return "[\n" + ",\n".join(f"{pad} {x if isinstance(x, _Text) else _JSON.encode(x)}" for x in v) + f"\n{pad}]"
    return _JSON.encode(v)


def _submission_line(r) -> str:
    """A submission's line of the manifest: the JSON `_JSON` would make of its dict, made as one string
    (a national month's 41,000 lines: ~5 µs each, where a dict made and encoded took ~12)."""
    unit = "null" if r.unit is None else _string(r.unit)
    codes = _JSON.encode(r.codes) if r.findings else "[]"
    return (f'{{"unit": {unit}, "status": {_string(r.status)}, "received_at": "{r.received_at.isoformat()}", '
            f'"late": {"true" if r.late else "false"}, "file": {_string(r.file)}, "codes": {codes}}}')


_string = json.encoder.encode_basestring   # a str as JSON, as `_JSON` writes it (not ASCII-escaped)


def manifest_text(manifest: dict) -> str:
    """JSON with one key a line and one list item a line: readable, and written by the C encoder
    (json's indenting encoder is pure Python: a second for a national month's 41,000 submissions)."""
    return _json_text(manifest)


def print_status(folders: dict, period: str | None, settings: Settings | None = None, units=None) -> int:
    """Each unit's state for the month, the month's totals, and the files still waiting in the inbox;
    read from the ledger only, so it works on a read-only archive. Names are shown without control
    characters."""
    settings = settings or load_settings(folders["reference"])
    units = units or load_units(folders["reference"])
    period = period or last_month(settings)
    path = folders["archive"] / "ledger.sqlite"
    states = {"按时": 0, "迟报": 0, "退回": 0, "未报": 0}
    if not path.exists() and not archived_anything(folders["archive"]):
        print("还没有收到任何报表（存档中没有台账）。")
        states["未报"] = len(units.active(period))
    else:
        ledger = Ledger.open_readonly(path)   # SetupError if it is gone while the archive holds files
        subs = ledger.period_submissions(period)
        counted = ledger.counted(period)
        print(f"{month_text(period)} 报送情况")
        for u in units.active(period):
            mine = [s for s in subs if s.unit == u.name and s.status != "held"]
            if u.name in counted:
                rec = counted[u.name]
                state = "迟报" if rec.late else "按时"
                print(printable(f"  {u.name:　<8} {state}  {rec.received_at:%Y-%m-%d %H:%M}  {rec.file}"))
            elif mine:
                state = "退回"
                print(printable(f"  {u.name:　<8} 退回  {mine[-1].received_at:%Y-%m-%d %H:%M}  {mine[-1].file}"))
            else:
                state = "未报"
                print(printable(f"  {u.name:　<8} 未报"))
            states[state] += 1
        held = [s for s in subs if s.status == "held"]
        if held:   # a closed month (closing.py)
            print(f"本月所属季度已关账；关账后收到 {len(held)} 份，重新开账前不计入：")
            for s in held:
                print(printable(f"  {s.unit or '未识别':　<8} {s.received_at:%Y-%m-%d %H:%M}  {s.file}"))
        for line in unsent_lines(ledger, settings.tz):   # docs/mail.md: receipts not sent yet, and why
            print(line)
        ledger.close()
    print(f"合计 {sum(states.values())} 个单位：" + "，".join(f"{k} {v}" for k, v in states.items()))
    waiting = sorted(p.name for p in folders["inbox"].iterdir() if p.is_file() and wanted(p.name)) \
        if folders["inbox"].is_dir() else []
    if waiting:
        print(f"收件箱中还有 {len(waiting)} 个文件等待收取（下次运行 monthly 或 quarterly 时收取）：")
        for name in waiting:
            print(printable(f"  {name}"))
    else:
        print("收件箱中没有等待收取的文件。")
    return 0
