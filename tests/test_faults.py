"""Faults a staff member meets (a damaged or lost ledger, a moved archive, odd things in the inbox, a
full disk, a killed run, a late form) each end in a Chinese message, a documented exit, nothing lost
or counted twice, and a clean recovery on the next run."""
import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from pipeline.jobs.monthly import run_monthly

from conftest import REFERENCE, ROOT, form_cells, write_book

TZ = dt.timezone(dt.timedelta(hours=8))
SEPT = dt.datetime(2016, 9, 20, 10, 0, tzinfo=TZ)


def folders(tmp_path, **where) -> dict:
    f = {k: Path(where.get(k, tmp_path / k)) for k in ("inbox", "archive", "outbox")}
    for p in f.values():
        p.mkdir(parents=True, exist_ok=True)
    f["reference"] = REFERENCE
    return f


def drop(f, unit="侯寨乡", period=(2016, 9), at=SEPT, name=None, **cells_of) -> Path:
    """A unit's form dropped into the inbox, received at `at` (its modification time)."""
    cells = form_cells(unit, period)
    cells.update(cells_of.get("cells", {}))
    path = write_book(f["inbox"] / (name or f"{unit}_{period[0]}年{period[1]}月.xlsx"), cells)
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def cli(f, *args, env=None, timeout=300):
    run_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    flags = [x for k in ("inbox", "archive", "outbox", "reference") for x in (f"--{k}", str(f[k]))]
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args), *flags], capture_output=True, text=True,
                          cwd=ROOT, env=run_env, timeout=timeout)


def manifest(f, period="2016-09") -> dict:
    return json.loads((f["outbox"] / period / "manifest.json").read_text(encoding="utf-8"))


def summary(f, period="2016-09") -> tuple:
    m = manifest(f, period)
    return (m["totals"], m["missing"],
            sorted((s["unit"] or "", s["status"], s["late"], s["received_at"], s["file"]) for s in m["submissions"]))


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the ledger -------------------------------------------------------------------------------

@pytest.fixture
def month(tmp_path):
    """A September run: four units, one rejected (its 合计 wrong: a marked copy), one by e-mail."""
    from test_intake import mail_with
    f = folders(tmp_path)
    drop(f, "侯寨乡")
    drop(f, "马寨镇", cells={"C14": 99})
    drop(f, "淮河路街道", at=SEPT + dt.timedelta(days=15))   # late
    data = write_book(tmp_path / "x.xlsx", form_cells("解放路街道")).read_bytes()
    (f["inbox"] / "来信.eml").write_bytes(mail_with([("解放路街道9月报表.xlsx", data, None)]))
    assert run_monthly(f, "2016-09") == 1   # a form was rejected
    return f


@pytest.mark.parametrize("harm, says", [
    (lambda db: db.write_bytes(b"not a database at all" * 200), "已损坏，无法读取（file is not a database）"),
    (lambda db: _garble(db), "已损坏，无法读取（database disk image is malformed）"),
    (lambda db: _sql(db, "ALTER TABLE submissions RENAME COLUMN counts TO numbers"), "submissions 表缺少 counts 列"),
    (lambda db: _sql(db, "ALTER TABLE files DROP COLUMN size"), "files 表缺少 size 列"),
    (lambda db: _sql(db, "PRAGMA user_version = 9"), "由较新版本的本系统写入（台账版本 9"),
    (lambda db: [p.unlink() for p in db.parent.glob("ledger.sqlite*")], "台账 {db} 不见了"),
], ids=["damaged", "malformed", "column-renamed", "column-missing", "newer", "deleted"])
def test_a_ledger_that_cannot_be_trusted_is_refused_and_rebuilt_from_the_archive(month, harm, says):
    f = month
    before = summary(f)
    db = f["archive"] / "ledger.sqlite"
    harm(db)
    late = drop(f, "铭功路街道")
    for command in (["monthly", "--period", "2016-09"], ["status", "--period", "2016-09"]):
        p = cli(f, *command)
        assert p.returncode == 2 and says.format(db=db) in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert "rebuild-ledger" in p.stderr or "新版本" in p.stderr
    assert late.exists()                                              # nothing taken meanwhile
    if "新版本" in says:
        return                                                        # a newer version's ledger is left alone
    rebuilt = cli(f, "rebuild-ledger")
    assert rebuilt.returncode == 0 and "已从存档" in rebuilt.stdout, rebuilt.stderr
    assert not (f["archive"] / "ledger.sqlite").exists() or cli(f, "verify").returncode == 0
    late.unlink()
    made = (f["outbox"] / "2016-09" / "manifest.json").stat().st_mtime_ns
    assert cli(f, "monthly", "--period", "2016-09").returncode == 0
    assert (f["outbox"] / "2016-09" / "manifest.json").stat().st_mtime_ns != made   # made again from the new ledger
    assert summary(f) == before                                       # exactly the month as it was


