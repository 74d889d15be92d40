"""The ledger keeps each form's 24 rows in one column and gives them back, as rows and as SQL."""
import dataclasses
import datetime as dt
import sqlite3

import pytest

from pipeline.core.findings import Finding
from pipeline.core.model import INDUSTRIES, LEVELS, Received, Row, new_received
from pipeline.core.settings import SetupError
from pipeline.store.ledger import Ledger

ROWS = tuple(Row(ind, lvl, k % 3, k, None if k == 5 else 2) for k, (ind, lvl) in
             enumerate((i, lv) for i in INDUSTRIES for lv in LEVELS))

OLD_SCHEMA = """
CREATE TABLE files (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL, archived TEXT NOT NULL,
  received_at TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT, source TEXT, run_id INTEGER, run_period TEXT,
  duplicate_of INTEGER REFERENCES files(id));
CREATE TABLE submissions (id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), sheet TEXT,
  unit TEXT, period TEXT, status TEXT NOT NULL, late INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL,
  cells TEXT);
CREATE TABLE rows (submission_id INTEGER NOT NULL REFERENCES submissions(id), industry TEXT NOT NULL,
  level INTEGER NOT NULL, new INTEGER, cumulative INTEGER, reviewing INTEGER);
"""


def test_a_ledger_written_before_the_counts_column_is_upgraded_with_nothing_lost(tmp_path):
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO files VALUES (1, 'ab', '侯寨乡.xlsx', '/a', '2016-09-28T10:00:00+08:00', 10,"
               " 'xlsx', '侯寨乡.xlsx', 1, '2016-09', NULL)")
    db.execute("INSERT INTO submissions VALUES (1, 1, 'Sheet1', '侯寨乡', '2016-09', 'accepted', 0,"
               " '2016-09-28T10:00:00+08:00', NULL)")
    db.executemany("INSERT INTO rows VALUES (1, ?, ?, ?, ?, ?)", reversed(ROWS))   # any order
    db.commit()
    db.close()

    before = path.read_bytes()
    with pytest.raises(SetupError, match="旧版本"):   # a reader never writes: a writer upgrades it
        Ledger.open_readonly(path)
    assert path.read_bytes() == before
    Ledger.open(path).close()
    ledger = Ledger.open_readonly(path)
    assert ledger.counted("2016-09")["侯寨乡"].rows == ROWS
    got = ledger.db.execute("SELECT industry, level, new, cumulative, reviewing FROM rows"
                            " WHERE submission_id = 1").fetchall()
    assert got == [tuple(r) for r in ROWS]
    kind = ledger.db.execute("SELECT type FROM sqlite_master WHERE name = 'rows'").fetchone()
    assert kind == ("view",)
    ledger.close()


def test_a_period_read_without_rows_gets_them_by_id_the_same(tmp_path):
    """What the receipts need is read first; the rows, asked for by id, are those of a full read."""
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO files VALUES (1, 'ab', '侯寨乡.xlsx', '/a', '2016-09-28T10:00:00+08:00', 10,"
               " 'xlsx', '侯寨乡.xlsx', 1, '2016-09', NULL)")
    counts = "[" + ",".join("null" if x is None else str(x) for r in ROWS for x in r[2:]) + "]"
    db.execute("INSERT INTO submissions VALUES (7, 1, 'Sheet1', '侯寨乡', '2016-09', 'accepted', 0,"
               " '2016-09-28T10:00:00+08:00', NULL, ?)", (counts,))
    db.commit()
    db.close()
    ledger = Ledger.open_readonly(path)
    [full], [light] = ledger.period_submissions("2016-09"), ledger.period_submissions("2016-09", rows=False)
    assert full.rows == ROWS and light.rows == ()
    assert (light.id, light.unit, light.status, light.received_at) == (full.id, full.unit, full.status, full.received_at)
    assert ledger.rows_of_ids([7]) == {7: ROWS} and ledger.period_count("2016-09") == 1
    ledger.close()


def test_counts_are_kept_as_compact_json_whatever_the_numbers():
    """A form's counts as the ledger writes them: plain JSON (blank cells null, large counts whole),
    read back as the same rows; the SQL view and any other reader rely on it."""
    import json

    from pipeline.store.schema import counts_json, rows_of
    big = tuple(r._replace(new=10**15) if r.level == 3 else r for r in ROWS)
    floats = tuple(r._replace(cumulative=float(r.cumulative)) for r in ROWS)   # not from a reader, but kept exact
    for rows in (ROWS, big, floats):
        text = counts_json(rows)
        assert text == json.dumps([x for r in rows for x in r[2:]], separators=(",", ":"))
        assert rows_of(text) == rows
    assert counts_json(ROWS).count("null") == 1 and " " not in counts_json(ROWS)
    assert counts_json(()) is None


