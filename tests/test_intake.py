"""Intake: what arrives by e-mail, and names that try to choose where files go."""
import datetime as dt
import json
import os
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from pipeline.core.settings import load_settings
from pipeline.core.text import within
from pipeline.jobs.inbox import received
from pipeline.jobs.monthly import run_monthly

from conftest import REFERENCE, form_cells, write_book

WHEN = dt.datetime(2016, 9, 27, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def mail_with(attachments, subject="侯寨乡9月报表") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "clerk@example.cn", "ajj@example.cn", subject
    msg["Date"] = format_datetime(WHEN)
    msg.set_content("请查收。")
    for name, data, charset in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream",
                           filename=(charset, "", name) if charset else name)
    return bytes(msg)


@pytest.fixture
def folders(tmp_path):
    f = {"inbox": tmp_path / "inbox", "archive": tmp_path / "archive", "outbox": tmp_path / "outbox",
         "reference": REFERENCE}
    f["inbox"].mkdir()
    return f


def test_attachments_of_an_email_are_each_a_submission_received_at_its_date(folders, tmp_path):
    a = write_book(tmp_path / "a.xlsx", form_cells("侯寨乡")).read_bytes()
    b = write_book(tmp_path / "b.xlsx", form_cells("马寨镇")).read_bytes()
    (folders["inbox"] / "来信.eml").write_bytes(
        mail_with([("侯寨乡2016年9月报表.xlsx", a, "gbk"), ("马寨镇2016年9月报表.xlsx", b, "utf-8")]))
    run_monthly(folders, "2016-09")
    m = json.loads((folders["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    got = sorted((s["unit"], s["file"], s["received_at"], s["status"]) for s in m["submissions"])
    assert got == [("侯寨乡", "侯寨乡2016年9月报表.xlsx", "2016-09-27T10:30:00+08:00", "accepted"),
                   ("马寨镇", "马寨镇2016年9月报表.xlsx", "2016-09-27T10:30:00+08:00", "accepted")]
    assert not list(folders["inbox"].iterdir())
    assert len(list((folders["archive"] / "files").rglob("*.eml"))) == 1   # the e-mail itself is kept too


@pytest.mark.parametrize("name", ["来信.EML", ".eml"])
def test_an_email_is_known_by_its_name_however_spelled(folders, tmp_path, name):
    a = write_book(tmp_path / "a.xlsx", form_cells("侯寨乡")).read_bytes()
    (folders["inbox"] / name).write_bytes(mail_with([("侯寨乡2016年9月报表.xlsx", a, None)]))
    run_monthly(folders, "2016-09")
    m = json.loads((folders["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    assert [(s["unit"], s["file"], s["status"]) for s in m["submissions"]] == \
        [("侯寨乡", "侯寨乡2016年9月报表.xlsx", "accepted")]


@pytest.mark.parametrize("hostile", ["../../逃逸.xlsx", "/etc/passwd.xlsx", "..\\..\\x.xlsx", "CON.xlsx",
                                     "a\x00b.xlsx", "长" * 300 + ".xlsx", ".."])
def test_an_attachment_name_never_chooses_a_path_outside_the_archive(folders, tmp_path, hostile):
    data = write_book(tmp_path / "a.xlsx", form_cells()).read_bytes()
    (folders["inbox"] / "m.eml").write_bytes(mail_with([(hostile.replace("\x00", ""), data, None)]))
    run_monthly(folders, "2016-09")
    stored = [p for p in (folders["archive"] / "files").rglob("*") if p.is_file()]
    assert stored and all(within(folders["archive"], p) for p in stored)
    assert all(len(p.name.encode()) <= 200 for p in stored)
    assert not (tmp_path.parent / "逃逸.xlsx").exists() and not (tmp_path / "逃逸.xlsx").exists()


def test_office_lock_files_and_litter_are_left_alone(folders, tmp_path):
    write_book(folders["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells())
    (folders["inbox"] / "~$侯寨乡_2016年9月.xlsx").write_bytes(b"lock")
    (folders["inbox"] / "Thumbs.db").write_bytes(b"x")
    run_monthly(folders, "2016-09")
    assert sorted(p.name for p in folders["inbox"].iterdir()) == ["Thumbs.db", "~$侯寨乡_2016年9月.xlsx"]
    m = json.loads((folders["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    assert [s["file"] for s in m["submissions"]] == ["侯寨乡_2016年9月.xlsx"]


def test_same_as_other_unit_and_cumulative_gap(folders, tmp_path):
    write_book(folders["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells("侯寨乡"))
    write_book(folders["inbox"] / "马寨镇_2016年9月.xlsx", form_cells("马寨镇"))
    run_monthly(folders, "2016-09")
    m = json.loads((folders["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    codes = {s["unit"]: s["codes"] for s in m["submissions"]}
    assert "SAME_AS_OTHER_UNIT" in codes["侯寨乡"] + codes["马寨镇"]
    # October: 冶金 一级 累计 stays as in September although 2 new were reported: a gap.
    cells = form_cells("侯寨乡", period=(2016, 10))
    cells["B6"], cells["B14"] = 2, cells["B14"] - cells["B6"] + 2 if isinstance(cells["B14"], int) else 2
    write_book(folders["inbox"] / "侯寨乡_2016年10月.xlsx", cells)
    run_monthly(folders, "2016-10")
    m = json.loads((folders["outbox"] / "2016-10" / "manifest.json").read_text(encoding="utf-8"))
    assert "CUMULATIVE_GAP" in m["submissions"][0]["codes"]


def test_a_cumulative_that_went_down_is_accepted_and_asks_for_an_explanation(folders):
    write_book(folders["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells("侯寨乡"))
    run_monthly(folders, "2016-09")
    cells = form_cells("侯寨乡", period=(2016, 10))
    cells["C6"] -= 1                                   # 冶金 一级 累计完成 one fewer than in September
    cells["C14"] -= 1
    write_book(folders["inbox"] / "侯寨乡_2016年10月.xlsx", cells)
    run_monthly(folders, "2016-10")
    m = json.loads((folders["outbox"] / "2016-10" / "manifest.json").read_text(encoding="utf-8"))
    [sub] = m["submissions"]
    assert sub["status"] == "accepted" and "CUMULATIVE_DECREASE" in sub["codes"]
    (receipt,) = (folders["outbox"] / "2016-10" / "回执").glob("*.txt")
    text = receipt.read_text(encoding="utf-8-sig")
    assert "处理结果：已接收" in text
    assert "“冶金 一级 累计完成”为 1，比上月（2016-09）的 2 少。本报表已照常接收。" in text
    assert "请报送情况说明（写明企业名称和原因），作为附件随报表发送或写在邮件正文中" in text


def test_an_email_without_a_spreadsheet_gets_a_receipt(folders):
    (folders["inbox"] / "只有正文.eml").write_bytes(mail_with([("说明.txt", b"hello", None)]))
    run_monthly(folders, "2016-09")
    m = json.loads((folders["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    assert [(s["file"], s["status"], s["codes"]) for s in m["submissions"]] == [("只有正文.eml", "rejected", ["NO_FORM"])]
    (receipt,) = (folders["outbox"] / "2016-09" / "回执").glob("*.txt")
    assert "没有 Excel 或 WPS 表格附件" in receipt.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("can_link", [True, False])
def test_archived_bytes_outlive_the_inbox_file_whether_linked_or_copied(folders, tmp_path, monkeypatch, can_link):
    if not can_link:   # the inbox on another file system: os.link fails with EXDEV
        def no_link(*_):
            raise OSError(18, "Invalid cross-device link")
        monkeypatch.setattr("pipeline.jobs.intake.os.link", no_link)
    sent = write_book(folders["inbox"] / "侯寨乡2016年9月报表.xlsx", form_cells("侯寨乡"))
    data = sent.read_bytes()
    run_monthly(folders, "2016-09")
    stored = [p for p in (folders["archive"] / "files").rglob("*.xlsx")]
    assert not sent.exists() and len(stored) == 1 and stored[0].read_bytes() == data
    assert not list((folders["archive"] / "files").rglob(".part-*"))


def test_a_file_whose_worker_could_not_archive_it_is_archived_by_intake(folders, tmp_path, monkeypatch):
    """The workers archive what they read; when one dies first, intake archives the file itself,
    before the chunk is synced and recorded, and only then empties the inbox."""
    import dataclasses
    import hashlib
    import os

    import pipeline.jobs.intake
    real = pipeline.jobs.intake.conclude

    def lost_first(files, *args, **kwargs):
        results = real(files, *args, **kwargs)
        os.unlink(results[0].stored[0])          # as if its worker had died before linking it
        return [dataclasses.replace(results[0], stored=None)] + results[1:]
    monkeypatch.setattr(pipeline.jobs.intake, "conclude", lost_first)
    sent = {}
    for unit in ("侯寨乡", "马寨镇", "金水区"):
        data = write_book(tmp_path / f"{unit}.xlsx", form_cells(unit)).read_bytes()
        (folders["inbox"] / f"{unit}2016年9月报表.xlsx").write_bytes(data)
        sent[hashlib.sha256(data).hexdigest()] = unit
    run_monthly(folders, "2016-09")
    kept = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (folders["archive"] / "files").rglob("*.xlsx")}
    assert kept == set(sent)
    assert not list(folders["inbox"].iterdir())
    m = json.loads((folders["outbox"] / "2016-09" / "manifest.json").read_text(encoding="utf-8"))
    assert len(m["submissions"]) == 3


def test_last_month_recorded_in_the_same_run_is_the_one_a_form_is_compared_with(folders, tmp_path, monkeypatch):
    """September and October in one inbox, each in its own chunk, recorded slowly: October's
    cumulative counts are still compared with September's."""
    import os
    import time

    import pipeline.jobs.intake
    monkeypatch.setattr(pipeline.jobs.intake, "CHUNK", 1)
    monkeypatch.setattr(pipeline.jobs.intake, "FIRST", 1)
    record = pipeline.jobs.intake.Ledger.record

    def slow_record(*args):
        time.sleep(0.5)
        return record(*args)
    monkeypatch.setattr(pipeline.jobs.intake.Ledger, "record", slow_record)
    september = write_book(folders["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells("侯寨乡"))
    cells = form_cells("侯寨乡", period=(2016, 10))
    cells["B6"], cells["B14"] = 2, cells["B14"] - cells["B6"] + 2   # 2 new, 累计 as in September: a gap
    october = write_book(folders["inbox"] / "侯寨乡_2016年10月.xlsx", cells)
    os.utime(september, (WHEN.timestamp(), WHEN.timestamp()))
    os.utime(october, (WHEN.timestamp() + 86400 * 30, WHEN.timestamp() + 86400 * 30))
    run_monthly(folders, "2016-10")
    m = json.loads((folders["outbox"] / "2016-10" / "manifest.json").read_text(encoding="utf-8"))
    assert [(s["unit"], "CUMULATIVE_GAP" in s["codes"]) for s in m["submissions"]] == [("侯寨乡", True)]


def test_chunks_take_every_file_once_and_end_small():
    """Chunks of at most CHUNK files cover the inbox in order; the first and the last are small (the
    workers start sooner, and the writer, a chunk behind them, has little left when they finish)."""
    from pipeline.jobs.intake import CHUNK, FIRST, _chunk_sizes
    for n in (1, FIRST, FIRST + 1, 2 * CHUNK + 7, 40_000):
        sizes = _chunk_sizes(n)
        assert sum(sizes) == n and all(0 < s <= CHUNK for s in sizes)
        assert sizes[0] <= FIRST and sizes[-1] <= FIRST


def test_chunks_examined_without_a_pause_come_back_whole_and_in_order(tmp_path, settings, units):
    """The workers take the next chunk's files before this one is done; each chunk still comes back
    complete, in the order sent, empty ones included."""
    from pipeline.check.check import checking_pool, examine_chunks

    from conftest import NOW
    good = [write_book(tmp_path / f"{u}_2016年9月.xlsx", form_cells(u)) for u in ("侯寨乡", "马寨镇", "淮河路街道")]
    text = tmp_path / "说明.xlsx"
    text.write_text("不是表格", encoding="utf-8")
    chunks = [[good[0], text], [], [good[1]] * 40 + [good[2]], []]
    with checking_pool(units, settings, NOW) as pool:
        got = list(examine_chunks([[(p, p.name, None, None) for p in c] for c in chunks], settings, pool))
    assert [len(c) for c in got] == [2, 0, 41, 0]
    assert [e.got[0].unit if e.got else e.refused.code for e in got[0]] == ["侯寨乡", "UNREADABLE"]
    assert {e.got[0].unit for e in got[2][:40]} == {"马寨镇"} and got[2][40].got[0].unit == "淮河路街道"


def test_inbox_files_and_mails_are_taken_in_order_of_receipt_each_at_its_time(folders, tmp_path):
    """Files by their modification time, an e-mail by its Date, the same time by path; each time in the
    district's zone. Spreadsheets of any known ending and e-mails are taken; other files, hidden names
    that are all ending, and lock files are not."""
    inbox = folders["inbox"]
    (inbox / "乡镇").mkdir()
    (inbox / "来信.eml").write_bytes(mail_with([]))                         # Date: WHEN
    times = {"b.xlsx": -60, "a.XLS": -60, "乡镇/c.ods": 60, "来信.eml": 3600, "d.xlsm": 0.25,
             "readme.txt": 0, ".xlsx": 0, "..xlsx": 0, "~$a.xlsx": 0}
    for name, offset in times.items():
        path = inbox / name
        if not path.exists():
            path.write_bytes(b"x")
        at = WHEN.timestamp() + offset
        os.utime(path, (at, at))
    found = received(inbox, load_settings(REFERENCE))
    assert [(os.path.relpath(p, inbox), at - WHEN) for at, p, _ in found] == [
        ("a.XLS", dt.timedelta(seconds=-60)), ("b.xlsx", dt.timedelta(seconds=-60)), ("来信.eml", dt.timedelta(0)),
        ("d.xlsm", dt.timedelta(microseconds=250000)), ("乡镇/c.ods", dt.timedelta(seconds=60))]
    assert {at.utcoffset() for at, _, _ in found} == {dt.timedelta(hours=8)}
    assert [mail is not None for _, _, mail in found] == [False, False, True, False, False]


def test_a_message_fetched_just_now_is_taken_without_the_settle_wait_a_dropped_file_gets(folders, monkeypatch):
    """A message the fetcher renamed into inbox/邮箱/ is whole, however recent its server's time: it is
    not looked at again after `limits.settle_seconds`, as a file just dropped into the inbox is."""
    monkeypatch.setenv("PIPELINE_LIMITS_SETTLE_SECONDS", "2")
    waits = []
    monkeypatch.setattr("pipeline.jobs.inbox.time.sleep", waits.append)
    mails = folders["inbox"] / "邮箱"
    mails.mkdir()
    fetched = mails / "7-42 侯寨乡9月报表.eml"
    fetched.write_bytes(mail_with([]))
    now = dt.datetime.now(dt.timezone.utc)
    settings = load_settings(REFERENCE)
    found = received(folders["inbox"], settings, [], {fetched.name: now})
    assert [(p, at) for at, p, _ in found] == [(str(fetched), now.astimezone(settings.tz))] and waits == []
    dropped = folders["inbox"] / "马寨镇.xlsx"
    dropped.write_bytes(b"x")
    found = received(folders["inbox"], settings, [], {fetched.name: now})
    assert sorted(p for _, p, _ in found) == sorted([str(fetched), str(dropped)]) and len(waits) == 1


def _month_rows(seed: int) -> dict:
    import random

    from pipeline.demo.samples import random_rows
    return random_rows(random.Random(seed), "侯寨乡")


@pytest.mark.parametrize("changed", [False, True])
def test_a_month_sent_again_in_a_later_workbook_is_counted_once_unless_its_numbers_changed(folders, changed):
    """A clerk keeps one workbook with a sheet per month and sends all of it each month: August,
    on time at the end of August, comes again with September. Unchanged, it is not counted again
    (nor late, which would cost the unit its 按时报送); changed, it is a correction, counted and late."""
    from pipeline.demo.samples import write_sample
    from pipeline.store.ledger import Ledger
    tz = dt.timezone(dt.timedelta(hours=8))
    august, september = _month_rows(1), _month_rows(2)
    first = write_sample(folders["inbox"] / "侯寨乡_2016年8月.xlsx", "侯寨乡", "2016-08", august)
    at = dt.datetime(2016, 8, 30, 9, 0, tzinfo=tz).timestamp()
    os.utime(first, (at, at))
    run_monthly(folders, "2016-08")
    again = dict(august)
    if changed:
        key = next(iter(again))
        new, cumulative, reviewing = again[key]
        again[key] = (new, cumulative + 1, reviewing)
    both = write_sample(folders["inbox"] / "侯寨乡_报表.xlsx", "侯寨乡", "2016-09",
                        {"2016-08": again, "2016-09": september}, "multi_month")
    at = dt.datetime(2016, 9, 29, 9, 0, tzinfo=tz).timestamp()
    os.utime(both, (at, at))
    run_monthly(folders, "2016-09")

    ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
    subs = {(s.file, s.period): s for p in ("2016-08", "2016-09") for s in ledger.period_submissions(p)}
    resent, counted = subs[("侯寨乡_报表.xlsx", "2016-08")], ledger.counted("2016-08")["侯寨乡"]
    assert subs[("侯寨乡_报表.xlsx", "2016-09")].status == "accepted"
    if changed:
        assert (resent.status, resent.late, counted.id) == ("accepted", True, resent.id)
        assert "RESENT_UNCHANGED" not in resent.codes and "LATE" in resent.codes
    else:
        assert (resent.status, resent.late, resent.codes) == ("duplicate", False, ["RESENT_UNCHANGED"])
        assert (counted.file, counted.late) == ("侯寨乡_2016年8月.xlsx", False)
        assert resent.findings[0].message == (
            "2016年8月的报表与 2016-08-30 09:00:00 收到的“侯寨乡_2016年8月.xlsx”中已计入的报表数字完全相同，"
            "不重复计数；报送时间仍按先收到的那份。如需更正，请改动数字后重新报送。")
    ledger.close()


def test_the_same_month_twice_in_one_run_is_counted_once(folders):
    """Two different files in one inbox with the same August numbers: the one received first counts."""
    from pipeline.demo.samples import write_sample
    from pipeline.store.ledger import Ledger
    rows = _month_rows(3)
    for n, (name, variant) in enumerate([("侯寨乡8月.xlsx", "canonical"), ("侯寨乡8月（再发）.xlsx", "offset")]):
        path = write_sample(folders["inbox"] / name, "侯寨乡", "2016-08", rows, variant)
        os.utime(path, (WHEN.timestamp() - 40 * 86400 + n, WHEN.timestamp() - 40 * 86400 + n))
    run_monthly(folders, "2016-08")
    ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
    got = sorted((s.file, s.status, s.codes) for s in ledger.period_submissions("2016-08"))
    assert got == [("侯寨乡8月.xlsx", "accepted", []), ("侯寨乡8月（再发）.xlsx", "duplicate", ["RESENT_UNCHANGED"])]
    ledger.close()


def test_a_file_that_is_neither_a_spreadsheet_nor_an_email_is_left_and_said(folders, capsys):
    """A 情况说明.docx dropped into the inbox beside the forms: not taken, not lost, and the
    operator is told why and what to do; litter and lock files pass without a word."""
    write_book(folders["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells())
    (folders["inbox"] / "情况说明.docx").write_bytes(b"PK\x03\x04 not a form")
    (folders["inbox"] / "Thumbs.db").write_bytes(b"x")
    run_monthly(folders, "2016-09")
    assert sorted(p.name for p in folders["inbox"].iterdir()) == ["Thumbs.db", "情况说明.docx"]
    err = capsys.readouterr().err
    docx = folders["inbox"] / "情况说明.docx"
    assert f"收件箱中的“{docx}”不是电子表格（.xlsx、.xls、.ods 等）或邮件（.eml），没有收取。" in err
    assert "Thumbs.db" not in err