def _garble(db):
    """Every page after the first two overwritten: the ledger opens (its schema is on page 1), and fails
    as it is read."""
    data = db.read_bytes()
    db.write_bytes(data[:2 * 4096] + b"\xff" * (len(data) - 2 * 4096))


def _sql(db, statement):
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute(statement)
        con.commit()


def test_a_ledger_of_the_version_before_is_upgraded_once_to_relative_paths_and_old_half_copies_go(month, tmp_path):
    f = month
    db = f["archive"] / "ledger.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as con:   # as the version before wrote it: absolute paths
        con.execute("UPDATE files SET archived = ? || '/' || archived", (str(tmp_path / "where" / "it" / "was"),))
        con.execute("PRAGMA user_version = 0")
        con.commit()
    half = f["archive"] / "files" / "2016-09" / ".part-4242-0"
    half.write_bytes(b"half a copy")
    drop(f, "铭功路街道")
    assert cli(f, "monthly", "--period", "2016-09").returncode == 0
    with contextlib.closing(sqlite3.connect(db)) as con:
        assert con.execute("PRAGMA user_version").fetchone() == (1,)
        assert {a[:14] for (a,) in con.execute("SELECT archived FROM files")} == {"files/2016-09/", "files/2016-10/"}
    assert not half.exists() and cli(f, "verify").returncode == 0


def test_a_rebuild_without_the_received_log_takes_times_from_the_files_and_the_mail(month):
    f = month
    before = summary(f)
    (f["archive"] / "received.log").unlink()   # an archive made before the log was kept
    (f["archive"] / "ledger.sqlite").unlink()
    p = cli(f, "rebuild-ledger")
    assert p.returncode == 0 and "不在收件记录中" in p.stdout
    assert cli(f, "monthly", "--period", "2016-09").returncode == 0
    assert summary(f) == before


def test_after_the_wal_is_lost_following_a_crash_no_unit_is_reported_missing_whose_file_is_archived(tmp_path):
    f = folders(tmp_path)
    for unit in ("侯寨乡", "马寨镇", "淮河路街道"):
        drop(f, unit)
    killed = cli(f, "monthly", "--period", "2016-09", env={"PIPELINE_CRASH_AT": "taken_in"})
    assert killed.returncode == -9 and not list(f["inbox"].iterdir())     # recorded, removed, then killed
    (f["archive"] / "ledger.sqlite-wal").unlink()                           # the last transactions with it
    p = cli(f, "monthly", "--period", "2016-09")
    assert p.returncode == 0 and "补登 3 个文件" in p.stderr
    m = manifest(f)
    assert sorted(s["unit"] for s in m["submissions"]) == sorted(["侯寨乡", "马寨镇", "淮河路街道"])
    assert "侯寨乡" not in m["missing"] and len(m["missing"]) == 13
    assert cli(f, "verify").returncode == 0


