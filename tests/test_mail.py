"""read_eml: spreadsheets attached to saved e-mails, names in every encoding clerks' clients use."""
from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from urllib.parse import quote

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.read.eml import read_eml

NAME = "侯寨乡2016年9月报表.xlsx"


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


XLSX = xlsx_bytes()


def eml(*parts: bytes, subject: bytes = b"=?GBK?B?" + base64.b64encode("九月报表".encode("gbk")) + b"?=",
        date: bytes = b"Wed, 28 Sep 2016 17:30:00 +0800") -> bytes:
    head = (b"From: =?UTF-8?B?" + base64.b64encode("侯寨乡安监办".encode()) + b"?= <hz@example.cn>\r\n"
            b"To: ajj@example.cn\r\nSubject: " + subject + b"\r\nDate: " + date + b"\r\n"
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="==b=="\r\n\r\n')
    body = b"--==b==\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xe8\xaf\xb7\xe6\x9f\xa5\xe6\x94\xb6\r\n"
    for part in parts:
        body += b"--==b==\r\n" + part
    return head + body + b"--==b==--\r\n"


def attachment(disposition: bytes, data: bytes = XLSX,
               content_type: bytes = b"application/octet-stream") -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"Content-Type: " + content_type + b"\r\nContent-Disposition: " + disposition
            + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded + b"\r\n")


def q(text: str) -> bytes:
    return b'"' + text.encode() + b'"'


NAME_ENCODINGS = {
    "RFC 2047 GBK base64": b"attachment; filename=" + q("=?GBK?B?" + base64.b64encode(NAME.encode("gbk")).decode() + "?="),
    "RFC 2047 gb2312 quoted-printable": b"attachment; filename=" + q(Header(NAME, "gb2312").encode()),
    "RFC 2047 UTF-8": b"attachment; filename=" + q(Header(NAME, "utf-8").encode()),
    "RFC 2231 GB18030": b"attachment; filename*=GB18030''" + quote(NAME.encode("gb18030")).encode(),
    "RFC 2231 UTF-8 continued": (b"attachment;\r\n filename*0*=utf-8''" + quote(NAME[:4].encode()).encode()
                                 + b";\r\n filename*1*=" + quote(NAME[4:].encode()).encode()),
    "raw 8-bit GBK": b'attachment; filename="' + NAME.encode("gbk") + b'"',
    "raw 8-bit UTF-8": b'attachment; filename="' + NAME.encode("utf-8") + b'"',
    "gb2312 label on GBK-only text": b"attachment; filename=" + q(
        "=?gb2312?B?" + base64.b64encode("侯寨乡2016年9月報表.xlsx".encode("gbk")).decode() + "?="),
}


@pytest.mark.parametrize("how", NAME_ENCODINGS)
def test_attachment_names_are_decoded(how):
    mail = read_eml(eml(attachment(NAME_ENCODINGS[how])))
    expected = "侯寨乡2016年9月報表.xlsx" if "GBK-only" in how else NAME
    assert [(a.name, a.data) for a in mail.attachments] == [(expected, XLSX)]
    assert mail.reason is None


def test_name_given_only_in_content_type():
    gbk = "=?GBK?B?" + base64.b64encode(NAME.encode("gbk")).decode() + "?="
    part = attachment(b"attachment", content_type=b"application/vnd.ms-excel; name=" + q(gbk))
    assert [a.name for a in read_eml(eml(part)).attachments] == [NAME]


def test_subject_sender_and_date():
    mail = read_eml(eml(attachment(b'attachment; filename="a.xlsx"')))
    assert mail.subject == "九月报表"
    assert "侯寨乡安监办" in mail.sender and "hz@example.cn" in mail.sender
    assert mail.date == datetime(2016, 9, 28, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    assert mail.date.utcoffset() == timedelta(hours=8)


def test_raw_gbk_subject():
    assert read_eml(eml(subject="九月报表".encode("gbk"))).subject == "九月报表"


@pytest.mark.parametrize("date, expected", [
    (b"not a date", None),
    (b"Wed, 28 Sep 2016 17:30:00 -0000", datetime(2016, 9, 28, 17, 30, tzinfo=UTC)),
])
def test_bad_or_zoneless_dates(date, expected):
    assert read_eml(eml(date=date)).date == expected


def test_only_spreadsheets_are_returned_and_others_are_named():
    parts = [attachment('attachment; filename="说明.pdf"'.encode(), b"%PDF-1.4"),
             attachment('attachment; filename="报表.xls"'.encode(), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504),
             attachment(b'attachment; filename="b.ods"', b"PK\x03\x04"),
             attachment(b'attachment; filename="c.xlsm"', XLSX),
             attachment(b'attachment; filename="d.docx"', XLSX)]
    mail = read_eml(eml(*parts))
    assert [a.name for a in mail.attachments] == ["报表.xls", "b.ods", "c.xlsm"]
    assert [a.name for a in mail.others] == ["说明.pdf", "d.docx"]


def test_a_spreadsheet_with_an_odd_name_is_found_by_its_bytes():
    parts = [attachment('attachment; filename="9月报表.dat"'.encode()), attachment(b"attachment")]
    assert [a.name for a in read_eml(eml(*parts)).attachments] == ["9月报表.dat", "附件2.xlsx"]


def test_a_forwarded_message_inside_is_searched():
    inner = eml(attachment(b"attachment; filename*=GB18030''" + quote(NAME.encode("gb18030")).encode()))
    forwarded = b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner + b"\r\n"
    assert [a.name for a in read_eml(eml(forwarded)).attachments] == [NAME]


@pytest.mark.parametrize("data", [b"", b"\x00\xff" * 100, b"Subject: hi\r\n\r\nno attachments",
                                  eml(attachment(b'attachment; filename="a.xlsx"', b""))])
def test_a_broken_or_empty_email_gives_a_reason_not_an_exception(data):
    mail = read_eml(data)
    assert mail.attachments == () and mail.reason


def test_a_truncated_email_keeps_what_arrived_whole():
    whole = eml(attachment(b'attachment; filename="a.xlsx"'), attachment(b'attachment; filename="b.xlsx"'))
    mail = read_eml(whole[: whole.rindex(b"--==b==\r\nContent-Type") + 5])
    assert [a.name for a in mail.attachments][:1] == ["a.xlsx"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data):
    read_eml(eml(attachment(b'attachment; filename="' + data[:50] + b'"', data)) + data)
    read_eml(data)
