"""The ledger: every file received and what became of it, in SQLite under `archive/`.

Counted submission per unit and period: the accepted one received last; the other accepted ones
are superseded (derived when read, never stored, so nothing has to be rewritten when a newer one
arrives). A rejected file never replaces an accepted one. In a month of a closed quarter
(closing.py) the counted one stays the one counted when it was closed; accepted ones recorded later
are `held`, derived in the same way. Everything one intake records is written in one transaction.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import operator
import sqlite3
from pathlib import Path

from .findings import Finding
from .model import INDUSTRIES, ROW_KEY, ROW_KEYS, Received, Row, new_received, no_gc, replaced, rows_of_counts

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, period TEXT, started_at TEXT NOT NULL,
  finished_at TEXT, files_in INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL, archived TEXT NOT NULL,
  received_at TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT, source TEXT, run_id INTEGER,
  run_period TEXT, duplicate_of INTEGER REFERENCES files(id));
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS intake (
  inbox_path TEXT NOT NULL, sha256 TEXT NOT NULL, run_id INTEGER, removed INTEGER NOT NULL DEFAULT 0);
-- only the files still waiting to be removed from the inbox: a few thousand at most, however many
-- months the ledger holds (an index of every row grew without end, and cost each insert and removal)
CREATE INDEX IF NOT EXISTS intake_waiting ON intake(inbox_path) WHERE removed = 0;
CREATE TABLE IF NOT EXISTS submissions (
  id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), sheet TEXT, unit TEXT,
  period TEXT, status TEXT NOT NULL, late INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL,
  cells TEXT, counts TEXT);
CREATE INDEX IF NOT EXISTS submissions_period ON submissions(period, unit);
CREATE TABLE IF NOT EXISTS findings (
  submission_id INTEGER NOT NULL REFERENCES submissions(id), code TEXT NOT NULL, severity TEXT NOT NULL,
  cell TEXT, message TEXT NOT NULL, value TEXT);
CREATE INDEX IF NOT EXISTS findings_sub ON findings(submission_id);
-- a quarter closed once its 通报 is issued (closing.py): its months count what was counted up to
-- `last_submission`; what comes later is kept and shown, and counted only once it is reopened
CREATE TABLE IF NOT EXISTS closings (
  id INTEGER PRIMARY KEY, quarter TEXT NOT NULL, closed_at TEXT NOT NULL, last_submission INTEGER NOT NULL,
  closed_then TEXT NOT NULL, issued TEXT, doc_number TEXT, note TEXT, reopened_at TEXT, reason TEXT);
-- each form's sums of 当月完成 and 正在评审: a unit's months at a glance, for the OUTLIER check
CREATE TABLE IF NOT EXISTS form_totals (
  submission_id INTEGER PRIMARY KEY REFERENCES submissions(id), new INTEGER, reviewing INTEGER);
"""

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
        self.upto = upto       # read as the ledger stood when this submission was the last recorded,
        self.closed = closed   # with these months closed then (`closed_months`)

    def as_of(self, last_submission: int, closed: dict[str, int]) -> Ledger:
        """The same ledger read as it stood when `last_submission` was the last one recorded and the
        months of `closed` were closed (a closed quarter's outputs are made from it)."""
        return Ledger(self.db, self.path, last_submission, closed)

    @classmethod
    def open(cls, path: Path) -> Ledger:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        _upgrade(db)
        db.executescript(ROWS_VIEW)
        _fill_totals(db)
        return cls(db, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Ledger:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
        current = "counts" in [c[1] for c in db.execute("PRAGMA table_info(submissions)")] and \
            db.execute("SELECT 1 FROM sqlite_master WHERE name='form_totals'").fetchone() is not None
        db.close()
        if not current:   # written by an older version: upgraded once, by a writer
            cls.open(path).close()
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
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

    def record(self, entries: list[dict], run_id: int, run_period: str | None) -> dict[str, int]:
        """Record what one intake took in, in one transaction; returns each inbox path's intake row
        (for `mark_removed`).

        Each entry: sha256, name, archived, received_at, size, kind, source, inbox (path or None),
        duplicate_of (file id or None), submissions: [(Submission, status, late, its `counts_json`)]
        (the caller has the counts in hand already: it compares forms by them).
        """
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:   # ids given here (the lock is held), so that each table takes one executemany
            file_id, sid, row = (db.execute(f"SELECT coalesce(max({k}), 0) FROM {t}").fetchone()[0]
                                 for k, t in (("id", "files"), ("id", "submissions"), ("rowid", "intake")))
            files, subs, finds, totals = [], [], [], []
            for e in entries:
                file_id += 1
                at = _iso(e["received_at"])
                files.append((file_id, e["sha256"], e["name"], e["archived"], at, e["size"], e["kind"],
                              e["source"], run_id, run_period, e["duplicate_of"]))
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
            db.executemany("INSERT INTO form_totals VALUES (?,?,?)", totals)
            taken = [(row + k, e["inbox"], e["sha256"], run_id)
                     for k, e in enumerate((e for e in entries if e.get("inbox")), 1)]
            db.executemany("INSERT INTO intake(rowid, inbox_path, sha256, run_id) VALUES (?,?,?,?)", taken)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {path: r for r, path, _, _ in taken}

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
            f" s.late, {'s.counts' if rows else 'NULL'}" + select + " ORDER BY s.received_at, s.id", params).fetchall()
        if not subs:
            return []
        finds = {}
        for sid, code, sev, cell, msg, val in self.db.execute(
                "SELECT submission_id, code, severity, cell, message, value FROM findings"
                " WHERE submission_id IN (SELECT s.id" + select + ") ORDER BY rowid", params):
            finds.setdefault(sid, []).append(Finding(code, sev, cell, msg, val))
        out = []
        for sid, name, archived, sha, at, sheet, unit, period, status, late, counts in subs:
            # Where each count stood (`cells`) stays in the ledger: no output needs it back.
            out.append(new_received(sid, name, archived, sha, dt.datetime.fromisoformat(at), sheet, unit, period,
                                status, bool(late), rows_of(counts), tuple(finds.get(sid, ()))))
        return out

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
            year, q = int(quarter[:4]), int(quarter[-1])
            for m in range(3 * q - 2, 3 * q + 1):
                out[f"{year:04d}-{m:02d}"] = int(last)
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
                wanted.setdefault(_month_before(period), set()).add(unit)
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
            this = _month_after(prev)
            for unit, sid in ids.items():
                out[(unit, this)] = (counts.get(sid, {}), prev)
        return out

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
        closed = self.db.execute("SELECT count(*), count(reopened_at) FROM closings").fetchone()   # closing.py
        return f"{row[0]}-{row[1]}-{prev[0]}-{prev[1]}" + (f"-{closed[0]}-{closed[1]}" if closed[0] else "")


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