def test_verify_lists_every_difference_between_ledger_and_archive(month):
    f = month
    ok = cli(f, "verify")
    assert ok.returncode == 0 and "核对完毕" in ok.stdout
    (gone,) = (f["archive"] / "files").rglob("*_侯寨乡_2016年9月.xlsx")
    (changed,) = (f["archive"] / "files").rglob("*_淮河路街道_2016年9月.xlsx")   # received late: in files/2016-10
    gone.unlink()
    data = changed.read_bytes()
    changed.unlink()                                    # a new file: the inbox's hard link is not touched
    changed.write_bytes(data + b"\0")
    _sql(f["archive"] / "ledger.sqlite", "UPDATE submissions SET counts = replace(counts, '[', '[9') WHERE unit = '马寨镇'")
    p = cli(f, "verify")
    assert p.returncode == 1
    assert f"缺少存档文件：files/2016-09/{gone.name}" in p.stdout
    assert f"存档文件 files/2016-10/{changed.name}（“淮河路街道_2016年9月.xlsx”）的内容与登记时不同" in p.stdout
    assert "“马寨镇_2016年9月.xlsx”工作表“月度报表”：台账中的数字与重新读取存档文件所得不同" in p.stdout


# --- the archive moved, or a file gone from it ----------------------------------------------------

def test_a_moved_archive_works_and_a_missing_archived_file_costs_only_its_marked_copy(month, tmp_path):
    f = month
    moved = tmp_path / "restored" / "archive"
    shutil.copytree(f["archive"], moved)   # restored elsewhere (a copy: no hard link to the old place)
    shutil.rmtree(f["archive"])
    f["archive"] = moved
    with sqlite3.connect(moved / "ledger.sqlite") as con:
        assert {a[:6] for (a,) in con.execute("SELECT archived FROM files")} == {"files/"}   # relative paths
    drop(f, "铭功路街道")
    p = cli(f, "monthly", "--period", "2016-09")
    assert p.returncode == 0, p.stderr
    receipts = f["outbox"] / "2016-09" / "回执"
    assert [p.name for p in receipts.glob("*马寨镇*_标注.xlsx")]          # made from the restored archive
    for archived in moved.glob("files/2016-09/*_马寨镇_2016年9月.xlsx"):
        archived.unlink()
    drop(f, "一马路街道")
    p = cli(f, "monthly", "--period", "2016-09")
    assert p.returncode == 0 and "马寨镇_2016年9月.xlsx”）不见了：其回执照常生成，但没有标注副本" in p.stderr
    assert not list(receipts.glob("*马寨镇*_标注.xlsx")) and list(receipts.glob("*马寨镇*.txt"))
    assert {s["unit"] for s in manifest(f)["submissions"]} >= {"一马路街道", "铭功路街道", "侯寨乡"}


# --- what is in the inbox --------------------------------------------------------------------------

def test_symlinks_fifos_and_devices_are_never_followed_read_or_archived(tmp_path):
    f = folders(tmp_path)
    drop(f, "侯寨乡")
    huge = tmp_path / "huge.xlsx"
    with open(huge, "wb") as out:
        out.truncate(50 * 2**30)   # 50 GB, sparse: never read, never hashed
    (f["inbox"] / "马寨镇_2016年9月.xlsx").symlink_to("/etc/passwd")
    (f["inbox"] / "淮河路街道_2016年9月.xlsx").symlink_to(huge)
    (f["inbox"] / "文件夹").symlink_to("/etc")
    os.mkfifo(f["inbox"] / "解放路街道_2016年9月.xlsx")
    with open(f["inbox"] / "一马路街道_2016年9月.xlsx", "wb") as out:
        out.truncate(60 * 2**30)   # a regular file of 60 GB (sparse): refused by its size, never hashed
    devices = []
    with contextlib.suppress(PermissionError, OSError):
        os.mknod(f["inbox"] / "铭功路街道_2016年9月.xlsx", 0o600 | 0o020000, os.makedev(1, 3))   # like /dev/null
        devices.append("铭功路街道_2016年9月.xlsx")
    p = cli(f, "monthly", "--period", "2016-09", timeout=120)
    assert p.returncode == 0, p.stderr
    assert [s["unit"] for s in manifest(f)["submissions"]] == ["侯寨乡"]
    left = sorted(x.name for x in f["inbox"].iterdir())
    assert left == sorted(["马寨镇_2016年9月.xlsx", "淮河路街道_2016年9月.xlsx", "文件夹", "解放路街道_2016年9月.xlsx",
                           "一马路街道_2016年9月.xlsx", *devices])
    assert "一马路街道_2016年9月.xlsx”有 64.4 GB，超过收件箱单个文件的上限 200 MB（limits.inbox_bytes），没有读取" in p.stderr
    assert p.stderr.count("是符号链接（快捷方式），没有收取") == 3
    assert p.stderr.count("不是普通文件（管道、设备或套接字），没有收取") == 1 + len(devices)
    archived = [x for x in (f["archive"] / "files").rglob("*")]
    assert all(x.is_dir() or (x.is_file() and not x.is_symlink()) for x in archived)
    assert b"root:" not in b"".join(x.read_bytes() for x in archived if x.is_file())


