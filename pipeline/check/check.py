"""A file in, a verdict out: sniff → read → locate → resolve (isolated per file) → validate.

`check_files` is what `python -m pipeline check` calls; it touches no folder. Intake calls its two
halves itself: `examine_chunks` (the workers, who also archive each file, chunk after chunk without
a pause) and `conclude`. Parsing runs in a pool of worker processes so that a file that hangs, exhausts memory or crashes
the native reader costs only that file.
"""
from __future__ import annotations

import datetime as dt
import functools
import sys
from pathlib import Path

from pipeline.check.outliers import flag as outliers_in
from pipeline.check.sandbox import Pool
from pipeline.check.validate import validate
from pipeline.core.findings import Finding, finding, has_error
from pipeline.core.model import FileResult, Submission
from pipeline.core.period import Month
from pipeline.core.settings import Settings
from pipeline.core.text import printable
from pipeline.read.draft import Draft
from pipeline.read.extract import Context, Examined, Failed, Found, examine, sha256_of
from pipeline.read.units import Units
from pipeline.store.files import NotRegular

_FAILURES = {
    "timeout": lambda s: Failed("UNREADABLE", f"读取超过 {s['seconds_per_file']} 秒仍未完成"),
    "memory": lambda s: Failed("TOO_LARGE", "读取时占用内存过多", f"{s['memory_mb_per_file']} MB 内存"),
    "panic": lambda s: Failed("UNREADABLE", "文件结构损坏，读取程序无法解析"),
    "crash": lambda s: Failed("UNREADABLE", "文件结构损坏，读取程序异常退出"),
}


def rejected(name: str, sha: str, kind: str | None, f: Finding, stored=None) -> FileResult:
    return FileResult(name, sha, kind, (Submission(None, None, None, (), (f,)),), stored)


def current_month(settings: Settings, now: dt.datetime | None) -> Month:
    return Month.at(now or dt.datetime.now(settings.tz))


PARCEL = 16   # files a message to a worker: a message per file would cost the parent as much as the check
# parcels in flight per worker: at 2, a worker waited for its next parcel ~140 times in a national
# month (1.2 s of its ~7 s), each time the parent, sharing the interpreter with the writer thread,
# came back later than the ~5 ms of work it had left; at 4, ~30 times (0.3 s, mostly the start and end)
DEPTH = 4


def checking_pool(units: Units, settings: Settings, now: dt.datetime | None = None) -> Pool:
    """The worker pool that examines files: each worker is given the limits and units once."""
    limits = settings.limits
    context = Context(limits, units, current_month(settings, now))
    return Pool(functools.partial(examine, context), seconds_per_file=float(limits["seconds_per_file"]),
                memory_mb=int(limits["memory_mb_per_file"]), batch=PARCEL, depth=DEPTH)


def check_files(files: list[tuple[Path, str]], units: Units, settings: Settings,
                now: dt.datetime | None = None, history=None, reconcile=None, past=None) -> list[FileResult]:
    """Check (path, name-as-received) pairs. `history(keys)` gives the previous month's rows of each
    (unit, period); `reconcile(unit, period, rows, cells)` the findings of a form against the
    enterprise register (`certified.Reconciler`), when there is one; `past(keys)` each one's
    outliers.Norm (none: no OUTLIER check).

    All per-file work (hashing, sniffing, parsing, finding the unit and period) runs in the worker
    pool, on both cores (`examine_files`); what needs the whole run (pandera, the 合计 check, last
    month) runs here, once (`conclude`)."""
    return conclude(files, examine_files(files, units, settings, now), history, reconcile, past)


def examine_files(files: list[tuple[Path, str]], units: Units, settings: Settings,
                  now: dt.datetime | None = None) -> list[Examined]:
    """The workers' part of `check_files`: what each file is, and the forms found in it."""
    with checking_pool(units, settings, now) as pool:
        return next(examine_chunks([[(path, name, None, None) for path, name in files]], settings, pool))


