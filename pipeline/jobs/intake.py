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
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import stat
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pipeline.check import outliers
from pipeline.check.check import check_files, checking_pool, conclude, examine_chunks
from pipeline.core.findings import finding
from pipeline.core.model import Submission
from pipeline.core.period import Month, month_text
from pipeline.core.settings import Settings
from pipeline.core.text import printable
from pipeline.jobs.closing import closed_notes
from pipeline.jobs.lock import crash_point
from pipeline.jobs.mail.senders import address_of, load_senders, sender_finding
from pipeline.jobs.register import import_register, reconciler
from pipeline.read.eml import NO_WORKBOOK, is_mail, read_eml
from pipeline.read.sniff import human
from pipeline.read.units import Units
from pipeline.store.files import NotRegular, folder_for, open_regular, put, sweep_parts, sync_filesystem
from pipeline.store.ledger import Entry, Form, Ledger
from pipeline.store.received_log import append_log, log_lines, read_log
from pipeline.store.schema import counts_json

SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb", ".xltx", ".xltm"}
LITTER = {".ds_store", "thumbs.db", "desktop.ini", ".gitkeep"}


@dataclass(frozen=True)
class Incoming:
    path: str               # where the bytes are now (the archive copy)
    name: str               # the name it was received under
    received_at: dt.datetime
    sha256: str
    size: int
    source: str             # inbox file name (the e-mail for attachments)
    inbox: str | None       # inbox path to remove once recorded (None for attachments)
    empty_mail: bool = False  # an e-mail that brought no spreadsheet
    why_empty: str | None = None   # why, as its receipt says it (a part that would not parse, or none at all)
    kind: str | None = None   # "other": an attachment that is not a workbook (archived and listed, not checked)
    attached: bool = False    # came with the e-mail before it
    note: str | None = None   # an e-mail's text
    sender: str | None = None  # an attachment's: the address its e-mail came from


def wanted(name: str) -> bool:
    """A spreadsheet or an e-mail, not an editor's lock file or a system's litter."""
    low = name.lower()
    if name.startswith(("~$", ".~lock", "._")) or low in LITTER:
        return False
    stem, _, ending = low.rpartition(".")   # os.path.splitext's ending, without its Python call a file
    return bool(stem.lstrip(".")) and "." + ending in SPREADSHEETS or is_mail(low)


def _folder(archive: Path, received_at: dt.datetime, made: dict) -> str:
    """The archive folder for what was received at `received_at`, made once a run (`made`: the
    folders made so far, by year and month)."""
    month = (received_at.year, received_at.month)
    folder = made.get(month)
    if folder is None:
        path = folder_for(archive, received_at)
        path.mkdir(parents=True, exist_ok=True)
        made[month] = folder = str(path)
    return folder


class Staged(NamedTuple):
    """A file put in the archive by this process (an e-mail, its attachments, a file a worker could
    not archive), synced with its chunk (`_commit`)."""
    path: str          # its final path in the archive
    sha256: str
    size: int
    tmp: str | None    # where its bytes wait for the sync, to be renamed to `path`; None when linked there


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
    part: list                  # of inbox.Found
    staged: list[Staged]
    mails: dict                 # inbox path -> the e-mail's Incoming (its own, then its attachments')
    to_check: list[ToCheck]


def _stage(archive: Path, source, name: str, received_at: dt.datetime, made: dict) -> Staged:
    """Put a file (its path) or bytes into the archive here, in this process (e-mail attachments, and
    files a worker could not archive); the caller syncs the whole batch once (`_commit`)."""
    folder = _folder(archive, received_at, made)
    if not isinstance(source, bytes):
        fd, st = open_regular(str(source))   # NotRegular for a symlink, FIFO or device: never archived
        with open(fd, "rb", buffering=0) as f:
            size = st.st_size
            digest = hashlib.sha256(f.read()) if size < 1 << 24 else hashlib.file_digest(f, "sha256")  # big: streamed
            sha = digest.hexdigest()
            target, tmp = put(folder, name, sha, size, str(source), fd=fd, inode=(st.st_dev, st.st_ino))
    else:
        sha, size = hashlib.sha256(source).hexdigest(), len(source)
        target, tmp = put(folder, name, sha, size, data=source)
    return Staged(target, sha, size, tmp)


