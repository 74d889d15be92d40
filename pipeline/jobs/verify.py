"""`verify` and `rebuild-ledger`: the archive is the source of truth, the ledger an index of it.

The archive holds every file received, byte for byte, under `files/YYYY-MM/`, and `received.log`, a
line for each file saying what it is: the name it came under, when it was received, the e-mail it
came with, the run it was taken in by. `verify` checks the ledger against the archive; `rebuild-ledger`
makes a new ledger from the archive alone, each file checked again as of the month it was received.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

from pipeline.check.check import check_files
from pipeline.core.period import Month
from pipeline.core.settings import Settings
from pipeline.core.text import printable
from pipeline.jobs.intake import reconcile
from pipeline.read.eml import is_mail, read_eml
from pipeline.store.carry import carry_over
from pipeline.store.files import NotRegular, open_regular
from pipeline.store.ledger import Ledger
from pipeline.store.received_log import LOG, append_log, read_log
from pipeline.store.schema import counts_json

_ARCHIVED = re.compile(r"([0-9a-f]{16})_(.+)")   # files/2016-09/<sha256[:16]>_<name as received>


def _say(text: str) -> None:
    print(printable(text))


def verify(folders: dict, settings: Settings, units) -> int:
    """Every ledger row's archived file is there and hashes to its recorded sha256; every form's
    counts are those a fresh read of its archived file gives; the received log is all recorded.
    Prints each difference; 0 when there is none, 1 otherwise."""
    archive = folders["archive"]
    path = archive / "ledger.sqlite"
    if not path.exists():
        _say(f"存档 {archive} 中没有台账。如果其中有收到过的文件，请运行 python -m pipeline rebuild-ledger 重建。")
        return 1
    ledger = Ledger.open_readonly(path)
    files = ledger.db.execute("SELECT id, sha256, name, archived, kind, duplicate_of FROM files ORDER BY id").fetchall()
    problems, readable = _files_as_recorded(archive, files)
    problems += _counts_as_read(ledger, readable, units, settings)
    log_size = os.path.getsize(archive / LOG) if (archive / LOG).exists() else 0
    if ledger.log_end() < log_size:
        lines, _ = read_log_copy(archive, ledger.log_end())
        problems.append(f"收件记录 {LOG} 中有 {len(lines)} 个文件台账中还没有（上次运行中途停止，或台账的 -wal 文件丢失）："
                        "下一次运行 monthly 时会补登。")
    known = {where for (where,) in ledger.db.execute("SELECT archived FROM files")}
    orphans = [rel for rel in _archived_files(archive)   # not those whose original the next run takes (linked)
               if rel not in known and os.stat(archive / rel).st_nlink == 1]
    ledger.close()
    if orphans:
        problems.append(f"存档中有 {len(orphans)} 个文件台账中没有记录（如 {orphans[0]}）：多为中途停止的运行留下，"
                        "其原件仍在收件箱中时下次运行会登记；否则请运行 rebuild-ledger。")
    checked = len(files)
    if not problems:
        _say(f"核对完毕：台账中的 {checked} 个文件都在存档中，内容未变，{len(readable)} 个报表文件的数字与重新读取的相同。")
        return 0
    _say(f"核对了台账中的 {checked} 个文件，发现 {len(problems)} 处不一致：")
    for line in problems:
        _say(f"  {line}")
    return 1


def _files_as_recorded(archive: Path, files: list) -> tuple[list[str], list[tuple]]:
    """What differs between the ledger's files and the archive's (missing, not a regular file, other
    bytes); and (file id, path, name) of each workbook to read again."""
    problems, readable = [], []
    for file_id, sha, name, where, kind, duplicate in files:
        full = where if os.path.isabs(where) else os.path.join(archive, where)
        try:
            fd, _st = open_regular(full)
        except FileNotFoundError:
            problems.append(f"缺少存档文件：{where}（收到时名为“{name}”）")
            continue
        except NotRegular:
            problems.append(f"存档中的 {where}（“{name}”）不是普通文件")
            continue
        with open(fd, "rb") as f:
            got = hashlib.file_digest(f, "sha256").hexdigest()
        if got != sha:
            problems.append(f"存档文件 {where}（“{name}”）的内容与登记时不同：sha256 应为 {sha[:16]}…，现为 {got[:16]}…")
        elif kind not in ("eml", "other") and duplicate is None:
            readable.append((file_id, full, name))
    return problems, readable


def _counts_as_read(ledger: Ledger, readable: list, units, settings: Settings) -> list[str]:
    """Each form whose counts in the ledger differ from those its archived file gives when read again."""
    stored: dict[int, dict] = {}
    for file_id, sheet, counts in ledger.db.execute("SELECT file_id, sheet, counts FROM submissions"):
        stored.setdefault(file_id, {})[sheet] = counts
    results = check_files([(Path(full), name) for _, full, name in readable], units, settings) if readable else []
    problems = []
    for (file_id, _full, name), result in zip(readable, results):
        fresh = {s.sheet: counts_json(s.rows) for s in result.submissions}
        mine = stored.get(file_id, {})
        for sheet in sorted(set(fresh) | set(mine), key=str):
            if fresh.get(sheet) != mine.get(sheet):
                where = f"工作表“{sheet}”" if sheet else "整个文件"
                problems.append(f"“{name}”{where}：台账中的数字与重新读取存档文件所得不同（台账 {mine.get(sheet)}，"
                                f"重新读取 {fresh.get(sheet)}）")
    return problems


def read_log_copy(archive: Path, start: int) -> tuple[list[dict], int]:
    """The log's whole lines from `start`, read without changing the log (verify only reads)."""
    with open(archive / LOG, "rb") as f:
        f.seek(start)
        data = f.read()
    whole = data[:data.rfind(b"\n") + 1]
    lines = []
    for line in whole.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines, start + len(whole)