def test_a_file_that_becomes_a_fifo_after_the_scan_does_not_block_the_run(tmp_path, monkeypatch, capsys):
    import faulthandler

    import pipeline.jobs.intake
    f = folders(tmp_path)
    drop(f, "侯寨乡")
    swapped = drop(f, "马寨镇")
    scan = pipeline.jobs.intake.received

    def then_a_fifo(*args, **kwargs):
        found = scan(*args, **kwargs)
        swapped.unlink()
        os.mkfifo(swapped)   # a FIFO where a file was scanned: opening it for reading would wait for ever
        return found
    monkeypatch.setattr(pipeline.jobs.intake, "received", then_a_fifo)
    faulthandler.dump_traceback_later(120, exit=True, file=sys.__stderr__)   # a hang fails the test, not the suite
    try:
        assert run_monthly(f, "2016-09") == 0
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert [s["unit"] for s in manifest(f)["submissions"]] == ["侯寨乡"]
    assert swapped.exists() and "马寨镇_2016年9月.xlsx”不是普通文件" in capsys.readouterr().err
    monkeypatch.setattr(pipeline.jobs.intake, "received", scan)
    swapped.unlink()
    drop(f, "马寨镇")
    assert run_monthly(f, "2016-09") == 0
    assert [s["unit"] for s in manifest(f)["submissions"]] == ["侯寨乡", "马寨镇"]