def _upgrade(db: sqlite3.Connection):
    """A ledger written before `submissions.counts`: move its `rows` table into the column, once. One
    written before `intake_waiting`: its index of every intake row dropped."""
    db.execute("DROP INDEX IF EXISTS intake_pending")
    if "counts" not in [c[1] for c in db.execute("PRAGMA table_info(submissions)")]:
        db.execute("ALTER TABLE submissions ADD COLUMN counts TEXT")
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rows'").fetchone() is None:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        got = db.execute("SELECT submission_id, industry, level, new, cumulative, reviewing FROM rows"
                         " ORDER BY submission_id, rowid")
        updates = []
        for sid, group in itertools.groupby(got, key=operator.itemgetter(0)):
            rows = sorted((Row(*t[1:]) for t in group), key=lambda r: ROW_KEYS.index((r.industry, r.level)))
            updates.append((counts_json(rows), sid))
        db.executemany("UPDATE submissions SET counts=? WHERE id=?", updates)
        db.execute("DROP TABLE rows")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _fill_totals(db: sqlite3.Connection):
    """`form_totals` for forms recorded before it existed (once: later forms are recorded with theirs)."""
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO form_totals SELECT s.id, sum(CASE WHEN j.key % 3 = 0 THEN j.value END),"
               " sum(CASE WHEN j.key % 3 = 2 THEN j.value END) FROM submissions s, json_each(s.counts) j"
               " WHERE s.counts IS NOT NULL AND s.id > (SELECT coalesce(max(submission_id), 0) FROM form_totals)"
               " GROUP BY s.id")
    db.execute("COMMIT")


def _month_before(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def _month_after(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"
