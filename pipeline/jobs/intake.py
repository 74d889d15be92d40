"""Intake: take what is in the inbox, archive it, check it, record it, and only then remove it.

Order of work, so that a crash at any point loses nothing and counts nothing twice:
1. each inbox file is archived (hard-linked under its hash, or copied to a temporary name and
   renamed after the sync) by the worker that checks it, as it reads it; an e-mail and its
   attachments are archived here. The chunk's archive is synced once, before step 3;
2. the files are checked (isolated per file);
3. the chunk is recorded in the ledger in one transaction, with the inbox paths to remove;
4. its inbox files are removed and the removals marked done. A rerun first finishes step 4 of
   an interrupted run (same path and same bytes only), then starts again at 1.
The steps run chunk by chunk and overlap: while the workers archive and examine a chunk (1, 2),
the one before is concluded (2: pandera, last month's counts, duplicates, lateness), synced,
recorded and removed (1, 3, 4) on a writer thread, so that the main thread only feeds the workers.
The inbox and the archive's files are inbox.py's; what each file becomes in the ledger, entries.py's.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pipeline.check import outliers
from pipeline.check.check import check_files, checking_pool, conclude, examine_chunks
from pipeline.core.period import Month
from pipeline.core.settings import Settings
from pipeline.jobs.entries import ledger_entries
from pipeline.jobs.inbox import (
    ODD,
    Incoming,
    Staged,
    anything_in,
    archived_mail,
    commit,
    finish_removals,
    folder_of,
    note_left,
    received,
    remove,
    stage,
)
from pipeline.jobs.lock import crash_point
from pipeline.jobs.mail.senders import load_senders
from pipeline.jobs.register import import_register, reconciler
from pipeline.read.units import Units
from pipeline.store.files import NotRegular, sweep_parts
from pipeline.store.ledger import Ledger
from pipeline.store.received_log import append_log, log_lines, read_log


class ToCheck(NamedTuple):
    """A file the workers examine: `work` is what a worker is given."""
    path: str                   # where it is read now
    name: str                   # the name it was received under
    sha256: str | None          # known already (an attachment), else hashed by the worker
    folder: str | None          # the archive folder the worker puts it in; None: archived here already
    received_at: dt.datetime
    key: str                    # its inbox path, or an attachment's archived path

    @property
    def work(self) -> tuple:
        return self.path, self.name, self.sha256, self.folder


class Chunk(NamedTuple):
    """A chunk of what `received` found, as prepared for the workers (`_prepare_chunk`)."""
    part: list                  # (received at, inbox path, e-mail or None), as `received` gives them
    staged: list[Staged]
    mails: dict                 # inbox path -> the e-mail's Incoming (its own, then its attachments')
    to_check: list[ToCheck]


CHUNK = 2000   # files checked and recorded together: memory stays bounded whatever the inbox holds
FIRST = 250


def take_in(folders: dict, ledger: Ledger, units: Units, settings: Settings, run_id: int,
            run_period: str | None, now: dt.datetime | None = None, progress=None, touched: set | None = None,
            against_register=None, pool=None) -> int:
    """Steps 1–4 for everything in the inbox, CHUNK files at a time: while the workers archive and
    examine one chunk, the one before is concluded, synced, recorded and removed from the inbox on
    the writer thread. Returns how many inbox files were taken in; `touched` gets the period of
    every submission recorded (the run writes the outputs of each); `against_register`:
    `check.conclude`'s `reconcile`; `pool`: a `checking_pool` the caller keeps running (the
    watcher's), else one is started and closed here."""
    touched = set() if touched is None else touched
    finish_removals(ledger)
    sweep_parts(folders["archive"])   # what a killed run left half-copied
    reconcile(folders["archive"], ledger, units, settings, touched)
    kept, pool = pool is not None, pool or checking_pool(units, settings, now)
    senders = load_senders(folders["reference"]) if "reference" in folders else {}
    left: list = []
    with ThreadPoolExecutor(1) as starter:
        started = starter.submit(pool.__enter__) if anything_in(folders["inbox"]) else None
        try:
            found = received(folders["inbox"], settings, left, ledger.server_times())   # the workers start meanwhile
        finally:
            if started is not None:
                started.result()
    note_left(left)
    if not found:
        if not kept:
            pool.close()
        return 0
    parts, k = [], 0
    for size in _chunk_sizes(len(found)):
        parts.append(found[k:k + size])
        k += size
    total = _files_in(found)
    first_of: dict = {}
    counted: dict = {}   # period -> _Counted, as the run goes
    made: dict = {}
    prepared: deque[Chunk] = deque()   # each chunk, as the workers come to it

    def chunks():
        for part in parts:
            chunk = _prepare_chunk(part, folders["archive"], made, ledger, first_of)
            prepared.append(chunk)
            yield [c.work for c in chunk.to_check]

    step = (lambda n: progress(min(n, total), total)) if progress else None
    writing: list = []   # the writer thread's chunks, in order
    with ThreadPoolExecutor(1) as writer, (contextlib.nullcontext(pool) if kept else pool):
        book = writer.submit(Ledger.open, ledger.path).result()   # the writer thread's own connection
        try:
            for examined in examine_chunks(chunks(), settings, pool, step):
                chunk = prepared.popleft()
                if len(writing) >= 2:   # one chunk at most waits for the writer: memory stays bounded
                    writing[-2].result()   # (and if the writer failed, stop here)
                writing.append(writer.submit(_conclude_and_record, book, folders["archive"], made, chunk,
                                             examined, first_of, counted, settings, run_id,
                                             run_period, touched, against_register, senders))
            for job in writing:
                job.result()
        finally:
            writer.submit(book.close).result()
    if progress:
        progress(total, total)
    return len(found)