def test_a_file_still_being_written_is_left_for_the_next_run_and_then_taken_whole(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_LIMITS_SETTLE_SECONDS", "1")
    f = folders(tmp_path)
    drop(f, "侯寨乡")
    whole = write_book(tmp_path / "whole.xlsx", form_cells("马寨镇")).read_bytes()
    target = f["inbox"] / "马寨镇_2016年9月.xlsx"
    done = threading.Event()

    def copy_slowly():   # as from a USB stick: a piece every 0.2 s until told to finish
        with open(target, "wb") as out:
            k = 0
            while not done.is_set():
                out.write(whole[k:k + 200])
                out.flush()
                k += 200
                time.sleep(0.2)
            out.write(whole[k:])
    writer = threading.Thread(target=copy_slowly)
    writer.start()
    try:
        time.sleep(0.3)
        assert run_monthly(f, "2016-09") == 0
    finally:
        done.set()
        writer.join()
    assert [s["unit"] for s in manifest(f)["submissions"]] == ["侯寨乡"]    # not read truncated, nor rejected
    assert target.exists() and "正在写入（大小或修改时间仍在变化），本次没有收取" in capsys.readouterr().err
    time.sleep(1.1)
    assert run_monthly(f, "2016-09") == 0
    m = manifest(f)
    assert [(s["unit"], s["status"]) for s in m["submissions"]] == [("侯寨乡", "accepted"), ("马寨镇", "accepted")]
    (archived,) = (f["archive"] / "files").rglob("*_马寨镇_2016年9月.xlsx")
    assert archived.read_bytes() == whole and not target.exists()


# --- a full disk, a read-only folder -------------------------------------------------------------

@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A small tmpfs at `path` (CI runs as root); the test is skipped, saying why, where mounting is
    refused. Always unmounted."""
    path.mkdir(parents=True, exist_ok=True)
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"needs root (as the CI runs) to mount a small tmpfs for a full-disk test: "
                    f"{got.stderr.strip() or got.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of `folder` up to `leave` free bytes."""
    filler = folder / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_outbox_leaves_the_previous_set_whole_and_the_next_run_makes_the_new_one(tmp_path):
    with tmpfs(tmp_path / "disk", "2m") as disk:
        f = folders(tmp_path, outbox=disk / "outbox")
        drop(f, "侯寨乡")
        assert cli(f, "monthly", "--period", "2016-09").returncode == 0
        before = tree(f["outbox"])
        filler = fill(disk)                                              # full: refused before anything is taken
        late = drop(f, "马寨镇", cells={"C14": 99})
        p = cli(f, "monthly", "--period", "2016-09")
        assert p.returncode == 2 and "输出目录" in p.stderr and "不能写入（磁盘已满）" in p.stderr
        assert late.exists() and tree(f["outbox"]) == before
        filler.unlink()
        filler = fill(disk, leave=24 * 1024)                             # room for the test write, not for the set
        p = cli(f, "monthly", "--period", "2016-09")
        assert p.returncode == 2 and "运行中断：磁盘已满" in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert tree(f["outbox"]) == before                               # the previous set, whole
        assert sorted(x.name for x in f["outbox"].iterdir()) == ["2016-09"]   # no half-written set beside it
        filler.unlink()
        p = cli(f, "monthly", "--period", "2016-09")
        assert p.returncode == 0, p.stderr
        assert [(s["unit"], s["status"]) for s in manifest(f)["submissions"]] == [("侯寨乡", "accepted"),
                                                                               ("马寨镇", "rejected")]
        assert list((f["outbox"] / "2016-09" / "回执").glob("*马寨镇*_标注.xlsx"))


def test_a_full_archive_stops_the_run_with_nothing_lost_and_the_next_run_takes_everything_once(tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        f = folders(tmp_path, archive=disk / "archive")   # the inbox on another file system: files are copied
        units = ("侯寨乡", "马寨镇", "淮河路街道", "解放路街道", "铭功路街道", "一马路街道")
        sent = [drop(f, unit) for unit in units]
        first = cli(f, "monthly", "--period", "2016-09")   # makes the ledger (and the first test write)
        assert first.returncode == 0
        for unit in units:
            drop(f, unit, period=(2016, 10), at=SEPT + dt.timedelta(days=30))
        filler = fill(disk, leave=40 * 1024)
        p = cli(f, "monthly", "--period", "2016-10")
        assert p.returncode == 2 and "运行中断：磁盘已满" in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert len(list(f["inbox"].iterdir())) + _recorded(f, "2016-10") == len(units)   # each one somewhere
        filler.unlink()
        p = cli(f, "monthly", "--period", "2016-10")
        assert p.returncode == 0, p.stderr
        m = manifest(f, "2016-10")
        assert sorted(s["unit"] for s in m["submissions"]) == sorted(units) and not list(f["inbox"].iterdir())
        assert all(s["status"] == "accepted" for s in m["submissions"])            # none counted twice
        assert not [x for x in f["archive"].rglob("*") if x.parent.name == ".part"]  # nothing half-copied left
        assert sent


def _recorded(f, period) -> int:
    with contextlib.closing(sqlite3.connect(f["archive"] / "ledger.sqlite")) as con:
        return con.execute("SELECT count(*) FROM submissions WHERE period = ?", (period,)).fetchone()[0]


def test_a_read_only_outbox_is_found_before_anything_is_taken(tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        f = folders(tmp_path, outbox=disk / "outbox")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        form = drop(f, "侯寨乡")
        p = cli(f, "monthly", "--period", "2016-09")
        assert p.returncode == 2 and "不能写入（只读文件系统）" in p.stderr and "收件箱中的文件都没有动" in p.stderr
        assert form.exists() and not (f["archive"] / "ledger.sqlite").exists()


def test_status_and_check_work_on_a_read_only_archive(month, tmp_path):
    f = month
    with tmpfs(tmp_path / "disk", "4m") as disk:
        shutil.copytree(f["archive"], disk / "archive")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        g = dict(f, archive=disk / "archive")
        p = cli(g, "status", "--period", "2016-09")
        assert p.returncode == 0 and "侯寨乡" in p.stdout and "按时" in p.stdout, p.stderr
        october = write_book(tmp_path / "侯寨乡_2016年10月.xlsx", form_cells("侯寨乡", (2016, 10)))
        p = cli(g, "check", october)
        assert p.returncode == 0 and "侯寨乡 2016-10" in p.stdout, p.stderr


# --- a killed run -----------------------------------------------------------------------------------

def _session(pid: int) -> list[int]:
    """The processes still in the session started by `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == pid and fields[0] != "Z":   # session id, state
                    out.append(int(entry))
    return out


@pytest.mark.parametrize("crash", ["archived", "outputs"])
def test_a_killed_run_leaves_no_worker_behind_and_the_next_run_finishes_its_work(tmp_path, crash):
    f = folders(tmp_path)
    units = ("侯寨乡", "马寨镇")
    for k in range(45):   # enough marked copies for the receipt workers to start
        drop(f, units[k % 2], name=f"{units[k % 2]}_2016年9月_{k}.xlsx", cells={"B6": k + 100})
    (f["archive"] / ".part").mkdir()
    (f["archive"] / ".part" / "999-1").write_bytes(b"half a copy")   # as a killed run leaves one
    flags = [x for k in ("inbox", "archive", "outbox", "reference") for x in (f"--{k}", str(f[k]))]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIPELINE_CRASH_AT=crash)
    with open(tmp_path / "said.txt", "wb") as said:   # not a pipe: a worker left behind would hold it open
        run = subprocess.Popen([sys.executable, "-m", "pipeline", "monthly", "--period", "2016-09", *flags], cwd=ROOT,
                               env=env, stdout=said, stderr=said, start_new_session=True)
        run.wait(timeout=300)
    assert run.returncode == -9
    deadline = time.monotonic() + 15
    while _session(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _session(run.pid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    assert left == []                                                   # no worker, forkserver or tracker
    p = cli(f, "monthly", "--period", "2016-09")
    assert p.returncode == 0, p.stderr
    assert len(manifest(f)["submissions"]) == 45 and not list(f["inbox"].iterdir())
    assert list((f["archive"] / ".part").iterdir()) == []
    assert not [x for x in f["outbox"].iterdir() if x.name.startswith(".")]


# --- every answer reaches its reader ----------------------------------------------------------------

def test_a_late_form_for_an_earlier_month_gets_its_receipt_and_that_month_is_rebuilt(tmp_path, capsys):
    f = folders(tmp_path)
    drop(f, "侯寨乡", period=(2016, 8), at=dt.datetime(2016, 8, 25, tzinfo=TZ))
    assert run_monthly(f, "2016-08") == 0
    assert "马寨镇" in manifest(f, "2016-08")["missing"]
    october = dt.datetime(2016, 10, 5, 9, 0, tzinfo=TZ)
    drop(f, "马寨镇", period=(2016, 8), at=october)                  # August's form, arriving in October
    drop(f, "侯寨乡", period=(2016, 9), at=october)
    capsys.readouterr()
    assert run_monthly(f, "2016-09") == 0
    said = capsys.readouterr().out
    assert "本次收到的报表也涉及：2016年8月" in said
    august = manifest(f, "2016-08")
    (late,) = [s for s in august["submissions"] if s["unit"] == "马寨镇"]
    assert late["late"] and late["status"] == "accepted" and "马寨镇" not in august["missing"]
    (receipt,) = (f["outbox"] / "2016-08" / "回执").glob("回执_马寨镇_2016年8月_*.txt")
    text = receipt.read_text(encoding="utf-8-sig")
    assert "收到时间：2016年10月5日 09:00（以文件的最后修改时间为准）（已过报送截止时间）" in text


def test_attachments_that_are_not_workbooks_are_archived_and_listed_with_the_mail_text(tmp_path):
    from email.message import EmailMessage
    from email.utils import format_datetime
    f = folders(tmp_path)
    form = write_book(tmp_path / "x.xlsx", form_cells("侯寨乡")).read_bytes()
    note = "本月有一家企业被撤销三级证书，累计数比上月少 1 家，情况说明见附件。".encode()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "clerk@example.cn", "ajj@example.cn", "侯寨乡9月报表"
    msg["Date"] = format_datetime(SEPT)
    msg.set_content(note.decode())
    msg.add_attachment(form, maintype="application", subtype="octet-stream", filename="侯寨乡9月报表.xlsx")
    msg.add_attachment(b"PK\x03\x04 a docx", maintype="application", subtype="octet-stream", filename="情况说明.docx")
    (f["inbox"] / "侯寨乡.eml").write_bytes(bytes(msg))
    alone = EmailMessage()
    alone["From"], alone["Subject"], alone["Date"] = "clerk@example.cn", "说明", format_datetime(SEPT)
    alone.set_content("只有说明。")
    alone.add_attachment(b"%PDF-1.4 scan", maintype="application", subtype="pdf", filename="盖章说明.pdf")
    (f["inbox"] / "马寨镇.eml").write_bytes(bytes(alone))
    assert run_monthly(f, "2016-09") == 1   # a form was rejected
    archived = {p.name.split("_", 1)[1] for p in (f["archive"] / "files").rglob("*_*")}
    assert {"情况说明.docx", "盖章说明.pdf"} <= archived
    out = f["outbox"] / "2016-09"
    book = openpyxl.load_workbook(next(out.glob("*报送情况.xlsx")))
    ws = book["报送情况"]
    (row,) = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[1] == "侯寨乡"]
    assert row[7] == f"附件：情况说明.docx（已存档）；邮件正文：{note.decode()}"
    files = [r for r in book["全部文件"].iter_rows(min_row=2, values_only=True)]
    assert any(r[2] == "马寨镇.eml" and r[8] == "附件：盖章说明.pdf（已存档）；邮件正文：只有说明。" for r in files)
    receipt = next((out / "回执").glob("回执_侯寨乡_*.txt")).read_text(encoding="utf-8-sig")
    assert "随附文件：情况说明.docx（已存档）" in receipt and "（以邮件的发送时间为准）" in receipt
    rejected = next((out / "回执").glob("回执_未识别单位_*马寨镇*.txt")).read_text(encoding="utf-8-sig")
    assert "随附文件：盖章说明.pdf（已存档）" in rejected and "没有找到" in rejected


# --- what reaches the terminal and the workbooks ------------------------------------------------------

def test_names_with_control_characters_reach_the_terminal_as_escapes(tmp_path):
    from test_intake import mail_with
    f = folders(tmp_path)
    name = "\x1b[2J\x1b[H侯寨乡_2016年9月\r  马寨镇 —— 接收\u202e.xlsx"
    drop(f, "侯寨乡", name=name)
    data = write_book(tmp_path / "m.xlsx", form_cells("马寨镇")).read_bytes()
    (f["inbox"] / "m.eml").write_bytes(mail_with([("\x1b[31m马寨镇\x1b[0m.xlsx", data, None)]))
    eml = tmp_path / "m.eml"
    shutil.copy(f["inbox"] / "m.eml", eml)
    checked = cli(f, "check", f["inbox"] / name, eml)
    assert checked.returncode == 0
    assert "\x1b" not in checked.stdout and "\r" not in checked.stdout and "\u202e" not in checked.stdout
    assert "\\x1b[2J\\x1b[H侯寨乡_2016年9月\\x0d  马寨镇 —— 接收\\u202e.xlsx" in checked.stdout
    assert cli(f, "monthly", "--period", "2016-09").returncode == 0
    status = cli(f, "status", "--period", "2016-09")
    assert "\x1b" not in status.stdout and "\\x1b[31m马寨镇\\x1b[0m.xlsx" in status.stdout


def test_text_that_looks_like_a_formula_carries_the_quote_prefix_in_the_status_book_and_marked_copy(tmp_path):
    f = folders(tmp_path)
    form = drop(f, "侯寨乡", name="=HYPERLINK(1)侯寨乡.xlsx", cells={"C14": 99})
    book = openpyxl.load_workbook(form)
    book.active["L6"].value = "=SUM(A1:A9)"     # a remark typed as text (Excel would show '=SUM(A1:A9))
    book.active["L6"].data_type = "s"
    book.save(form)
    os.utime(form, (SEPT.timestamp(), SEPT.timestamp()))
    assert run_monthly(f, "2016-09") == 1   # a form was rejected
    out = f["outbox"] / "2016-09"
    ws = openpyxl.load_workbook(next(out.glob("*报送情况.xlsx")))["全部文件"]
    cell = ws["C2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=HYPERLINK(1)侯寨乡.xlsx", "s", True)
    assert ws["B2"].quotePrefix is False                                 # other text as it was
    (marked,) = (out / "回执").glob("*_标注.xlsx")
    sheet = openpyxl.load_workbook(marked)["月度报表"]
    assert (sheet["L6"].value, sheet["L6"].quotePrefix) == ("=SUM(A1:A9)", True)
    assert sheet["C14"].fill.fgColor.rgb == "FFFF6666" and sheet["A6"].quotePrefix is False


@pytest.mark.parametrize("bad", ["9月:报表", "2016年9月工贸企业安全生产标准化月度报表（侯寨乡人民政府）第一版定稿", "History"])
def test_a_marked_copy_of_a_workbook_with_a_sheet_name_excel_forbids_is_a_valid_workbook(tmp_path, bad):
    import zipfile
    f = folders(tmp_path)
    source = drop(f, "侯寨乡", cells={"C14": 99})
    with zipfile.ZipFile(source) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'name="\xe6\x9c\x88\xe5\xba\xa6\xe6\x8a\xa5\xe8\xa1\xa8"',
                                                                f'name="{bad}"'.encode())
    with zipfile.ZipFile(source, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    os.utime(source, (SEPT.timestamp(), SEPT.timestamp()))
    assert run_monthly(f, "2016-09") == 1   # a form was rejected
    (marked,) = (f["outbox"] / "2016-09" / "回执").glob("*_标注.xlsx")
    book = openpyxl.load_workbook(marked)   # openpyxl refuses a sheet name Excel forbids
    (title,) = [t for t in book.sheetnames if t != "问题清单"]
    assert title != bad and len(title) <= 31 and not set(title) & set("[]:*?/\\") and title.lower() != "history"
    assert book[title]["C14"].fill.fgColor.rgb == "FFFF6666"
    links = [c.hyperlink.location for row in book["问题清单"].iter_rows() for c in row if c.hyperlink]
    assert f"'{title}'!C14" in links and all(link.startswith(f"'{title}'!") for link in links)   # (and OUTLIER's)
    listed = [c.value for c in book["问题清单"]["D"]]
    assert f"{bad}!C14" in listed   # the finding names the sheet as the clerk's file has it


def test_what_the_received_time_is_is_documented_as_each_receipt_says_it():
    from pipeline.outputs.receipts import RECEIVED_BY
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 收到时间"):readme.index("## 可靠性")]
    assert "最后修改时间" in section and "`Date`" in section
    assert all(f"“{said}”" in section for said in RECEIVED_BY.values())
