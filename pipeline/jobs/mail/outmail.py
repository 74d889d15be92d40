"""Mail out: each receipt (and reminder) queued in the ledger, then sent, retried until the server
accepts it (docs/mail.md, Receipts by mail).

A message taken from the mailbox, once intake has recorded it, has one receipt mail a submission:
to the sender (Reply-To, else From), subject `回执：` + the original subject, `In-Reply-To` and
`References` set, the receipt's text as the body (plain text, UTF-8), the marked copy attached when
there is one. The whole mail (its bytes) is written to `mail_out` in the same transaction that marks
the message's receipts queued, and is sent as written: a mail sent again after a crash (the server
took it, the run died before marking it sent) is the same mail, with the same Message-ID. Its
Message-ID is derived from the submission (the message's bytes, the file's and the sheet), not
from a counter. A failed send is retried with backoff (`retry_seconds`, doubling, at most an hour)
and shown by `status` with the server's reason; nothing is dropped.

Mail that a program sent (bounces, auto-replies, our own receipts) gets no receipt: answering it
could start a loop of robots answering each other (RFC 3834).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import os
import smtplib
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from pipeline.jobs.lock import crash_point
from pipeline.jobs.mail.mailbox import headers_of
from pipeline.jobs.mail.mailconf import MailConfig, MailError, close_quietly, describe, smtp_connect
from pipeline.jobs.mail.senders import address_of
from pipeline.outputs.receipts import _grid_rows, write_receipt
from pipeline.read.eml import _header_text, _raw_header
from pipeline.store.ledger import Ledger

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MAX_WAIT = 3600          # the longest wait between two tries
MARK_EVERY = 20          # sent mails marked in the ledger this many at a time (a crash resends at most these)


@dataclass(frozen=True)
class Original:
    """What a receipt needs of the message it answers."""
    reply_to: str | None
    subject: str
    message_id: str | None
    references: str
    automatic: bool          # sent by a program: no receipt


def original_of(data: bytes, own_address: str) -> Original:
    head = headers_of(data)

    def raw(name: str) -> str:
        return " ".join((_raw_header(head, name) or "").split())

    sender = address_of(_header_text(head, "from"))
    reply_to = address_of(_header_text(head, "reply-to")) or sender
    auto = raw("auto-submitted").lower()
    automatic = ((auto not in ("", "no")) or raw("precedence").lower() in ("bulk", "junk", "list")
                 or head.get_content_type() == "multipart/report" or raw("return-path") == "<>"
                 or any(raw(h) for h in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"))
                 or (sender or "").split("@")[0] in ("mailer-daemon", "postmaster")
                 or (sender is not None and sender == own_address.lower()))
    mid = raw("message-id") or None
    return Original(reply_to, _header_text(head, "subject"), mid, raw("references"), automatic)


def _deadline_text(settings, period: str | None) -> str:
    if not period:
        return ""
    due = settings.deadline(period)
    return f"{due.year}年{due.month}月{due.day}日"


def receipt_mail(rec, original: Original, key: str, cfg: MailConfig, settings, now: dt.datetime) -> tuple[str, EmailMessage]:
    """(Message-ID, the mail) of one submission's receipt."""
    mid = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.huizhi@{cfg.domain}>"
    with tempfile.TemporaryDirectory(prefix="huizhi-") as scratch:
        written = write_receipt(rec, Path(scratch), settings["district"]["name"], _grid_rows(rec, settings.limits["cells"]),
                                deadline_text=_deadline_text(settings, rec.period), tz=settings.tz)
        body = written[0].read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        marked = [(p.name, p.read_bytes()) for p in written[1:]]
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((cfg.bureau, cfg.sender))
    msg["To"] = original.reply_to or ""
    msg["Subject"] = "回执：" + (original.subject or "（无主题）")
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = mid
    if original.message_id:
        msg["In-Reply-To"] = original.message_id
        msg["References"] = " ".join(filter(None, (original.references, original.message_id)))
    msg["Auto-Submitted"] = "auto-replied"   # RFC 3834: robots do not answer it
    msg.set_content(body, charset="utf-8")
    for name, data in marked:
        attach(msg, name, data)
    return mid, msg


