"""The mailbox around an intake: fetch into the inbox before it; queue the receipts, move what was
taken and send after it. Used by `fetch-mail`, by `monthly` / `quarterly` when mail is on (a run is
never stopped by the mailbox: a failure is said and the run goes on with the inbox), and by `watch`.
"""
from __future__ import annotations

import datetime as dt
import sys

from pipeline.core.period import Month
from pipeline.jobs.mail.mailbox import DROPPED, Dropped, Mailbox, forget_lost
from pipeline.jobs.mail.mailconf import MailConfig, MailError, describe, mail_config, password
from pipeline.jobs.mail.outmail import queue_receipts, send_due
from pipeline.store.ledger import Ledger


def _say(text: str) -> None:
    print(text, flush=True)


class MailRun:
    """One process's use of the mailbox (a run's, or the watcher's, kept open between messages)."""

    def __init__(self, folders: dict, settings, cfg: MailConfig, log=_say):
        self.folders, self.settings, self.cfg, self.log = folders, settings, cfg, log
        self.secret = password(cfg)
        self.box = Mailbox(cfg, self.secret)

    def problem(self, what: str, error: BaseException) -> str:
        """Say what failed and why (never the password); the text said."""
        text = f"{what}：{describe(error, self.secret)}"
        self.log(text)
        return text

    def connect(self) -> None:
        if not self.box.connected:
            self.box.open()

    def fetch(self, ledger: Ledger, stop=lambda: False) -> int:
        """Everything new in the mailbox into `inbox/邮箱/`; how many messages. Raises what the
        connection raised (the caller decides whether to go on)."""
        forget_lost(ledger)
        self.connect()
        try:
            got = self.box.fetch(ledger, self.folders["inbox"], self.settings.tz, stop)
        except (*DROPPED, Dropped):
            self.box.close()
            raise
        if got:
            self.log(f"从邮箱收取 {len(got)} 封新邮件")
        return len(got)

    def after_intake(self, ledger: Ledger, move: bool = True) -> int:
        """Receipts queued, the messages moved (unless not `move`), the receipts (and anything
        waiting) sent. Returns how many messages were moved."""
        queue_receipts(ledger, self.cfg, self.settings, self.log)
        moved = self.move(ledger) if move else 0
        self.send(ledger)
        return moved

    def move(self, ledger: Ledger) -> int:
        if not self.box.connected:
            return 0
        try:
            return self.box.move_taken(ledger, dt.datetime.now(self.settings.tz))
        except (*DROPPED, Dropped) as error:
            self.box.close()
            self.problem(f"邮件已收取，但未能移入“{self.cfg.done_folder}”（下次再移）", error)
            return 0

    def send(self, ledger: Ledger) -> int:
        sent = send_due(ledger, self.cfg, self.secret, self.settings.tz, self.log)
        if sent:
            self.log(f"发出邮件 {sent} 封")
        return sent

    def close(self) -> None:
        self.box.close()


def mail_before_intake(folders: dict, settings) -> MailRun | None:
    """At the start of a `monthly` / `quarterly` run: new mail fetched into the inbox, when mail is on.
    A failure is said on stderr and the run goes on with what the inbox holds."""
    try:
        cfg = mail_config(settings)
        if not cfg.on:
            return None
        run = MailRun(folders, settings, cfg)
    except MailError as error:
        print(f"邮件功能未能启动：{error}", file=sys.stderr, flush=True)
        return None
    ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
    try:
        run.fetch(ledger)
    except (*DROPPED, Dropped, MailError) as error:
        run.problem("未能收取邮件（本次只处理收件箱中的文件）", error)
    finally:
        ledger.close()
    return run


def run_fetch_mail(folders: dict) -> int:
    """`fetch-mail`: new mail taken in (with the rest of the inbox), receipts sent. 0 when every
    submission taken in was accepted, 1 when one was rejected, 2 when the mailbox could not be used."""
    from pipeline.core.settings import load_settings
    from pipeline.jobs.intake import intake_run
    from pipeline.jobs.lock import run_lock
    from pipeline.read.units import load_units
    settings = load_settings(folders["reference"])
    try:
        cfg = mail_config(settings)
        if not cfg.on:
            print("邮件功能未开启：请在 reference/settings.toml 的 [mail] 中设置 imap_host 等（见 docs/mail.md）。",
                  file=sys.stderr)
            return 2
        run = MailRun(folders, settings, cfg)
    except MailError as error:
        print(str(error), file=sys.stderr)
        return 2
    units = load_units(folders["reference"])
    failed = False
    period = Month.at(dt.datetime.now(settings.tz))
    with run_lock(folders["archive"]):
        ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
        try:
            if not run.fetch(ledger):
                print("邮箱中没有新邮件。")
        except (*DROPPED, Dropped) as error:
            failed = True
            run.problem("未能收取邮件", error)
        finally:
            ledger.close()
        ledger, counts = intake_run(folders, "fetch-mail", period, settings, units)
        try:
            run.after_intake(ledger)
        finally:
            run.close()
            ledger.close()
    return 2 if failed else counts.exit_status
