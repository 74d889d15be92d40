"""The archive's own record of its files: `archive/received.log`, a JSON line for each file received
(the name it came under, when, the e-mail it came with, the run that took it in). The ledger is an
index of the archive; with this log `reconcile` and `rebuild-ledger` make it again from the archive."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

LOG = "received.log"   # in the archive: a line for every file received (`append_log`)


def log_lines(entries: list, archive: Path, run_period: str | None) -> bytes:
    """One JSON line for each `ledger.Entry`: what `rebuild-ledger` and `reconcile`
    need to record the file again from the archive alone. Made with f-strings, not json.dumps (a
    national month's 40,000 lines)."""
    base, out = str(archive) + os.sep, []
    period = "null" if run_period is None else _string(run_period)
    for e in entries:
        where = e.archived[len(base):] if e.archived.startswith(base) else os.path.relpath(e.archived, archive)
        kind = "null" if e.kind not in ("eml", "other") else f'"{e.kind}"'
        inbox = "null" if not e.inbox else _string(e.inbox)
        note = "null" if not e.note else _string(e.note)
        at = e.received_at.isoformat(timespec="seconds")
        out.append(f'{{"sha256": "{e.sha256}", "name": {_string(e.name)}, "archived": {_string(where)}, '
                   f'"received_at": "{at}", "size": {e.size}, "source": {_string(e.source)}, '
                   f'"inbox": {inbox}, "kind": {kind}, "attached": {"true" if e.attached else "false"}, '
                   f'"empty": {"true" if e.empty else "false"}, "note": {note}, "run_period": {period}}}\n')
    return "".join(out).encode("utf-8")


def append_log(archive: Path, data: bytes) -> int:
    """Append lines to the received log; returns where the log now ends. Not synced here: the
    chunk's sync of the archive's file system (inbox.commit) covers it."""
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