def attach(msg: EmailMessage, name: str, data: bytes) -> None:
    """A workbook attached under its Chinese name, as `filename*` (RFC 2231, UTF-8). (An RFC 2047
    `name` beside it, which some old clients read instead, is not added: the stdlib's header
    folding re-encodes such a Content-Type into one no client reads.)"""
    msg.add_attachment(data, *XLSX_TYPE, filename=name)


def queue_receipts(ledger: Ledger, cfg: MailConfig, settings, log=print) -> int:
    """Queue the receipts of every message taken in whose receipts are not queued yet (each message in
    one transaction with the mark that its receipts are queued). Returns how many were queued."""
    queued = 0
    waiting = ledger.db.execute(
        "SELECT id, inbox_path, sha256 FROM mail_in WHERE queued=0 AND inbox_path IS NOT NULL ORDER BY id").fetchall()
    for row_id, path, mail_sha in waiting:
        name = os.path.basename(path)
        eml = ledger.db.execute("SELECT id, run_id, archived FROM files WHERE name=? AND sha256=? AND kind='eml'"
                                " ORDER BY id LIMIT 1", (name, mail_sha)).fetchone()
        if eml is None:
            continue   # not taken in yet
        mails = []
        original = original_of((ledger.path.parent / eml[2]).read_bytes(), cfg.sender)   # kept relative to the archive
        if cfg.reply and not original.automatic:
            ids = [sid for (sid,) in ledger.db.execute(
                "SELECT s.id FROM submissions s JOIN files f ON f.id = s.file_id WHERE f.source=? AND f.run_id IS ?"
                " AND f.id >= ? ORDER BY s.id", (name, eml[1], eml[0]))]
            now = dt.datetime.now(settings.tz)
            for k, rec in enumerate(ledger.submissions_by_id(ids)):
                key = f"receipt:{mail_sha}:{k}:{rec.sha256}:{rec.sheet or ''}"
                mid, msg = receipt_mail(rec, original, key, cfg, settings, now)
                mails.append((key, "receipt", mid, original.reply_to, str(msg["Subject"]),
                              msg.as_bytes(policy=SMTP), now.isoformat(timespec="seconds"),
                              None if original.reply_to else "原邮件没有可回复的地址"))
        elif original.automatic:
            log(f"不回复程序发出的邮件（退信、自动回复等）：{name}")
        with ledger.transaction():
            ledger.db.executemany("INSERT OR IGNORE INTO mail_out(key, kind, message_id, to_addr, subject, message,"
                                  " queued_at, last_error) VALUES (?,?,?,?,?,?,?,?)", mails)
            ledger.db.execute("UPDATE mail_in SET queued=1 WHERE id=?", (row_id,))
        queued += len(mails)
    if queued:
        crash_point("mail_queued")
    return queued


def queue(ledger: Ledger, key: str, kind: str, msg: EmailMessage, to: str, now: dt.datetime) -> bool:
    """Queue one mail under `key`; False when that key was queued before (it is not queued again)."""
    cur = ledger.db.execute(
        "INSERT OR IGNORE INTO mail_out(key, kind, message_id, to_addr, subject, message, queued_at)"
        " VALUES (?,?,?,?,?,?,?)", (key, kind, str(msg["Message-ID"]), to, str(msg["Subject"]),
                                    msg.as_bytes(policy=SMTP), now.isoformat(timespec="seconds")))
    return cur.rowcount == 1


