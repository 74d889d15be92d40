"""A bureau's site for the mail tests: its folders, its reference (settings pointing at the test
servers, units.csv with the `邮箱` column), the pipeline run as staff run it (a subprocess), and the
messages clerks send, built byte by byte as their clients do."""
from __future__ import annotations

import base64
import csv
import email
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from email import policy
from pathlib import Path

from pipeline.core.model import INDUSTRIES

from conftest import REFERENCE, ROOT, ROWS, form_cells, write_book
from mailservers import mail_settings, with_mail

ADDRESSES = {"侯寨乡": "hz@houzhai.example;@houzhai.gov.cn", "马寨镇": "mz@mazhai.example"}


class Site:
    def __init__(self, base: Path, servers, addresses: dict | None = None, **mail):
        self.base, (self.ca, self.imap, self.smtp) = base, servers
        self.folders = {k: base / k for k in ("inbox", "archive", "outbox", "reference")}
        for k in ("inbox", "archive"):   # a site's folders exist: a missing one is an operator's mistake
            self.folders[k].mkdir(parents=True, exist_ok=True)
        ref = reference_with_addresses(self.folders["reference"], ADDRESSES if addresses is None else addresses)
        mail.setdefault("retry_seconds", 1)
        (ref / "settings.toml").write_text(with_mail((REFERENCE / "settings.toml").read_text(encoding="utf-8"),
                                                     mail_settings(base, self.ca, self.imap, self.smtp, **mail)),
                                           encoding="utf-8")

    def cli(self, command: str, *more: str, timeout: float = 180, **env) -> subprocess.CompletedProcess:
        return cli(self.folders, command, *more, timeout=timeout, **env)

    def watch(self, log: Path | None = None, **env) -> subprocess.Popen:
        out = open(log or self.base / "watch.log", "a")
        return subprocess.Popen(_args(self.folders, "watch"), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env=clean_env(**env))

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.folders['archive'] / 'ledger.sqlite'}?mode=ro", uri=True)

    def rows(self, sql: str, *params) -> list[tuple]:
        with self.db() as db:
            return db.execute(sql, params).fetchall()

    def receipts(self) -> list:
        """The messages the SMTP server accepted, parsed."""
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.smtp.messages]