def reconcile(archive: Path, ledger: Ledger, units: Units, settings: Settings, touched: set,
              lines: list[dict] | None = None, end: int | None = None) -> int:
    """Record what the archive's received log holds and the ledger does not: the files of a run
    killed after they were archived and before they were recorded, or of transactions lost with
    the ledger's -wal file. Each is checked again from its archived copy, as of the month it was
    received, and recorded as intake would have; its inbox file, if still there with the same bytes,
    is removed. `lines` (with the log's `end`): those lines instead of the log's unrecorded ones
    (rebuild-ledger: all of them). They are recorded in the order given (the log's: the order they
    were first recorded in, which a closed quarter's cut-off counts by). Returns how many files were
    recorded."""
    given = lines
    if lines is None:
        start = ledger.log_end()
        lines, end = read_log(archive, start)
        if end == start:
            return 0
    incoming = _whole(archive, lines, settings.tz)
    groups = _months_in_order(incoming)
    for k, (_, group) in enumerate(groups or [(None, [])]):
        known = ledger.files_by_sha(inc.sha256 for _, inc in group)
        check = list({inc.sha256: inc for _, inc in group if inc.kind is None and inc.sha256 not in known}.values())
        results = check_files([(Path(inc.path), inc.name) for inc in check], units, settings,
                              now=max((inc.received_at for inc in check), default=None),
                              history=ledger.previous_rows) if check else []
        by_sha = {inc.sha256: result for inc, result in zip(check, results)}
        entries = ledger_entries([inc for _, inc in group], by_sha, ledger, settings, {}, {})
        for (run_period, _), entry in zip(group, entries):
            entry.run_period = run_period
        ledger.record(entries, None, None, log_end=end if k == max(len(groups) - 1, 0) else None)
        touched.update(form.submission.period or e.run_period for e in entries for form in e.forms)
    finish_removals(ledger)
    if incoming and given is None:
        print(f"补登 {len(incoming)} 个文件：它们已在存档中，但台账中没有记录（上次运行中途停止，或台账的 -wal 文件丢失）。",
              file=sys.stderr)
    return len(incoming)