def examine_chunks(chunks, settings: Settings, pool: Pool, progress=None):
    """Chunks of files, each file (path, name, sha256 or None, archive folder or None), examined by
    the pool's workers without a pause between chunks: the next chunk's files go out while the last of
    this one are still being read. Yields each chunk's Examined, in order, as soon as it is complete;
    `progress(n)` after each file, n files examined so far. The chunks are taken one at a time, when
    the workers are ready for their files."""
    limits = settings.limits
    sizes: dict[int, int] = {}
    held: dict[int, dict[int, Examined]] = {}

    def items():
        for k, chunk in enumerate(chunks):
            sizes[k], held[k] = len(chunk), {}
            for i, (path, name, sha, folder) in enumerate(chunk):
                yield (k, i), str(path), name, sha, folder

    def complete():   # the chunks now whole, from the oldest one not yet given
        nonlocal first
        while first in sizes and len(held[first]) == sizes[first]:
            got, size = held.pop(first), sizes.pop(first)
            first += 1
            yield [got[i] for i in range(size)]

    first, n = 0, 0
    for item, outcome in pool.map(items()):
        k, i = item[0]
        if outcome.ok:
            held[k][i] = outcome.result
        elif outcome.detail.startswith("NotRegular"):   # no longer a regular file (a FIFO, a symlink): not read
            held[k][i] = Examined(item[3] or "", None, False, None, Failed("UNREADABLE", "不是普通文件"))
        else:
            if outcome.reason == "panic" and not outcome.detail.startswith("PanicException"):
                # Not the file's fault: our own bug. Say so loudly; the clerk still gets a verdict.
                print(printable(f"内部错误：读取 {item[2]} 时：{outcome.detail}"), file=sys.stderr)
            failed = _FAILURES.get(outcome.reason, _FAILURES["crash"])(limits)
            held[k][i] = Examined(item[3] or _sha_or_blank(item[1]), None, False, None, failed)
        n += 1
        if progress:
            progress(n)
        yield from complete()
    yield from complete()   # chunks with no file to examine, at the end


def _sha_or_blank(path: str) -> str:
    try:
        return sha256_of(path)
    except NotRegular:
        return ""


def conclude(files: list[tuple[Path, str]], examined: list[Examined], history=None, reconcile=None,
             past=None) -> list[FileResult]:
    """The rest of `check_files`, over all the files at once: pandera and the 合计 check, the
    cumulative counts against last month's, the month against the unit's history (OUTLIER), and a
    form without errors against the register."""
    results: dict[int, FileResult] = {}
    forms: list[Found] = []
    owners: list[int] = []
    for i, ((_, name), e) in enumerate(zip(files, examined)):
        if e.refused is not None:
            results[i] = rejected(name, e.sha256, e.kind, e.refused, e.stored)
        elif isinstance(e.got, Failed):
            results[i] = rejected(name, e.sha256, e.kind,
                                  finding(e.got.code, None, file=name, detail=e.got.detail, limit=e.got.limit), e.stored)
        elif not e.got:
            detail = "（文件按严格 OOXML 格式保存，请在 Excel 中另存为“Excel 工作簿 (.xlsx)”。）" if e.strict_ooxml else ""
            results[i] = rejected(name, e.sha256, e.kind, finding("NO_FORM", None, file=name, detail=detail), e.stored)
        else:
            forms += e.got
            owners += [i] * len(e.got)

    checked = validate([f.draft for f in forms])
    before = history([(f.unit, f.period) for f in forms]) if history else {}
    norms = past([(f.unit, f.period) for f in forms]) if past else {}
    subs: dict[int, list[Submission]] = {}
    for f, (rows, more), i in zip(forms, checked, owners):
        findings = f.findings + more
        previous = before.get((f.unit, f.period))
        if previous and rows:
            findings += tuple(cross_month(f.draft, rows, previous))
        unit_norm = norms.get((f.unit, f.period))
        if unit_norm is not None and rows:
            findings += tuple(outliers_in(f.draft, rows, unit_norm))
        if reconcile is not None and rows and not has_error(findings):
            findings += tuple(reconcile(f.unit, f.period, rows, f.draft.cells))
        d = f.draft
        subs.setdefault(i, []).append(Submission(d.sheet, f.unit, f.period, rows, findings, d.cells,
                                                 d.unit_cell, d.period_cell))
    for i, s in subs.items():
        e = examined[i]
        results[i] = FileResult(files[i][1], e.sha256, e.kind, tuple(s), e.stored)
    return [results[i] for i in range(len(files))]


def cross_month(d: Draft, rows, previous) -> list[Finding]:
    """CUMULATIVE_GAP / CUMULATIVE_DECREASE against last month's counted rows, when there are any."""
    if not previous:
        return []
    before, prev_period = previous
    out = []
    for r in rows:
        last = before.get((r.industry, r.level))
        if last is None or r.cumulative is None or r.new is None or r.cumulative < 0 or r.new < 0:
            continue   # a count not read, or below zero: that cell's own finding says so
        cell = d.cells.get((r.industry, r.level, "cumulative"))
        label = f"{r.industry} {'一二三'[r.level - 1]}级 累计完成"
        if r.cumulative < last:
            out.append(finding("CUMULATIVE_DECREASE", cell, value=r.cumulative, previous=last,
                               previous_period=prev_period, label=label))
        elif r.cumulative != last + r.new:
            out.append(finding("CUMULATIVE_GAP", cell, value=r.cumulative, previous=last, new=r.new,
                               expected=last + r.new, previous_period=prev_period, label=label))
    return out
