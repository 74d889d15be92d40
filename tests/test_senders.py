"""The `邮箱` column of units.csv and SENDER_NOT_REGISTERED, on saved e-mails in inbox/ (docs/mail.md)."""
from __future__ import annotations

import sqlite3

import pytest

from pipeline.jobs.mail.senders import is_registered, load_senders, sender_finding
from pipeline.jobs.monthly import run_monthly

from conftest import REFERENCE
from mailsite import b64, message, part, reference_with_addresses, workbook

ADDRESSES = {"侯寨乡": "hz@houzhai.example； @HouZhai.gov.cn", "马寨镇": "mz@mazhai.example"}


def test_the_column_is_read_with_addresses_and_domains(tmp_path):
    ref = reference_with_addresses(tmp_path / "reference", ADDRESSES)
    assert load_senders(ref) == {"侯寨乡": ("hz@houzhai.example", "@houzhai.gov.cn"), "马寨镇": ("mz@mazhai.example",)}
    assert load_senders(REFERENCE) == {}   # the column is optional


@pytest.mark.parametrize("address, registered", [
    ("hz@houzhai.example", True), ("HZ@Houzhai.Example", True), ("anyone@houzhai.gov.cn", True),
    ("hz@houzhai.example.cn", False), ("x@sub.houzhai.gov.cn", False), ("someone@qq.example", False)])
def test_an_address_or_its_domain_is_registered(address, registered):
    assert is_registered(address, ("hz@houzhai.example", "@houzhai.gov.cn")) is registered


def test_the_finding_names_the_sender_and_the_registered_addresses():
    f = sender_finding("马寨镇", "someone@qq.example", {"马寨镇": ("mz@mazhai.example", "@mazhai.gov.cn")})
    assert (f.code, f.severity, f.value) == ("SENDER_NOT_REGISTERED", "warning", "someone@qq.example")
    assert "someone@qq.example" in f.message and "“马寨镇”" in f.message and "mz@mazhai.example；@mazhai.gov.cn" in f.message
    assert sender_finding("侯寨乡", "someone@qq.example", {"马寨镇": ("mz@mazhai.example",)}) is None   # lists none


def test_a_saved_email_from_an_unregistered_address_is_counted_with_a_warning(tmp_path):
    folders = {k: tmp_path / k for k in ("inbox", "archive", "outbox")}
    folders["reference"] = reference_with_addresses(tmp_path / "reference", ADDRESSES)
    folders["inbox"].mkdir()
    for unit, sender, tag in (("侯寨乡", "乡 <someone@qq.example>", "a"), ("马寨镇", "镇 <mz@mazhai.example>", "b"),
                              ("淮河路街道", "街道 <hh@huaihe.example>", "c")):
        name = f"{unit}2016年9月报表.xlsx"
        data = message(f"{unit}9月", part(b'attachment; filename="' + b64(name, "gbk").encode() + b'"',
                                           workbook(tmp_path, unit)), sender=sender, message_id=f"<{tag}@x.example>")
        (folders["inbox"] / f"{tag}.eml").write_bytes(data)
    assert run_monthly(folders, "2016-09") == 0
    with sqlite3.connect(folders["archive"] / "ledger.sqlite") as db:
        got = db.execute("SELECT s.unit, s.status, f.code, f.value FROM submissions s LEFT JOIN findings f"
                         " ON f.submission_id = s.id AND f.code = 'SENDER_NOT_REGISTERED' ORDER BY s.unit").fetchall()
    assert got == [("侯寨乡", "accepted", "SENDER_NOT_REGISTERED", "someone@qq.example"),
                   ("淮河路街道", "accepted", None, None), ("马寨镇", "accepted", None, None)]
