"""Intake: take what is in the inbox, archive it, check it, record it, and only then remove it.

Order of work, so that a crash at any point loses nothing and counts nothing twice:
1. each inbox file (an e-mail gives its attachments too) is hashed and put into the archive
   (hard-linked, or written to a temporary name and renamed; synced once per chunk of files);
2. the archived copies are checked (isolated per file);
3. the chunk is recorded in the ledger in one transaction, with the inbox paths to remove;
4. its inbox files are removed and the removals marked done. A rerun first finishes step 4 of
   an interrupted run (same path and same bytes only), then starts again at 1.
The steps run chunk by chunk and overlap: while the workers check a chunk (2), the next is archived
(1) and the one before recorded and removed (3, 4), each on its own thread.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import itertools
import os
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .check import check_files, checking_pool
from .findings import finding
from .ledger import Ledger, counts_json
from .mail import read_eml
from .model import Submission
from .reference import Units
from .safety import safe_name
from .settings import Settings

SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb", ".xltx", ".xltm"}
LITTER = {".ds_store", "thumbs.db", "desktop.ini", ".gitkeep"}


@dataclass(frozen=True)
class Incoming:
    path: Path              # where the bytes are now (the archive copy)
    name: str               # the name it was received under
    received_at: dt.datetime
    sha256: str
    size: int
    source: str             # inbox file name (the e-mail for attachments)
    inbox: str | None       # inbox path to remove once recorded (None for attachments)
    empty_mail: bool = False  # an e-mail that brought no spreadsheet


def crash_point(name: str):
    """Fault injection for the crash tests: PIPELINE_CRASH_AT=name kills the run here, as a power
    cut would (SIGKILL: no cleanup, no finally)."""
    if os.environ.get("PIPELINE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def wanted(name: str) -> bool:
    """A spreadsheet or an e-mail, not an editor's lock file or a system's litter."""
    if name.startswith("~$") or name.startswith(".~lock") or name.lower() in LITTER or name.startswith("._"):
        return False
    return os.path.splitext(name)[1].lower() in SPREADSHEETS or name.lower().endswith(".eml")


def _stage(archive: Path, source, name: str, received_at: dt.datetime,
           made: set) -> tuple[Path, str, int, Path | None]:
    """Put bytes (a path, or bytes) into the archive; the caller syncs the whole batch once
    (`_commit`). An inbox file on the archive's file system is hard-linked under its final name (no
    copy: one directory entry, atomic); anything else is written to a temporary name, to be renamed
    after the sync. Returns (final path, sha256, size, temporary name or None)."""
    folder = archive / "files" / received_at.strftime("%Y-%m")
    if folder not in made:   # this run's folders, made once
        folder.mkdir(parents=True, exist_ok=True)
        made.add(folder)
    if isinstance(source, Path):
        with open(source, "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            digest = hashlib.sha256(f.read()) if size < 1 << 24 else hashlib.file_digest(f, "sha256")  # big: streamed
            sha = digest.hexdigest()
    else:
        sha, size = hashlib.sha256(source).hexdigest(), len(source)
    target = folder / f"{sha[:16]}_{safe_name(name, fallback='file.bin')}"
    if isinstance(source, Path):
        try:
            os.link(source, target)
            return target, sha, size, None
        except FileExistsError:
            pass
        except OSError:
            pass   # another file system, or links not allowed: copy
    if target.exists() and target.stat().st_size == size:
        return target, sha, size, None   # archived already (by an interrupted run, or the same bytes twice)
    tmp = folder / f".part-{os.getpid()}-{next(_PARTS)}"
    if isinstance(source, Path):
        shutil.copyfile(source, tmp)
    else:
        tmp.write_bytes(source)
    return target, sha, size, tmp


_PARTS = itertools.count()


def _sync_filesystem(path: Path):
    """One sync for a whole batch: syncfs(2) on the archive's file system, else sync(2)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _commit(archive: Path, staged: list):
    """Data first, then names: one sync for every file of the batch (links included), then each
    copied file renamed into place and synced again."""
    _sync_filesystem(archive)
    copies = [(tmp, target) for target, _sha, _size, tmp in staged if tmp is not None]
    for tmp, target in copies:
        os.replace(tmp, target)
    if copies:
        _sync_filesystem(archive)


def finish_removals(ledger: Ledger):
    """Step 4 of an interrupted run: remove inbox files recorded but not yet removed."""
    pending = ledger.pending_removals()
    for inbox_path, sha in pending:
        p = Path(inbox_path)
        if p.exists() and hashlib.sha256(p.read_bytes()).hexdigest() == sha:
            p.unlink()
    ledger.mark_removed([p for p, _ in pending])