def _archived_files(archive: Path) -> list[str]:
    """Every file under archive/files/<month>/, as a path relative to the archive."""
    out = []
    root = archive / "files"
    if not root.is_dir():
        return out
    for month in sorted(os.scandir(root), key=lambda e: e.name):
        if month.is_dir(follow_symlinks=False) and not month.name.startswith("."):
            out += [f"files/{month.name}/{e.name}" for e in sorted(os.scandir(month.path), key=lambda e: e.name)
                    if not e.name.startswith(".")]
    return out


def rebuild_ledger(folders: dict, settings: Settings, units) -> int:
    """A new ledger from the archive alone. The ledger there (damaged, altered, or fine) is kept
    under a new name; every file is recorded again as the received log describes it, and each file
    the log does not name (an archive from before the log was kept) from the file itself: an e-mail
    from its Date and attachments, any other file received at its modification time. What the
    archive cannot tell (the register's imports, mail, closed quarters) is taken from the old ledger
    where it can still be read (store/carry.py)."""
    from pipeline.jobs.lock import run_lock
    archive = folders["archive"]
    path = archive / "ledger.sqlite"
    with run_lock(archive):
        kept = _set_aside(path, dt.datetime.now(settings.tz))
        lines, end = read_log(archive, 0)
        extra = _unlogged(archive, lines, settings)
        if extra:
            end = append_log(archive, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in extra).encode())
        seen, everything = set(), []
        for line in lines + extra:
            key = (line["sha256"], line["received_at"], line["name"], line["source"])
            if key not in seen:   # a run that archived, stopped before recording and ran again logged it twice
                seen.add(key)
                everything.append(dict(line, inbox=None))   # the inbox is the next run's: nothing removed here
        ledger = Ledger.open(path, new=True)
        try:   # in the log's order, the order they were first recorded in (a closing's cut-off counts by it)
            reconcile(archive, ledger, units, settings, set(), everything, end)
            forms = ledger.db.execute("SELECT count(*) FROM submissions WHERE counts IS NOT NULL").fetchone()[0]
            count = ledger.db.execute("SELECT count(*) FROM files").fetchone()[0]
            carried = carry_over(kept, ledger.db)
        finally:
            ledger.close()
    _say(f"已从存档 {archive} 重建台账：{count} 个文件，{forms} 份报表。"
         + (f"原台账已改名为 {kept.name} 保留。" if kept else "")
         + (f"其中 {len(extra)} 个文件不在收件记录中，收到时间取自邮件的 Date 或文件的修改时间。" if extra else ""))
    for line in carried:
        _say(line)
    _say("请重新运行 monthly（及 quarterly）以更新输出。")
    return 0


def _set_aside(path: Path, now: dt.datetime) -> Path | None:
    """Move the ledger there (with its -wal and -shm) to ledger.replaced-<time>.sqlite."""
    if not path.exists():
        return None
    kept = path.with_name(f"ledger.replaced-{now:%Y%m%d-%H%M%S}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            os.replace(old, f"{kept}{suffix}")
    return kept


def _unlogged(archive: Path, lines: list[dict], settings: Settings) -> list[dict]:
    """Log lines for the archived files the log does not name: each e-mail with the files it brought
    (found by their hash), then every other file, received at its modification time."""
    named = {line["archived"] for line in lines}
    # Not named, and still hard-linked from elsewhere: archived by a run that stopped before recording it,
    # its original still in the inbox. The next run takes that one (and removes it); recorded here, it
    # would come in again as a duplicate.
    rest = [rel for rel in _archived_files(archive) if rel not in named and os.stat(archive / rel).st_nlink == 1]
    if not rest:
        return []
    tz = settings.tz
    by_sha: dict[str, list[str]] = {}
    for rel in rest:
        got = _ARCHIVED.fullmatch(rel.rsplit("/", 1)[1])
        if got:
            by_sha.setdefault(got[1], []).append(rel)
    out, used = [], set()

    def line(rel: str, name: str, at: dt.datetime, source: str, **more) -> dict:
        data = (archive / rel).read_bytes()
        return {"sha256": hashlib.sha256(data).hexdigest(), "name": name, "archived": rel,
                "received_at": at.isoformat(timespec="seconds"), "size": len(data), "source": source, "inbox": None,
                "kind": None, "attached": False, "empty": False, "note": None,
                "run_period": Month.at(at), **more}

    def received_at(rel: str) -> dt.datetime:
        return dt.datetime.fromtimestamp(os.stat(archive / rel).st_mtime, tz)

    for rel in rest:
        name = _name_of(rel)
        if not is_mail(name):
            continue
        mail = read_eml((archive / rel).read_bytes(), settings.limits)
        at = mail.date.astimezone(tz) if mail.date else received_at(rel)
        out.append(line(rel, name, at, name, kind="eml", empty=not mail.attachments, note=mail.body or None))
        used.add(rel)
        for kind, attachment in [(None, a) for a in mail.attachments] + [("other", a) for a in mail.others]:
            sha = hashlib.sha256(attachment.data).hexdigest()
            match = [r for r in by_sha.get(sha[:16], []) if r not in used]
            if match:
                used.add(match[0])
                out.append(line(match[0], attachment.name, at, name, kind=kind, attached=True))
    out += [line(rel, _name_of(rel), received_at(rel), _name_of(rel)) for rel in rest if rel not in used]
    return out


def _name_of(rel: str) -> str:
    base = rel.rsplit("/", 1)[1]
    got = _ARCHIVED.fullmatch(base)
    return got[2] if got else base
