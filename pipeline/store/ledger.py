"""The ledger: every file received and what became of it, in SQLite under `archive/`.

Counted submission per unit and period: the accepted one received last; the other accepted ones
are superseded (derived when read, never stored, so nothing has to be rewritten when a newer one
arrives). A rejected file never replaces an accepted one. In a month of a closed quarter
(closing.py) the counted one stays the one counted when it was closed; accepted ones recorded later
are `held`, derived in the same way. Everything one intake records is written in one transaction.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import operator
import os
import re
import sqlite3
import uuid
from pathlib import Path

from pipeline.core.findings import Finding
from pipeline.core.model import INDUSTRIES, ROW_KEY, ROW_KEYS, Received, Row, new_received, no_gc, replaced, rows_of_counts
from pipeline.core.period import Month, Quarter
from pipeline.core.settings import SetupError

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
-- the enterprise register (ENTERPRISES.md §1): each import, the rows it could use, its revisits and findings
-- (pipeline/register_ledger.py writes and reads them); dates as ISO text
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
-- MAIL.md: each message taken from the mailbox (written to the inbox before this row, moved on the
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
LOG = "received.log"   # in the archive: a line for every file received (`append_log`)

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


# A period's submissions: those read as of the period, and what could not be read in a run for it.
_OF_PERIOD = "s.period = ? OR (s.period IS NULL AND f.run_period = ?)"


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


class Ledger:
    def __init__(self, db: sqlite3.Connection, path: Path, upto: int | None = None, closed: dict | None = None):
        self.db = db
        self.path = path
        self.base = str(path.parent) + os.sep   # archive paths are kept relative to the archive
        self.upto = upto       # read as the ledger stood when this submission was the last recorded,
        self.closed = closed   # with these months closed then (`closed_months`)

    def as_of(self, last_submission: int, closed: dict[str, int]) -> Ledger:
        """The same ledger read as it stood when `last_submission` was the last one recorded and the
        months of `closed` were closed (a closed quarter's outputs are made from it)."""
        return Ledger(self.db, self.path, last_submission, closed)

    @classmethod
    def open(cls, path: Path, new: bool = False) -> Ledger:
        """The ledger at `path` for writing, made if there is none and the archive holds no file yet.
        SetupError when it cannot be trusted: damaged, written by a newer version, a column renamed
        or missing, or gone while the archive holds files (the archive is the source of truth:
        `rebuild-ledger` makes a new one from it, with `new`)."""
        path = Path(path)
        if not new and not path.exists() and archived_anything(path.parent):
            raise SetupError(_gone(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=60)
            version = _checked(db, path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            if version < VERSION:
                _upgrade(db, path.parent)
            db.executescript(INDEXES)
            db.executescript(ROWS_VIEW)
            _fill_totals(db)
            # which ledger this is: a rebuilt one gets a new id, so every period's outputs are made again
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('ledger_id', ?)", (uuid.uuid4().hex,))
        except sqlite3.DatabaseError as error:
            raise SetupError(damaged(path, error)) from None
        return cls(db, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Ledger:
        """The ledger for reading only (`status`, `check`): it works on a read-only archive (a copy
        on a CD, a mount without write permission), where SQLite cannot make the WAL's index file;
        there the file is read as immutable (nothing else can be writing it)."""
        path = Path(path)
        if not path.exists():
            raise SetupError(_gone(path))
        try:
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
                version = _checked(db, path)
            except sqlite3.OperationalError:   # cannot open the WAL's -shm on a read-only file system
                db = sqlite3.connect(f"file:{path}?immutable=1", uri=True, timeout=60)
                version = _checked(db, path)
            if version < VERSION:   # written by an older version: upgraded once, by a writer
                db.close()
                if not os.access(path.parent, os.W_OK):
                    raise SetupError(f"台账 {path} 由旧版本写入，需在可写的存档上运行一次 monthly 升级后才能只读查看。")
                cls.open(path).close()
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
        except sqlite3.DatabaseError as error:
            raise SetupError(damaged(path, error)) from None
        return cls(db, path)

    def close(self):
        self.db.close()

    # --- runs and intake bookkeeping -------------------------------------------------------------

    def start_run(self, kind: str, period: str | None, now: dt.datetime) -> int:
        cur = self.db.execute("INSERT INTO runs(kind, period, started_at) VALUES (?,?,?)",
                              (kind, period, _iso(now)))
        return cur.lastrowid

    def finish_run(self, run_id: int, now: dt.datetime, files_in: int):
        self.db.execute("UPDATE runs SET finished_at=?, files_in=? WHERE id=?", (_iso(now), files_in, run_id))

    def pending_removals(self) -> list[tuple[int, str, str]]:
        """(intake row, inbox path, sha256) of each file recorded but not yet removed from the inbox."""
        return self.db.execute("SELECT rowid, inbox_path, sha256 FROM intake WHERE removed=0").fetchall()

    def mark_removed(self, intake_rows: list[int]):
        """Mark removals done, in one transaction. By row, as `record` or `pending_removals` gave them:
        a quarter of the time of finding each by its path (1.3 s of a national month's intake)."""
        if not intake_rows:
            return
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("UPDATE intake SET removed=1 WHERE rowid=?", [(r,) for r in intake_rows])
        self.db.execute("COMMIT")

    def files_by_sha(self, shas) -> dict[str, tuple]:
        """sha256 -> (id, name, received_at) of the first file received with those bytes."""
        shas, out = list(set(shas)), {}
        for k in range(0, len(shas), 900):
            part = shas[k: k + 900]
            for sha, *first in self.db.execute(
                    "SELECT sha256, id, name, received_at FROM files WHERE duplicate_of IS NULL AND sha256 IN"
                    f" ({','.join('?' * len(part))}) ORDER BY id DESC", part):
                out[sha] = tuple(first)    # by descending id: the first received is written last
        return out

    def record(self, entries: list[dict], run_id: int | None, run_period: str | None,
               log_end: int | None = None) -> dict[str, int]:
        """Record what one intake took in, in one transaction; returns each inbox path's intake row
        (for `mark_removed`). `log_end`: the end of the received log's lines these entries are
        (kept in the same transaction: what the ledger holds of the log, `reconcile`).

        Each entry: sha256, name, archived, received_at, size, kind, source, inbox (path or None),
        duplicate_of (file id or None), submissions: [(Submission, status, late, its `counts_json`)]
        (the caller has the counts in hand already: it compares forms by them); and optionally
        attached (True: it came with the e-mail entered last before it), note (an e-mail's text).
        """
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:   # ids given here (the lock is held), so that each table takes one executemany
            file_id, sid, row = (db.execute(f"SELECT coalesce(max({k}), 0) FROM {t}").fetchone()[0]
                                 for k, t in (("id", "files"), ("id", "submissions"), ("rowid", "intake")))
            files, subs, finds, attached, notes, mail, totals = [], [], [], [], [], None, []
            base = self.base
            for e in entries:
                file_id += 1
                at = _iso(e["received_at"])
                where = e["archived"]
                where = where[len(base):] if where.startswith(base) else os.path.relpath(where, self.path.parent)
                files.append((file_id, e["sha256"], e["name"], where, at, e["size"], e["kind"],
                              e["source"], run_id, e.get("run_period", run_period), e["duplicate_of"]))
                if e["kind"] == "eml":
                    mail = file_id
                    if e.get("note"):
                        notes.append((file_id, e["note"]))
                elif e.get("attached") and mail is not None:
                    attached.append((file_id, mail))
                for sub, status, late, counts in e["submissions"]:
                    sid += 1
                    subs.append((sid, file_id, sub.sheet, sub.unit, sub.period, status, int(late), at,
                                 sub.cells.as_json() if sub.cells else None, counts))
                    finds += [(sid, f.code, f.severity, f.cell, f.message, f.value) for f in sub.findings]
                    if sub.rows:
                        totals.append((sid, sum(filter(None, map(_NEW, sub.rows))),
                                       sum(filter(None, map(_REVIEWING, sub.rows)))))
            db.executemany("INSERT INTO files(id, sha256, name, archived, received_at, size, kind, source, run_id,"
                           " run_period, duplicate_of) VALUES (?,?,?,?,?,?,?,?,?,?,?)", files)
            db.executemany("INSERT INTO submissions(id, file_id, sheet, unit, period, status, late, received_at,"
                           " cells, counts) VALUES (?,?,?,?,?,?,?,?,?,?)", subs)
            db.executemany("INSERT INTO findings VALUES (?,?,?,?,?,?)", finds)
            db.executemany("INSERT INTO attached(file_id, mail_id) VALUES (?,?)", attached)
            db.executemany("INSERT INTO notes(file_id, note) VALUES (?,?)", notes)
            db.executemany("INSERT INTO form_totals VALUES (?,?,?)", totals)
            taken = [(row + k, e["inbox"], e["sha256"], run_id)
                     for k, e in enumerate((e for e in entries if e.get("inbox")), 1)]
            db.executemany("INSERT INTO intake(rowid, inbox_path, sha256, run_id) VALUES (?,?,?,?)", taken)
            if log_end is not None:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('log_end', ?)", (str(log_end),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {path: r for r, path, _, _ in taken}

    def log_end(self) -> int:
        """How much of the archive's received log the ledger holds (bytes from its start)."""
        got = self.db.execute("SELECT value FROM meta WHERE key = 'log_end'").fetchone()
        return int(got[0]) if got else 0

    # --- reading -------------------------------------------------------------------------------

    def _received(self, where: str, params: tuple, rows: bool = True) -> list[Received]:
        with no_gc():   # a million small objects at national scale: collecting midway only costs time
            return self._read(where, params, rows)

    def _read(self, where: str, params: tuple, rows: bool) -> list[Received]:
        if self.upto is not None:
            where = f"({where}) AND s.id <= {int(self.upto)}"
        select = " FROM submissions s JOIN files f ON f.id = s.file_id WHERE " + where
        subs = self.db.execute(
            "SELECT s.id, f.name, f.archived, f.sha256, s.received_at, s.sheet, s.unit, s.period, s.status,"
            f" s.late, {'s.counts' if rows else 'NULL'}, CASE WHEN f.kind = 'eml' THEN f.id ELSE a.mail_id END"
            " FROM submissions s JOIN files f ON f.id = s.file_id LEFT JOIN attached a ON a.file_id = f.id"
            " WHERE " + where + " ORDER BY s.received_at, s.id", params).fetchall()
        if not subs:
            return []
        finds = {}
        for sid, code, sev, cell, msg, val in self.db.execute(
                "SELECT submission_id, code, severity, cell, message, value FROM findings"
                " WHERE submission_id IN (SELECT s.id" + select + ") ORDER BY rowid", params):
            finds.setdefault(sid, []).append(Finding(code, sev, cell, msg, val))
        mails = self._mails({sub[11] for sub in subs if sub[11] is not None})
        out = []
        base = self.base
        for sid, name, archived, sha, at, sheet, unit, period, status, late, counts, mail in subs:
            # Where each count stood (`cells`) stays in the ledger: no output needs it back.
            rec = new_received(sid, name, archived if archived[:1] == "/" else base + archived, sha,
                               dt.datetime.fromisoformat(at), sheet, unit, period, status, bool(late), rows_of(counts),
                               tuple(finds.get(sid, ())))
            if mail is not None:
                others, note = mails.get(mail, ((), None))
                rec = replaced(rec, attachments=others, note=note, by_mail=True)
            out.append(rec)
        return out

    def _mails(self, ids: set[int]) -> dict[int, tuple[tuple[str, ...], str | None]]:
        """For each e-mail: the names of the files it brought that are not workbooks, and its text."""
        out: dict = {}
        ids = list(ids)
        for k in range(0, len(ids), 900):
            part = ids[k:k + 900]
            marks = ",".join("?" * len(part))
            for mail, name in self.db.execute(
                    "SELECT a.mail_id, f.name FROM attached a JOIN files f ON f.id = a.file_id"
                    f" WHERE a.mail_id IN ({marks}) AND f.kind = 'other' ORDER BY f.id", part):
                out.setdefault(mail, [[], None])[0].append(name)
            for mail, note in self.db.execute(f"SELECT file_id, note FROM notes WHERE file_id IN ({marks})", part):
                out.setdefault(mail, [[], None])[1] = note
        return {mail: (tuple(names), note) for mail, (names, note) in out.items()}

    def period_submissions(self, period: str, rows: bool = True) -> list[Received]:
        """Every submission of the period, with superseded ones marked as such; without `rows`, each
        with none (what a receipt needs, read in half the time: `rows_of_ids` gives them later)."""
        subs = self._received(_OF_PERIOD, (period, period), rows)
        last = self.closed_months().get(period, 1 << 62)   # a closed month: what came later is held
        counted = {r.unit: r.id for r in subs if r.status == "accepted" and r.unit and r.id <= last}
        return [r if r.status != "accepted" or counted.get(r.unit) == r.id
                else replaced(r, status="held" if r.id > last else "superseded") for r in subs]

    def counted(self, period: str) -> dict[str, Received]:
        """unit -> the counted submission (the accepted one received last; in a closed month, the one
        counted when it was closed)."""
        out = {}
        last = self.closed_months().get(period)
        for r in self._received("s.period = ? AND s.status = 'accepted'" + ("" if last is None else f" AND s.id <= {last}"),
                                (period,)):
            out[r.unit] = r
        return out

    def closed_months(self) -> dict[str, int]:
        """Each month of a closed quarter -> the last submission counted when it was closed (closing.py)."""
        if self.closed is not None:
            return self.closed
        out = {}
        for quarter, last in self.db.execute("SELECT quarter, last_submission FROM closings WHERE reopened_at IS NULL"):
            for month in Quarter(quarter).months:
                out[month] = int(last)
        return out

    def rows_of_ids(self, ids: list[int]) -> dict[int, tuple[Row, ...]]:
        """Submission id -> its 24 rows."""
        out = {}
        with no_gc():
            for k in range(0, len(ids), 900):
                part = ids[k: k + 900]
                for sid, counts in self.db.execute(
                        f"SELECT id, counts FROM submissions WHERE id IN ({','.join('?' * len(part))})", part):
                    out[sid] = rows_of(counts)
        return out

    def previous_rows(self, keys) -> dict:
        """For each (unit, period) of `keys`: last month's counted cumulative counts of the unit,
        ({(industry, level): cumulative}, "2016-08"); units that did not report are left out."""
        wanted: dict[str, set] = {}
        for unit, period in keys:
            if unit and period:
                wanted.setdefault(Month(period).previous, set()).add(unit)
        out = {}
        closed = self.closed_months()
        for prev, units in wanted.items():
            ids = {}
            last = min(closed.get(prev, 1 << 62), self.upto or 1 << 62)
            for unit, sid in self.db.execute(
                    "SELECT unit, id FROM submissions WHERE period=? AND status='accepted' AND id <= ?"
                    " ORDER BY received_at, id", (prev, last)):
                if unit in units:
                    ids[unit] = sid     # the last one received wins
            counts = {sid: {(r.industry, r.level): r.cumulative for r in rows}
                      for sid, rows in self.rows_of_ids(list(ids.values())).items()}
            this = Month(prev).next
            for unit, sid in ids.items():
                out[(unit, this)] = (counts.get(sid, {}), prev)
        return out

    def submissions_by_id(self, ids: list[int]) -> list[Received]:
        """The submissions of these ids, as recorded (a receipt mailed as it comes in)."""
        out = []
        for k in range(0, len(ids), 900):
            part = ids[k: k + 900]
            out += self._received(f"s.id IN ({','.join('?' * len(part))})", tuple(part))
        return out

    def server_times(self) -> dict[str, dt.datetime]:
        """Inbox file name -> the time the mail server received it (INTERNALDATE), for each message
        fetched from the mailbox and not yet taken in: its received time, which a sender cannot set."""
        return {Path(p).name: dt.datetime.fromisoformat(at) for p, at in self.db.execute(
            "SELECT inbox_path, internal_at FROM mail_in WHERE queued = 0 AND inbox_path IS NOT NULL")}

    def last_counted(self, units, before: str) -> dict[str, tuple[str, tuple[Row, ...]]]:
        """unit -> (month, rows) of its counted submission in the latest month before `before` that
        has one, for each of `units` that has any."""
        wanted = [u for u in dict.fromkeys(units) if u]
        latest: dict = {}
        closed, upto = self.closed_months(), self.upto or 1 << 62
        for k in range(0, len(wanted), 900):
            part = wanted[k: k + 900]
            for unit, period, sid in self.db.execute(
                    "SELECT unit, period, id FROM submissions WHERE status='accepted' AND period < ?"
                    f" AND unit IN ({','.join('?' * len(part))}) ORDER BY period, received_at, id", (before, *part)):
                if sid <= min(closed.get(period, 1 << 62), upto):   # a held form of a closed month is not carried
                    latest[unit] = (period, sid)     # the latest month, and in it the last received
        rows = self.rows_of_ids([sid for _, sid in latest.values()])
        return {unit: (latest[unit][0], rows[latest[unit][1]]) for unit in wanted if unit in latest}

    def run_statuses(self, run_id: int) -> dict[str, int]:
        """How many of a run's submissions were accepted (counted then, even if superseded since),
        rejected, duplicate."""
        return dict(self.db.execute("SELECT s.status, count(*) FROM submissions s JOIN files f ON f.id = s.file_id"
                                    " WHERE f.run_id = ? GROUP BY s.status", (run_id,)))

    def counted_units(self, period: str) -> set[str]:
        """The units with an accepted submission of `period`."""
        return {u for (u,) in self.db.execute(
            "SELECT DISTINCT unit FROM submissions WHERE period = ? AND status = 'accepted'", (period,))}

    def period_count(self, period: str) -> int:
        """How many submissions `period_submissions` gives, without reading them."""
        return self.db.execute("SELECT count(*) FROM submissions s JOIN files f ON f.id = s.file_id WHERE "
                               + _OF_PERIOD, (period, period)).fetchone()[0]

    def state_digest(self, period: str) -> str:
        """Changes whenever anything that feeds the period's outputs changes."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(s.id), 0) FROM submissions s JOIN files f ON f.id=s.file_id"
            " WHERE " + _OF_PERIOD, (period, period)).fetchone()
        prev = self.db.execute("SELECT count(*), coalesce(max(id),0) FROM submissions").fetchone()
        made = self.db.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        closed = self.db.execute("SELECT count(*), count(reopened_at) FROM closings").fetchone()   # closing.py
        return (f"{row[0]}-{row[1]}-{prev[0]}-{prev[1]}" + (f"-{made[0][:8]}" if made else "")
                + (f"-{closed[0]}-{closed[1]}" if closed[0] else ""))


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
_NEW, _REVIEWING = operator.itemgetter(2), operator.itemgetter(4)
_COMPACT = json.JSONEncoder(separators=(",", ":"))   # made once: json.dumps makes one a call for these separators
_INT_OR_NONE = {int, type(None)}


def rows_of(counts: str | None) -> tuple[Row, ...]:
    if not counts:
        return ()
    return rows_of_counts(json.loads(counts))


def _upgrade(db: sqlite3.Connection, archive: Path):
    """A ledger written before versions were kept (user_version 0): its `rows` table moved into
    `submissions.counts`, its index of every intake row dropped, and its archive paths, absolute
    where the archive then stood, made relative to the archive (so that a moved archive works)."""
    db.execute("DROP INDEX IF EXISTS intake_pending")
    if "counts" not in [c[1] for c in db.execute("PRAGMA table_info(submissions)")]:
        db.execute("ALTER TABLE submissions ADD COLUMN counts TEXT")
    db.execute("BEGIN IMMEDIATE")
    try:
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
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


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


# --- the received log: the archive's own record of what each of its files is ------------------------

def log_lines(entries: list[dict], archive: Path, run_period: str | None) -> bytes:
    """One JSON line for each entry (as `record` takes them): what `rebuild-ledger` and `reconcile`
    need to record the file again from the archive alone. Made with f-strings, not json.dumps (a
    national month's 40,000 lines)."""
    base, out = str(archive) + os.sep, []
    period = "null" if run_period is None else _string(run_period)
    for e in entries:
        where = e["archived"]
        where = where[len(base):] if where.startswith(base) else os.path.relpath(where, archive)
        kind = "null" if e["kind"] not in ("eml", "other") else f'"{e["kind"]}"'
        inbox = "null" if not e.get("inbox") else _string(e["inbox"])
        note = "null" if not e.get("note") else _string(e["note"])
        out.append(f'{{"sha256": "{e["sha256"]}", "name": {_string(e["name"])}, "archived": {_string(where)}, '
                   f'"received_at": "{_iso(e["received_at"])}", "size": {e["size"]}, "source": {_string(e["source"])}, '
                   f'"inbox": {inbox}, "kind": {kind}, "attached": {"true" if e.get("attached") else "false"}, '
                   f'"empty": {"true" if e.get("empty") else "false"}, "note": {note}, "run_period": {period}}}\n')
    return "".join(out).encode("utf-8")


def append_log(archive: Path, data: bytes) -> int:
    """Append lines to the received log; returns where the log now ends. Not synced here: the
    chunk's sync of the archive's file system (intake._commit) covers it."""
    with open(archive / LOG, "ab") as f:
        f.write(data)
        return f.tell()


def read_log(archive: Path, start: int = 0) -> tuple[list[dict], int]:
    """The log's whole lines from byte `start` on, and where they end. A last line without its end
    (a run killed as it wrote) is not one: it is cut off, as its files were never recorded."""
    try:
        with open(archive / LOG, "rb") as f:
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return [], start
    whole = data.rfind(b"\n") + 1
    if whole < len(data):
        with open(archive / LOG, "r+b") as f:
            f.truncate(start + whole)
    lines = []
    for line in data[:whole].splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return lines, start + whole


_string = json.encoder.encode_basestring   # a str as JSON (not ASCII-escaped)


def _fill_totals(db: sqlite3.Connection):
    """`form_totals` for forms recorded before it existed (once: later forms are recorded with theirs)."""
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO form_totals SELECT s.id, sum(CASE WHEN j.key % 3 = 0 THEN j.value END),"
               " sum(CASE WHEN j.key % 3 = 2 THEN j.value END) FROM submissions s, json_each(s.counts) j"
               " WHERE s.counts IS NOT NULL AND s.id > (SELECT coalesce(max(submission_id), 0) FROM form_totals)"
               " GROUP BY s.id")
    db.execute("COMMIT")

