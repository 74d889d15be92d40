"""`remind`: before the deadline, a reminder to each unit that has not reported (docs/mail.md, Reminders).

For a period, every active unit with no accepted submission gets a line on screen and, when mail is
on and the unit lists whole addresses in the `邮箱` column of units.csv, a reminder mail with its
own blank form attached (template.py). Each (unit, period, day) is reminded once: the mail is queued
under that key, and a second run the same day finds it queued. The watcher sends the reminders on
each of `remind_days` (days before the deadline), from `remind_time` on.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import sys
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.core.period import Month, month_text
from pipeline.core.settings import TEMPLATES
from pipeline.jobs.mail.mailconf import MailConfig
from pipeline.jobs.mail.outmail import attach, queue, unsent_lines
from pipeline.jobs.mail.senders import load_senders, mailable
from pipeline.outputs.receipts import time_text
from pipeline.outputs.template import deadline_text, file_name, write_template
from pipeline.store.ledger import Ledger


@dataclass(frozen=True)
class ReminderContext:
    unit: str
    bureau: str
    period_text: str
    deadline_text: str
    days: int
    now_text: str


@cache
def _template():
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("reminder.txt.j2")


def days_left(settings, period: str, now: dt.datetime) -> int:
    return (settings.deadline(period).date() - now.date()).days


def remind_due(settings, cfg: MailConfig, now: dt.datetime) -> str | None:
    """The period to remind of now, if today is one of the `remind_days` and `remind_time` has come."""
    period = Month.at(now)   # a month's form is due within the month (settings.deadline)
    hh, mm = (int(x) for x in cfg.remind_time.split(":")[:2])
    if days_left(settings, period, now) in cfg.remind_days and (now.hour, now.minute) >= (hh, mm):
        return period
    return None


def reminder_mail(unit: str, to: list[str], period: str, settings, cfg: MailConfig, now: dt.datetime,
                  key: str) -> EmailMessage:
    due = deadline_text(period, settings)
    body = _template().render(vars(ReminderContext(
        unit=unit, bureau=cfg.bureau, period_text=month_text(period), deadline_text=due,
        days=days_left(settings, period, now), now_text=time_text(now, settings.tz))))
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((cfg.bureau, cfg.sender))
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"提醒：请于{due}报送{month_text(period)}工贸企业安全生产标准化月度报表"
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.tixing@{cfg.domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8")
    with tempfile.TemporaryDirectory(prefix="tixing-") as scratch:
        path = write_template(Path(scratch) / file_name(unit, period), unit, period, due, cfg.bureau)
        attach(msg, path.name, path.read_bytes())
    return msg


def send_reminders(ledger: Ledger, folders: dict, settings, units, period: str, cfg: MailConfig | None,
                   say=print) -> int:
    """A line for each unit that has not reported for `period`; a reminder queued for each one with an
    address, once a day. Returns how many were queued."""
    counted = ledger.counted(period)
    senders = load_senders(folders["reference"])
    now = dt.datetime.now(settings.tz)
    day, queued = now.date().isoformat(), 0
    missing = [u.name for u in units.active(period) if u.name not in counted]
    for unit in missing:
        to = mailable(senders.get(unit, ()))
        if cfg is None or not cfg.on:
            say(f"未报：{unit}" + (f"（邮箱 {', '.join(to)}）" if to else "（没有登记可发信的邮箱）"))
            continue
        if not to:
            say(f"未报：{unit}（没有登记可发信的邮箱，请电话提醒）")
            continue
        key = f"reminder:{unit}:{period}:{day}"
        if queue(ledger, key, "reminder", reminder_mail(unit, to, period, settings, cfg, now, key), ", ".join(to), now):
            queued += 1
            say(f"未报：{unit}，已发提醒至 {', '.join(to)}")
        else:
            say(f"未报：{unit}，今天已提醒过（{', '.join(to)}）")
    if not missing:
        say(f"{month_text(period)}各单位均已报送，无需提醒。")
    return queued


def run_remind(folders: dict, period: str | None) -> int:
    from pipeline.core.settings import load_settings
    from pipeline.jobs.lock import run_lock
    from pipeline.jobs.mail.mailconf import MailError, mail_config
    from pipeline.jobs.mail.mailrun import MailRun
    from pipeline.read.units import load_units
    settings = load_settings(folders["reference"])
    units = load_units(folders["reference"])
    period = period or Month.at(dt.datetime.now(settings.tz))
    try:
        cfg = mail_config(settings)
        run = MailRun(folders, settings, cfg) if cfg.on else None
    except MailError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(f"{month_text(period)}报表，截止 {deadline_text(period, settings)}：")
    with run_lock(folders["archive"]):
        ledger = Ledger.open(folders["archive"] / "ledger.sqlite")
        try:
            send_reminders(ledger, folders, settings, units, period, cfg if run else None)
            if run is not None:
                run.send(ledger)
                for line in unsent_lines(ledger, settings.tz):
                    print(line)
        finally:
            ledger.close()
    return 0

