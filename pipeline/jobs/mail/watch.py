"""`watch`: take each message or file in as it arrives, and answer it (docs/mail.md, Watching).

One loop, a tick (TICK) at a time:
- the mailbox: in IMAP IDLE, the server says when mail arrives (polled every `poll_seconds` where it
  has no IDLE); then the new messages are fetched, taken in, their receipts queued and sent, and they
  are moved (mailrun.py, mailbox.py). A dropped connection is opened again with backoff, 1 s doubling
  to a minute; meanwhile the rest goes on;
- `inbox/`: files dropped there are taken in once they have stood unchanged for a tick (a file
  still being copied is left for the next look);
- timers: receipts whose retry is due, reminders on the `remind_days`.
After each intake the periods it touched get their 报送情况, district form and receipts written again
(`monthly.write_monthly`); the monthly and quarterly runs stay what they are. Work happens only
under the archive's run lock, taken without waiting: while a `monthly` run holds it, the watcher
waits its turn instead of working beside it. One watcher an archive (`.watch.lock`).
The checking workers are started once and kept (a run starts its own: ~1 s a run), and started
again when the month or the reference files change.
SIGTERM or Ctrl-C: the work in hand is finished, then the watcher exits 0.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import signal
import threading
import time
from pathlib import Path

from pipeline.check.check import checking_pool
from pipeline.core.model import no_gc
from pipeline.core.period import Month
from pipeline.core.settings import load_settings
from pipeline.jobs.inbox import anything_in, wanted
from pipeline.jobs.intake import take_in
from pipeline.jobs.mail.mailbox import DROPPED, MAIL_DIR, Dropped
from pipeline.jobs.mail.mailconf import MailError, mail_config
from pipeline.jobs.mail.mailrun import MailRun
from pipeline.jobs.mail.remind import remind_due, send_reminders
from pipeline.jobs.monthly import write_monthly
from pipeline.read.units import load_units
from pipeline.store.ledger import Ledger

TICK = 1.0          # seconds between looks at the inbox, the timers and the stop flag
MAX_BACKOFF = 60    # the longest wait before opening a dropped mailbox connection again


_TZ: list = [None]   # the district's time zone, for the log's times (the watcher sets it)


def log(text: str) -> None:
    print(f"{dt.datetime.now(_TZ[0]):%Y-%m-%d %H:%M:%S} {text}", flush=True)


@contextlib.contextmanager
def _held(path: Path):
    """The lock at `path`, if no one holds it: yields True, else False (without waiting)."""
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _snapshot(inbox: Path) -> dict:
    """{path: (size, mtime)} of every file intake would take, the fetched mail's folder aside."""
    out, folders = {}, [inbox] if inbox.is_dir() else []
    while folders:
        folder = folders.pop()
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    if not (folder == inbox and e.name == MAIL_DIR):
                        folders.append(Path(e.path))
                elif wanted(e.name) and e.is_file():
                    st = e.stat()
                    out[e.path] = (st.st_size, st.st_mtime_ns)
    return out


