"""What is in the inbox and ready to take, and putting it in the archive.

Intake's step 1 (see intake.py): a file is ready when it is a regular file, a spreadsheet or an
e-mail, and no longer being written; it is archived under its hash (a worker links or copies plain
files as it reads them; e-mails and their attachments are staged here), and a chunk's archive is
synced once before the chunk is recorded. Step 4: recorded inbox files removed, same bytes only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pipeline.core.settings import Settings
from pipeline.core.text import printable
from pipeline.jobs.mail.senders import address_of
from pipeline.read.eml import is_mail, read_eml
from pipeline.read.sniff import human
from pipeline.store.files import NotRegular, folder_for, open_regular, put, sync_filesystem
from pipeline.store.ledger import Ledger

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


def litter(name: str) -> bool:
    """An editor's lock file, a system's litter or a hidden file: passed over without a word."""
    return name.startswith(("~$", ".~lock", "._", ".")) or name.lower() in LITTER


def wanted(name: str) -> bool:
    """A spreadsheet or an e-mail, not an editor's lock file or a system's litter."""
    low = name.lower()
    if name.startswith(("~$", ".~lock", "._")) or low in LITTER:
        return False
    stem, _, ending = low.rpartition(".")   # os.path.splitext's ending, without its Python call a file
    return bool(stem.lstrip(".")) and "." + ending in SPREADSHEETS or is_mail(low)


def folder_of(archive: Path, received_at: dt.datetime, made: dict) -> str:
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
    not archive), synced with its chunk (`commit`)."""
    path: str          # its final path in the archive
    sha256: str
    size: int
    tmp: str | None    # where its bytes wait for the sync, to be renamed to `path`; None when linked there


def stage(archive: Path, source, name: str, received_at: dt.datetime, made: dict) -> Staged:
    """Put a file (its path) or bytes into the archive here, in this process (e-mail attachments, and
    files a worker could not archive); the caller syncs the whole batch once (`commit`)."""
    folder = folder_of(archive, received_at, made)
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


def commit(archive: Path, staged: list):
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
            remove(inbox_path)
    ledger.mark_removed([row for row, _, _ in pending])


ODD = {"symlink": "是符号链接（快捷方式）", "other": "不是普通文件（管道、设备或套接字）"}
NOT_TAKEN = "不是电子表格（.xlsx、.xls、.ods 等）或邮件（.eml）"


def _inbox(inbox: Path, odd: list | None = None) -> list[tuple[str, float, int, int]]:
    """Every wanted regular file under the inbox, its path as text (a Path object each would cost as
    much as the rest of the scan), with its modification time, size and mtime in ns (one stat a
    file). Symlinks are not followed (into a folder or to a file), nor is anything but a regular
    file read: each is put in `odd` as (path, what it is), and left where it is; so is a regular file
    that is neither a spreadsheet nor an e-mail (a 情况说明.docx dropped beside the forms)."""
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
                    elif odd is not None and not litter(e.name):
                        odd.append((e.path, NOT_TAKEN))
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
    # A message fetched from the mailbox was renamed into the inbox whole: only other files may still be
    # being written (its INTERNALDATE mtime is seconds old when the watcher answers as mail arrives).
    fetched = [f for f in scanned if os.path.basename(f[0]) in server_times]
    scanned = fetched + _steady([f for f in scanned if os.path.basename(f[0]) not in server_times],
                                float(settings.limits.get("settle_seconds", 0)), odd)
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
        elif why == NOT_TAKEN:
            print(printable(f"收件箱中的“{path}”{why}，没有收取。情况说明等附件请与报表一起用邮件发来（随邮件的附件会存档并"
                            "列在回执中）；不需要的文件请移出收件箱。"), file=sys.stderr)
        elif why.startswith("有 "):
            print(printable(f"收件箱中的“{path}”{why}，没有读取也没有收取。请与报送单位联系后把它移出收件箱。"),
                  file=sys.stderr)
        else:
            print(printable(f"收件箱中的“{path}”{why}，没有收取，也不会读取它指向的内容。请把报表文件本身放入收件箱，"
                            "并删去这一项。"), file=sys.stderr)


def archived_mail(at: dt.datetime, p: str, mail, archive: Path, made: dict, staged: list) -> list[Incoming]:
    """Step 1 for an e-mail, here: the message and each attachment archived (synced with the chunk)."""
    mail_name = os.path.basename(p)
    s = stage(archive, p, mail_name, at, made)
    staged.append(s)
    out = [Incoming(s.path, mail_name, at, s.sha256, s.size, mail_name, p, empty_mail=not mail.attachments, why_empty=mail.reason,
                    kind="eml", note=mail.body or None)]
    sender = address_of(mail.sender)
    for k, a in enumerate(mail.attachments):
        name = a.name or f"附件{k + 1}.xlsx"
        s = stage(archive, a.data, name, at, made)
        staged.append(s)
        out.append(Incoming(s.path, name, at, s.sha256, s.size, mail_name, None, attached=True, sender=sender))
    for a in mail.others:   # 情况说明.docx and the like: kept and listed, not checked
        s = stage(archive, a.data, a.name, at, made)
        staged.append(s)
        out.append(Incoming(s.path, a.name, at, s.sha256, s.size, mail_name, None, kind="other", attached=True))
    return out


def anything_in(inbox: Path) -> bool:
    try:
        with os.scandir(inbox) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
