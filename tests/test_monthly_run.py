"""The monthly run end to end over a generated quarter, and its recovery from a killed run."""
import datetime as dt
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.core.findings import Finding
from pipeline.core.model import INDUSTRIES, LEVELS, Received
from pipeline.demo.year import MONTHS, drop_month
from pipeline.jobs.monthly import _json_text, _submission_line, _Text, manifest_text, run_monthly
from pipeline.read.units import load_units
from pipeline.store.ledger import Ledger

from conftest import REFERENCE, ROOT


def folders(tmp_path):
    return {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
            "reference": REFERENCE}


def expected_totals(sent: dict) -> list[dict]:
    sums = {(i, lv): [0, 0, 0] for i in INDUSTRIES for lv in LEVELS}
    for rows in sent.values():
        for key, values in rows.items():
            for k in range(3):
                sums[key][k] += values[k]
    return [{"industry": i, "level": lv, "new": sums[(i, lv)][0], "cumulative": sums[(i, lv)][1],
             "reviewing": sums[(i, lv)][2]} for i in INDUSTRIES for lv in LEVELS]


def sha_of_tree(folder: Path) -> dict:
    return {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quarter")
    f = folders(tmp)
    ref = load_units(REFERENCE)
    rng, history, sent, received = random.Random(2016), {}, {}, {}
    for period in MONTHS:
        sent[period] = drop_month(f["inbox"], period, ref.names, history, rng, {u.name: u.base for u in ref.units})
        received.update({hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in f["inbox"].iterdir()})
        assert run_monthly(f, period) == (1 if period == "2016-09" else 0)   # 马寨镇's wrong 合计 in September
    return f, sent, received


def manifest(f, period):
    return json.loads((f["outbox"] / period / "manifest.json").read_text(encoding="utf-8"))


def test_district_totals_are_the_sum_of_counted_forms(quarter):
    """Each month: the counted forms, and a unit that missed the month with its last counted 累计完成
    and 正在评审 (一马路街道 in August: July's), 当月完成 0; 德化街街道 never reported: nothing."""
    f, sent, _ = quarter
    assert manifest(f, "2016-07")["totals"] == expected_totals(sent["2016-07"])
    july = sent["2016-07"]["一马路街道"]
    carried = {key: (0, cum, rev) for key, (_new, cum, rev) in july.items()}
    assert manifest(f, "2016-08")["totals"] == expected_totals({**sent["2016-08"], "一马路街道": carried})
    assert manifest(f, "2016-08")["carried"] == [{"unit": "一马路街道", "from": "2016-07"}]
    assert manifest(f, "2016-09")["totals"] == expected_totals(sent["2016-09"])
    assert manifest(f, "2016-09")["carried"] == []
    assert "interim" not in manifest(f, "2016-09")


def test_the_carried_units_are_said_on_the_form_and_in_the_status_book(quarter):
    import openpyxl
    f, _, _ = quarter
    m = manifest(f, "2016-08")
    form = openpyxl.load_workbook(f["outbox"] / "2016-08" / m["files"]["form"]).active
    notes = [form[f"A{r}"].value for r in range(15, 19) if form[f"A{r}"].value]
    assert len(notes) == 1 and "一马路街道（2016年7月）" in notes[0] and "当月完成按 0 计" in notes[0]
    assert form.print_area[0].endswith("$J$16") if isinstance(form.print_area, list) else "16" in form.print_area
    book = openpyxl.load_workbook(f["outbox"] / "2016-08" / m["files"]["status"])["报送情况"]
    texts = [c.value for row in book.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("一马路街道（2016年7月）" in t for t in texts)
    (row,) = [r for r in book.iter_rows(values_only=True) if r[1] == "一马路街道"]
    assert row[2] == "未报" and "全区月报沿用2016年7月的数字" in row[5]


def test_the_city_finds_the_districts_months_continuous(quarter, tmp_path):
    """A city runs the same pipeline with districts as its units: each month's district form, checked
    against the month before, has 累计完成 = last month's + this month's 当月完成 (no CUMULATIVE_GAP)."""
    import shutil
    f, _, _ = quarter
    city = {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
            "reference": tmp_path / "reference"}
    city["reference"].mkdir()
    (city["reference"] / "units.csv").write_text("单位,别名,规模以上企业数,起始,截止\n二七区,,460,,\n", encoding="utf-8-sig")
    shutil.copy(REFERENCE / "settings.toml", city["reference"] / "settings.toml")
    for period in MONTHS:
        city["inbox"].mkdir(exist_ok=True)
        form = manifest(f, period)["files"]["form"]
        shutil.copy(f["outbox"] / period / form, city["inbox"] / form)
        assert run_monthly(city, period) == 0
        (sub,) = manifest(city, period)["submissions"]
        assert sub["status"] == "accepted" and not {"CUMULATIVE_GAP", "CUMULATIVE_DECREASE"} & set(sub["codes"]), sub
    with sqlite3.connect(city["archive"] / "ledger.sqlite") as db:
        assert db.execute("SELECT count(*) FROM findings WHERE code LIKE 'CUMULATIVE%'").fetchone() == (0,)
        assert db.execute("SELECT count(DISTINCT period) FROM submissions WHERE status='accepted'").fetchone() == (3,)


def test_missing_and_late_units(quarter):
    f, _, _ = quarter
    assert manifest(f, "2016-08")["missing"] == ["一马路街道", "德化街街道"]
    assert manifest(f, "2016-09")["missing"] == ["德化街街道"]
    late = {s["unit"] for s in manifest(f, "2016-08")["submissions"] if s["late"]}
    assert late == {"铭功路街道", "五里堡街道"}
    (rec,) = [s for s in manifest(f, "2016-08")["submissions"] if s["unit"] == "五里堡街道"]
    assert rec["received_at"].endswith("+08:00") and "LATE" in rec["codes"]


def test_rejected_then_corrected_and_duplicate(quarter):
    f, _, _ = quarter
    ma = [(s["status"], s["codes"]) for s in manifest(f, "2016-09")["submissions"] if s["unit"] == "马寨镇"]
    assert ma == [("rejected", ["TOTAL_MISMATCH"]), ("accepted", [])]
    dx = [(s["status"], s["file"]) for s in manifest(f, "2016-08")["submissions"] if s["unit"] == "大学路街道"]
    assert dx == [("accepted", "大学路街道_2016年8月报表.xlsx"), ("duplicate", "大学路街道_2016年8月报表(1).xlsx")]
    [first] = [s for s in manifest(f, "2016-08")["submissions"] if s["file"] == "大学路街道_2016年8月报表.xlsx"]
    with sqlite3.connect(f["archive"] / "ledger.sqlite") as db:   # the duplicate's message: when the first came
        values = db.execute("SELECT value FROM findings WHERE code = 'DUPLICATE_FILE'").fetchall()
    assert (first["received_at"][:19].replace("T", " "),) in values


def test_a_later_accepted_form_supersedes(tmp_path):
    f = folders(tmp_path)
    ref = load_units(REFERENCE)
    rng = random.Random(1)
    first = drop_month(f["inbox"], "2016-09", ["侯寨乡"], {}, rng, {"侯寨乡": 57})
    run_monthly(f, "2016-09")
    second = drop_month(f["inbox"], "2016-09", ["侯寨乡"], {"侯寨乡": first["侯寨乡"]}, rng, {})
    for p in f["inbox"].iterdir():  # arrives two days later
        st = p.stat()
        os.utime(p, (st.st_atime, st.st_mtime + 2 * 86400))
    run_monthly(f, "2016-09")
    m = manifest(f, "2016-09")
    assert [s["status"] for s in m["submissions"]] == ["superseded", "accepted"]
    assert m["totals"] == expected_totals(second)
    assert ref


def test_temporary_files_of_a_killed_run_are_swept_and_nothing_else(tmp_path):
    f = folders(tmp_path)
    drop_month(f["inbox"], "2016-09", ["侯寨乡"], {}, random.Random(3), {"侯寨乡": 57})
    out = f["outbox"] / "2016-09"
    (out / "回执").mkdir(parents=True)
    left = [out / ".二七区_2016年9月_报送情况.4242.tmp.xlsx", out / ".manifest.4242.tmp.json",
            out / "回执" / ".侯寨乡_2016年9月_回执.4242.tmp.txt"]
    kept = [out / "说明.tmp", out / ".hidden", out / "回执" / ".tmp.txt"]
    for p in left + kept:
        p.write_bytes(b"half a file")
    run_monthly(f, "2016-09")
    assert [p.name for p in left if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []
    assert [s["status"] for s in manifest(f, "2016-09")["submissions"]] == ["accepted"]


def test_archive_holds_every_input_byte_for_byte_and_inbox_is_empty(quarter):
    f, _, received = quarter
    archived = sha_of_tree(f["archive"] / "files")
    assert set(received) <= set(archived)
    assert not [p for p in f["inbox"].iterdir() if p.is_file()]


def test_outputs_exist_and_open(quarter):
    import openpyxl
    f, _, _ = quarter
    m = manifest(f, "2016-09")
    out = f["outbox"] / "2016-09"
    form = openpyxl.load_workbook(out / m["files"]["form"])
    assert "二七区" in str(form.active["A3"].value)
    openpyxl.load_workbook(out / m["files"]["status"])
    assert all((out / r).exists() for r in m["files"]["receipts"])
    assert any(r.endswith("_标注.xlsx") for r in m["files"]["receipts"])


def test_district_form_is_accepted_by_check_with_the_district_as_unit(quarter, tmp_path, settings):
    from pipeline.check.check import check_files
    from pipeline.read.units import Unit, Units
    f, sent, _ = quarter
    m = manifest(f, "2016-09")
    result = check_files([(f["outbox"] / "2016-09" / m["files"]["form"], m["files"]["form"])],
                         Units((Unit("二七区", 0, None, None, ()),)), settings)[0]
    (sub,) = result.submissions
    assert (sub.status, sub.unit, sub.period) == ("accepted", "二七区", "2016-09"), sub.findings
    assert [r.as_json() for r in sub.rows] == m["totals"]


def test_rerun_with_nothing_new_changes_nothing(quarter):
    f, _, _ = quarter
    out = f["outbox"] / "2016-09"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    run_monthly(f, "2016-09")
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    assert before == after


def run_cli(f, period, crash=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PIPELINE_CRASH_AT", None)
    if crash:
        env["PIPELINE_CRASH_AT"] = crash
    args = [sys.executable, "-m", "pipeline", "monthly", "--period", period]
    f["archive"].mkdir(exist_ok=True)   # the command refuses an archive that does not exist
    for k in ("inbox", "archive", "outbox", "reference"):
        args += [f"--{k}", str(f[k])]
    return subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("crash", ["archived", "recorded", "taken_in"])
def test_killed_run_recovers_with_nothing_lost_or_doubled(tmp_path, crash):
    f = folders(tmp_path)
    ref = load_units(REFERENCE)
    sent = drop_month(f["inbox"], "2016-09", ref.names, {}, random.Random(9), {u.name: u.base for u in ref.units})
    inbox_before = sha_of_tree(f["inbox"])
    killed = run_cli(f, "2016-09", crash)
    assert killed.returncode == -signal.SIGKILL
    assert set(inbox_before) <= set(sha_of_tree(f["archive"] / "files"))  # archived before anything else
    if crash == "archived":
        assert sha_of_tree(f["inbox"]) == inbox_before                     # nothing removed yet
    done = run_cli(f, "2016-09")
    # exit 1 when this run rejected a form: 马寨镇's wrong 合计, unless the killed run had recorded it
    assert done.returncode == (0 if "退回 0，" in done.stdout else 1), done.stderr
    m = manifest(f, "2016-09")
    assert m["totals"] == expected_totals(sent)
    statuses = [s["status"] for s in m["submissions"]]
    assert "duplicate" not in statuses                                       # nothing counted twice
    assert len(m["submissions"]) == len(sent) + 1                           # + 马寨镇's rejected first form
    assert not [p for p in f["inbox"].iterdir() if p.is_file()]
    ledger = Ledger.open_readonly(f["archive"] / "ledger.sqlite")
    assert ledger.pending_removals() == []                                  # and every removal marked done
    ledger.close()


def test_intake_in_small_chunks_gives_the_same_result(tmp_path, monkeypatch):
    import pipeline.jobs.intake
    monkeypatch.setattr(pipeline.jobs.intake, "CHUNK", 1)   # duplicates and twins fall in different chunks,
    monkeypatch.setattr(pipeline.jobs.intake, "FIRST", 1)   # recorded while the next chunk is checked,
    record = pipeline.jobs.intake.Ledger.record

    def slow_record(*args):                              # slowly: the next chunk must wait for it
        time.sleep(0.3)
        return record(*args)
    monkeypatch.setattr(pipeline.jobs.intake.Ledger, "record", slow_record)
    f = folders(tmp_path)
    ref = load_units(REFERENCE)
    sent = drop_month(f["inbox"], "2016-08", ref.names, {}, random.Random(4), {u.name: u.base for u in ref.units})
    dropped = len([p for p in f["inbox"].rglob("*") if p.is_file()])
    run_monthly(f, "2016-08")
    m = manifest(f, "2016-08")
    assert m["totals"] == expected_totals(sent)
    with sqlite3.connect(f["archive"] / "ledger.sqlite") as db:   # the run's count of files taken in
        assert db.execute("SELECT files_in FROM runs").fetchall() == [(dropped,)]
    assert [s["status"] for s in m["submissions"]].count("duplicate") == 1
    assert all(s["unit"] for s in m["submissions"] if s["status"] == "duplicate")   # under the original's unit
    assert m["missing"] == ["一马路街道", "德化街街道"]


def test_intake_never_lets_checked_chunks_pile_up_behind_a_slow_writer(tmp_path, monkeypatch):
    """Memory stays bounded whatever the inbox holds: a chunk just checked, one waiting for the writer
    and the one it is recording, no more."""
    import pipeline.jobs.intake
    monkeypatch.setattr(pipeline.jobs.intake, "CHUNK", 1)
    monkeypatch.setattr(pipeline.jobs.intake, "FIRST", 1)
    examine, conclude = pipeline.jobs.intake.examine_chunks, pipeline.jobs.intake._conclude_and_record
    waiting, most = [0], [0]

    def counted_examine(*args, **kwargs):
        for got in examine(*args, **kwargs):
            waiting[0] += 1
            most[0] = max(most[0], waiting[0])
            yield got

    def slow_conclude(*args, **kwargs):
        time.sleep(0.3)
        conclude(*args, **kwargs)
        waiting[0] -= 1
    monkeypatch.setattr(pipeline.jobs.intake, "examine_chunks", counted_examine)
    monkeypatch.setattr(pipeline.jobs.intake, "_conclude_and_record", slow_conclude)
    f = folders(tmp_path)
    ref = load_units(REFERENCE)
    sent = drop_month(f["inbox"], "2016-08", ref.names, {}, random.Random(4), {u.name: u.base for u in ref.units})
    run_monthly(f, "2016-08")
    assert manifest(f, "2016-08")["totals"] == expected_totals(sent)
    assert 2 <= most[0] <= 3


def test_a_submission_is_one_line_of_the_manifest_whatever_its_name_holds():
    """The manifest's submissions, one a line, are the JSON of each one's fields: quotes, backslashes,
    line breaks and control characters in a file name escaped, Chinese kept as it is, a unit not
    found written null, the codes sorted and each once."""
    at = dt.datetime(2016, 9, 30, 23, 59, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    subs = [Received(1, '马寨镇"9月"\\报表\n\x01\u2028.xlsx', "/a", "0" * 64, at, None, None, "2016-09", "rejected",
                     True, (), (Finding("UNIT_UNKNOWN", "error", None, "m"), Finding("LATE", "warning", None, "m"),
                                Finding("UNIT_UNKNOWN", "error", None, "m"))),
            Received(2, "侯寨乡.xls", "/b", "1" * 64, at, "Sheet1", "侯寨乡", "2016-09", "accepted", False, (), ())]
    lines = [_submission_line(r) for r in subs]
    assert all("\n" not in line for line in lines)
    assert [json.loads(line) for line in lines] == [
        {"unit": None, "status": "rejected", "received_at": "2016-09-30T23:59:01+08:00", "late": True,
         "file": '马寨镇"9月"\\报表\n\x01\u2028.xlsx', "codes": ["LATE", "UNIT_UNKNOWN"]},
        {"unit": "侯寨乡", "status": "accepted", "received_at": "2016-09-30T23:59:01+08:00", "late": False,
         "file": "侯寨乡.xls", "codes": []}]
    assert lines == [json.dumps(json.loads(line), ensure_ascii=False) for line in lines]   # as json writes them
    assert lines[1] == ('{"unit": "侯寨乡", "status": "accepted", "received_at": "2016-09-30T23:59:01+08:00", '
                        '"late": false, "file": "侯寨乡.xls", "codes": []}')
    assert manifest_text({"submissions": [json.loads(line) for line in lines]}) == \
        manifest_text({"submissions": _Text(_json_text([_Text(line) for line in lines], " "))})   # one a line
