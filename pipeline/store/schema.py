"""The ledger's tables (docs/design.md lists them), its version, how an older one is brought up to
date, and the one way every write is wrapped: `transaction`."""
from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import re
import sqlite3
from pathlib import Path

from pipeline.core.model import INDUSTRIES, ROW_KEY, ROW_KEYS, Row, rows_of_counts
from pipeline.core.settings import SetupError
from pipeline.store.received_log import LOG


@contextlib.contextmanager
def transaction(db: sqlite3.Connection):
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when anything in between fails: the ledger's connection
    is in autocommit mode, and every write that must be whole is made in one of these."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, period TEXT, started_at TEXT NOT NULL,
  finished_at TEXT, files_in INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL, archived TEXT NOT NULL,
  received_at TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT, source TEXT, run_id INTEGER,
  run_period TEXT, duplicate_of INTEGER REFERENCES files(id));
CREATE TABLE IF NOT EXISTS intake (
  inbox_path TEXT NOT NULL, sha256 TEXT NOT NULL, run_id INTEGER, removed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS submissions (
  id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), sheet TEXT, unit TEXT,
  period TEXT, status TEXT NOT NULL, late INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL,
  cells TEXT, counts TEXT);
CREATE TABLE IF NOT EXISTS findings (
  submission_id INTEGER NOT NULL REFERENCES submissions(id), code TEXT NOT NULL, severity TEXT NOT NULL,
  cell TEXT, message TEXT NOT NULL, value TEXT);
-- each file that came attached to an e-mail, and the e-mail (its own row in files, kind 'eml')
CREATE TABLE IF NOT EXISTS attached (
  file_id INTEGER PRIMARY KEY REFERENCES files(id), mail_id INTEGER NOT NULL REFERENCES files(id));
