"""`monthly`: intake, then the period's outputs in `outbox/<period>/` (RUNS.md, `monthly`)."""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import sys
from pathlib import Path

from .aggregate import district_rows
from .formbook import write_form
from .intake import crash_point, take_in
from .ledger import Ledger
from .model import no_gc, replaced
from .receipts import period_text, receipt_pool, write_receipts
from .reference import load_units
from .settings import Settings, load_settings
from .status_book import write_status_book
from .store import atomic_bytes, sweep

STATUS_ZH = {"accepted": "接收", "rejected": "退回", "superseded": "已被替代", "duplicate": "重复", "held": "暂不计入"}


def last_month(settings: Settings, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(settings.tz)
    y, m = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return f"{y:04d}-{m:02d}"


@contextlib.contextmanager
def run_lock(archive: Path):
    """One run at a time per archive: a second run waits, and says why."""
    archive.mkdir(parents=True, exist_ok=True)
    with open(archive / ".run.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("另一个任务正在使用同一存档目录，等待其完成……", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _progress():
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    bar = {}

    def update(done, total):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc="收取文件", unit="个", file=sys.stderr)
        bar["bar"].update(done - bar["bar"].n)   # tqdm redraws at most ten times a second
        if done == total:
            bar["bar"].close()
    return update


def intake_run(folders: dict, kind: str, period: str, settings: Settings, units) -> Ledger:
    ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
    now = dt.datetime.now(settings.tz)
    run_id = ledger.start_run(kind, period, now)
    taken = take_in(folders, ledger, units, settings, run_id, period, progress=_progress())
    ledger.finish_run(run_id, dt.datetime.now(settings.tz), taken)
    if taken:
        print(f"收取 {taken} 个文件，已存档并登记。")
    return ledger


def run_job(folders: dict, kind: str, intake_period: str, write) -> Path:
    """Every run: one at a time per archive, intake first, then `write(ledger, settings, units)`."""
    settings = load_settings(folders["reference"])
    units = load_units(folders["reference"])
    # A run makes millions of small objects and few cycles (openpyxl's books: a handful, in a month
    # small enough to mark its copies here). Each collection walks the young objects, a whole month
    # of them at the end of each stage that paused collecting (0.2 s of a national month's outputs).
    with run_lock(folders["archive"]), no_gc():
        ledger = intake_run(folders, kind, intake_period, settings, units)
        crash_point("taken_in")
        try:
            return write(ledger, settings, units)
        finally:
            ledger.close()


def run_monthly(folders: dict, period: str | None) -> int:
    period = period or last_month(load_settings(folders["reference"]))
    out = run_job(folders, "monthly", period,
                  lambda ledger, settings, units: write_monthly(ledger, folders, period, settings, units))
    print(f"{period_text(period)} 月度输出：{out}")
    return 0


def _reference_digest(folders: dict) -> str:
    h = hashlib.sha256()
    for name in ("units.csv", "settings.toml"):
        p = folders["reference"] / name
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def write_monthly(ledger: Ledger, folders: dict, period: str, settings: Settings, units) -> Path:
    """The period's outputs (RUNS.md), made in `run_job`: the cycle collector is paused there."""
    out = folders["outbox"] / period
    out.mkdir(parents=True, exist_ok=True)
    receipts_dir = out / "回执"
    for folder in (out, receipts_dir):   # what a run killed mid-write left
        sweep(folder)
    manifest_path = out / "manifest.json"
    digest = f"{ledger.state_digest(period)}-{_reference_digest(folders)}"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("state") == digest:
            print("没有新的报表，输出未改变。")
            return out
    district = settings["district"]["name"]
    with receipt_pool(ledger.period_count(period)) as pool:   # its workers load while the month is read
        subs = ledger.period_submissions(period, rows=False)   # all a receipt needs: the rows come meanwhile
        accepted = {r.unit: r for r in subs if r.status == "accepted" and r.unit}   # superseded ones are marked
        counted: dict = {}
        active = [u.name for u in units.active(period)]
        form = out / f"{district}_{period_text(period)}_工贸企业安全生产标准化月度报表.xlsx"
        status = out / f"{district}_{period_text(period)}_报送情况.xlsx"
        dl = settings.deadline(period)
        deadline_text = f"{dl.year}年{dl.month}月{dl.day}日"
        receipts_dir.mkdir(exist_ok=True)
        files = {"form": form.name, "status": status.name}
        manifest: dict = {}

        def meanwhile():
            """Everything but the receipts, in this process while the pool writes them; 报送情况 last:
            it deflates on a second thread, so it makes the best use of the cores the pool has left."""
            rows = ledger.rows_of_ids([r.id for r in accepted.values()])
            counted.update({unit: replaced(r, rows=rows[r.id]) for unit, r in accepted.items()})
            totals = district_rows(counted)
            write_form(form, district, period, {(r.industry, r.level): (r.new, r.cumulative, r.reviewing) for r in totals})
            manifest.update({
                "period": period, "kind": "monthly", "files": files,
                "submissions": _Text(_json_text([_Text(_submission_line(r)) for r in subs], " ")),
                "missing": [u for u in active if u not in counted],
                "totals": [r.as_json() for r in totals],
                "state": digest,
            })
            write_status_book(status, period, active, subs, counted, deadline_text, district)

        written = write_receipts(subs, receipts_dir, district, deadline_text, settings, meanwhile=meanwhile,
                                 pool=pool)
    files["receipts"] = [f"{receipts_dir.name}/{p.name}" for p in written]   # all of them in 回执/
    atomic_bytes(manifest_path, manifest_text(manifest).encode("utf-8"), sync=True)
    return out


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


def print_status(folders: dict, period: str | None) -> int:
    settings = load_settings(folders["reference"])
    units = load_units(folders["reference"])
    period = period or last_month(settings)
    path = folders["archive"] / "ledger.sqlite"
    if not path.exists():
        print("还没有收到任何报表（存档中没有台账）。")
        return 0
    ledger = Ledger.open_readonly(path)
    subs = ledger.period_submissions(period)
    counted = ledger.counted(period)
    print(f"{period_text(period)} 报送情况")
    for u in units.active(period):
        mine = [s for s in subs if s.unit == u.name and s.status != "held"]
        if u.name in counted:
            rec = counted[u.name]
            state = "迟报" if rec.late else "按时"
            when = rec.received_at.strftime("%Y-%m-%d %H:%M")
            print(f"  {u.name:　<8} {state}  {when}  {rec.file}")
        elif mine:
            print(f"  {u.name:　<8} 退回  {mine[-1].received_at:%Y-%m-%d %H:%M}  {mine[-1].file}")
        else:
            print(f"  {u.name:　<8} 未报")
    held = [s for s in subs if s.status == "held"]
    if held:   # a closed month (closing.py)
        print(f"本月所属季度已关账；关账后收到 {len(held)} 份，重新开账前不计入：")
        for s in held:
            print(f"  {s.unit or '未识别':　<8} {s.received_at:%Y-%m-%d %H:%M}  {s.file}")
    ledger.close()
    return 0