def _whole(archive: Path, lines: list[dict], tz) -> list[tuple[str | None, Incoming]]:
    """(the run's period, what came in) for each log line whose file is in the archive whole; an
    e-mail's attachments only with the e-mail."""
    incoming, skip_attached = [], False
    for line in lines:
        path = line["archived"] if os.path.isabs(line["archived"]) else os.path.join(archive, line["archived"])
        if line.get("attached") and skip_attached:
            continue
        try:
            whole = os.stat(path).st_size == line["size"]
        except OSError:
            whole = False
        if line.get("kind") == "eml":
            skip_attached = not whole
        if not whole:   # never reached the disk whole (a power cut before the sync): its inbox file is taken again
            continue
        at = dt.datetime.fromisoformat(line["received_at"]).astimezone(tz)
        incoming.append((line.get("run_period"), Incoming(
            path, line["name"], at, line["sha256"], line["size"], line["source"], line.get("inbox"),
            empty_mail=bool(line.get("empty")), kind=line.get("kind"), attached=bool(line.get("attached")),
            note=line.get("note"))))
    return incoming


def _months_in_order(incoming: list[tuple]) -> list[tuple[str, list]]:
    """The lines in runs of one month received each, in the order given."""
    groups: list[tuple[str, list]] = []   # the lines of one month received, in the log's order
    for run_period, inc in incoming:
        month = Month.at(inc.received_at)
        if not groups or groups[-1][0] != month:
            groups.append((month, []))
        groups[-1][1].append((run_period, inc))
    return groups


