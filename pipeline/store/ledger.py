"""The ledger: every file received and what became of it, in SQLite under `archive/`.

Counted submission per unit and period: the accepted one received last; the other accepted ones
are superseded (derived when read, never stored, so nothing has to be rewritten when a newer one
arrives). A rejected file never replaces an accepted one. In a month of a closed quarter
(closing.py) the counted one stays the one counted when it was closed; accepted ones recorded later
are `held`, derived in the same way. Everything one intake records is written in one transaction.
The tables are in schema.py, the reads in ledger_queries.py; the archive's own record of its files in
received_log.py.
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

from pipeline.core.model import Submission
from pipeline.core.settings import SetupError
from pipeline.store.ledger_queries import Queries
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


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


class Ledger(Queries):
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