-- an e-mail's text (its plain-text body), shown beside the forms it brought
CREATE TABLE IF NOT EXISTS notes (file_id INTEGER PRIMARY KEY REFERENCES files(id), note TEXT NOT NULL);
-- log_end: how much of the archive's received.log the ledger holds (`reconcile`)
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- the enterprise register (docs/register.md §1): each import, the rows it could use, its revisits and findings
-- (pipeline/jobs/register_ledger.py writes and reads them); dates as ISO text
CREATE TABLE IF NOT EXISTS register_imports (
  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, units_sha256 TEXT NOT NULL, name TEXT NOT NULL,
  archived TEXT NOT NULL, imported_at TEXT NOT NULL, rows INTEGER NOT NULL, excluded INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS register_rows (
  import_id INTEGER NOT NULL REFERENCES register_imports(id), row INTEGER NOT NULL, code TEXT NOT NULL,
  name TEXT, unit TEXT, industry TEXT, scale TEXT, status TEXT, grade TEXT, cert_no TEXT, issued TEXT,
  expires TEXT, withdrawn TEXT, reviewer TEXT, inspected TEXT, revisited TEXT, high_risk TEXT);
CREATE INDEX IF NOT EXISTS register_rows_import ON register_rows(import_id);
CREATE TABLE IF NOT EXISTS register_revisits (
  import_id INTEGER NOT NULL REFERENCES register_imports(id), row INTEGER NOT NULL, code TEXT NOT NULL,
  date TEXT, result TEXT, problem TEXT);
CREATE INDEX IF NOT EXISTS register_revisits_import ON register_revisits(import_id);
CREATE TABLE IF NOT EXISTS register_findings (
  import_id INTEGER NOT NULL REFERENCES register_imports(id), code TEXT NOT NULL, severity TEXT NOT NULL,
  cell TEXT, message TEXT NOT NULL, value TEXT);
-- docs/mail.md: each message taken from the mailbox (written to the inbox before this row, moved on the
-- server after its intake), and each mail to send (queued before it is sent, marked once accepted)
CREATE TABLE IF NOT EXISTS mail_in (
  id INTEGER PRIMARY KEY, mailbox TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,
  message_id TEXT, sha256 TEXT NOT NULL, internal_at TEXT NOT NULL, inbox_path TEXT, fetched_at TEXT NOT NULL,
  queued INTEGER NOT NULL DEFAULT 0, moved_at TEXT, UNIQUE (mailbox, uidvalidity, uid));
CREATE INDEX IF NOT EXISTS mail_in_message ON mail_in(message_id);
CREATE TABLE IF NOT EXISTS mail_out (
  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, message_id TEXT NOT NULL,
  to_addr TEXT, subject TEXT NOT NULL, message BLOB NOT NULL, queued_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT);
CREATE INDEX IF NOT EXISTS mail_out_waiting ON mail_out(next_try) WHERE sent_at IS NULL;
-- a quarter closed once its 通报 is issued (closing.py): its months count what was counted up to
-- `last_submission`; what comes later is kept and shown, and counted only once it is reopened
CREATE TABLE IF NOT EXISTS closings (
  id INTEGER PRIMARY KEY, quarter TEXT NOT NULL, closed_at TEXT NOT NULL, last_submission INTEGER NOT NULL,
  closed_then TEXT NOT NULL, issued TEXT, doc_number TEXT, note TEXT, reopened_at TEXT, reason TEXT,
  register_import INTEGER);   -- the enterprise register's import the 通报 used
-- each form's sums of 当月完成 and 正在评审: a unit's months at a glance, for the OUTLIER check
CREATE TABLE IF NOT EXISTS form_totals (
  submission_id INTEGER PRIMARY KEY REFERENCES submissions(id), new INTEGER, reviewing INTEGER);
"""


INDEXES = """
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
-- only the files still waiting to be removed from the inbox: a few thousand at most, however many
-- months the ledger holds (an index of every row grew without end, and cost each insert and removal)
CREATE INDEX IF NOT EXISTS intake_waiting ON intake(inbox_path) WHERE removed = 0;
CREATE INDEX IF NOT EXISTS submissions_period ON submissions(period, unit);
CREATE INDEX IF NOT EXISTS findings_sub ON findings(submission_id);
CREATE INDEX IF NOT EXISTS attached_mail ON attached(mail_id);
"""


VERSION = 1   # PRAGMA user_version of a ledger with the tables above (0: written before versions were kept)


# The columns each table must have: a ledger with one renamed or missing is refused, never re-created.
COLUMNS = {"runs": {"id", "kind", "period", "started_at", "finished_at", "files_in"},
           "files": {"id", "sha256", "name", "archived", "received_at", "size", "kind", "source", "run_id",
                     "run_period", "duplicate_of"},
           "intake": {"inbox_path", "sha256", "run_id", "removed"},
           "submissions": {"id", "file_id", "sheet", "unit", "period", "status", "late", "received_at", "cells",
                           "counts"},
           "findings": {"submission_id", "code", "severity", "cell", "message", "value"},
           "attached": {"file_id", "mail_id"}, "notes": {"file_id", "note"}, "meta": {"key", "value"}}


# The form's 24 rows of a submission are kept in one JSON column, `submissions.counts`: 72 numbers,
# industry by level by (当月完成, 累计完成, 正在评审), null where a cell could not be read. One value per
# form instead of 24 rows keeps national months fast to record and read; the view `rows` gives them
# back as the tidy table for anyone querying the ledger.
ROWS_VIEW = """
CREATE VIEW IF NOT EXISTS rows AS
WITH industries(k, industry) AS (VALUES {industries}), levels(level) AS (VALUES (1), (2), (3))
SELECT s.id AS submission_id, i.industry, l.level,
       json_extract(s.counts, '$[' || ((i.k * 3 + l.level - 1) * 3) || ']') AS new,
       json_extract(s.counts, '$[' || ((i.k * 3 + l.level - 1) * 3 + 1) || ']') AS cumulative,
       json_extract(s.counts, '$[' || ((i.k * 3 + l.level - 1) * 3 + 2) || ']') AS reviewing
FROM submissions s, industries i, levels l WHERE s.counts IS NOT NULL
ORDER BY s.id, i.k, l.level;
""".format(industries=", ".join(f"({k}, '{name}')" for k, name in enumerate(INDUSTRIES)))


def _upgrade(db: sqlite3.Connection, archive: Path):
    """A ledger written before versions were kept (user_version 0): its `rows` table moved into
    `submissions.counts`, its index of every intake row dropped, and its archive paths, absolute
    where the archive then stood, made relative to the archive (so that a moved archive works)."""
    db.execute("DROP INDEX IF EXISTS intake_pending")
    if "counts" not in [c[1] for c in db.execute("PRAGMA table_info(submissions)")]:
        db.execute("ALTER TABLE submissions ADD COLUMN counts TEXT")
    with transaction(db):
        if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rows'").fetchone() is not None:
            got = db.execute("SELECT submission_id, industry, level, new, cumulative, reviewing FROM rows"
                             " ORDER BY submission_id, rowid")
            updates = []
            for sid, group in itertools.groupby(got, key=operator.itemgetter(0)):
                rows = sorted((Row(*t[1:]) for t in group), key=lambda r: ROW_KEYS.index((r.industry, r.level)))
                updates.append((counts_json(rows), sid))
            db.executemany("UPDATE submissions SET counts=? WHERE id=?", updates)
            db.execute("DROP TABLE rows")
        base = str(archive) + os.sep
        moved = []
        for file_id, where in db.execute("SELECT id, archived FROM files WHERE archived LIKE '/%'").fetchall():
            tail = re.search(r"(?:^|/)(files/[0-9]{4}-[0-9]{2}/[^/]+)$", where)
            if where.startswith(base) or tail:
                moved.append((where[len(base):] if where.startswith(base) else tail[1], file_id))
        db.executemany("UPDATE files SET archived=? WHERE id=?", moved)
        _sweep_old_parts(archive)
        db.execute(f"PRAGMA user_version = {VERSION}")


def _sweep_old_parts(archive: Path) -> None:
    """Copies a killed run of a version before `VERSION` left half-made beside the archived files
    (`.part-<pid>-<n>` in files/<month>/), removed once: copies are now made in archive/.part/,
    which every run empties."""
    with contextlib.suppress(OSError), os.scandir(archive / "files") as months:
        for month in months:
            if month.is_dir(follow_symlinks=False):
                with os.scandir(month.path) as entries:
                    for e in entries:
                        if e.name.startswith(".part-") and e.is_file(follow_symlinks=False):
                            os.unlink(e.path)


def _checked(db: sqlite3.Connection, path: Path) -> int:
    """The ledger's version, once it is known to be one this version can read and write: not newer,
    and no table with a column renamed or missing (SetupError). A damaged file raises
    sqlite3.DatabaseError here, at its first read."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise SetupError(f"台账 {path} 由较新版本的本系统写入（台账版本 {version}，本版本只认识到 {VERSION}）。"
                         "为免损坏它，本次没有运行：请使用新版本的本系统。")
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    problems = []
    for table, columns in COLUMNS.items():
        if table not in tables:
            if version == VERSION:
                problems.append(f"缺少 {table} 表")
            continue
        have = {c[1] for c in db.execute(f"PRAGMA table_info({table})")}
        missing = columns - have - ({"counts"} if version < VERSION else set())
        if missing:
            problems.append(f"{table} 表缺少 {'、'.join(sorted(missing))} 列")
    if problems:
        raise SetupError(f"台账 {path} 的结构被改动过（{'；'.join(problems)}），不能确定其中的记录是否可靠，本次没有运行。"
                         f"存档中的原件不受影响：请运行 python -m pipeline rebuild-ledger --archive {path.parent}"
                         " 从存档重建台账（原台账会改名保留），再重新运行。")
    return version


