"""The mailbox password appears in no output, log, ledger row, archived or written file, or exception
text: given right (from password_file, or the environment) and given wrong (docs/mail.md, Settings)."""
from __future__ import annotations

import logging
import smtplib
import sqlite3
import traceback

import pytest

from pipeline.core.settings import load_settings
from pipeline.jobs.mail.mailbox import DROPPED
from pipeline.jobs.mail.mailconf import MailError, describe, mail_config, password, smtp_connect
from pipeline.jobs.mail.mailrun import MailRun
from pipeline.store.ledger import Ledger

from mailservers import PASSWORD, mail_servers
from mailsite import Site, cli, form_message, stop, wait_until

WRONG = "Wr0ng-guess-9c1e"
SECRETS = (PASSWORD, WRONG)


def assert_secret_free(text: str | bytes, where: str) -> None:
    for secret in SECRETS:
        needle = secret.encode() if isinstance(text, bytes) else secret
        assert needle not in text, f"the password is in {where}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secret")
    with mail_servers(tmp) as servers:
        yield Site(tmp, servers)


def test_no_command_shows_the_password_given_right_or_wrong(site, tmp_path):
    site.imap.append(form_message(tmp_path, "侯寨乡", "secret-ok"))
    runs = [site.cli("fetch-mail"),                                               # from password_file
            site.cli("fetch-mail", PIPELINE_MAIL_PASSWORD=PASSWORD),              # from the environment
            site.cli("fetch-mail", PIPELINE_MAIL_PASSWORD=WRONG),                 # wrong: refused by both servers
            site.cli("status", "--period", "2016-09"), site.cli("remind", "--period", "2016-09", PIPELINE_MAIL_PASSWORD=WRONG),
            site.cli("settings"), site.cli("monthly", "--period", "2016-09", PIPELINE_MAIL_PASSWORD=WRONG)]
    assert runs[0].returncode == 0 and "发出邮件 1 封" in runs[0].stdout
    assert runs[2].returncode == 2 and "AUTHENTICATIONFAILED" in runs[2].stdout
    assert "无法登录发信服务器" in runs[4].stdout or "稍后重试" in runs[4].stdout, runs[4].stdout
    for run in runs:
        assert_secret_free(run.stdout + run.stderr, " ".join(run.args[3:4]))
    log = tmp_path / "watch.log"
    watcher = site.watch(log, PIPELINE_MAIL_PASSWORD=WRONG)
    wait_until(lambda: log.exists() and log.read_text().count("无法连接邮箱") >= 2, what="the watcher refused twice")
    assert stop(watcher) == 0
    assert "AUTHENTICATIONFAILED" in log.read_text()
    assert_secret_free(log.read_text(), "the watcher's log")


def test_no_ledger_row_or_file_holds_the_password(site):
    with sqlite3.connect(site.folders["archive"] / "ledger.sqlite") as db:
        for table, in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in db.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, (str, bytes)):
                        assert_secret_free(value, f"ledger table {table}")
    for folder in ("archive", "outbox", "inbox", "reference"):
        for path in site.folders[folder].rglob("*"):
            if path.is_file():
                assert_secret_free(path.read_bytes(), str(path))


def test_exceptions_and_library_logs_never_hold_the_password(site, monkeypatch, caplog):
    settings = load_settings(site.folders["reference"])
    cfg = mail_config(settings)
    caplog.set_level(logging.DEBUG)   # imapclient logs every command at DEBUG
    assert password(cfg) == PASSWORD
    run = MailRun(site.folders, settings, cfg, log=lambda text: None)
    ledger = Ledger.open(site.folders["archive"] / "ledger.sqlite")
    try:
        run.fetch(ledger)   # right: every command logged
        run.close()
        monkeypatch.setenv("PIPELINE_MAIL_PASSWORD", WRONG)
        wrong = MailRun(site.folders, settings, cfg, log=lambda text: None)
        with pytest.raises(DROPPED) as refused:
            wrong.fetch(ledger)
        with pytest.raises(smtplib.SMTPAuthenticationError) as smtp_refused:
            smtp_connect(cfg, WRONG)
    finally:
        ledger.close()
    for error in (refused.value, smtp_refused.value):
        text = "".join(traceback.format_exception(error)) + repr(error) + describe(error, WRONG)
        assert_secret_free(text, f"the {type(error).__name__}")
    assert any("LOGIN" in r.getMessage() for r in caplog.records)   # the login was logged, redacted
    for record in caplog.records:
        assert_secret_free(record.getMessage(), f"the log record of {record.name}")


def test_a_missing_password_is_an_operator_error(site, tmp_path):
    (tmp_path / "reference").mkdir()
    text = (site.folders["reference"] / "settings.toml").read_text(encoding="utf-8")
    (tmp_path / "reference" / "settings.toml").write_text(
        text.replace(str(site.base / "mail-password"), str(tmp_path / "none")), encoding="utf-8")
    (tmp_path / "reference" / "units.csv").write_bytes((site.folders["reference"] / "units.csv").read_bytes())
    folders = dict(site.folders, reference=tmp_path / "reference")
    with pytest.raises(MailError, match="无法读取密码文件"):
        password(mail_config(load_settings(folders["reference"])))
    got = cli(folders, "fetch-mail")
    assert got.returncode == 2 and "无法读取密码文件" in got.stderr