def send_due(ledger: Ledger, cfg: MailConfig, secret: str | None, tz, log=print) -> int:
    """Send every queued mail whose time has come, over one SMTP session; returns how many the server
    accepted. A failure is recorded with its reason and the time of the next try."""
    due = ledger.db.execute(
        "SELECT id, to_addr, message, attempts FROM mail_out WHERE sent_at IS NULL AND to_addr IS NOT NULL"
        " AND next_try <= ? ORDER BY id", (time.time(),)).fetchall()
    if not due:
        return 0
    try:
        if secret is None:
            raise MailError("没有邮箱密码，无法发送。")
        smtp = smtp_connect(cfg, secret)
    except (OSError, smtplib.SMTPException, MailError) as error:
        reason = "无法登录发信服务器：" + describe(error, secret)
        _failed(ledger, [(row[0], row[3]) for row in due], reason, cfg)
        log(f"{len(due)} 封邮件未能发出（{reason}），稍后重试")
        return 0
    done: list[int] = []
    try:
        for k, (rid, to, message, attempts) in enumerate(due):
            try:
                smtp.sendmail(cfg.sender, [a.strip() for a in to.split(",")], message)
            except smtplib.SMTPServerDisconnected as error:   # the session is gone: the rest wait
                reason = describe(error, secret)
                _failed(ledger, [(r[0], r[3]) for r in due[k:]], reason, cfg)
                log(f"发信服务器断开（{reason}），{len(due) - k} 封稍后重试")
                break
            except smtplib.SMTPException as error:   # this mail refused (SMTPException is an OSError: first)
                reason = describe(error, secret)
                _failed(ledger, [(rid, attempts)], reason, cfg)
                log(f"发给 {to} 的邮件未被接受（{reason}），稍后重试")
                continue
            except OSError as error:
                reason = describe(error, secret)
                _failed(ledger, [(r[0], r[3]) for r in due[k:]], reason, cfg)
                log(f"与发信服务器的连接中断（{reason}），{len(due) - k} 封稍后重试")
                break
            crash_point("mail_sent")
            done.append(rid)
            if len(done) % MARK_EVERY == 0:
                _mark_sent(ledger, done[-MARK_EVERY:], tz)
    finally:
        _mark_sent(ledger, done[len(done) - len(done) % MARK_EVERY:], tz)
        close_quietly(smtp)
    return len(done)


def _mark_sent(ledger: Ledger, ids: list[int], tz) -> None:
    if ids:
        at = dt.datetime.now(tz).isoformat(timespec="seconds")
        with ledger.transaction():
            ledger.db.executemany("UPDATE mail_out SET sent_at=?, attempts=attempts+1, last_error=NULL WHERE id=?",
                                  [(at, i) for i in ids])


def _failed(ledger: Ledger, rows: list[tuple[int, int]], reason: str, cfg: MailConfig) -> None:
    now = time.time()
    with ledger.transaction():
        ledger.db.executemany("UPDATE mail_out SET attempts=attempts+1, last_error=?, next_try=? WHERE id=?",
                              [(reason, now + min(cfg.retry_seconds * 2 ** attempts, MAX_WAIT), rid) for rid, attempts in rows])


def unsent(ledger: Ledger) -> list[tuple]:
    """(kind, to, subject, queued at, attempts, next try (epoch), last error) of each mail not sent yet."""
    try:
        return ledger.db.execute("SELECT kind, to_addr, subject, queued_at, attempts, next_try, last_error FROM mail_out"
                                 " WHERE sent_at IS NULL ORDER BY id").fetchall()
    except sqlite3.OperationalError:   # a ledger from before mail: nothing queued
        return []


KIND_ZH = {"receipt": "回执", "reminder": "提醒"}


def unsent_lines(ledger: Ledger, tz) -> list[str]:
    rows = unsent(ledger)
    if not rows:
        return []
    lines = [f"尚未发出的邮件 {len(rows)} 封："]
    for kind, to, subject, queued_at, attempts, next_try, error in rows:
        when = dt.datetime.fromtimestamp(next_try, tz).strftime("%m-%d %H:%M") if next_try else "尽快"
        state = (f"已试 {attempts} 次，下次 {when}" if to else "无法发送") + (f"；原因：{error}" if error else "；等待发送")
        queued = queued_at[:16].replace("T", " ")
        lines.append(f"  {KIND_ZH.get(kind, kind)} → {to or '（无地址）'}  {subject}  {queued} 排队；{state}")
    return lines
