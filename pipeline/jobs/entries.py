"""What each received file becomes in the ledger: a duplicate of bytes already received, a month
already counted sent again unchanged, or its forms with what only the ledger and the run can show
(lateness, another unit's identical numbers, a sender the unit does not list, a closed month).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.core.findings import finding
from pipeline.core.model import Submission
from pipeline.core.period import month_text
from pipeline.core.settings import Settings
from pipeline.jobs.closing import closed_notes
from pipeline.jobs.inbox import Incoming
from pipeline.jobs.mail.senders import sender_finding
from pipeline.read.eml import NO_WORKBOOK
from pipeline.store.ledger import Entry, Form, Ledger
from pipeline.store.schema import counts_json


def ledger_entries(incoming: list[Incoming], by_sha: dict, ledger: Ledger, settings: Settings,
                   first_of: dict, counted: dict, senders: dict | None = None) -> list[Entry]:
    """The ledger entries for a checked chunk: duplicates, lateness and look-alikes decided against
    the ledger and against what this run has already seen (`first_of`: each file's first receipt;
    `counted`: each period's counted forms, as `_Counted`)."""
    known = ledger.files_by_sha(i.sha256 for i in incoming)
    entries, looks = [], _Looks(ledger, settings, counted, senders or {})
    for inc in incoming:
        entry = Entry(inc.sha256, inc.name, inc.path, inc.received_at, inc.size, inc.source, inc.inbox,
                      attached=inc.attached, note=inc.note, empty=inc.empty_mail)
        entries.append(entry)
        if inc.kind == "eml":
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
            dup = finding("DUPLICATE_FILE", None, file=inc.name, value=_when(when), expected=name)
            entry.forms = [Form(Submission(None, u, p, (), (dup,)), "duplicate", False, None)
                           for u, p in _units_of(ledger, inc.sha256, by_sha)]
            continue
        first_of[inc.sha256] = (inc.name, inc.received_at)   # shown by `_when`, as an ISO text from the ledger
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
