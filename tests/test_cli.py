"""The command line as staff and scripts use it: output, exit status, the run lock, `status`."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from pipeline.jobs.lock import run_lock

from conftest import REFERENCE, ROOT, form_cells, write_book


def pipeline(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_check_json_one_line_per_file_and_exit_status(tmp_path):
    good = write_book(tmp_path / "侯寨乡_2016年9月.xlsx", form_cells())
    cells = form_cells("马寨镇")
    cells["C14"] = 99
    bad = write_book(tmp_path / "马寨镇_2016年9月.xlsx", cells)
    p = pipeline("check", "--json", "--archive", tmp_path / "none", good, bad)
    lines = p.stdout.splitlines()
    assert p.returncode == 1 and len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert set(docs[0]) == {"file", "sha256", "submissions"}
    assert [d["submissions"][0]["status"] for d in docs] == ["accepted", "rejected"]
    assert docs[1]["submissions"][0]["findings"][0]["cell"] == "月度报表!C14"
    assert pipeline("check", "--json", "--archive", tmp_path / "none", good).returncode == 0


def test_check_for_a_person_is_chinese(tmp_path):
    cells = form_cells()
    cells["C6"] = "三"
    p = pipeline("check", "--archive", tmp_path / "none", write_book(tmp_path / "侯寨乡.xlsx", cells))
    assert p.returncode == 1
    assert "退回" in p.stdout and "月度报表!C6" in p.stdout and "不是数字" in p.stdout


def test_bad_usage_exits_2(tmp_path):
    assert pipeline("check").returncode == 2
    assert pipeline("check", tmp_path / "missing.xlsx").returncode == 2
    assert pipeline("nonsense").returncode == 2
    wrong = pipeline("quarterly", "--period", "2016-09", "--archive", tmp_path / "a", "--outbox", tmp_path / "o")
    assert wrong.returncode == 2 and "2016Q3" in wrong.stderr
    assert pipeline("monthly", "--period", "2016-13", "--archive", tmp_path / "a").returncode == 2
    assert not (tmp_path / "a").exists()   # refused before touching anything


def test_a_second_run_waits_for_the_first_and_says_why(tmp_path):
    f = {k: tmp_path / k for k in ("inbox", "archive", "outbox")}
    f["inbox"].mkdir()
    book = write_book(f["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells())
    os.utime(book, (1474300000, 1474300000))   # received 2016-09-19, before the deadline
    args = ["monthly", "--period", "2016-09", "--reference", REFERENCE]
    for k, v in f.items():
        args += [f"--{k}", v]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with run_lock(f["archive"]):
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", *map(str, args)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert proc.poll() is None                      # still waiting
        assert list(f["inbox"].iterdir())               # and has touched nothing
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert "等待" in err
    assert not list(f["inbox"].iterdir())
    s = pipeline("status", "--period", "2016-09", *sum(([f"--{k}", v] for k, v in f.items()), []),
                 "--reference", REFERENCE)
    assert "侯寨乡" in s.stdout and "按时" in s.stdout and "未报" in s.stdout


@pytest.mark.slow
def test_libreoffice_saved_copies_are_read_with_the_same_numbers(tmp_path, check):
    source = write_book(tmp_path / "src" / "侯寨乡_2016年9月.xlsx", form_cells()) if (tmp_path / "src").mkdir() \
        is None else None
    rows = [r.as_json() for r in check(source).submissions[0].rows]
    for fmt in ("xlsx", "xls", "ods"):
        out = tmp_path / fmt
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", fmt,
                        "--outdir", str(out), str(source)], check=True, capture_output=True, timeout=180)
        (saved,) = out.iterdir()
        (sub,) = check(saved).submissions
        assert (sub.status, sub.unit, sub.period) == ("accepted", "侯寨乡", "2016-09"), sub.findings
        assert [r.as_json() for r in sub.rows] == rows
        assert sub.findings == ()


def test_check_a_saved_email_checks_each_attachment(tmp_path):
    from test_intake import mail_with
    a = write_book(tmp_path / "a.xlsx", form_cells("侯寨乡")).read_bytes()
    b = write_book(tmp_path / "b.xlsx", form_cells("马寨镇")).read_bytes()
    eml = tmp_path / "来信.eml"
    eml.write_bytes(mail_with([("侯寨乡2016年9月.xlsx", a, "gbk"), ("马寨镇2016年9月.xlsx", b, None)]))
    p = pipeline("check", "--json", "--archive", tmp_path / "none", eml)
    docs = [json.loads(line) for line in p.stdout.splitlines()]
    assert p.returncode == 0
    assert [(d["file"], d["submissions"][0]["unit"]) for d in docs] == [
        ("侯寨乡2016年9月.xlsx", "侯寨乡"), ("马寨镇2016年9月.xlsx", "马寨镇")]


def test_help_is_chinese_and_says_what_each_period_is():
    top = pipeline("--help").stdout
    assert top.startswith("用法：") and "显示本帮助并退出" in top
    assert "docs" not in top and "usage" not in top and "show this help" not in top   # developers' command hidden
    for command in ("check", "monthly", "quarterly", "status", "template", "register", "verify", "rebuild-ledger", "demo",
                    "codes", "settings", "fetch-mail", "watch", "remind"):
        text = pipeline(command, "--help").stdout
        english = set(re.findall(r"\b[a-z]{4,}\b", text)) - {command, "pipeline", "python", "json", "inbox",
                                                            "archive", "outbox", "reference", "period", "help", "force",
                                                            "register", "date", "rebuild", "ledger", "fetch", "mail",
                                                            "markdown"}
        assert text.startswith("用法：") and not english, (command, english)
    assert "写作 2016-09；不写则为刚结束的月份" in pipeline("monthly", "--help").stdout
    assert "写作 2016Q3；不写则为刚结束的季度" in pipeline("quarterly", "--help").stdout
    assert "写作 2016-10；不写则为下个月" in pipeline("template", "--help").stdout
    wrong = pipeline("nonsense")
    assert wrong.returncode == 2 and "没有“nonsense”这个命令" in wrong.stderr


def test_codes_are_listed_in_chinese():
    lines = pipeline("codes").stdout.splitlines()
    assert lines[0].split() == ["级别", "含义", "代码"]
    assert any(line.startswith("错误（退回）  合计不符") and line.endswith("TOTAL_MISMATCH") for line in lines)
    assert any(line.startswith("提示（接收）  迟报") for line in lines)


def test_check_a_folder_checks_the_workbooks_in_it(tmp_path):
    folder = tmp_path / "收到的报表"
    folder.mkdir()
    write_book(folder / "侯寨乡_2016年9月.xlsx", form_cells())
    cells = form_cells("马寨镇")
    cells["C14"] = 99
    write_book(folder / "马寨镇_2016年9月.xlsx", cells)
    (folder / "~$马寨镇_2016年9月.xlsx").write_bytes(b"lock")
    (folder / "说明.txt").write_text("不是报表", encoding="utf-8")
    p = pipeline("check", "--json", "--archive", tmp_path / "none", folder)
    docs = [json.loads(line) for line in p.stdout.splitlines()]
    assert p.returncode == 1
    assert [(d["file"], d["submissions"][0]["status"]) for d in docs] == [
        ("侯寨乡_2016年9月.xlsx", "accepted"), ("马寨镇_2016年9月.xlsx", "rejected")]
    empty = tmp_path / "空"
    empty.mkdir()
    nothing = pipeline("check", empty)
    assert nothing.returncode == 2 and "没有报表文件" in nothing.stderr


def test_a_run_ends_with_its_counts_and_exits_1_when_it_rejected_a_form(tmp_path):
    f = {k: tmp_path / k for k in ("inbox", "archive", "outbox")}
    for folder in f.values():
        folder.mkdir()
    for name, cells in (("侯寨乡_2016年9月.xlsx", form_cells()), ("马寨镇_2016年9月.xlsx", {**form_cells("马寨镇"), "C14": 99})):
        os.utime(write_book(f["inbox"] / name, cells), (1474300000, 1474300000))
    same = f["inbox"] / "侯寨乡_2016年9月_again.xlsx"
    shutil.copyfile(f["inbox"] / "侯寨乡_2016年9月.xlsx", same)
    os.utime(same, (1474300100, 1474300100))
    (f["inbox"] / "later").mkdir()
    args = sum(([f"--{k}", v] for k, v in f.items()), []) + ["--reference", REFERENCE]
    run = pipeline("monthly", "--period", "2016-09", *args)
    assert run.returncode == 1
    assert run.stdout.splitlines()[-1] == "2016年9月：收取 3，接收 1，退回 1，重复 1；未报 15 个单位"
    again = pipeline("monthly", "--period", "2016-09", *args)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "2016年9月：收取 0，接收 0，退回 0，重复 0；未报 15 个单位"
    write_book(f["inbox"] / "马寨镇_2016年9月_改.xlsx", form_cells("马寨镇"))
    (f["inbox"] / "Thumbs.db").write_bytes(b"")
    status = pipeline("status", "--period", "2016-09", *args).stdout.splitlines()
    assert "合计 16 个单位：按时 1，迟报 0，退回 1，未报 14" in status
    assert status[-2:] == ["收件箱中还有 1 个文件等待收取（下次运行 monthly 或 quarterly 时收取）：",
                           "  马寨镇_2016年9月_改.xlsx"]