def test_a_submission_made_without_init_is_the_one_init_makes():
    """`new_received` (how the ledger's 40,000 rows of a month become submissions) gives what
    `Received(...)` gives: equal, the same fields, its own empty `cells`, and still frozen."""
    values = (7, "马寨镇.xlsx", "/archive/a.xlsx", "ab" * 32, dt.datetime(2016, 9, 30, 9, 0), "月度报表", "马寨镇",
              "2016-09", "accepted", True, (Row("冶金", 1, 1, 2, 3),), (Finding("LATE", "warning", None, "迟报"),))
    made, inited = new_received(*values), Received(*values)
    assert made == inited and vars(made) == vars(inited) and made.codes == ["LATE"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = "rejected"


def test_only_the_files_waiting_to_leave_the_inbox_are_indexed_and_an_older_ledger_loses_its_full_index(tmp_path):
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE intake (inbox_path TEXT NOT NULL, sha256 TEXT NOT NULL, run_id INTEGER,"
                     " removed INTEGER NOT NULL DEFAULT 0);"
                     "CREATE INDEX intake_pending ON intake(removed, inbox_path);")
    db.executemany("INSERT INTO intake VALUES (?, ?, 1, ?)",
                   [(f"/inbox/{k}.xlsx", f"{k:064x}", k % 2) for k in range(6)])
    db.commit()
    db.close()

    ledger = Ledger.open(path)
    indexes = dict(ledger.db.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='intake'"))
    assert list(indexes) == ["intake_waiting"] and indexes["intake_waiting"].endswith("WHERE removed = 0")
    plan = " ".join(r[-1] for r in ledger.db.execute(
        "EXPLAIN QUERY PLAN SELECT rowid, inbox_path, sha256 FROM intake WHERE removed=0"))
    assert "USING INDEX intake_waiting" in plan
    assert sorted(p for _, p, _ in ledger.pending_removals()) == ["/inbox/0.xlsx", "/inbox/2.xlsx", "/inbox/4.xlsx"]
    ledger.mark_removed([r for r, p, _ in ledger.pending_removals() if p == "/inbox/2.xlsx"])
    assert sorted(p for _, p, _ in ledger.pending_removals()) == ["/inbox/0.xlsx", "/inbox/4.xlsx"]
    assert ledger.db.execute("SELECT count(*) FROM intake INDEXED BY intake_waiting WHERE removed=0").fetchone() == (2,)
    ledger.close()


def test_last_counted_is_the_latest_month_before_and_in_it_the_last_accepted(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO files VALUES (1, 'ab', 'x.xlsx', '/a', '2016-09-28T10:00:00+08:00', 10,"
               " 'xlsx', 'x.xlsx', 1, '2016-09', NULL)")
    forms = [  # id, unit, period, status, received, every count
        (1, "侯寨乡", "2016-06", "accepted", "2016-06-20", 1), (2, "侯寨乡", "2016-07", "accepted", "2016-07-20", 2),
        (3, "侯寨乡", "2016-07", "accepted", "2016-07-25", 3), (4, "侯寨乡", "2016-08", "rejected", "2016-08-20", 4),
        (5, "侯寨乡", "2016-09", "accepted", "2016-09-20", 5), (6, "马寨镇", "2016-09", "accepted", "2016-09-20", 6),
        (7, "马寨镇", "2016-10", "accepted", "2016-10-20", 7)]
    for sid, unit, period, status, at, n in forms:
        db.execute("INSERT INTO submissions VALUES (?, 1, 'S', ?, ?, ?, 0, ?, NULL, ?)",
                   (sid, unit, period, status, at + "T10:00:00+08:00", "[" + ",".join([str(n)] * 72) + "]"))
    db.commit()
    db.close()
    ledger = Ledger.open_readonly(path)
    got = ledger.last_counted(["马寨镇", "侯寨乡", "淮河路街道"], "2016-09")
    assert list(got) == ["侯寨乡"]                           # 马寨镇 has nothing before September
    month, rows = got["侯寨乡"]
    assert month == "2016-07" and rows[0] == Row("冶金", 1, 3, 3, 3)   # not August's rejected one
    assert ledger.last_counted(["马寨镇", "侯寨乡"], "2016-11") == {
        "马寨镇": ("2016-10", ledger.rows_of_ids([7])[7]), "侯寨乡": ("2016-09", ledger.rows_of_ids([5])[5])}
    ledger.close()