def _commit(archive: Path, staged: list):
    """Data first, then names: one sync for every file of the batch (links included), then each
    copied file renamed into place and synced again."""
    sync_filesystem(archive)
    copies = [(s.tmp, s.path) for s in staged if s.tmp is not None]
    for tmp, target in copies:
        os.replace(tmp, target)
    if copies:
        sync_filesystem(archive)


def finish_removals(ledger: Ledger):
    """Step 4 of an interrupted run: remove inbox files recorded but not yet removed (the same path
    holding the same bytes only)."""
    pending = ledger.pending_removals()
    for _, inbox_path, sha in pending:
        try:
            fd, _st = open_regular(inbox_path)
        except OSError:   # gone, or no longer a regular file
            continue
        with open(fd, "rb") as f:
            same = hashlib.file_digest(f, "sha256").hexdigest() == sha
        if same:
            _remove(inbox_path)
    ledger.mark_removed([row for row, _, _ in pending])


ODD = {"symlink": "是符号链接（快捷方式）", "other": "不是普通文件（管道、设备或套接字）"}


def _inbox(inbox: Path, odd: list | None = None) -> list[tuple[str, float, int, int]]:
    """Every wanted regular file under the inbox, its path as text (a Path object each would cost as
    much as the rest of the scan), with its modification time, size and mtime in ns (one stat a
    file). Symlinks are not followed (into a folder or to a file), nor is anything but a regular
    file read: each is put in `odd` as (path, what it is), and left where it is."""
    out, folders = [], [str(inbox)] if inbox.is_dir() else []
    while folders:
        with os.scandir(folders.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    folders.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    if wanted(e.name):
                        st = e.stat(follow_symlinks=False)
                        out.append((e.path, st.st_mtime, st.st_size, st.st_mtime_ns))
                elif odd is not None and not e.name.startswith(("~$", ".~lock", "._")):
                    odd.append((e.path, ODD["symlink" if e.is_symlink() else "other"]))
    return out


def received(inbox: Path, settings: Settings, left: list | None = None, server_times: dict | None = None) -> list[tuple]:
    """(received at, inbox path as text, e-mail or None) for every inbox file ready to be taken, in
    order of receipt. An e-mail fetched from the mailbox was received when its server says
    (`server_times`, by file name); a saved one, at its `Date`. What is not ready goes in `left` as
    (path, why): a symlink, FIFO or device; a file modified within the last `limits.settle_seconds`
    that is still changing (a copy from a USB stick, a mail client saving an attachment). Such a
    recent file is looked at again once, after the settle time: unchanged in size and mtime, it is
    taken; changed, it waits for the next run."""
    tz, found, server_times = settings.tz, [], server_times or {}
    odd: list = []
    scanned = _inbox(inbox, odd)
    most = settings.limits.get("inbox_bytes")
    if most and any(f[2] > most for f in scanned):   # never read, hashed nor copied: by its size alone
        odd += [(f[0], f"有 {human(f[2])}，超过收件箱单个文件的上限 {human(most)}（limits.inbox_bytes）")
                for f in scanned if f[2] > most]
        scanned = [f for f in scanned if f[2] <= most]
    scanned = _steady(scanned, float(settings.limits.get("settle_seconds", 0)), odd)
    for p, mtime, _size, _ns in scanned:
        if is_mail(p):
            try:
                fd, _st = open_regular(p)
            except NotRegular:
                odd.append((p, ODD["other"]))
                continue
            with open(fd, "rb") as f:
                mail = read_eml(f.read(), settings.limits)
            at = server_times.get(os.path.basename(p)) or mail.date
            at = at.astimezone(tz) if at else dt.datetime.fromtimestamp(mtime, tz)
            found.append((at.timestamp(), p, at, mail))
        else:
            found.append((mtime, p, None, None))
    if left is not None:
        left += odd
    found.sort()   # by time and path (never the same): numbers compare several times faster than datetimes
    return [(at or dt.datetime.fromtimestamp(t, tz), p, mail) for t, p, at, mail in found]


STILL_WRITING = "正在写入（大小或修改时间仍在变化）"


def _steady(scanned: list[tuple], settle: float, odd: list) -> list[tuple]:
    """The scanned files without those still being written. Only files modified within the last
    `settle` seconds (or stamped in the future) are looked at again, after one wait for them all:
    any other file costs nothing more than its scan."""
    now = time.time()
    recent = [f for f in scanned if f[1] > now - settle]
    if not recent:
        return scanned
    time.sleep(max(0.0, min(settle, max(f[1] for f in recent) + settle - now)))
    changed = set()
    for p, _mtime, size, ns in recent:
        try:
            st = os.stat(p, follow_symlinks=False)
        except FileNotFoundError:
            changed.add(p)
            continue
        if (st.st_size, st.st_mtime_ns) != (size, ns) or not stat.S_ISREG(st.st_mode):
            changed.add(p)
            odd.append((p, STILL_WRITING))
    return [f for f in scanned if f[0] not in changed]


def note_left(left: list[tuple[str, str]]) -> None:
    """Tell the operator what was left in the inbox, and why (names shown without control characters)."""
    for path, why in left:
        if why == STILL_WRITING:
            print(printable(f"收件箱中的“{path}”{why}，本次没有收取，下次运行时再收。"), file=sys.stderr)
        elif why.startswith("有 "):
            print(printable(f"收件箱中的“{path}”{why}，没有读取也没有收取。请与报送单位联系后把它移出收件箱。"),
                  file=sys.stderr)
        else:
            print(printable(f"收件箱中的“{path}”{why}，没有收取，也不会读取它指向的内容。请把报表文件本身放入收件箱，"
                            "并删去这一项。"), file=sys.stderr)


def archived_mail(at: dt.datetime, p: str, mail, archive: Path, made: dict, staged: list) -> list[Incoming]:
    """Step 1 for an e-mail, here: the message and each attachment archived (synced with the chunk)."""
    mail_name = os.path.basename(p)
    s = _stage(archive, p, mail_name, at, made)
    staged.append(s)
    out = [Incoming(s.path, mail_name, at, s.sha256, s.size, mail_name, p, empty_mail=not mail.attachments, why_empty=mail.reason,
                    kind="eml", note=mail.body or None)]
    sender = address_of(mail.sender)
    for k, a in enumerate(mail.attachments):
        name = a.name or f"附件{k + 1}.xlsx"
        s = _stage(archive, a.data, name, at, made)
        staged.append(s)
        out.append(Incoming(s.path, name, at, s.sha256, s.size, mail_name, None, attached=True, sender=sender))
    for a in mail.others:   # 情况说明.docx and the like: kept and listed, not checked
        s = _stage(archive, a.data, a.name, at, made)
        staged.append(s)
        out.append(Incoming(s.path, a.name, at, s.sha256, s.size, mail_name, None, kind="other", attached=True))
    return out


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
        started = starter.submit(pool.__enter__) if _anything_in(folders["inbox"]) else None
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
    (rebuild-ledger: all of them). Returns how many files were recorded."""
    given = lines
    if lines is None:
        start = ledger.log_end()
        lines, end = read_log(archive, start)
        if end == start:
            return 0
    tz, incoming, skip_attached = settings.tz, [], False
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
    groups: dict[str, list] = {}
    for run_period, inc in incoming:
        groups.setdefault(Month.at(inc.received_at), []).append((run_period, inc))
    months = sorted(groups)
    last = months[-1] if months else None
    for month in months or [None]:
        group = groups.get(month, [])
        known = ledger.files_by_sha(inc.sha256 for _, inc in group)
        check = list({inc.sha256: inc for _, inc in group if inc.kind is None and inc.sha256 not in known}.values())
        results = check_files([(Path(inc.path), inc.name) for inc in check], units, settings,
                              now=max((inc.received_at for inc in check), default=None),
                              history=ledger.previous_rows) if check else []
        by_sha = {inc.sha256: result for inc, result in zip(check, results)}
        entries = _entries([inc for _, inc in group], [inc.kind == "eml" for _, inc in group], by_sha, ledger,
                           settings, {}, {})
        for (run_period, _), entry in zip(group, entries):
            entry.run_period = run_period
        ledger.record(entries, None, None, log_end=end if month == last else None)
        touched.update(form.submission.period or e.run_period for e in entries for form in e.forms)
    finish_removals(ledger)
    if incoming and given is None:
        print(f"补登 {len(incoming)} 个文件：它们已在存档中，但台账中没有记录（上次运行中途停止，或台账的 -wal 文件丢失）。",
              file=sys.stderr)
    return len(incoming)


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
    incoming, mailed, by_sha = _incoming(archive, made, chunk, results)
    entries = _entries(incoming, mailed, by_sha, book, settings, first_of, counted, senders or {})
    end = append_log(archive, log_lines(entries, archive, run_period))
    _commit(archive, chunk.staged)
    crash_point("archived")
    rows = book.record(entries, run_id, run_period, end)
    touched.update(form.submission.period or run_period for e in entries for form in e.forms)
    crash_point("recorded")
    book.mark_removed([rows[i.inbox] for i in incoming if i.inbox and _remove(i.inbox)])


def _files_in(found: list[tuple]) -> int:
    """What `received` found counts as files to take in: each e-mail with its attachments."""
    return sum(1 + len(mail.attachments) + len(mail.others) if mail else 1 for _, _, mail in found)


def _anything_in(inbox: Path) -> bool:
    try:
        with os.scandir(inbox) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


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
            to_check.append(ToCheck(p, os.path.basename(p), None, _folder(archive, at, made), at, p))
    for inc in attachments:       # archived already: checked unless seen before
        if inc.sha256 not in seen and inc.sha256 not in first_of and inc.sha256 not in known:
            seen.add(inc.sha256)
            to_check.append(ToCheck(readable[inc.path], inc.name, inc.sha256, None, inc.received_at, inc.path))
    return Chunk(part, staged, mails, to_check)


def _incoming(archive: Path, made: dict, chunk: Chunk, results: list) -> tuple[list[Incoming], list[bool], dict]:
    """What came in, in order of receipt (a file the worker could not archive is archived here);
    which of it are e-mails; and each sha's check result, that of the first received (its name may
    say the unit)."""
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
                s = _stage(archive, c.path, c.name, c.received_at, made) if result.sha256 else None
            except NotRegular:
                s = None
            if s is None:   # no longer a regular file: left in the inbox, not recorded
                note_left([(c.path, ODD["other"])])
                continue
        chunk.staged.append(s)
        plain[c.path] = Incoming(s.path, c.name, c.received_at, result.sha256, s.size, c.name, c.path)
    incoming = [inc for _at, p, mail in chunk.part for inc in (chunk.mails[p] if mail is not None else (plain.get(p),))
                if inc is not None]
    mailed = [inc.kind == "eml" for inc in incoming]
    by_sha: dict = {}
    for inc in incoming:
        result = result_of.get(inc.inbox or inc.path)
        if result is not None:
            by_sha.setdefault(inc.sha256, result)
    return incoming, mailed, by_sha


def _entries(incoming: list[Incoming], mailed: list[bool], by_sha: dict, ledger: Ledger, settings: Settings,
             first_of: dict, counted: dict, senders: dict | None = None) -> list[Entry]:
    """The ledger entries for a checked chunk: duplicates, lateness and look-alikes decided against
    the ledger and against what this run has already seen (`first_of`: each file's first receipt;
    `counted`: each period's counted forms, as `_Counted`)."""
    known = ledger.files_by_sha(i.sha256 for i in incoming)
    entries, looks = [], _Looks(ledger, settings, counted, senders or {})
    for inc, mail in zip(incoming, mailed):
        entry = Entry(inc.sha256, inc.name, inc.path, inc.received_at, inc.size, inc.source, inc.inbox,
                      attached=inc.attached, note=inc.note, empty=inc.empty_mail)
        entries.append(entry)
        if mail:
            entry.kind = "eml"
            if inc.empty_mail:  # the sender still hears what happened
                none = finding("NO_FORM", None, file=inc.name, detail=f"{inc.why_empty or NO_WORKBOOK}。")
                entry.forms = [Form(Submission(None, None, None, (), (none,)), "rejected", False, None)]
            continue
        if inc.kind == "other":   # kept and listed with the e-mail's forms; nothing to check
            entry.kind = "other"
            continue
        prior = known.get(inc.sha256)
        if prior is not None or inc.sha256 in first_of:
            name, when = (prior[1], prior[2]) if prior else first_of[inc.sha256]
            entry.duplicate_of = prior[0] if prior else None
            dup = finding("DUPLICATE_FILE", None, file=inc.name, value=str(when)[:19].replace("T", " "),
                          expected=name)
            entry.forms = [Form(Submission(None, u, p, (), (dup,)), "duplicate", False, None)
                           for u, p in _units_of(ledger, inc.sha256, by_sha)]
            continue
        first_of[inc.sha256] = (inc.name, inc.received_at)   # shown as str(when)[:19], as an ISO text from the ledger
        result = by_sha[inc.sha256]
        entry.kind = result.kind
        entry.forms = [looks.form(sub, inc) for sub in result.submissions]
    return entries


class _Looks:
    """What a form's own check cannot see, looked at against the ledger and the run: a form the
    period already counts with the same numbers, lateness, another unit's identical form, a sender
    the unit does not list, a closed month."""

    def __init__(self, ledger: Ledger, settings: Settings, counted: dict, senders: dict):
        self.ledger, self.settings, self.counted, self.senders = ledger, settings, counted, senders
        self.closed, self.deadlines = closed_notes(ledger), {}

    def form(self, sub: Submission, inc: Incoming) -> Form:
        counts = counts_json(sub.rows)
        period = sub.status == "accepted" and sub.unit and sub.period and self._period(sub.period)
        same = period and period.of_unit.get(sub.unit)
        if same and same[0] == counts:   # sent again unchanged (a workbook of every month so far): counted once
            again = finding("RESENT_UNCHANGED", None, value=same[1], expected=same[2], period=month_text(sub.period))
            return Form(_with(sub, [again]), "duplicate", False, counts)
        due = sub.period and (self.deadlines.get(sub.period)
                              or self.deadlines.setdefault(sub.period, self.settings.deadline(sub.period)))
        late = bool(due) and inc.received_at > due
        extra = []
        if late:
            extra.append(finding("LATE", None, value=inc.received_at.strftime("%Y-%m-%d %H:%M"),
                                 expected=due.strftime("%Y-%m-%d %H:%M")))
        twin = period and period.twin(sub.unit, counts)
        if twin:
            extra.append(finding("SAME_AS_OTHER_UNIT", None, value=twin))
        stranger = inc.sender and sender_finding(sub.unit, inc.sender, self.senders)
        if stranger:
            extra.append(stranger)
        if sub.period in self.closed:   # kept and answered, counted once the quarter is reopened
            quarter, issued = self.closed[sub.period]
            extra.append(finding("PERIOD_CLOSED", None, value=quarter, expected=issued))
        elif period:
            period.count(sub.unit, counts, inc)
        return Form(_with(sub, extra), sub.status, late, counts)

    def _period(self, period: str) -> _Counted:
        if period not in self.counted:
            self.counted[period] = _Counted.of(self.ledger.counted(period))
        return self.counted[period]


def _with(sub: Submission, extra: list) -> Submission:
    if not extra:
        return sub
    return Submission(sub.sheet, sub.unit, sub.period, sub.rows, sub.findings + tuple(extra),
                      sub.cells, sub.unit_cell, sub.period_cell)


@dataclass
class _Counted:
    """A period's counted forms as the run goes: each unit's numbers (with when and in which file
    they came), and the units having each set of numbers. Forms are compared by their `counts_json`:
    one short string a form (a month of national forms is kept in memory)."""
    of_unit: dict[str, tuple[str, str, str]]
    units_with: dict[str, set[str]]

    @classmethod
    def of(cls, counted: dict) -> _Counted:
        made = cls({}, {})
        for unit, rec in counted.items():
            made.of_unit[unit] = (counts_json(rec.rows) or "", _when(rec.received_at), rec.file or "")
            made.units_with.setdefault(made.of_unit[unit][0], set()).add(unit)
        return made

    def twin(self, unit: str, counts: str | None) -> str | None:
        """Another unit counted with exactly these numbers (all-zero forms aside)."""
        if counts is None or not _ONE_TO_NINE.search(counts):
            return None
        other = sorted(self.units_with.get(counts, set()) - {unit})
        return other[0] if other else None

    def count(self, unit: str, counts: str | None, inc: Incoming) -> None:
        before = self.of_unit.get(unit)
        if before is not None:
            self.units_with.get(before[0], set()).discard(unit)
        self.of_unit[unit] = (counts or "", _when(inc.received_at), inc.name)
        self.units_with.setdefault(counts or "", set()).add(unit)


_ONE_TO_NINE = re.compile(r"[1-9]")


def _when(at) -> str:
    return str(at)[:19].replace("T", " ")


def _units_of(ledger: Ledger, sha: str, by_sha: dict) -> list[tuple]:
    if sha in by_sha:
        return [(s.unit, s.period) for s in by_sha[sha].submissions] or [(None, None)]
    got = ledger.db.execute(
        "SELECT s.unit, s.period FROM submissions s JOIN files f ON f.id=s.file_id"
        " WHERE f.sha256=? AND f.duplicate_of IS NULL", (sha,)).fetchall()
    return got or [(None, None)]


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
