"""Closing a quarter (pipeline/closing.py): a file for a closed month is kept, checked, recorded and
answered but changes nothing until the quarter is reopened; the closed quarter's outputs rebuild
with the same figures and the same text."""
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys

import openpyxl
import pytest
from docx import Document

from pipeline.core.model import LEVELS
from pipeline.demo.samples import write_sample
from pipeline.demo.year import MONTHS, drop_month
from pipeline.jobs.closing import close_quarter, reopen_quarter
from pipeline.jobs.monthly import print_status, run_monthly
from pipeline.jobs.quarterly import run_quarterly
from pipeline.read.units import load_units
from pipeline.store.ledger import Ledger

from conftest import REFERENCE, ROOT

TZ = dt.timezone(dt.timedelta(hours=8))


def pipeline(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300, stdin=subprocess.DEVNULL)
LATE_UNIT = "淮河路街道"


def docx_text(path) -> list[str]:
    doc = Document(path)
    return [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows for c in row.cells]


def book_values(path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def outputs(out) -> dict:
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"manifest": m, "docx": docx_text(out / m["files"]["docx"]), "ranking": book_values(out / m["files"]["ranking"])}


def monthly_manifest(f, period="2016-09") -> dict:
    return json.loads((f["outbox"] / period / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """A third quarter run, its 通报 made and the quarter closed; then a correction for September
    from 淮河路街道 (one more enterprise certified), taken in by a rerun of September, and the
    quarter's outputs rebuilt on another day."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PIPELINE_BULLETIN_DATE", "2016-10-10")
    tmp = tmp_path_factory.mktemp("closed")
    f = {"inbox": tmp / "inbox", "archive": tmp / "archive", "outbox": tmp / "outbox", "reference": REFERENCE}
    ref = load_units(REFERENCE)
    rng, history = random.Random(5), {}
    for period in MONTHS:
        drop_month(f["inbox"], period, ref.names, history, rng, {u.name: u.base for u in ref.units})
        run_monthly(f, period)
    assert run_quarterly(f, "2016Q3") == 0
    before = outputs(f["outbox"] / "2016Q3")
    september = monthly_manifest(f)
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    counted_id = db.execute("SELECT max(id) FROM submissions WHERE unit=? AND period='2016-09' AND status='accepted'",
                            (LATE_UNIT,)).fetchone()[0]
    assert close_quarter(f, "2016Q3") == 0
    rows = dict(history[LATE_UNIT])
    key = next(k for k, (_n, cum, _r) in rows.items() if cum)
    rows[key] = (rows[key][0] + 1, rows[key][1] + 1, rows[key][2])
    late = write_sample(f["inbox"] / f"{LATE_UNIT}_2016年9月_更正.xlsx", LATE_UNIT, "2016-09", rows, "canonical")
    when = dt.datetime(2016, 10, 15, 9, 30, tzinfo=TZ).timestamp()
    os.utime(late, (when, when))
    assert run_monthly(f, "2016-09") == 0
    mp.setenv("PIPELINE_BULLETIN_DATE", "2016-11-11")   # a rebuild on another day keeps the 通报's own date
    assert run_quarterly(f, "2016Q3") == 0
    after = outputs(f["outbox"] / "2016Q3")
    yield f, before, after, september, counted_id
    mp.undo()


def test_the_closed_quarter_rebuilds_with_the_same_figures_and_text(closed):
    _, before, after, _, _ = closed
    assert after["docx"] == before["docx"]
    assert after["ranking"] == before["ranking"]
    assert after["manifest"] == before["manifest"]
    assert "2016年10月10日" in after["docx"] and "2016年11月11日" not in after["docx"]


def test_a_file_for_a_closed_month_is_kept_answered_and_changes_nothing(closed, capsys):
    f, _, _, september, counted_id = closed
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    assert ledger.counted("2016-09")[LATE_UNIT].id == counted_id          # still the one counted at closing
    late = [s for s in ledger.period_submissions("2016-09") if s.unit == LATE_UNIT and s.id > counted_id]
    assert [(s.status, s.codes) for s in late] == [("held", ["LATE", "PERIOD_CLOSED"])]
    [message] = [x.message for x in late[0].findings if x.code == "PERIOD_CLOSED"]
    assert "2016年第三季度" in message and "重新开账前不计入汇总" in message
    assert ledger.period_submissions("2016-09")[-1].archived and os.path.exists(late[0].archived)
    ledger.close()

    now = monthly_manifest(f)
    assert now["totals"] == september["totals"] and now["missing"] == september["missing"]
    held = [s for s in now["submissions"] if s["status"] == "held"]
    assert [(s["unit"], s["file"]) for s in held] == [(LATE_UNIT, f"{LATE_UNIT}_2016年9月_更正.xlsx")]
    [receipt] = [p for p in now["files"]["receipts"] if p.endswith(f"{late[0].id}_{LATE_UNIT}_2016年9月_更正.txt")]
    text = (f["outbox"] / "2016-09" / receipt).read_text(encoding="utf-8-sig")
    assert "处理结果：已收到并登记；该月已关账，暂不计入汇总" in text
    assert "【提示】本报表所属的2016年第三季度已关账：该季度通报（二七安监管〔2016〕21号，2016年10月10日）已经印发。" in text

    book = openpyxl.load_workbook(f["outbox"] / "2016-09" / now["files"]["status"])
    files = [[c.value for c in row] for row in book["全部文件"].iter_rows()]
    assert any(row[2] == f"{LATE_UNIT}_2016年9月_更正.xlsx" and row[5] == "关账后收到，暂不计入" and "该月已关账" in row[7]
               for row in files)
    notes = [row[0].value for row in book["报送情况"].iter_rows() if row[0].value and "关账" in str(row[0].value)]
    assert notes == [f"本月所属季度已关账：关账后收到 1 份报表（{LATE_UNIT}），已存档登记，重新开账前不计入汇总，"
                     "详见“全部文件”页。"]
    print_status(f, "2016-09")
    shown = capsys.readouterr().out
    assert "关账后收到 1 份，重新开账前不计入" in shown and f"{LATE_UNIT}_2016年9月_更正.xlsx" in shown


def test_reopening_counts_what_was_held(closed, tmp_path, monkeypatch):
    src, _, before, september, counted_id = closed
    f = {k: tmp_path / k for k in ("inbox", "archive", "outbox")}
    for k in f:
        shutil.copytree(src[k], f[k])
    f["reference"] = REFERENCE
    assert reopen_quarter(f, "2016Q3", "淮河路街道9月数字更正，经局领导同意") == 0
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    assert db.execute("SELECT reason FROM closings WHERE quarter='2016Q3'").fetchone() == ("淮河路街道9月数字更正，经局领导同意",)
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    assert ledger.counted("2016-09")[LATE_UNIT].id > counted_id
    assert not [s for s in ledger.period_submissions("2016-09") if s.status == "held"]
    ledger.close()
    assert run_monthly(f, "2016-09") == 0
    grew = [(a["industry"], a["level"]) for a, b in zip(monthly_manifest(f)["totals"], september["totals"])
            if a["cumulative"] != b["cumulative"]]
    assert len(grew) == 1
    monkeypatch.setenv("PIPELINE_BULLETIN_DATE", "2016-11-11")
    assert run_quarterly(f, "2016Q3") == 0
    m = json.loads((f["outbox"] / "2016Q3" / "manifest.json").read_text(encoding="utf-8"))
    mine = {r["unit"]: r["certified"] for r in m["ranking"]}
    was = {r["unit"]: r["certified"] for r in before["manifest"]["ranking"]}
    assert mine[LATE_UNIT] == was[LATE_UNIT] + 1 and m["issued"] == "2016-11-11"


def test_close_and_reopen_refuse_what_makes_no_sense(closed, tmp_path, capsys):
    f = {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
         "reference": REFERENCE}
    assert close_quarter(f, "2016Q3") == 2                        # no ledger yet
    src = closed[0]
    assert close_quarter(src, "2099Q1") == 2                      # not ended
    assert close_quarter(src, "2016Q1") == 2                      # nothing counted
    assert close_quarter(src, "2016Q3") == 0                      # closed already: said, nothing changes
    assert "已于" in capsys.readouterr().out
    assert reopen_quarter(src, "2016Q2", "无") == 2               # not closed
    assert reopen_quarter(src, "2016Q3", "  ") == 2               # a reason is required
    db = sqlite3.connect(src["archive"] / "ledger.sqlite")
    assert db.execute("SELECT count(*) FROM closings WHERE reopened_at IS NULL").fetchone() == (1,)


def test_the_commands(closed, tmp_path):
    src = closed[0]
    flags = [f"--{k}={src[k]}" for k in ("inbox", "archive", "outbox", "reference")]
    p = pipeline("reopen", "2016Q3", *flags)                      # no terminal to ask: told to say why
    assert p.returncode == 2 and "--reason" in p.stderr
    assert pipeline("close", "2016-09", *flags).returncode == 2 and "2016Q3" in pipeline("close", "x", *flags).stderr
    assert "已于" in pipeline("close", "2016q3", *flags).stdout


def _copy(src, tmp_path) -> dict:
    f = {k: tmp_path / k for k in ("inbox", "archive", "outbox")}
    for k in f:
        shutil.copytree(src[k], f[k])
    f["reference"] = REFERENCE
    return f


def test_a_rebuilt_ledger_keeps_the_closed_quarter_and_its_figures(closed, tmp_path, monkeypatch, capsys):
    """The ledger rebuilt from the archive, after a second held correction whose file is dated
    before September's deadline (copied from a USB stick, it keeps its own time): the closing is
    carried, the held forms stay held and the quarter's 通报 says what it said."""
    from pipeline.core.settings import load_settings
    from pipeline.jobs.register import import_register
    from pipeline.jobs.verify import rebuild_ledger

    from registers import row, write_register
    src, before, _, september, _ = closed
    f = _copy(src, tmp_path)
    other = "马寨镇"
    old = write_sample(f["inbox"] / f"{other}_2016年9月_再报.xlsx", other, "2016-09", {("机械", LEVELS[2]): (0, 5, 0)},
                       "canonical")
    when = dt.datetime(2016, 9, 20, 9, 0, tzinfo=TZ).timestamp()
    os.utime(old, (when, when))
    assert run_monthly(f, "2016-09") == 0
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    counted_then = {u: r.file for u, r in ledger.counted("2016-09").items()}
    ledger.close()

    settings, units = load_settings(REFERENCE), load_units(REFERENCE)
    with_register = dict(f, reference=tmp_path / "reference")   # an import the archive alone cannot tell
    shutil.copytree(REFERENCE, with_register["reference"])
    write_register(with_register["reference"] / f"{settings['register']['file']}.xlsx", [row(1), row(2)])
    book = Ledger.open(f["archive"] / "ledger.sqlite")
    assert import_register(with_register, book, settings, units) is not None
    book.close()

    assert rebuild_ledger(f, settings, units) == 0
    said = capsys.readouterr()
    assert "从原台账带入关账 1 个季度，其通报的数字不变。" in said.out + said.err
    assert "从原台账带入企业台账导入 1 次" in said.out + said.err
    [kept] = f["archive"].glob("ledger.replaced-*.sqlite")
    carried = "SELECT sha256, imported_at, rows FROM register_imports ORDER BY id"
    assert sqlite3.connect(f["archive"] / "ledger.sqlite").execute(carried).fetchall() == \
        sqlite3.connect(kept).execute(carried).fetchall() != []
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    assert {u: r.file for u, r in ledger.counted("2016-09").items()} == counted_then
    held = sorted(s.file for s in ledger.period_submissions("2016-09") if s.status == "held")
    assert held == sorted([f"{LATE_UNIT}_2016年9月_更正.xlsx", f"{other}_2016年9月_再报.xlsx"])
    ledger.close()
    monkeypatch.setenv("PIPELINE_BULLETIN_DATE", "2016-12-12")
    assert run_quarterly(f, "2016Q3") == 0
    after = outputs(f["outbox"] / "2016Q3")
    assert after["docx"] == before["docx"] and after["ranking"] == before["ranking"]
    assert after["manifest"]["ranking"] == before["manifest"]["ranking"]
    assert run_monthly(f, "2016-09") == 0
    assert monthly_manifest(f)["totals"] == september["totals"]


def test_a_rebuild_that_cannot_read_the_old_ledger_says_what_to_do_again(closed, tmp_path, capsys):
    """The old ledger unreadable: nothing is carried, and staff are told to import the register and
    close the quarters again; `close` then refuses the manifest made from the old ledger's numbering."""
    from pipeline.core.settings import load_settings
    from pipeline.jobs.verify import rebuild_ledger
    f = _copy(closed[0], tmp_path)
    for leftover in f["archive"].glob("ledger.sqlite-*"):
        leftover.unlink()
    (f["archive"] / "ledger.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    assert rebuild_ledger(f, load_settings(REFERENCE), load_units(REFERENCE)) == 0
    said = capsys.readouterr()
    assert "没有带入新台账。请重新导入企业台账" in said.out + said.err
    db = sqlite3.connect(f["archive"] / "ledger.sqlite")
    assert db.execute("SELECT count(*) FROM closings").fetchone() == (0,)
    db.close()
    assert close_quarter(f, "2016Q3") == 2
    assert "重新运行 python -m pipeline quarterly 2016Q3" in capsys.readouterr().err