def _inbox(inbox: Path) -> list[tuple[Path, float]]:
    """Every wanted file under the inbox, with its modification time (one stat a file)."""
    out, folders = [], [inbox] if inbox.is_dir() else []
    while folders:
        with os.scandir(folders.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    folders.append(Path(e.path))
                elif wanted(e.name) and e.is_file():
                    out.append((Path(e.path), e.stat().st_mtime))
    return out


def received(inbox: Path, settings: Settings) -> list[tuple]:
    """(received at, inbox path, e-mail or None) for every inbox file, in order of receipt."""
    found = []
    for p, mtime in _inbox(inbox):
        at = dt.datetime.fromtimestamp(mtime, settings.tz)
        if p.suffix.lower() == ".eml":
            mail = read_eml(p.read_bytes())
            found.append((mail.date.astimezone(settings.tz) if mail.date else at, p, mail))
        else:
            found.append((at, p, None))
    found.sort(key=lambda x: (x[0], str(x[1])))
    return found


def archived(found: list[tuple], archive: Path) -> list[Incoming]:
    """Step 1 for some of what `received` found: each file (and each e-mail's attachments) archived
    and synced."""
    made: set = set()
    # One thread: on two cores, more threads doing small file-system calls cost more CPU than
    # they save (each call gives up the interpreter lock and waits to get it back).
    stored = [_stage(archive, p, p.name, at, made) for at, p, _mail in found]
    out, staged = [], []
    for (at, p, mail), got in zip(found, stored):
        staged.append(got)
        out.append(Incoming(got[0], p.name, at, got[1], got[2], p.name, str(p),
                            empty_mail=mail is not None and not mail.attachments))
        for k, a in enumerate(mail.attachments if mail else ()):
            name = a.name or f"附件{k + 1}.xlsx"
            staged.append(_stage(archive, a.data, name, at, made))
            out.append(Incoming(staged[-1][0], name, at, staged[-1][1], staged[-1][2], p.name, None))
    if staged:
        _commit(archive, staged)
    return out


CHUNK = 2000   # files checked and recorded together: memory stays bounded whatever the inbox holds
FIRST = 250


def take_in(folders: dict, ledger: Ledger, units: Units, settings: Settings, run_id: int,
            run_period: str | None, now: dt.datetime | None = None, progress=None) -> int:
    """Steps 1–4 for everything in the inbox, CHUNK files at a time: while the workers check one
    chunk, the next is archived and the one before recorded and removed from the inbox. Returns how
    many inbox files were taken in."""
    finish_removals(ledger)
    pool = checking_pool(units, settings, now)
    with ThreadPoolExecutor(1) as starter:
        started = starter.submit(pool.__enter__) if _anything_in(folders["inbox"]) else None
        found = received(folders["inbox"], settings)   # the workers start meanwhile
        if started is not None:
            started.result()
    if not found:
        pool.close()
        return 0
    first = min(len(found), FIRST)    # a small first chunk: the workers start checking sooner
    parts = [found[:first]] + [found[k: k + CHUNK] for k in range(first, len(found), CHUNK)]
    total = sum(1 + len(mail.attachments) if mail else 1 for _, _, mail in found)
    first_of: dict = {}
    twins: dict[str, dict] = {}
    taken: list[Incoming] = []
    recording = [None]

    def settle():   # the chunk before is in the ledger
        if recording[0] is not None:
            recording[0].result()

    with ThreadPoolExecutor(1) as background, ThreadPoolExecutor(1) as writer, pool:
        book = writer.submit(Ledger.open, ledger.path).result()   # the writer thread's own connection
        try:
            coming = background.submit(archived, parts[0], folders["archive"])
            for k in range(len(parts)):
                incoming = coming.result()
                crash_point("archived")
                if k + 1 < len(parts):
                    coming = background.submit(archived, parts[k + 1], folders["archive"])
                done = len(taken)
                step = (lambda n, _total, done=done: progress(done + n, total)) if progress else None
                entries = _check_chunk(incoming, ledger, units, settings, now, pool, step, first_of, twins, settle)
                recording[0] = writer.submit(_record_and_remove, book, entries, incoming, run_id, run_period)
                taken += incoming
            settle()
        finally:
            writer.submit(book.close).result()
    return len({i.inbox for i in taken if i.inbox})


def _record_and_remove(book: Ledger, entries: list[dict], incoming: list[Incoming], run_id: int,
                       run_period: str | None):
    """Steps 3 and 4 for one chunk, on the writer thread."""
    book.record(entries, run_id, run_period)
    crash_point("recorded")
    book.mark_removed([i.inbox for i in incoming if i.inbox and _remove(i.inbox)])


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


def _check_chunk(incoming: list[Incoming], ledger: Ledger, units: Units, settings: Settings, now, pool, progress,
                 first_of: dict, twins: dict, settle=lambda: None) -> list[dict]:
    """Check one chunk of what came in and make the ledger entries for it: duplicates, lateness and
    look-alikes decided against the ledger and against what this run has already seen. `settle()`
    waits for the chunk before to be recorded: its files are checked meanwhile."""
    is_mail = [bool(i.inbox) and i.name.lower().endswith(".eml") for i in incoming]
    known = ledger.files_by_sha(i.sha256 for i in incoming)
    seen, to_check = set(), []
    for inc, mail in zip(incoming, is_mail):
        if not mail and inc.sha256 not in seen and inc.sha256 not in first_of and inc.sha256 not in known:
            seen.add(inc.sha256)
            to_check.append(inc)
    results = check_files([(i.path, i.name) for i in to_check], units, settings, now=now,
                          history=ledger.previous_rows, progress=progress, pool=pool,
                          shas=[i.sha256 for i in to_check])
    by_sha = {i.sha256: r for i, r in zip(to_check, results)}
    settle()
    known = ledger.files_by_sha(i.sha256 for i in incoming)   # again: the chunk before counts too

    entries, deadlines = [], {}
    for inc, mail in zip(incoming, is_mail):
        entry = {"sha256": inc.sha256, "name": inc.name, "archived": str(inc.path), "received_at": inc.received_at,
                 "size": inc.size, "kind": None, "source": inc.source, "inbox": inc.inbox,
                 "duplicate_of": None, "submissions": []}
        if mail:
            entry["kind"] = "eml"
            if inc.empty_mail:  # the sender still hears what happened
                none = finding("NO_FORM", None, file=inc.name, detail="邮件中没有 Excel 或 WPS 表格附件。")
                entry["submissions"] = [(Submission(None, None, None, (), (none,)), "rejected", False)]
            entries.append(entry)
            continue
        prior = known.get(inc.sha256)
        if prior is not None or inc.sha256 in first_of:
            name, when = (prior[1], prior[2]) if prior else first_of[inc.sha256]
            entry["duplicate_of"] = prior[0] if prior else None
            dup = finding("DUPLICATE_FILE", None, file=inc.name, value=str(when)[:19].replace("T", " "),
                          expected=name)
            entry["submissions"] = [(Submission(None, u, p, (), (dup,)), "duplicate", False)
                                    for u, p in _units_of(ledger, inc.sha256, by_sha)]
            entries.append(entry)
            continue
        first_of[inc.sha256] = (inc.name, inc.received_at.isoformat())
        result = by_sha[inc.sha256]
        entry["kind"] = result.kind
        for sub in result.submissions:
            due = sub.period and (deadlines.get(sub.period) or deadlines.setdefault(sub.period, settings.deadline(sub.period)))
            late = bool(due) and inc.received_at > due
            extra = []
            if late:
                extra.append(finding("LATE", None, value=inc.received_at.strftime("%Y-%m-%d %H:%M"),
                                     expected=due.strftime("%Y-%m-%d %H:%M")))
            if sub.status == "accepted" and sub.unit and sub.period:
                twin = _same_as_other(ledger, twins, sub)
                if twin:
                    extra.append(finding("SAME_AS_OTHER_UNIT", None, value=twin))
            if extra:
                sub = Submission(sub.sheet, sub.unit, sub.period, sub.rows, sub.findings + tuple(extra),
                                 sub.cells, sub.unit_cell, sub.period_cell)
            entry["submissions"].append((sub, sub.status, late))
        entries.append(entry)
    return entries


def _units_of(ledger: Ledger, sha: str, by_sha: dict) -> list[tuple]:
    if sha in by_sha:
        return [(s.unit, s.period) for s in by_sha[sha].submissions] or [(None, None)]
    got = ledger.db.execute(
        "SELECT s.unit, s.period FROM submissions s JOIN files f ON f.id=s.file_id"
        " WHERE f.sha256=? AND f.duplicate_of IS NULL", (sha,)).fetchall()
    return got or [(None, None)]


def _signature(rows) -> str:
    """The form's numbers as one short string (a month of national forms is kept in memory)."""
    return counts_json(rows) or ""


def _same_as_other(ledger: Ledger, twins: dict, sub: Submission) -> str | None:
    """Another unit whose counted form for the period has exactly these numbers (all-zero forms aside)."""
    if sub.period not in twins:
        twins[sub.period] = {}
        for unit, rec in ledger.counted(sub.period).items():
            twins[sub.period].setdefault(_signature(rec.rows), set()).add(unit)
    if all((r.new or 0) == 0 and (r.cumulative or 0) == 0 and (r.reviewing or 0) == 0 for r in sub.rows):
        return None
    seen = twins[sub.period].setdefault(_signature(sub.rows), set())
    other = sorted(seen - {sub.unit})
    seen.add(sub.unit)
    return other[0] if other else None
