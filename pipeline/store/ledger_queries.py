"""The ledger's reads, mixed into Ledger: a period's submissions, the counted ones, last month's counts."""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from pipeline.core.findings import Finding
from pipeline.core.model import Received, Row, new_received, no_gc, replaced
from pipeline.core.period import Month, Quarter
from pipeline.store.schema import rows_of

# A period's submissions: those read as of the period, and what could not be read in a run for it.
_OF_PERIOD = "s.period = ? OR (s.period IS NULL AND f.run_period = ?)"


class Queries:
    """What the ledger says, read (`Ledger` holds `db`, `base` and, read as it stood, `upto` and `closed`)."""
    db: sqlite3.Connection
    base: str
    upto: int | None
    closed: dict | None

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
        before: dict[str, str] = {}     # forty thousand keys share a period or two
        for unit, period in keys:
            if unit and period:
                prev = before.get(period) or before.setdefault(period, Month(period).previous)
                wanted.setdefault(prev, set()).add(unit)
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