def _chunk_sizes(n: int) -> list[int]:
    """A small first chunk (the workers start sooner), then CHUNK files at a time, and the last chunks
    halving down to FIRST: the writer works a chunk behind the workers, so it has little left to do
    when they finish."""
    first = min(n, FIRST)
    rest, tail, size = n - first, [], FIRST
    while rest > 0 and size < CHUNK:   # from the end: FIRST, FIRST, 2 FIRST, 4 FIRST, … below CHUNK
        tail.append(min(size, rest))
        rest -= tail[-1]
        size *= 2 if len(tail) > 1 else 1
    return [first] + [CHUNK] * (rest // CHUNK) + ([rest % CHUNK] if rest % CHUNK else []) + tail[::-1]


def _conclude_and_record(book: Ledger, archive: Path, made: dict, chunk: Chunk, examined: list,
                         first_of: dict, counted: dict, settings: Settings, run_id: int, run_period: str | None,
                         touched: set, against_register=None, senders: dict | None = None):
    """Steps 1 (the sync), 2 (what needs the whole chunk), 3 and 4 for one chunk, on the writer
    thread while the workers examine the next: pandera and last month's counts (as the chunks before
    left them), the ledger entries, the chunk's lines in the received log, the chunk's archive synced,
    recorded, and its inbox files removed."""
    results = conclude([(c.path, c.name) for c in chunk.to_check], examined, history=book.previous_rows,
                       reconcile=against_register, past=outliers.history(book, settings))
    incoming, by_sha = _incoming(archive, made, chunk, results)
    entries = ledger_entries(incoming, by_sha, book, settings, first_of, counted, senders or {})
    end = append_log(archive, log_lines(entries, archive, run_period))
    commit(archive, chunk.staged)
    crash_point("archived")
    rows = book.record(entries, run_id, run_period, end)
    touched.update(form.submission.period or run_period for e in entries for form in e.forms)
    crash_point("recorded")
    book.mark_removed([rows[i.inbox] for i in incoming if i.inbox and remove(i.inbox)])


def _files_in(found: list[tuple]) -> int:
    """What `received` found counts as files to take in: each e-mail with its attachments."""
    return sum(1 + len(mail.attachments) + len(mail.others) if mail else 1 for _, _, mail in found)


def _prepare_chunk(part: list, archive: Path, made: dict, ledger: Ledger, first_of: dict) -> Chunk:
    """Step 2's part here for one chunk of what `received` found: e-mails opened and archived, and
    what the workers are to examine: each plain file (archived by the worker as it reads it), and
    each attachment not seen before."""
    staged: list[Staged] = []
    mails = {p: archived_mail(at, p, mail, archive, made, staged) for at, p, mail in part if mail is not None}
    attachments = [inc for got in mails.values() for inc in got[1:] if inc.kind is None]   # workbooks only
    known = ledger.files_by_sha(inc.sha256 for inc in attachments)
    readable = {s.path: s.tmp or s.path for s in staged}   # renamed after the sync
    seen: set = set()
    to_check: list[ToCheck] = []
    for at, p, mail in part:
        if mail is None:
            to_check.append(ToCheck(p, os.path.basename(p), None, folder_of(archive, at, made), at, p))
    for inc in attachments:       # archived already: checked unless seen before
        if inc.sha256 not in seen and inc.sha256 not in first_of and inc.sha256 not in known:
            seen.add(inc.sha256)
            to_check.append(ToCheck(readable[inc.path], inc.name, inc.sha256, None, inc.received_at, inc.path))
    return Chunk(part, staged, mails, to_check)


def _incoming(archive: Path, made: dict, chunk: Chunk, results: list) -> tuple[list[Incoming], dict]:
    """What came in, in order of receipt (a file the worker could not archive is archived here), and
    each sha's check result, that of the first received (its name may say the unit)."""
    result_of = {c.key: result for c, result in zip(chunk.to_check, results)}
    plain: dict = {}
    for c, result in zip(chunk.to_check, results):
        if c.folder is None:
            continue
        if result.stored is not None:
            target, tmp, size = result.stored
            s = Staged(target, result.sha256, size, tmp)
        else:   # the worker failed on it (or could not archive it)
            try:
                s = stage(archive, c.path, c.name, c.received_at, made) if result.sha256 else None
            except NotRegular:
                s = None
            if s is None:   # no longer a regular file: left in the inbox, not recorded
                note_left([(c.path, ODD["other"])])
                continue
        chunk.staged.append(s)
        plain[c.path] = Incoming(s.path, c.name, c.received_at, result.sha256, s.size, c.name, c.path)
    incoming = [inc for _at, p, mail in chunk.part for inc in (chunk.mails[p] if mail is not None else (plain.get(p),))
                if inc is not None]
    by_sha: dict = {}
    for inc in incoming:
        result = result_of.get(inc.inbox or inc.path)
        if result is not None:
            by_sha.setdefault(inc.sha256, result)
    return incoming, by_sha


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


@dataclass(frozen=True)
class RunCounts:
    """What a run took in, for its last line: files, and their forms accepted, rejected, duplicate;
    and the units the period still lacks."""
    files: int
    accepted: int
    rejected: int
    duplicate: int
    missing: int

    def line(self) -> str:
        return (f"收取 {self.files}，接收 {self.accepted}，退回 {self.rejected}，重复 {self.duplicate}；"
                f"未报 {self.missing} 个单位")

    @property
    def exit_status(self) -> int:
        """As `check`'s: 1 when the run rejected a form."""
        return 1 if self.rejected else 0


def intake_run(folders: dict, kind: str, period: str, settings: Settings, units,
               touched: set | None = None) -> tuple[Ledger, RunCounts]:
    ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
    now = dt.datetime.now(settings.tz)
    run_id = ledger.start_run(kind, period, now)
    register = import_register(folders, ledger, settings, units, now)   # the forms are reconciled against it
    taken = take_in(folders, ledger, units, settings, run_id, period, progress=_progress(), touched=touched,
                    against_register=reconciler(register))
    ledger.finish_run(run_id, dt.datetime.now(settings.tz), taken)
    if taken:
        print(f"收取 {taken} 个文件，已存档并登记。")
    statuses = ledger.run_statuses(run_id)
    counted = ledger.counted_units(period)
    counts = RunCounts(taken, statuses.get("accepted", 0), statuses.get("rejected", 0), statuses.get("duplicate", 0),
                       sum(1 for u in units.active(period) if u.name not in counted))
    return ledger, counts