def reference_with_addresses(ref: Path, addresses: dict) -> Path:
    """The repository's reference in `ref`, units.csv with the `邮箱` column filled from `addresses`."""
    ref.mkdir(parents=True, exist_ok=True)
    with open(REFERENCE / "units.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, [*rows[0].keys(), "邮箱"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row | {"邮箱": addresses.get(row["单位"], "")})
    (ref / "units.csv").write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    (ref / "settings.toml").write_bytes((REFERENCE / "settings.toml").read_bytes())
    return ref


def _args(folders: dict, command: str, *more: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", command, *(f"--{k}={v}" for k, v in folders.items()), *more]


def clean_env(**extra) -> dict:
    """This environment without the PIPELINE_ settings the tests' caller may have, and with `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return env | {k: str(v) for k, v in extra.items()}


def cli(folders: dict, command: str, *more: str, timeout: float = 180, **env) -> subprocess.CompletedProcess:
    """`python -m pipeline COMMAND` on these folders, as staff run it."""
    return subprocess.run(_args(folders, command, *more), capture_output=True, text=True, cwd=ROOT,
                          env=clean_env(**env), timeout=timeout)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout)


def wait_until(condition, timeout: float = 60, step: float = 0.1, what: str = "condition"):
    end = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def workbook(tmp: Path, unit: str = "侯寨乡", period=(2016, 9), wrong_total: int = 0, name: str | None = None) -> bytes:
    """A unit's form as bytes; each unit's numbers its own (one count differs), so that no two units'
    forms are alike (SAME_AS_OTHER_UNIT); `wrong_total`: added to the first 合计 cell."""
    rows = dict(ROWS)
    new, cumulative, reviewing = rows[(INDUSTRIES[0], 1)]
    rows[(INDUSTRIES[0], 1)] = (new, cumulative + 1 + sum(map(ord, unit)) % 97, reviewing)
    cells = form_cells(unit, period, rows)
    cells["C14"] = cells["C14"] + int(wrong_total)
    path = write_book(tmp / (name or f"{unit}-{period[0]}-{period[1]}-{int(wrong_total)}.xlsx"), cells)
    return path.read_bytes()


def b64(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def part(disposition: bytes, data: bytes, content_type: bytes = b"application/octet-stream") -> bytes:
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"Content-Type: " + content_type + b"\r\nContent-Disposition: " + disposition
            + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n")


def message(subject: str, *parts: bytes, sender: str = "侯寨乡安监办 <hz@houzhai.example>", reply_to: str | None = None,
            message_id: str | None = None, date: str = "Thu, 01 Sep 2016 08:00:00 +0800", extra: bytes = b"") -> bytes:
    """A clerk's message: a text part, then `parts` (each made by `part`, or raw MIME)."""
    name, _, addr = sender.rpartition(" ")
    head = (b"From: " + (b64(name, "gbk").encode() + b" " if name else b"") + addr.encode() + b"\r\n"
            + (b"Reply-To: " + reply_to.encode() + b"\r\n" if reply_to else b"")
            + b"To: ajj@erqi.example\r\nSubject: " + b64(subject, "gbk").encode() + b"\r\nDate: " + date.encode() + b"\r\n"
            + (b"Message-ID: " + message_id.encode() + b"\r\n" if message_id else b"") + extra
            + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=_b"\r\n\r\n')
    body = b"--=_b\r\nContent-Type: text/plain; charset=gbk\r\n\r\n" + "附件是本月报表，请查收。".encode("gbk") + b"\r\n"
    for p in parts:
        body += b"--=_b\r\n" + p
    return head + body + b"--=_b--\r\n"


def form_message(tmp: Path, unit: str, tag: str, wrong_total: int = 0) -> bytes:
    name = f"{unit}2016年9月报表.xlsx"
    return message(f"{unit}9月报表", part(b'attachment; filename="' + b64(name, "gbk").encode() + b'"',
                                         workbook(tmp, unit, wrong_total=wrong_total)),
                   message_id=f"<{tag}@{unit.encode().hex()[:8]}.example>")


def deliveries(site: Site, sent: dict) -> dict[str, list[bytes]]:
    """Each message's tag -> the receipts the SMTP server took for it (their bytes)."""
    tags = {m: tag for tag, data in sent.items() for m in [_message_id(data)]}
    out = defaultdict(list)
    for envelope in site.smtp.messages:
        got = email.message_from_bytes(envelope.content, policy=policy.default)
        if got["In-Reply-To"] in tags:
            out[tags[got["In-Reply-To"]]].append(envelope.content)
    return out


def _message_id(data: bytes) -> str:
    return email.message_from_bytes(data, policy=policy.default)["Message-ID"]


def assert_each_taken_once_and_answered(site: Site, sent: dict) -> None:
    """Every message archived and counted once; every receipt delivered at least once, and always as
    queued (its Message-ID, its bytes)."""
    for tag, data in sent.items():
        sha = hashlib.sha256(data).hexdigest()
        rows = site.rows("SELECT archived FROM files WHERE kind='eml' AND sha256=?", sha)
        assert len(rows) == 1, tag
        assert (site.folders["archive"] / rows[0][0]).read_bytes() == data
        assert site.rows("SELECT count(*) FROM mail_in WHERE sha256=? AND queued=1 AND moved_at IS NOT NULL",
                         sha) == [(1,)], tag
    assert site.rows("SELECT count(*) FROM findings WHERE code='DUPLICATE_FILE'") == [(0,)]
    counted = site.rows("SELECT unit, count(*) FROM submissions WHERE status='accepted' GROUP BY unit")
    assert all(n == 1 for _, n in counted) and len(counted) == sum("wrong" not in t for t in sent)
    assert site.imap.count("INBOX") == 0
    queued = dict(site.rows("SELECT message_id, message FROM mail_out"))
    assert site.rows("SELECT count(*) FROM mail_out WHERE sent_at IS NULL") == [(0,)]
    got = deliveries(site, sent)
    assert set(got) == set(sent)
    delivered_ids = set()
    for tag, receipts in got.items():
        for content in receipts:
            mid = email.message_from_bytes(content, policy=policy.default)["Message-ID"]
            assert mid in queued, (tag, mid)
            assert content.replace(b"\r\n", b"\n") == queued[mid].replace(b"\r\n", b"\n")
            delivered_ids.add(mid)
    assert delivered_ids == set(queued)
