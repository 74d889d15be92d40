"""Mail in: each new message of the mailbox's `folder` put into the inbox as the `.eml` it is, recorded
with its Message-ID, UIDVALIDITY and UID, and moved to `done_folder` once taken in (docs/mail.md).

Order of work, so that a message is taken exactly once whatever fails or is killed:
1. the message's bytes (BODY.PEEK[]: the server's copy is not even marked seen) are written to a
   temporary file in `inbox/邮箱/` and synced;
2. it is recorded in the ledger (`mail_in`: mailbox, UIDVALIDITY, UID, Message-ID, sha256, the
   server's INTERNALDATE) in one transaction for the batch;
3. the file is renamed to its name (made from UIDVALIDITY and UID: fetched again, it gets the same);
4. intake takes it like any saved `.eml`, its received time being INTERNALDATE (`Ledger.server_times`);
5. its receipts are queued (outmail.py), and only then is it moved to `done_folder`.
A message recorded (by UID, or by the same Message-ID with the same bytes after the mailbox's
UIDVALIDITY changed) is never fetched again; one whose move failed is moved at the next fetch. A
message recorded whose file never reached the inbox (killed between 2 and 3) and that intake never
saw is forgotten again (`forget_lost`), so that the next fetch takes it: nothing is lost.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import email.parser
import hashlib
import imaplib
import os
import time
from email import policy
from pathlib import Path

from pipeline.core.text import safe_name
from pipeline.jobs.lock import crash_point
from pipeline.jobs.mail.mailconf import MailConfig, close_quietly, imap_connect
from pipeline.read.eml import _header_text
from pipeline.store.files import sync_filesystem
from pipeline.store.ledger import Ledger

MAIL_DIR = "邮箱"        # inbox/邮箱/: fetched messages waiting for intake
BATCH = 50              # messages a FETCH
MOVE_BATCH = 500        # UIDs a MOVE
REIDLE = 300            # seconds in IDLE before it is renewed (RFC 2177: servers may drop it after 29 min)
# what a dropped, refused or confused connection raises (ssl errors and timeouts are OSErrors)
DROPPED = (OSError, EOFError, imaplib.IMAP4.error)


class Dropped(Exception):
    """The server closed the connection (BYE, or end of stream while idling)."""


def inbox_name(uidvalidity: int, uid: int, subject: str) -> str:
    """The file name of a fetched message: its mailbox place and its subject (clerks see it in 报送情况)."""
    subject = (subject or "").replace("/", "_").replace("\\", "_")[:40]
    return safe_name(f"邮件{uidvalidity}-{uid}_{subject}.eml", fallback=f"邮件{uidvalidity}-{uid}.eml")


def headers_of(data: bytes):
    return email.parser.BytesParser(policy=policy.default).parsebytes(data, headersonly=True)


def message_id(head) -> str | None:
    for key, value in head.raw_items():
        if key.lower() == "message-id":
            text = " ".join(str(value).split())[:500]
            return text or None
    return None


class Mailbox:
    """One IMAP session on the mailbox's folder, opened again after it drops."""

    def __init__(self, cfg: MailConfig, secret: str):
        self.cfg, self._secret = cfg, secret
        self.client = None
        self.uidvalidity: int | None = None
        self.can_idle = self.can_move = False
        self._idle_since: float | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None

    def open(self) -> Mailbox:
        client = imap_connect(self.cfg, self._secret)
        try:
            if not client.folder_exists(self.cfg.done_folder):
                client.create_folder(self.cfg.done_folder)
            info = client.select_folder(self.cfg.folder)
        except BaseException:
            close_quietly(client)
            raise
        self.client, self.uidvalidity = client, int(info[b"UIDVALIDITY"])
        self.can_idle, self.can_move = client.has_capability("IDLE"), client.has_capability("MOVE")
        self._idle_since = None
        return self

    def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            if self._idle_since is not None:
                with contextlib.suppress(*DROPPED):
                    client.idle_done()
            close_quietly(client)
        self._idle_since = None

    def _ready(self):
        """Out of IDLE, for a command."""
        if self._idle_since is not None:
            self._idle_since = None
            self.client.idle_done()
        return self.client

    # --- waiting ---------------------------------------------------------------------------------

    def wait(self, seconds: float) -> bool:
        """Wait in IDLE up to `seconds` for the server to tell of new mail; True when it did, or when
        IDLE has run REIDLE seconds (a look, then a fresh IDLE: a quiet server may have dropped it)."""
        if self._idle_since is None:
            self.client.idle()
            self._idle_since = time.monotonic()
        began = time.monotonic()
        said = self.client.idle_check(timeout=seconds)
        if any(r and r[0] == b"BYE" for r in said):
            raise Dropped("服务器关闭了连接")
        if not said and time.monotonic() - began < seconds / 2:
            raise Dropped("连接已断开")   # readable at once, yet nothing to read: end of stream
        news = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in said)
        if news or time.monotonic() - self._idle_since > REIDLE:
            self._ready()
            return True
        return False

    # --- steps 1-3 -------------------------------------------------------------------------------

    def fetch(self, ledger: Ledger, inbox: Path, tz, stop=lambda: False) -> list[str]:
        """Steps 1-3 for every message of the folder not recorded yet; the inbox paths written.
        Between batches, `stop()` may end it: what was recorded stays recorded."""
        client, cfg = self._ready(), self.cfg
        folder = Path(inbox) / MAIL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        _sweep_parts(folder)
        known = {uid for (uid,) in ledger.db.execute(
            "SELECT uid FROM mail_in WHERE mailbox=? AND uidvalidity=?", (cfg.mailbox, self.uidvalidity))}
        client.noop()   # the server's view brought up to date first: SEARCH answers only from it
        new = [uid for uid in sorted(client.search("ALL")) if uid not in known]
        written: list[str] = []
        for k in range(0, len(new), BATCH):
            if stop():
                break
            batch = new[k:k + BATCH]
            got = client.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"])
            written += self._keep(ledger, folder, tz, [(uid, got[uid]) for uid in batch if uid in got])
        return written

    def _keep(self, ledger: Ledger, folder: Path, tz, fetched: list[tuple[int, dict]]) -> list[str]:
        now = dt.datetime.now(tz).isoformat(timespec="seconds")
        rows, parts, seen = [], [], set()
        for uid, item in fetched:
            data = item[b"BODY[]"]
            when = item[b"INTERNALDATE"]
            when = (when if when.tzinfo else when.replace(tzinfo=tz)).astimezone(tz)
            sha = hashlib.sha256(data).hexdigest()
            head = headers_of(data)
            mid = message_id(head)
            row = [self.cfg.mailbox, self.uidvalidity, uid, mid, sha, when.isoformat(timespec="seconds"), None, now, 1]
            if mid and ((mid, sha) in seen or ledger.db.execute(
                    "SELECT 1 FROM mail_in WHERE message_id=? AND sha256=? LIMIT 1", (mid, sha)).fetchone()):
                rows.append(row)   # taken already (under another UID): only to be moved
                continue
            seen.add((mid, sha))
            path = folder / inbox_name(self.uidvalidity, uid, _header_text(head, "subject"))
            tmp = folder / f".{self.uidvalidity}-{uid}.part"
            with open(tmp, "wb") as f:
                f.write(data)
            # complete when it is renamed into the inbox: dated by the server, intake takes it at once
            # rather than waiting for it to settle as for a file still being copied in
            os.utime(tmp, (when.timestamp(), when.timestamp()))
            parts.append((tmp, path))
            row[6], row[8] = str(path), 0
            rows.append(row)
        if parts:
            sync_filesystem(folder)
        crash_point("mail_written")
        with ledger.transaction():
            ledger.db.executemany(
                "INSERT OR IGNORE INTO mail_in(mailbox, uidvalidity, uid, message_id, sha256, internal_at, inbox_path,"
                " fetched_at, queued) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        crash_point("mail_recorded")
        for tmp, path in parts:
            os.replace(tmp, path)
        if parts:
            sync_filesystem(folder)
        return [str(path) for _, path in parts]

    # --- step 5 ----------------------------------------------------------------------------------

    def move_taken(self, ledger: Ledger, now: dt.datetime) -> int:
        """Move every message taken in (its receipts queued) and not moved yet to `done_folder`."""
        cfg = self.cfg
        uids = [uid for (uid,) in ledger.db.execute(
            "SELECT uid FROM mail_in WHERE mailbox=? AND uidvalidity=? AND queued=1 AND moved_at IS NULL ORDER BY uid",
            (cfg.mailbox, self.uidvalidity))]
        if not uids:
            return 0
        client = self._ready()
        for k in range(0, len(uids), MOVE_BATCH):
            batch = uids[k:k + MOVE_BATCH]
            if self.can_move:
                client.move(batch, cfg.done_folder)
            else:   # RFC 3501 alone: copy, flag, expunge (only these UIDs where the server has UIDPLUS)
                client.copy(batch, cfg.done_folder)
                client.delete_messages(batch)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(batch)
                else:
                    client.expunge()
            crash_point("mail_moved")
            with ledger.transaction():
                ledger.db.executemany("UPDATE mail_in SET moved_at=? WHERE mailbox=? AND uidvalidity=? AND uid=?",
                                      [(now.isoformat(timespec="seconds"), cfg.mailbox, self.uidvalidity, uid)
                                       for uid in batch])
        return len(uids)


def forget_lost(ledger: Ledger) -> int:
    """Forget each message recorded whose file is not in the inbox and that intake never took (the
    fetch was killed before the file got its name, or someone removed it): fetched again, it is not
    lost."""
    lost = [(rid,) for rid, path, sha in ledger.db.execute(
                "SELECT id, inbox_path, sha256 FROM mail_in WHERE queued=0 AND inbox_path IS NOT NULL")
            if not os.path.exists(path) and ledger.db.execute(
                "SELECT 1 FROM files WHERE name=? AND sha256=? AND kind='eml' LIMIT 1",
                (os.path.basename(path), sha)).fetchone() is None]
    if lost:
        with ledger.transaction():
            ledger.db.executemany("DELETE FROM mail_in WHERE id=?", lost)
    return len(lost)


def _sweep_parts(folder: Path) -> None:
    """Temporary files of a fetch that was killed (their messages are fetched again)."""
    with os.scandir(folder) as entries:
        for e in entries:
            if e.name.startswith(".") and e.name.endswith(".part"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(e.path)
