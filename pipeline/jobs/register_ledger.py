"""Each import of the register kept (docs/register.md §1): its bytes in the archive, its usable rows, its
revisits and its findings in the ledger, and what changed between two imports.

A register is imported when a run uses one whose bytes, or the units it was checked against, differ
from the last import's; the same register again is the same import. Reading an import back gives the
register as the pipeline used it then, so "what did the register say on 2016-09-30" has an answer.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pandas as pd

from pipeline.core.findings import Finding
from pipeline.read.register import ENTERPRISE_COLUMNS, REVISIT_COLUMNS, WHOLE, Register
from pipeline.store.files import folder_for, fsync_path, part_folder, put
from pipeline.store.ledger import Ledger

DATES = ("issued", "expires", "withdrawn", "inspected", "revisited")
# What a change is listed for, and its name in the list (变更).
TRACKED = {"unit": "所属单位", "scale": "规模", "status": "状态", "grade": "等级", "issued": "发证日期",
           "expires": "有效期至", "withdrawn": "摘牌日期", "inspected": "最近检查日期", "revisited": "最近回访日期"}


def units_digest(reference: Path) -> str:
    """The units the register was checked against: the digest of units.csv."""
    path = Path(reference) / "units.csv"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def _archive(archive: Path, name: str, sha: str, data: bytes, now: dt.datetime) -> str:
    """The register's bytes in the archive, copied (never linked: staff edit the file in place) and
    synced before the ledger names them."""
    folder = folder_for(archive, now)
    folder.mkdir(parents=True, exist_ok=True)
    part_folder(archive).mkdir(exist_ok=True)
    target, tmp = put(str(folder), name, sha, len(data), data=data)
    if tmp is not None:
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(folder)
    return os.path.relpath(target, archive)   # relative, as the ledger keeps every archive path


def _texts(frame: pd.DataFrame, columns) -> list[tuple]:
    out = frame[list(columns)].copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    out = out.astype(object).where(out.notna(), None)
    return list(out.itertuples(index=False, name=None))


def record_import(ledger: Ledger, archive: Path, register: Register, data: bytes, units_sha: str,
                  now: dt.datetime) -> int:
    """The import of `register` (its bytes `data`): the last one if it is the same register checked
    against the same units, else a new one, archived and recorded in one transaction."""
    last = ledger.db.execute("SELECT id, sha256, units_sha256 FROM register_imports ORDER BY id DESC LIMIT 1").fetchone()
    if last and last[1] == register.sha256 and last[2] == units_sha:
        return last[0]
    archived = _archive(archive, register.file, register.sha256, data, now)
    db = ledger.db
    with ledger.transaction():
        import_id = db.execute(
            "INSERT INTO register_imports(sha256, units_sha256, name, archived, imported_at, rows, excluded)"
            " VALUES (?,?,?,?,?,?,?)", (register.sha256, units_sha, register.file, archived,
                                        now.isoformat(timespec="seconds"), register.rows, register.excluded)).lastrowid
        db.executemany(f"INSERT INTO register_rows(import_id, {', '.join(ENTERPRISE_COLUMNS)})"
                       f" VALUES ({','.join('?' * (len(ENTERPRISE_COLUMNS) + 1))})",
                       [(import_id, *t) for t in _texts(register.enterprises, ENTERPRISE_COLUMNS)])
        db.executemany(f"INSERT INTO register_revisits(import_id, {', '.join(REVISIT_COLUMNS)})"
                       f" VALUES ({','.join('?' * (len(REVISIT_COLUMNS) + 1))})",
                       [(import_id, *t) for t in _texts(register.revisits, REVISIT_COLUMNS)])
        db.executemany("INSERT INTO register_findings VALUES (?,?,?,?,?,?)",
                       [(import_id, f.code, f.severity, f.cell, f.message, f.value) for f in register.findings])
    return import_id


def imports(ledger: Ledger) -> list[dict]:
    """Every import, oldest first."""
    cur = ledger.db.execute("SELECT id, sha256, units_sha256, name, archived, imported_at, rows, excluded"
                            " FROM register_imports ORDER BY id")
    keys = [d[0] for d in cur.description]
    return [dict(zip(keys, row)) for row in cur]


def load_import(ledger: Ledger, import_id: int) -> Register:
    """The register as that import recorded it."""
    head = ledger.db.execute("SELECT name, sha256, rows, excluded FROM register_imports WHERE id=?",
                             (import_id,)).fetchone()
    enterprises = pd.read_sql_query(f"SELECT {', '.join(ENTERPRISE_COLUMNS)} FROM register_rows WHERE import_id=?"
                                    " ORDER BY rowid", ledger.db, params=(import_id,))
    revisits = pd.read_sql_query(f"SELECT {', '.join(REVISIT_COLUMNS)} FROM register_revisits WHERE import_id=?"
                                 " ORDER BY rowid", ledger.db, params=(import_id,))
    for frame, dates in ((enterprises, DATES), (revisits, ("date",))):
        for c in frame.columns:
            if c in dates:
                frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
            elif c != "row":
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    findings = tuple(Finding(*row) for row in ledger.db.execute(
        "SELECT code, severity, cell, message, value FROM register_findings WHERE import_id=? ORDER BY rowid",
        (import_id,)))
    return Register(head[0], head[1], enterprises, revisits, findings, head[2], head[3])


def import_in_use(ledger: Ledger, sha: str, units_sha: str) -> int | None:
    """The last import of this register checked against these units, if there is one."""
    got = ledger.db.execute("SELECT id FROM register_imports WHERE sha256=? AND units_sha256=? ORDER BY id DESC"
                            " LIMIT 1", (sha, units_sha)).fetchone()
    return got[0] if got else None


def previous_import(ledger: Ledger, import_id: int) -> int | None:
    """The last import before `import_id` of a register that could be read (one that could not lists
    no enterprise, but removed none)."""
    whole = ",".join("?" * len(WHOLE))
    got = ledger.db.execute(
        "SELECT max(id) FROM register_imports i WHERE id < ? AND NOT EXISTS (SELECT 1 FROM register_findings f"
        f" WHERE f.import_id = i.id AND f.code IN ({whole}))", (import_id, *sorted(WHOLE))).fetchone()
    return got[0] if got else None


def _shown(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "（空）"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def changes(before: Register, after: Register) -> pd.DataFrame:
    """Each enterprise whose unit, scale, status, grade or dates differ between two imports, and those
    added or removed: code, name, unit, industry, grade (as `after` has them, else `before`) and
    `what` changed, in words ("状态：创建中 → 已达标；等级：（空） → 三级")."""
    keep = ["code", "name", "industry", *TRACKED]
    b, a = before.enterprises[keep], after.enterprises[keep]
    both = b.merge(a, on="code", how="outer", suffixes=("_b", "_a"), indicator=True)
    parts = []
    for field, label in TRACKED.items():
        x, y = both[f"{field}_b"], both[f"{field}_a"]
        differ = (both["_merge"] == "both") & ~((x == y) | (x.isna() & y.isna()))
        text = pd.Series("", index=both.index, dtype=object)
        text[differ] = [f"{label}：{_shown(v)} → {_shown(w)}" for v, w in zip(x[differ], y[differ])]
        parts.append(text)
    table = pd.concat(parts, axis=1)
    changed = (table != "").any(axis=1)
    what = pd.Series("", index=both.index, dtype=object)
    what[changed] = ["；".join(t for t in row if t) for row in table[changed].itertuples(index=False)]
    what = what.where(both["_merge"] != "right_only", "新登记入台账")
    what = what.where(both["_merge"] != "left_only", "已从台账中删除")
    out = pd.DataFrame({
        "code": both["code"],
        "name": both["name_a"].where(both["name_a"].notna(), both["name_b"]),
        "unit": both["unit_a"].where(both["unit_a"].notna(), both["unit_b"]),
        "industry": both["industry_a"].where(both["industry_a"].notna(), both["industry_b"]),
        "grade": both["grade_a"].where(both["_merge"] != "left_only", both["grade_b"]),
        "what": what})
    return out[out["what"] != ""].reset_index(drop=True)