def _gone(path: Path) -> str:
    return (f"台账 {path} 不见了，但存档 {path.parent} 中有收到过的文件。为免把已收到的报表当作未报，本次没有运行。"
            f"请运行 python -m pipeline rebuild-ledger --archive {path.parent} 从存档重建台账，再重新运行。")


def damaged(path: Path, error: Exception) -> str:
    """What to tell staff about a ledger SQLite cannot read (`file is not a database`, `database disk
    image is malformed`)."""
    return (f"台账 {path} 已损坏，无法读取（{error}）。存档中的原件不受影响：请运行 python -m pipeline rebuild-ledger"
            f" --archive {path.parent} 从存档重建台账（损坏的台账会改名保留），再重新运行。")


def archived_anything(archive: Path) -> bool:
    """Whether the archive holds a received file (or the log of one): then a missing ledger is lost,
    not new."""
    with contextlib.suppress(OSError):
        if os.path.getsize(archive / LOG):
            return True
    with contextlib.suppress(OSError), os.scandir(archive / "files") as months:
        for month in months:
            if month.is_dir(follow_symlinks=False):
                with os.scandir(month.path) as entries:
                    if any(not e.name.startswith(".") for e in entries):
                        return True
    return False


def _fill_totals(db: sqlite3.Connection):
    """`form_totals` for forms recorded before it existed (once: later forms are recorded with theirs)."""
    with transaction(db):
        db.execute("INSERT INTO form_totals SELECT s.id, sum(CASE WHEN j.key % 3 = 0 THEN j.value END),"
                   " sum(CASE WHEN j.key % 3 = 2 THEN j.value END) FROM submissions s, json_each(s.counts) j"
                   " WHERE s.counts IS NOT NULL AND s.id > (SELECT coalesce(max(submission_id), 0) FROM form_totals)"
                   " GROUP BY s.id")


def counts_json(rows) -> str | None:
    """A form's 24 rows as the ledger keeps them (`submissions.counts`)."""
    if not rows:
        return None
    assert tuple(map(ROW_KEY, rows)) == ROW_KEYS, "rows in the form's order"
    counts = list(itertools.chain.from_iterable(map(_ROW_COUNTS, rows)))
    if set(map(type, counts)) <= _INT_OR_NONE:   # as nearly always: a list's repr is its JSON but for
        return repr(counts).replace(" ", "").replace("None", "null")   # spaces and None, in half the time
    return _COMPACT.encode(counts)


_ROW_COUNTS = operator.itemgetter(2, 3, 4)   # a Row's new, cumulative, reviewing


_COMPACT = json.JSONEncoder(separators=(",", ":"))   # made once: json.dumps makes one a call for these separators


_INT_OR_NONE = {int, type(None)}


def rows_of(counts: str | None) -> tuple[Row, ...]:
    if not counts:
        return ()
    return rows_of_counts(json.loads(counts))
