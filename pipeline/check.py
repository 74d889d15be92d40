"""A file in, a verdict out: sniff → read and locate (isolated per file) → resolve → validate.

`check_files` is what `python -m pipeline check` and intake both call; it touches no folder.
Parsing runs in a pool of worker processes so that a file that hangs, exhausts memory or crashes
the native reader costs only that file.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from .draft import Draft
from .extract import Examined, Failed, examine, sha256_of
from .findings import Finding, finding
from .locate import find_period
from .model import FileResult, Submission
from .reference import Units
from .sandbox import Pool
from .settings import Settings
from .validate import validate

_FAILURES = {
    "timeout": lambda s: Failed("UNREADABLE", f"读取超过 {s['seconds_per_file']} 秒仍未完成"),
    "memory": lambda s: Failed("TOO_LARGE", "读取时占用内存过多", f"{s['memory_mb_per_file']} MB 内存"),
    "panic": lambda s: Failed("UNREADABLE", "文件结构损坏，读取程序无法解析"),
    "crash": lambda s: Failed("UNREADABLE", "文件结构损坏，读取程序异常退出"),
}


def rejected(name: str, sha: str, kind: str | None, f: Finding) -> FileResult:
    return FileResult(name, sha, kind, (Submission(None, None, None, (), (f,)),))


def _from_filename(name: str, units: Units) -> tuple[str | None, str | None]:
    stem = Path(name).stem
    period = find_period(stem)
    return units.find_in(stem), period[0] if period else None


def _current_month(settings: Settings, now: dt.datetime | None) -> str:
    now = now or dt.datetime.now(settings.tz)
    return f"{now.year:04d}-{now.month:02d}"


def resolve(d: Draft, name: str, single: bool, units: Units, settings: Settings,
            now: dt.datetime | None) -> tuple[str | None, str | None, list[Finding]]:
    """The unit and period of a draft, from the sheet, else the file name; with their findings."""
    found: list[Finding] = []
    file_unit, file_period = _from_filename(name, units)
    where = d.unit_cell or f"{d.sheet}!A1"
    unit = units.resolve(d.unit_text)
    if d.unit_text is None:
        if file_unit:
            unit = file_unit
            found.append(finding("UNIT_FROM_FILENAME", where, file=name, value=file_unit))
        else:
            found.append(finding("NO_UNIT", where))
    elif unit is None:
        found.append(finding("UNKNOWN_UNIT", where, value=d.unit_text, example=units.names[0]))
    elif single and file_unit and file_unit != unit:
        found.append(finding("UNIT_CONFLICT", where, value=unit, expected=file_unit))

    period, where = d.period, d.period_cell or d.unit_cell or f"{d.sheet}!A1"
    if period is None:
        if file_period:
            period = file_period
            found.append(finding("PERIOD_FROM_FILENAME", where, file=name, value=file_period))
        else:
            found.append(finding("NO_PERIOD", where))
    elif single and file_period and file_period != period:
        found.append(finding("PERIOD_CONFLICT", where, value=period, expected=file_period))
    current = _current_month(settings, now)
    if period and period > current:
        found.append(finding("FUTURE_PERIOD", where, value=period, expected=current))
    if unit and period:
        u = units.get(unit)
        if u and not u.active(period):
            found.append(finding("UNKNOWN_UNIT", d.unit_cell or where,
                                 value=f"{unit}（{period} 不在其报送期内）", example=units.names[0]))
    return unit, period, found


def check_files(files: list[tuple[Path, str]], units: Units, settings: Settings,
                now: dt.datetime | None = None, history=None, progress=None, pool: Pool | None = None
                ) -> list[FileResult]:
    """Check (path, name-as-received) pairs. `history(unit, period)` gives the previous month's rows.

    All per-file work (hashing, sniffing, parsing) runs in the worker pool, on both cores; what
    needs the whole run (units, pandera, the 合计 check) runs here, once."""
    limits = settings.limits
    examined: dict[int, Examined] = {}
    items = [(i, str(path), name, limits) for i, (path, name) in enumerate(files)]
    own = pool is None
    if own:
        pool = Pool(examine, seconds_per_file=float(limits["seconds_per_file"]),
                    memory_mb=int(limits["memory_mb_per_file"])).__enter__()
    try:
        for n, (item, outcome) in enumerate(pool.map(items)):
            i = item[0]
            if outcome.ok:
                examined[i] = outcome.result
            else:
                if outcome.reason == "panic" and not outcome.detail.startswith("PanicException"):
                    # Not the file's fault: our own bug. Say so loudly; the clerk still gets a verdict.
                    print(f"内部错误：读取 {files[i][1]} 时：{outcome.detail}", file=sys.stderr)
                failed = _FAILURES.get(outcome.reason, _FAILURES["crash"])(limits)
                examined[i] = Examined(sha256_of(item[1]), None, False, None, failed)
            if progress:
                progress(n + 1, len(items))
    finally:
        if own:
            pool.close()

    results: dict[int, FileResult] = {}
    drafts, owners = [], []
    for i, (_, name) in enumerate(files):
        e = examined[i]
        if e.refused is not None:
            results[i] = rejected(name, e.sha256, e.kind, e.refused)
        elif isinstance(e.got, Failed):
            results[i] = rejected(name, e.sha256, e.kind,
                                  finding(e.got.code, None, file=name, detail=e.got.detail, limit=e.got.limit))
        elif not e.got:
            detail = "（文件按严格 OOXML 格式保存，请在 Excel 中另存为“Excel 工作簿 (.xlsx)”。）" if e.strict_ooxml else ""
            results[i] = rejected(name, e.sha256, e.kind, finding("NO_FORM", None, file=name, detail=detail))
        else:
            for d in e.got:
                unit, period, found = resolve(d, name, len(e.got) == 1, units, settings, now)
                drafts.append((d, unit, period, found))
                owners.append(i)

    checked = validate([d for d, *_ in drafts])
    subs: dict[int, list[Submission]] = {}
    for (d, unit, period, found), (rows, more), i in zip(drafts, checked, owners):
        findings = tuple(found) + more
        if history and unit and period and rows:
            findings += tuple(cross_month(d, rows, history(unit, period)))
        subs.setdefault(i, []).append(Submission(d.sheet, unit, period, rows, findings, d.cells,
                                                 d.unit_cell, d.period_cell))
    for i, s in subs.items():
        e = examined[i]
        results[i] = FileResult(files[i][1], e.sha256, e.kind, tuple(s))
    return [results[i] for i in range(len(files))]


def cross_month(d: Draft, rows, previous) -> list[Finding]:
    """CUMULATIVE_GAP / CUMULATIVE_DECREASE against last month's counted rows, when there are any."""
    if not previous:
        return []
    before, prev_period = previous
    out = []
    for r in rows:
        last = before.get((r.industry, r.level))
        if last is None or r.cumulative is None or r.new is None:
            continue
        cell = d.cells.get((r.industry, r.level, "cumulative"))
        label = f"{r.industry} {'一二三'[r.level - 1]}级 累计完成"
        if r.cumulative < last:
            out.append(finding("CUMULATIVE_DECREASE", cell, value=r.cumulative, previous=last,
                               previous_period=prev_period, label=label))
        elif r.cumulative != last + r.new:
            out.append(finding("CUMULATIVE_GAP", cell, value=r.cumulative, previous=last, new=r.new,
                               expected=last + r.new, previous_period=prev_period, label=label))
    return out
