"""Real mail servers on loopback for the tests: Dovecot (IMAP over TLS) and aiosmtpd (STARTTLS, AUTH).

Both present a certificate issued by a throw-away CA (`trustme`), so clients verify certificates
exactly as they do against a bureau's server, given the CA's file as `cafile`. Dovecot runs in the
foreground from its own folder (configuration, mailboxes, log) and can be stopped and started again
on the same port while a client is connected; the SMTP server can be told to refuse mail for a while.
"""
from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "bureau", "Pw-never-printed-7f3a"
logging.getLogger("mail.log").setLevel(logging.ERROR)   # aiosmtpd's notes on its own deprecations
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_for(port: int, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


class TestCA:
    """A CA and one certificate for 127.0.0.1/localhost, with the CA's PEM written to `cafile`."""
    __test__ = False

    def __init__(self, folder: Path):
        self.ca = trustme.CA(organization_name="二七区安监局测试")
        self.cert = self.ca.issue_cert(HOST, "localhost")
        self.cafile = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.cafile))
        self.server_pem = folder / "server.pem"
        self.cert.private_key_and_cert_chain_pem.write_to_path(str(self.server_pem))

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        return ctx


_DOVECOT_CONF = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{pem}
ssl_key = <{pem}
first_valid_uid = 1
auth_mechanisms = plain login
disable_plaintext_auth = yes
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


class Dovecot:
    """Dovecot serving IMAPS on loopback for one user, its mail in a folder of its own.

    Run as root (CI), mail is stored as `nobody` (Dovecot refuses uid 0 for mail); run as another
    user, as that user."""

    def __init__(self, ca: TestCA, root: Path | None = None, capability: str | None = None):
        if shutil.which("dovecot") is None:
            raise RuntimeError("dovecot is not installed: run `make setup` (Debian package dovecot-imapd)")
        self.ca = ca
        self.root = Path(root or tempfile.mkdtemp(prefix="dovecot-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        os.chmod(self.root, 0o755)
        (self.root / "mail").mkdir(exist_ok=True)
        os.chown(self.root / "mail", account.pw_uid, account.pw_gid)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", encoding="utf-8")
        self.conf = self.root / "dovecot.conf"
        conf = _DOVECOT_CONF.format(host=HOST, root=self.root, pem=ca.server_pem, port=self.port,
                                    uid=account.pw_uid, gid=account.pw_gid)
        if capability is not None:   # what the server says it can do once logged in (e.g. without IDLE)
            conf += f"imap_capability = {capability}\n"
        self.conf.write_text(conf, encoding="utf-8")

    def start(self) -> Dovecot:
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_for(self.port)
        return self

    def stop(self) -> None:
        """Dovecot stopped, its connections with it: the master exits in a second, but a process
        serving a client in IDLE says BYE only ~10 s later, so what is left of the group is killed
        (clients see their connection end, as when a server goes down)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @contextlib.contextmanager
    def client(self):
        """A plain imaplib session, logged in: the tests' own hands on the mailbox."""
        imap = imaplib.IMAP4_SSL(HOST, self.port, ssl_context=self.ca.client_context())
        try:
            imap.login(USER, PASSWORD)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, message: bytes | Message, folder: str = "INBOX", when: float | None = None) -> None:
        """Put a message into a folder, as a mail server delivering it would (APPEND)."""
        data = message if isinstance(message, bytes) else message.as_bytes()
        with self.client() as imap:
            imap.create(_quote(folder))
            date = imaplib.Time2Internaldate(when if when is not None else time.time())
            status, detail = imap.append(_quote(folder), None, date, data)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {detail}")

    def count(self, folder: str = "INBOX") -> int:
        with self.client() as imap:
            status, data = imap.select(_quote(folder), readonly=True)
            return int(data[0]) if status == "OK" else 0

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _quote(folder: str) -> str:
    """A folder name as imaplib sends it: modified UTF-7 for non-ASCII names (RFC 3501 §5.1.3)."""
    from imapclient.imap_utf7 import encode
    return '"' + encode(folder).decode("ascii") + '"'


@dataclass
class _Handler:
    messages: list = field(default_factory=list)   # aiosmtpd Envelopes, in order of arrival
    refusing: bool = False

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            return "451 4.3.0 暂时无法投递 (test server refusing mail)"
        envelope.arrived = time.time()   # when the server took it: a receipt's latency ends here
        self.messages.append(envelope)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on loopback: STARTTLS required before AUTH, AUTH required before mail."""

    def __init__(self, ca: TestCA):
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=HOST, port=self.port, tls_context=ca.server_context(),
                                     require_starttls=True, authenticator=self._auth, auth_require_tls=True,
                                     auth_required=True)

    @staticmethod
    def _auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    @property
    def messages(self) -> list:
        return self.handler.messages

    def refuse(self, on: bool = True) -> None:
        self.handler.refusing = on

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


# Dovecot's own list without IDLE and MOVE: a server a client must poll, and move messages on by
# COPY, \Deleted and EXPUNGE
PLAIN_IMAP = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN"
              " NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH SEARCHRES WITHIN LITERAL+")


@contextlib.contextmanager
def mail_servers(folder: Path, capability: str | None = None):
    """A test CA, Dovecot and the SMTP server, started; all stopped and removed afterwards."""
    ca = TestCA(folder)
    imap = Dovecot(ca, capability=capability).start()
    smtp = SmtpServer(ca).start()
    try:
        yield ca, imap, smtp
    finally:
        smtp.stop()
        imap.close()


def mail_settings(folder: Path, ca: TestCA, imap: Dovecot, smtp: SmtpServer, **extra) -> str:
    """The `[mail]` section of settings.toml for these servers, the password in a file of its own."""
    secret = folder / "mail-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    values = {"imap_host": HOST, "imap_port": imap.port, "imap_security": "ssl", "smtp_host": HOST,
              "smtp_port": smtp.port, "smtp_security": "starttls", "user": USER, "from": "baobiao@erqi.example",
              "password_file": str(secret), "cafile": str(ca.cafile)} | extra
    lines = ["[mail]"] + [f"{k} = {_toml(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def with_mail(settings_text: str, section: str) -> str:
    """A settings.toml's text with its `[mail]` section (if any) replaced by `section`."""
    head, found, rest = settings_text.partition("\n[mail]")
    if found:
        after = rest.split("\n[", 1)
        head += "\n[" + after[1] if len(after) > 1 else ""
    return head.rstrip("\n") + "\n\n" + section


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