class Watcher:
    def __init__(self, folders: dict, stop: threading.Event):
        self.folders, self.stop = folders, stop
        self.reference_seen = None
        self._load_reference()
        self.mail: MailRun | None = None
        cfg = mail_config(self.settings)
        if cfg.on:
            self.mail = MailRun(folders, self.settings, cfg, log)
        self.ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
        self.pool, self.pool_key = None, None
        self.look_mail, self.last_look, self.reconnect_at, self.backoff = True, 0.0, 0.0, 1.0
        self.inbox_seen: dict = {}
        self.next_remind = 0.0
        self.stale: set[str] = set()   # periods whose outputs wait to be written again

    def _load_reference(self) -> None:
        ref = self.folders["reference"]
        stamp = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in (ref / "units.csv", ref / "settings.toml"))
        if stamp != self.reference_seen:
            self.settings, self.units = load_settings(ref), load_units(ref)
            self.reference_seen, _TZ[0] = stamp, self.settings.tz

    def _pool(self):
        """The checking workers for this month and these reference files, kept between intakes."""
        self._load_reference()
        key = (Month.at(dt.datetime.now(self.settings.tz)), self.reference_seen)
        if key != self.pool_key:
            if self.pool is not None:
                self.pool.close()
            self.pool, self.pool_key = checking_pool(self.units, self.settings), key
            self.pool.__enter__()
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self.mail is not None:
            self.mail.close()
        self.ledger.close()

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        log("开始监视" + (f"邮箱 {self.mail.cfg.user}（{self.mail.cfg.folder}）和" if self.mail else "")
            + f"收件箱 {self.folders['inbox']}")
        self._pool()
        while not self.stop.is_set():
            self._connect()
            inbox_ready = self._inbox_ready()
            fetch = self.mail is not None and self.mail.box.connected and (
                self.look_mail or (not self.mail.box.can_idle
                                   and time.monotonic() - self.last_look >= self.mail.cfg.poll_seconds))
            with _held(self.folders["archive"] / ".run.lock") as mine:
                if mine:
                    self._work(fetch, inbox_ready)
            if self.stop.is_set():
                break
            if not (mine and self.look_mail and self.mail is not None and self.mail.box.connected):   # else: look again
                self._wait()
        log("监视结束")

    def _connect(self) -> None:
        if self.mail is None or self.mail.box.connected or time.monotonic() < self.reconnect_at:
            return
        try:
            self.mail.connect()
        except (*DROPPED, Dropped, MailError) as error:
            self._dropped(error, "无法连接邮箱")
            return
        log(f"已连接邮箱（{'IDLE' if self.mail.box.can_idle else f'每 {self.mail.cfg.poll_seconds:g} 秒查看'}）")
        self.backoff, self.look_mail = 1.0, True

    def _dropped(self, error: BaseException, what: str) -> None:
        self.mail.box.close()
        self.mail.problem(f"{what}，{self.backoff:g} 秒后重试", error)
        self.reconnect_at = time.monotonic() + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF)

    def _inbox_ready(self) -> bool:
        """Files in the inbox, each unchanged since the last look."""
        seen, self.inbox_seen = self.inbox_seen, _snapshot(self.folders["inbox"])
        return bool(self.inbox_seen) and self.inbox_seen == seen

    def _work(self, fetch: bool, inbox_ready: bool) -> None:
        mail, ledger, got = self.mail, self.ledger, 0
        if fetch:
            self.look_mail, self.last_look = False, time.monotonic()
            try:
                got = mail.fetch(ledger, self.stop.is_set)
            except (*DROPPED, Dropped) as error:
                self._dropped(error, "邮箱连接中断")
        scope = self.folders if inbox_ready else dict(self.folders, inbox=self.folders["inbox"] / MAIL_DIR)
        run_id = self._take_in(scope)
        if inbox_ready:
            self.inbox_seen = {}
        if mail is not None:
            moved = mail.after_intake(ledger, move=fetch)   # queue, move (after a look at the mailbox), send
            # Mail that arrived while this was done was announced (EXISTS) in the replies to FETCH or
            # MOVE, which the client does not keep, and IDLE will not announce it again: look again,
            # until a look finds nothing new.
            self.look_mail = self.look_mail or bool(got or moved)
        if run_id is not None:
            self._touched(run_id)
        looking = mail is not None and mail.box.connected and self.look_mail
        if self.stale and not looking:   # receipts first: outputs once the mailbox is quiet
            self._refresh()
        if mail is not None and time.monotonic() >= self.next_remind:
            self.next_remind = time.monotonic() + 60
            period = remind_due(self.settings, mail.cfg, dt.datetime.now(self.settings.tz))
            if period and send_reminders(ledger, self.folders, self.settings, self.units, period, mail.cfg, log):
                mail.send(ledger)

    def _take_in(self, scope: dict) -> int | None:
        if not anything_in(scope["inbox"]):
            return None
        now = dt.datetime.now(self.settings.tz)
        period = Month.at(now)
        run_id = self.ledger.start_run("watch", period, now)
        with no_gc():
            taken = take_in(scope, self.ledger, self.units, self.settings, run_id, period, pool=self._pool())
        self.ledger.finish_run(run_id, dt.datetime.now(self.settings.tz), taken)
        if taken:
            log(f"收取 {taken} 个文件，已存档并登记")
        return run_id if taken else None

    def _touched(self, run_id: int) -> None:
        """The periods an intake touched."""
        self.stale.update(p for (p,) in self.ledger.db.execute(
            "SELECT DISTINCT coalesce(s.period, f.run_period) FROM submissions s JOIN files f ON f.id = s.file_id"
            " WHERE f.run_id = ?", (run_id,)) if p)

    def _refresh(self) -> None:
        """The touched periods' outputs written again: the month now running's as an interim set
        (monthly.run_monthly's rule), a month not begun's not at all."""
        now = dt.datetime.now(self.settings.tz)
        current = Month.at(now)
        while self.stale:
            period = min(self.stale)
            self.stale.discard(period)
            if period > current:
                continue
            with no_gc():
                out = write_monthly(self.ledger, self.folders, period, self.settings, self.units,
                                    interim=now if period == current else None)
            log(f"已更新 {period} 的报送情况、区月报和回执：{out}")

    def _wait(self) -> None:
        box = self.mail.box if self.mail else None
        if box is not None and box.connected and box.can_idle:
            try:
                if box.wait(TICK):
                    self.look_mail = True
            except (*DROPPED, Dropped) as error:
                self._dropped(error, "邮箱连接中断")
        else:
            self.stop.wait(TICK)


def run_watch(folders: dict) -> int:
    folders["archive"].mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    with _held(folders["archive"] / ".watch.lock") as mine:
        if not mine:
            print(f"另一个监视进程已在使用存档 {folders['archive']}：同一存档只能有一个监视进程。")
            return 2
        try:
            watcher = Watcher(folders, stop)
        except MailError as error:
            print(f"邮件功能未能启动：{error}")
            return 2
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            watcher.run()
        finally:
            watcher.close()
    return 0
