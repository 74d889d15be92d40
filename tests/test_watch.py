"""watch: mail answered as it arrives, through a mail server going away and an SMTP server refusing,
on a server without IDLE, and files dropped into inbox/ (docs/mail.md, Watching)."""
from __future__ import annotations

import json
import shutil
import signal

import pytest

from mailservers import PLAIN_IMAP, mail_servers
from mailsite import Site, assert_each_taken_once_and_answered, deliveries, form_message, stop, wait_until, workbook


@pytest.fixture
def servers(tmp_path):
    with mail_servers(tmp_path) as running:
        yield running


def connected(log, times: int = 1):
    return lambda: log.exists() and log.read_text().count("已连接邮箱") >= times


def test_the_imap_server_stopped_and_started_again_under_the_watcher(servers, tmp_path):
    site = Site(tmp_path, servers)
    log = tmp_path / "watch.log"
    sent = {"before": form_message(tmp_path, "侯寨乡", "before")}
    watcher = site.watch(log)
    try:
        wait_until(connected(log), what="the watcher connected")
        site.imap.append(sent["before"])
        wait_until(lambda: len(deliveries(site, sent)) == 1, what="the first receipt")
        site.imap.stop()
        wait_until(lambda: "邮箱连接中断" in log.read_text() or "无法连接邮箱" in log.read_text(),
                   what="the watcher seeing the server gone")
        wait_until(lambda: log.read_text().count("无法连接邮箱") >= 2, what="the watcher trying again")
        site.imap.start()
        sent["after"] = form_message(tmp_path, "马寨镇", "after")
        site.imap.append(sent["after"])   # waiting when the watcher comes back
        wait_until(lambda: len(deliveries(site, sent)) == 2, timeout=90, what="the receipt after the restart")
        wait_until(lambda: site.imap.count("INBOX") == 0, what="the message moved")
    finally:
        assert stop(watcher) == 0
    text = log.read_text()
    assert text.count("已连接邮箱") == 2 and "秒后重试" in text
    assert_each_taken_once_and_answered(site, sent)


def test_an_smtp_server_refusing_for_a_while(servers, tmp_path):
    site = Site(tmp_path, servers, retry_seconds=1)
    log = tmp_path / "watch.log"
    sent = {"refused": form_message(tmp_path, "侯寨乡", "refused")}
    site.smtp.refuse(True)
    watcher = site.watch(log)
    try:
        wait_until(connected(log), what="the watcher connected")
        site.imap.append(sent["refused"])
        wait_until(lambda: site.rows("SELECT attempts FROM mail_out") and site.rows("SELECT attempts FROM mail_out")[0][0] >= 2,
                   what="two refused tries")
        status = site.cli("status", "--period", "2016-09")
        assert "尚未发出的邮件 1 封" in status.stdout and "回执 → hz@houzhai.example" in status.stdout
        assert "451 4.3.0" in status.stdout, status.stdout
        assert site.smtp.messages == []
        site.smtp.refuse(False)
        wait_until(lambda: len(deliveries(site, sent)) == 1, what="the receipt once the server takes mail")
    finally:
        site.smtp.refuse(False)
        assert stop(watcher) == 0
    assert "尚未发出的邮件" not in site.cli("status", "--period", "2016-09").stdout
    (attempts, error) = site.rows("SELECT attempts, last_error FROM mail_out")[0]
    assert attempts >= 3 and error is None
    assert "稍后重试" in log.read_text()
    assert_each_taken_once_and_answered(site, sent)


def test_a_server_without_idle_or_move_is_polled_and_messages_copied_and_expunged(tmp_path):
    with mail_servers(tmp_path, capability=PLAIN_IMAP) as servers:
        site = Site(tmp_path, servers, poll_seconds=1)
        log = tmp_path / "watch.log"
        sent = {f"poll{k}": form_message(tmp_path, unit, f"poll{k}") for k, unit in enumerate(("侯寨乡", "马寨镇"))}
        watcher = site.watch(log)
        try:
            wait_until(connected(log), what="the watcher connected")
            for data in sent.values():
                site.imap.append(data)
            wait_until(lambda: len(deliveries(site, sent)) == 2 and site.imap.count("INBOX") == 0,
                       what="both answered and moved")
        finally:
            assert stop(watcher) == 0
        assert "每 1 秒查看" in log.read_text()
        assert site.imap.count("已收取") == 2
        assert_each_taken_once_and_answered(site, sent)


@pytest.mark.parametrize("mail", ["on", "off"])
def test_files_dropped_into_the_inbox_are_taken_once_they_stand_still(servers, tmp_path, mail):
    site = Site(tmp_path, servers, **({} if mail == "on" else {"imap_host": ""}))
    log = tmp_path / "watch.log"
    watcher = site.watch(log)
    try:
        wait_until(connected(log) if mail == "on" else lambda: log.exists() and "开始监视收件箱" in log.read_text(),
                   what="the watcher started")
        site.folders["inbox"].mkdir(exist_ok=True)
        (tmp_path / "侯寨乡_2016年9月报表.xlsx").write_bytes(workbook(tmp_path, "侯寨乡"))
        shutil.move(tmp_path / "侯寨乡_2016年9月报表.xlsx", site.folders["inbox"] / "侯寨乡_2016年9月报表.xlsx")
        manifest = site.folders["outbox"] / "2016-09" / "manifest.json"
        wait_until(lambda: manifest.exists() and json.loads(manifest.read_text(encoding="utf-8"))["submissions"],
                   what="the month's outputs")
    finally:
        assert stop(watcher, signal.SIGINT) == 0   # Ctrl-C: the work in hand finished, then exit 0
    got = json.loads(manifest.read_text(encoding="utf-8"))["submissions"]
    assert [(s["unit"], s["status"], s["file"]) for s in got] == [("侯寨乡", "accepted", "侯寨乡_2016年9月报表.xlsx")]
    assert not list(site.folders["inbox"].glob("*.xlsx"))
    assert (site.folders["outbox"] / "2016-09" / "二七区_2016年9月_报送情况.xlsx").exists()
    assert site.smtp.messages == []   # a file has no sender to answer
    assert log.read_text().rstrip().endswith("监视结束")


def test_one_watcher_an_archive(servers, tmp_path):
    site = Site(tmp_path, servers)
    log = tmp_path / "watch.log"
    watcher = site.watch(log)
    try:
        wait_until(connected(log), what="the first watcher connected")
        second = site.cli("watch", timeout=60)
        assert second.returncode == 2 and "只能有一个监视进程" in second.stdout
    finally:
        assert stop(watcher) == 0
