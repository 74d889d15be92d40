"""fetch-mail against real servers: every kind of message docs/mail.md lists, put in with IMAP APPEND, is
archived as sent, taken in once, answered with its receipt, and moved (docs/mail.md, Taking mail in)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest

from mailservers import mail_servers
from mailsite import Site, b64, message, part, workbook

TZ = dt.timezone(dt.timedelta(hours=8))
ARRIVED = dt.datetime(2016, 9, 28, 10, 15, tzinfo=TZ)   # INTERNALDATE; every Date header says 1 September
HUGE = 21_000_000                                        # bytes: over limits.file_bytes (20,000,000)


def _messages(tmp: Path) -> dict[str, bytes]:
    def named(name: str, data: bytes, how: str = "2047") -> bytes:
        if how == "2047":
            return part(b'attachment; filename="' + b64(name, "gbk").encode() + b'"', data)
        return part(b"attachment; filename*=GB18030''" + quote(name.encode("gb18030")).encode(), data)

    inner = message("转发：铭功路街道9月报表", named("铭功路街道2016年9月报表.xlsx", workbook(tmp, "铭功路街道")),
                    sender="mg@minggong.example", message_id="<inner@minggong.example>")
    report = (b"From: MAILER-DAEMON@erqi.example\r\nTo: ajj@erqi.example\r\nSubject: Undelivered Mail\r\n"
              b"Message-ID: <bounce@erqi.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
              b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
              b"--r\r\nContent-Type: text/plain\r\n\r\nmail to hz@houzhai.example failed\r\n--r--\r\n")
    return {
        "gbk": message("侯寨乡九月报表", named("侯寨乡2016年9月报表.xlsx", workbook(tmp, "侯寨乡")),
                       message_id="<gbk@houzhai.example>"),
        "rfc2231": message("马寨镇9月报表", named("马寨镇9月报表.xlsx", workbook(tmp, "马寨镇", wrong_total=True), "2231"),
                           sender="mz@mazhai.example", reply_to="马寨镇 <clerk2@mazhai.example>",
                           message_id="<rfc2231@mazhai.example>"),
        "several": message("两个街道的报表", named("淮河路街道9月.xlsx", workbook(tmp, "淮河路街道")),
                           named("解放路街道9月.xlsx", workbook(tmp, "解放路街道")),
                           part(b'attachment; filename="shuoming.pdf"', b"%PDF-1.4 not a form"),
                           sender="staff@erqi-town.example", message_id="<several@erqi-town.example>"),
        "forwarded": message("Fwd: 铭功路街道9月报表",
                             b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner + b"\r\n",
                             sender="fw@minggong.example", message_id="<forwarded@minggong.example>"),
        "none": message("九月报表（忘了附件）", sender="wl@wulibao.example", message_id="<none@wulibao.example>"),
        "huge": message("一马路街道9月报表", named("一马路街道9月报表.xlsx", os.urandom(HUGE)),
                        sender="ym@yimalu.example", message_id="<huge@yimalu.example>"),
        "broken": (b"From: dx@daxue.example\r\nSubject: broken\r\nMessage-ID: <broken@daxue.example>\r\n"
                   b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: application/vnd.ms-excel\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64 at all\r\n"),
        "stranger": message("蜜蜂张街道报表", named("蜜蜂张街道2016年9月报表.xlsx", workbook(tmp, "蜜蜂张街道")),
                            sender="somebody@qq.example", message_id="<stranger@qq.example>"),
        "bounce": report,
    }


# message -> (unit, status, codes) of each submission, in order
EXPECTED = {
    "gbk": [("侯寨乡", "accepted", [])],
    "rfc2231": [("马寨镇", "rejected", ["TOTAL_MISMATCH"])],
    "several": [("淮河路街道", "accepted", []), ("解放路街道", "accepted", [])],
    "forwarded": [("铭功路街道", "accepted", [])],
    "none": [(None, "rejected", ["NO_FORM"])],
    "huge": [(None, "rejected", ["TOO_LARGE"])],
    "broken": [(None, "rejected", ["NO_FORM"])],
    "stranger": [("蜜蜂张街道", "accepted", ["SENDER_NOT_REGISTERED"])],
    "bounce": [(None, "rejected", ["NO_FORM"])],
}
REPLY_TO = {"gbk": "hz@houzhai.example", "rfc2231": "clerk2@mazhai.example", "several": "staff@erqi-town.example",
            "forwarded": "fw@minggong.example", "none": "wl@wulibao.example", "huge": "ym@yimalu.example",
            "broken": "dx@daxue.example", "stranger": "somebody@qq.example"}


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fetch")
    with mail_servers(tmp) as servers:
        site = Site(tmp, servers, addresses={"侯寨乡": "hz@houzhai.example", "马寨镇": "mz@mazhai.example",
                                             "蜜蜂张街道": "mfz@mifengzhang.example;@mifengzhang.gov.cn"})
        sent = _messages(tmp)
        for k, data in enumerate(sent.values()):
            site.imap.append(data, when=(ARRIVED + dt.timedelta(minutes=k)).timestamp())
        first = site.cli("fetch-mail")
        receipts_after_first = len(site.smtp.messages)
        second = site.cli("fetch-mail")
        yield site, sent, first, second, receipts_after_first


def _eml_row(site: Site, data: bytes):
    (row,) = site.rows("SELECT id, name, archived, received_at, run_id FROM files WHERE kind='eml' AND sha256=?",
                       hashlib.sha256(data).hexdigest())
    return row


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_message_is_archived_as_sent_at_the_time_the_server_received_it(fetched, key):
    site, sent, *_ = fetched
    eml_id, name, archived, received_at, run_id = _eml_row(site, sent[key])
    assert (site.folders["archive"] / archived).read_bytes() == sent[key]   # kept relative to the archive
    k = list(sent).index(key)
    arrived = (ARRIVED + dt.timedelta(minutes=k)).isoformat()
    attachments = site.rows("SELECT received_at FROM files WHERE source=? AND run_id=? AND id>?", name, run_id, eml_id)
    assert {received_at} | {a for (a,) in attachments} == {arrived}
    (uid, mid, internal) = site.rows("SELECT uid, message_id, internal_at FROM mail_in WHERE sha256=?",
                                     hashlib.sha256(sent[key]).hexdigest())[0]
    assert internal == arrived and uid == k + 1
    assert mid.startswith(f"<{key}@")


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_message_is_taken_in_as_a_saved_email_is(fetched, key):
    site, sent, *_ = fetched
    eml_id, name, _, _, run_id = _eml_row(site, sent[key])
    got = site.rows("SELECT s.id, s.unit, s.status FROM submissions s JOIN files f ON f.id=s.file_id"
                    " WHERE f.source=? AND f.run_id=? AND f.id>=? ORDER BY s.id", name, run_id, eml_id)
    codes = [[c for (c,) in site.rows("SELECT code FROM findings WHERE submission_id=? AND code<>'LATE'", sid)]
             for sid, _, _ in got]
    assert [(unit, status, c) for (_, unit, status), c in zip(got, codes)] == EXPECTED[key]


@pytest.mark.parametrize("key", [k for k in EXPECTED if k != "bounce"])
def test_each_submission_is_answered_to_its_sender(fetched, key):
    site, sent, *_ = fetched
    mine = [r for r in site.receipts() if str(r["In-Reply-To"]).startswith(f"<{key}@")]
    assert len(mine) == len(EXPECTED[key])
    subject = {"gbk": "侯寨乡九月报表", "rfc2231": "马寨镇9月报表", "several": "两个街道的报表",
               "forwarded": "Fwd: 铭功路街道9月报表", "none": "九月报表（忘了附件）", "huge": "一马路街道9月报表",
               "broken": "broken", "stranger": "蜜蜂张街道报表"}[key]
    for receipt, (unit, status, codes) in zip(mine, EXPECTED[key]):
        assert receipt["To"].addresses[0].addr_spec == REPLY_TO[key]
        assert str(receipt["Subject"]) == "回执：" + subject
        assert receipt["References"] == receipt["In-Reply-To"]
        assert receipt["Auto-Submitted"] == "auto-replied"
        body = receipt.get_body(("plain",))
        assert body.get_content_charset() == "utf-8"
        text = body.get_content()
        assert f"报送单位：{unit or '未识别'}" in text
        assert ("处理结果：已接收" if status == "accepted" else "处理结果：已退回") in text
        assert "收到时间：2016年9月28日 10:" in text   # INTERNALDATE, not the Date header's 1 September
        for code in codes:
            assert {"TOTAL_MISMATCH": "合计行", "NO_FORM": "没有找到", "TOO_LARGE": "超过系统上限",
                    "SENDER_NOT_REGISTERED": "somebody@qq.example"}[code] in text


def test_a_marked_copy_goes_with_a_receipt_that_names_cells(fetched):
    site, *_ = fetched
    (receipt,) = [r for r in site.receipts() if r["In-Reply-To"] == "<rfc2231@mazhai.example>"]
    (attached,) = list(receipt.iter_attachments())
    assert attached.get_filename().startswith("回执_马寨镇_2016年9月_") and attached.get_filename().endswith("_标注.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(attached.get_content()))
    marked = book["月度报表"]["C14"]
    assert marked.fill.fgColor.rgb == "FFFF6666" and "合计行" in marked.comment.text
    assert "问题清单" in book.sheetnames
    for r in site.receipts():
        if r["In-Reply-To"] != "<rfc2231@mazhai.example>":
            assert list(r.iter_attachments()) == []


def test_mail_from_a_program_gets_no_receipt(fetched):
    site, *_ = fetched
    assert not [r for r in site.receipts() if r["In-Reply-To"] == "<bounce@erqi.example>"]
    assert "不回复程序发出的邮件" in fetched[2].stdout


def test_taken_exactly_once_across_two_fetches(fetched):
    site, sent, first, second, receipts_after_first = fetched
    assert first.returncode == 1, first.stderr     # some were rejected
    assert "从邮箱收取 9 封新邮件" in first.stdout
    assert second.returncode == 0 and "从邮箱收取" not in second.stdout, second.stdout
    assert len(site.smtp.messages) == receipts_after_first == sum(len(v) for k, v in EXPECTED.items() if k != "bounce")
    assert site.rows("SELECT count(*) FROM files WHERE kind='eml'") == [(len(sent),)]
    assert site.rows("SELECT count(*) FROM findings WHERE code='DUPLICATE_FILE'") == [(0,)]
    assert site.imap.count("INBOX") == 0 and site.imap.count("已收取") == len(sent)
    assert site.rows("SELECT count(*) FROM mail_in WHERE moved_at IS NULL OR queued=0") == [(0,)]
    assert site.rows("SELECT count(*) FROM mail_out WHERE sent_at IS NULL") == [(0,)]
    assert not list((site.folders["inbox"] / "邮箱").iterdir())


def test_a_receipt_message_id_is_derived_from_the_submission(fetched):
    site, *_ = fetched
    ids = [r["Message-ID"] for r in site.receipts()]
    assert len(set(ids)) == len(ids)
    assert all(i.endswith(".huizhi@erqi.example>") for i in ids)
    queued = {m for (m,) in site.rows("SELECT message_id FROM mail_out")}
    assert queued == set(ids)


def test_the_status_book_shows_a_sender_not_registered(fetched):
    site, *_ = fetched
    result = site.cli("monthly", "--period", "2016-09")
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(site.folders["outbox"] / "2016-09" / "二七区_2016年9月_报送情况.xlsx")
    rows = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    (line,) = [r for r in rows if "蜜蜂张街道" in r]
    assert any(isinstance(v, str) and "发件地址未登记" in v for v in line)
