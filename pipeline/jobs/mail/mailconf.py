"""The bureau's mailbox as settings say (`[mail]`, docs/mail.md): where it is, the password, and the two
connections, IMAP and SMTP, always over TLS with the server's certificate verified.

The password comes only from `password_file` or the environment (`PIPELINE_MAIL_PASSWORD`); it is
held here and handed to the two logins, never put in a message, an exception, a log line or the
ledger. `MailError` carries a Chinese message fit to print; `scrub` is the last guard on any text
that came from elsewhere (a server's reply, a library's exception).
"""
from __future__ import annotations

import os
import smtplib
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

PASSWORD_ENV = "PIPELINE_MAIL_PASSWORD"
TIMEOUT = 30          # seconds a connection or a reply may take before the server is taken for gone
PORTS = {("imap", "ssl"): 993, ("imap", "starttls"): 143, ("smtp", "ssl"): 465, ("smtp", "starttls"): 587}


class MailError(Exception):
    """An operational failure with the mailbox, its message in Chinese and free of the password."""


@dataclass(frozen=True)
class MailConfig:
    imap_host: str
    imap_port: int
    imap_security: str
    smtp_host: str
    smtp_port: int
    smtp_security: str
    user: str
    sender: str                 # the address receipts come from
    folder: str
    done_folder: str
    password_file: str
    cafile: str
    reply: bool
    remind_days: tuple[int, ...]
    remind_time: str
    poll_seconds: float
    retry_seconds: float
    bureau: str                 # the name shown beside the address

    @property
    def on(self) -> bool:
        return bool(self.imap_host)

    @property
    def mailbox(self) -> str:
        """The mailbox's name in the ledger: UIDs mean something only within it."""
        return f"{self.user}@{self.imap_host}:{self.imap_port}/{self.folder}"

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"


def mail_config(settings) -> MailConfig:
    m = settings["mail"]
    for key in ("imap_security", "smtp_security"):
        if m[key] not in ("ssl", "starttls"):
            raise MailError(f"设置 mail.{key} 应为 ssl 或 starttls，现为“{m[key]}”。")
    smtp_host = m["smtp_host"] or m["imap_host"]
    return MailConfig(
        imap_host=m["imap_host"], imap_port=int(m["imap_port"]) or PORTS[("imap", m["imap_security"])],
        imap_security=m["imap_security"], smtp_host=smtp_host,
        smtp_port=int(m["smtp_port"]) or PORTS[("smtp", m["smtp_security"])], smtp_security=m["smtp_security"],
        user=m["user"], sender=m["from"] or m["user"], folder=m["folder"], done_folder=m["done_folder"],
        password_file=m["password_file"], cafile=m["cafile"], reply=bool(m["reply"]),
        remind_days=tuple(int(d) for d in m["remind_days"]), remind_time=str(m["remind_time"]),
        poll_seconds=float(m["poll_seconds"]), retry_seconds=float(m["retry_seconds"]),
        bureau=settings["district"]["bureau"])


def password(cfg: MailConfig) -> str:
    """The mailbox password: the environment's, else the first line of `password_file`."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if not cfg.password_file:
        raise MailError(f"没有邮箱密码：请在设置 mail.password_file 中指定密码文件，或设置环境变量 {PASSWORD_ENV}。")
    path = Path(cfg.password_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeError) as error:
        raise MailError(f"无法读取密码文件 {path}（{type(error).__name__}）。") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(f"注意：密码文件 {path} 其他用户也能读取，建议执行 chmod 600 {path}", flush=True)
    secret = text.splitlines()[0] if text.strip() else ""
    if not secret:
        raise MailError(f"密码文件 {path} 是空的。")
    return secret


def scrub(text: str, secret: str | None) -> str:
    """Text from elsewhere (a server's reply, an exception) with the password blotted out, should it
    ever hold it."""
    return text.replace(secret, "********") if secret else text


def describe(error: BaseException, secret: str | None) -> str:
    """An exception as one line for a person: its kind and what it says, never the password."""
    if isinstance(error, MailError):
        return str(error)
    if isinstance(error, smtplib.SMTPResponseException):
        said = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return scrub(f"{error.smtp_code} {said}", secret)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return scrub("收件地址被拒绝：" + "；".join(f"{a} {c} {m.decode('utf-8', 'replace')}"
                                              for a, (c, m) in error.recipients.items()), secret)
    return scrub(f"{type(error).__name__}: {error}"[:300], secret)


def tls_context(cfg: MailConfig) -> ssl.SSLContext:
    """Certificates always verified: against `cafile` (a bureau's own CA) or the system's CAs."""
    try:
        return ssl.create_default_context(cafile=cfg.cafile or None)
    except (OSError, ssl.SSLError) as error:
        raise MailError(f"无法读取 CA 证书文件 {cfg.cafile}（{type(error).__name__}）。") from None


def imap_connect(cfg: MailConfig, secret: str) -> IMAPClient:
    """A logged-in IMAP session (not yet in a folder)."""
    context = tls_context(cfg)
    client = IMAPClient(cfg.imap_host, port=cfg.imap_port, ssl=cfg.imap_security == "ssl", ssl_context=context,
                        timeout=TIMEOUT)
    try:
        if cfg.imap_security == "starttls":
            client.starttls(context)
        client.login(cfg.user, secret)
    except BaseException:
        close_quietly(client)
        raise
    client.normalise_times = False   # INTERNALDATE with the server's offset, not made naive
    return client


def smtp_connect(cfg: MailConfig, secret: str) -> smtplib.SMTP:
    """A logged-in SMTP session."""
    context = tls_context(cfg)
    if cfg.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=TIMEOUT)
    try:
        if cfg.smtp_security == "starttls":
            smtp.starttls(context=context)
        smtp.login(cfg.user, secret)
    except BaseException:
        close_quietly(smtp)
        raise
    return smtp


def close_quietly(connection) -> None:
    """Log out if the server still listens; a connection already gone is simply dropped."""
    try:
        if isinstance(connection, IMAPClient):
            connection.logout()
        else:
            connection.quit()
    except Exception:  # noqa: BLE001 - whatever state it is in, it is being thrown away
        try:
            connection.close() if not isinstance(connection, IMAPClient) else connection.shutdown()
        except Exception:  # noqa: BLE001
            pass
