"""The ledger: every file received and what became of it, in SQLite under `archive/`.

Counted submission per unit and period: the accepted one received last; the other accepted ones
are superseded (derived when read, never stored, so nothing has to be rewritten when a newer one
arrives). A rejected file never replaces an accepted one. In a month of a closed quarter
(closing.py) the counted one stays the one counted when it was closed; accepted ones recorded later
are `held`, derived in the same way. Everything one intake records is written in one transaction.
The tables are in schema.py; the archive's own record of its files in received_log.py.
"""
from __future__ import annotations

import datetime as dt
import operator
import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from pipeline.core.findings import Finding
from pipeline.core.model import Received, Row, Submission, new_received, no_gc, replaced
from pipeline.core.period import Month, Quarter
from pipeline.core.settings import SetupError
from pipeline.store.schema import (
    INDEXES,
    ROWS_VIEW,
    SCHEMA,
    VERSION,
    _checked,
    _fill_totals,
    _gone,
    _upgrade,
    archived_anything,
    damaged,
    rows_of,
    transaction,
)


class Form(NamedTuple):
    """A submission as intake records it: what was read, what became of it, and its counts as the
    ledger keeps them (`counts_json`: intake has them in hand, it compares forms by them)."""
    submission: Submission
    status: str             # accepted | rejected | duplicate
    late: bool
    counts: str | None


@dataclass
class Entry:
    """One file received, as one intake records it (`Ledger.record`) and logs it (received_log)."""
    sha256: str
    name: str                       # the name it was received under
    archived: str                   # its path in the archive
    received_at: dt.datetime
    size: int
    source: str                     # the inbox file it came as (the e-mail, for an attachment)
    inbox: str | None = None        # the inbox path to remove once recorded (None: an attachment)
    kind: str | None = None         # xlsx, xls, ods …; "eml" an e-mail; "other" a non-workbook attachment
    duplicate_of: int | None = None   # the file id of the same bytes received before
    forms: list[Form] = field(default_factory=list)
    attached: bool = False          # came with the e-mail entered last before it
    note: str | None = None         # an e-mail's text
    empty: bool = False             # an e-mail that brought no workbook
    run_period: str | None = None   # the period of the run that first took it in (a file recorded again)


_INSERTS = ("INSERT INTO files(id, sha256, name, archived, received_at, size, kind, source, run_id, run_period,"
            " duplicate_of) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            "INSERT INTO submissions(id, file_id, sheet, unit, period, status, late, received_at, cells, counts)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            "INSERT INTO findings VALUES (?,?,?,?,?,?)", "INSERT INTO attached(file_id, mail_id) VALUES (?,?)",
            "INSERT INTO notes(file_id, note) VALUES (?,?)", "INSERT INTO form_totals VALUES (?,?,?)")
_NEW, _REVIEWING = operator.itemgetter(2), operator.itemgetter(4)   # a Row's new and reviewing

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
        there the file is read as immutable (nothing else can be writing it). It never writes: a ledger
        of an older version is refused (a writer upgrades it)."""
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
            if version < VERSION:   # written by an older version: upgraded by a writer, never here
                db.close()
                raise SetupError(f"台账 {path} 由旧版本写入，需先在可写的存档上运行一次 monthly（升级台账）后才能查看。")
        except sqlite3.DatabaseError as error:
            raise SetupError(damaged(path, error)) from None
        return cls(db, path)

    def close(self):
        self.db.close()

    def transaction(self):
        """`with ledger.transaction():` the writes in it made whole or not at all."""
        return transaction(self.db)

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
        with self.transaction():
            self.db.executemany("UPDATE intake SET removed=1 WHERE rowid=?", [(r,) for r in intake_rows])

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

    def record(self, entries: list[Entry], run_id: int | None, run_period: str | None,
               log_end: int | None = None) -> dict[str, int]:
        """Record what one intake took in, in one transaction; returns each inbox path's intake row
        (for `mark_removed`). `log_end`: the end of the received log's lines these entries are
        (kept in the same transaction: what the ledger holds of the log, `reconcile`)."""
        db = self.db
        with self.transaction():   # ids given here (the lock is held), so that each table takes one executemany
            first = [db.execute(f"SELECT coalesce(max({k}), 0) FROM {t}").fetchone()[0]
                     for k, t in (("id", "files"), ("id", "submissions"))]
            rows = self._rows(entries, run_id, run_period, *first)
            for sql, values in zip(_INSERTS, rows):
                db.executemany(sql, values)
            row = db.execute("SELECT coalesce(max(rowid), 0) FROM intake").fetchone()[0]
            taken = [(row + k, e.inbox, e.sha256, run_id) for k, e in enumerate((e for e in entries if e.inbox), 1)]
            db.executemany("INSERT INTO intake(rowid, inbox_path, sha256, run_id) VALUES (?,?,?,?)", taken)
            if log_end is not None:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('log_end', ?)", (str(log_end),))
        return {path: r for r, path, _, _ in taken}

    def _rows(self, entries: list[Entry], run_id, run_period, file_id: int, sid: int) -> tuple[list, ...]:
        """The rows `record` inserts, table by table (`_INSERTS`), ids following `file_id` and `sid`."""
        files, subs, finds, attached, notes, totals, mail = [], [], [], [], [], [], None
        for e in entries:
            file_id += 1
            at, where = _iso(e.received_at), e.archived
            where = where[len(self.base):] if where.startswith(self.base) else os.path.relpath(where, self.path.parent)
            files.append((file_id, e.sha256, e.name, where, at, e.size, e.kind, e.source, run_id,
                          e.run_period or run_period, e.duplicate_of))
            if e.kind == "eml":
                mail = file_id
                if e.note:
                    notes.append((file_id, e.note))
            elif e.attached and mail is not None:
                attached.append((file_id, mail))
            for sub, status, late, counts in e.forms:
                sid += 1
                subs.append((sid, file_id, sub.sheet, sub.unit, sub.period, status, int(late), at,
                             sub.cells.as_json() if sub.cells else None, counts))
                finds += [(sid, f.code, f.severity, f.cell, f.message, f.value) for f in sub.findings]
                if sub.rows:
                    totals.append((sid, sum(filter(None, map(_NEW, sub.rows))), sum(filter(None, map(_REVIEWING, sub.rows)))))
        return files, subs, finds, attached, notes, totals

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

    @property
    def identity(self) -> str:
        """Which ledger this is (`meta.ledger_id`): a rebuilt one numbers its submissions afresh."""
        return self.db.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()[0]

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




# --- the received log: the archive's own record of what each of its files is ------------------------


