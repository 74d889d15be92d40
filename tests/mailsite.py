"""A bureau's site for the mail tests: its folders, its reference (settings pointing at the test
servers, units.csv with the `邮箱` column), the pipeline run as staff run it (a subprocess), and the
messages clerks send, built byte by byte as their clients do."""
from __future__ import annotations

import base64
import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pipeline.model import INDUSTRIES

from conftest import REFERENCE, ROOT, ROWS, form_cells, write_book
from mailservers import mail_settings

ADDRESSES = {"侯寨乡": "hz@houzhai.example;@houzhai.gov.cn", "马寨镇": "mz@mazhai.example"}


class Site:
    def __init__(self, base: Path, servers, addresses: dict | None = None, **mail):
        self.base, (self.ca, self.imap, self.smtp) = base, servers
        self.folders = {k: base / k for k in ("inbox", "archive", "outbox", "reference")}
        ref = self.folders["reference"]
        ref.mkdir(parents=True, exist_ok=True)
        with open(REFERENCE / "units.csv", encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        out = io.StringIO()
        writer = csv.DictWriter(out, [*rows[0].keys(), "邮箱"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row | {"邮箱": (ADDRESSES if addresses is None else addresses).get(row["单位"], "")})
        (ref / "units.csv").write_text("\ufeff" + out.getvalue(), encoding="utf-8")
        mail.setdefault("retry_seconds", 1)
        (ref / "settings.toml").write_text((REFERENCE / "settings.toml").read_text(encoding="utf-8") + "\n"
                                           + mail_settings(base, self.ca, self.imap, self.smtp, **mail), encoding="utf-8")

    def args(self, command: str, *more: str) -> list[str]:
        flags = [f"--{k}={v}" for k, v in self.folders.items()]
        return [sys.executable, "-m", "pipeline", command, *flags, *more]

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
        return env | {k: str(v) for k, v in extra.items()}

    def cli(self, command: str, *more: str, timeout: float = 180, **env) -> subprocess.CompletedProcess:
        return subprocess.run(self.args(command, *more), capture_output=True, text=True, cwd=ROOT, env=self.env(**env),
                              timeout=timeout)

    def watch(self, log: Path | None = None, **env) -> subprocess.Popen:
        out = open(log or self.base / "watch.log", "a")
        return subprocess.Popen(self.args("watch"), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=self.env(**env))

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.folders['archive'] / 'ledger.sqlite'}?mode=ro", uri=True)

    def rows(self, sql: str, *params) -> list[tuple]:
        with self.db() as db:
            return db.execute(sql, params).fetchall()

    def receipts(self) -> list:
        """The messages the SMTP server accepted, parsed."""
        import email
        from email import policy
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.smtp.messages]


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
