"""What a rebuilt ledger takes from the ledger it replaces, which the archive's files cannot tell:
the enterprise register's imports, the mail taken in and sent, and each closed quarter.

A closing counts a quarter's months up to a submission id (`closings.last_submission`, and each
month then closed in `closed_then`). The rebuilt ledger numbers its submissions afresh, in the order
the received log recorded them; a cut-off is carried when the submissions it counted are, in the new
ledger too, exactly the ones up to some id. Where that cannot be said, or the old ledger cannot be
read, the quarter is named and staff close it again: never a cut-off guessed.
"""
from __future__ import annotations

import bisect
import contextlib
import json
import sqlite3
from pathlib import Path

from pipeline.core.period import Quarter
from pipeline.store.schema import transaction

CARRIED = ("register_imports", "register_rows", "register_revisits", "register_findings", "mail_in", "mail_out")
REDO = ("请重新导入企业台账（python -m pipeline register 台账文件），并对已发通报的季度重新关账"
        "（python -m pipeline close 季度）。")


def carry_over(old: Path | None, db: sqlite3.Connection) -> list[str]:
    """Copy what the old ledger at `old` holds beyond the archive into `db` (the new ledger, its
    submissions recorded); returns what to tell the operator."""
    if old is None:
        return []
    try:
        db.execute("ATTACH DATABASE ? AS old", (str(old),))
    except sqlite3.DatabaseError as error:
        return [f"原台账无法读取（{error}），其中的企业台账导入、邮件收发和关账记录没有带入新台账。" + REDO]
    try:
        with transaction(db):
            copied = [_copy(db, table) for table in CARRIED]
            said = _closings(db)
    except sqlite3.DatabaseError as error:
        return [f"原台账已损坏（{error}），其中的企业台账导入、邮件收发和关账记录没有带入新台账。" + REDO]
    finally:
        with contextlib.suppress(sqlite3.DatabaseError):
            db.execute("DETACH DATABASE old")
    imports, mails = copied[0], copied[4] + copied[5]
    if imports or mails:
        said.insert(0, f"从原台账带入企业台账导入 {imports} 次、邮件收发记录 {mails} 条。")
    return said


def _copy(db: sqlite3.Connection, table: str) -> int:
    """The old ledger's rows of `table`, as they were (their ids too), in the columns both ledgers have."""
    have = {row[1] for row in db.execute(f"PRAGMA old.table_info({table})")}
    if not have:   # a ledger from before the table was kept
        return 0
    columns = ", ".join(c for c in (row[1] for row in db.execute(f"PRAGMA main.table_info({table})")) if c in have)
    return db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM old.{table}").rowcount


def _closings(db: sqlite3.Connection) -> list[str]:
    if not {row[1] for row in db.execute("PRAGMA old.table_info(closings)")}:
        return []
    # each old submission's id in the new ledger: the same file (bytes, name, time received), the same sheet
    moved = dict(db.execute(
        "SELECT o.id, n.id FROM old.submissions o JOIN old.files of ON of.id = o.file_id"
        " JOIN main.files nf ON nf.sha256 = of.sha256 AND nf.name = of.name AND nf.received_at = of.received_at"
        " JOIN main.submissions n ON n.file_id = nf.id AND n.sheet IS o.sheet"))
    old_ids = sorted(row[0] for row in db.execute("SELECT id FROM old.submissions"))
    new_ids = sorted(row[0] for row in db.execute("SELECT id FROM main.submissions"))
    said, carried = [], 0
    for row in db.execute("SELECT quarter, closed_at, last_submission, closed_then, issued, doc_number, note,"
                          " reopened_at, reason, register_import FROM old.closings ORDER BY id").fetchall():
        quarter, last, then = row[0], row[2], json.loads(row[3])
        cuts = [_cut(last, old_ids, new_ids, moved)] + [_cut(v, old_ids, new_ids, moved) for v in then.values()]
        if None in cuts:
            if row[7] is None:   # closed now: its 通报's numbers cannot be kept without it
                said.append(f"{Quarter(quarter).text}的关账没有带入新台账（重建后无法确定关账时已计入哪些报表）："
                            f"请核对该季度通报后重新关账（python -m pipeline close {quarter}）。")
            continue
        db.execute("INSERT INTO main.closings(quarter, closed_at, last_submission, closed_then, issued, doc_number,"
                   " note, reopened_at, reason, register_import) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (quarter, row[1], cuts[0], json.dumps(dict(zip(then, cuts[1:])), sort_keys=True), *row[4:]))
        carried += row[7] is None
    if carried:
        said.append(f"从原台账带入关账 {carried} 个季度，其通报的数字不变。")
    return said


def _cut(last: int, old_ids: list[int], new_ids: list[int], moved: dict[int, int]) -> int | None:
    """The new ledger's cut-off counting what `last` counted in the old, or None when no cut-off does."""
    counted = old_ids[:bisect.bisect_right(old_ids, last)]
    if any(i not in moved for i in counted):
        return None
    new_last = max((moved[i] for i in counted), default=0)
    return new_last if bisect.bisect_right(new_ids, new_last) == len(counted) else None
