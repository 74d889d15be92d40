"""Nothing taken twice, nothing lost, no receipt under another Message-ID: fetch-mail killed at each
step of its work, and the watcher killed at random moments (docs/mail.md; docs/runs.md, Intake)."""
from __future__ import annotations

import hashlib
import random
import signal
import time

import pytest

from mailservers import mail_servers
from mailsite import Site, assert_each_taken_once_and_answered, deliveries, form_message, stop, wait_until

UNITS = ("淮河路街道", "解放路街道", "铭功路街道", "一马路街道", "蜜蜂张街道", "五里堡街道", "大学路街道",
         "建中街街道", "福华街街道", "德化街街道", "嵩山路街道", "京广路街道", "长江路街道", "人和路街道")

# every place a run can be killed between taking a message and answering it: the message written,
# recorded, its attachment archived, recorded by intake, its receipts queued, it moved, a receipt sent
POINTS = ("mail_written", "mail_recorded", "archived", "recorded", "mail_queued", "mail_moved", "mail_sent")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with mail_servers(tmp_path_factory.mktemp("servers")) as running:
        yield running


@pytest.mark.parametrize("point", POINTS)
def test_fetch_mail_killed_at_each_step_then_run_again(servers, tmp_path, point):
    site = Site(tmp_path, servers)
    sent = {f"{point}-{k}": form_message(tmp_path, unit, f"{point}-{k}") for k, unit in enumerate(UNITS[:2])}
    sent[f"{point}-wrong"] = form_message(tmp_path, UNITS[2], f"{point}-wrong", wrong_total=1)
    for data in sent.values():
        site.imap.append(data)
    killed = site.cli("fetch-mail", PIPELINE_CRASH_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    again = site.cli("fetch-mail")
    assert again.returncode in (0, 1), again.stderr
    assert_each_taken_once_and_answered(site, sent)


def _state(site: Site, data: bytes) -> str:
    """How far a message had got when the watcher was killed."""
    sha = hashlib.sha256(data).hexdigest()
    made = (site.folders["archive"] / "ledger.sqlite").exists()   # the watcher makes it as it starts
    row = site.rows("SELECT queued, moved_at FROM mail_in WHERE sha256=?", sha) if made else []
    if not row:
        return "not fetched"
    if not row[0][0]:
        return "fetched, not yet taken in" if not site.rows(
            "SELECT 1 FROM files WHERE sha256=?", sha) else "taken in, receipt not queued"
    unsent = site.rows("SELECT count(*) FROM mail_out WHERE sent_at IS NULL")[0][0]
    return ("receipt queued" if unsent else "receipt sent") + (", moved" if row[0][1] else ", not moved")


def test_the_watcher_killed_at_random_moments_loses_nothing_and_takes_nothing_twice(servers, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    site = Site(tmp_path, servers)
    log = tmp_path / "watch.log"
    sent, states, units = {}, [], iter(UNITS)
    for round_ in range(10):
        batch = {}
        for k in range(rng.choice((1, 2, 3))):   # a unit's form, and now and then forms with a wrong 合计
            tag = f"kill{round_}-{k}" + ("-wrong" if k else "")
            batch[tag] = form_message(tmp_path, next(units) if not k else UNITS[-1], tag, wrong_total=k and round_ * 3 + k)
        sent |= batch
        ready = log.read_text().count("已连接邮箱") if log.exists() else 0
        watcher = site.watch(log)
        if rng.random() < 0.2:   # while it starts, mail waiting
            for data in batch.values():
                site.imap.append(data)
            time.sleep(rng.uniform(0.2, 2.0))
        else:   # while it works on mail just arrived
            wait_until(lambda n=ready: log.read_text().count("已连接邮箱") > n, timeout=60, what="the watcher connected")
            for data in batch.values():
                site.imap.append(data)
            time.sleep(rng.uniform(0.0, 1.0))
        watcher.kill()
        watcher.wait()
        states.append(sorted({_state(site, data) for data in sent.values()} - {"not fetched", "receipt sent, moved"}))
    print(f"seed {seed}; at each kill, messages were half-way at:", states)
    sent["last"] = form_message(tmp_path, next(units), "last")
    site.imap.append(sent["last"])
    watcher = site.watch(log)
    try:
        wait_until(lambda: site.imap.count("INBOX") == 0 and len(deliveries(site, sent)) == len(sent)
                   and site.rows("SELECT count(*) FROM mail_out WHERE sent_at IS NULL") == [(0,)],
                   timeout=90, step=0.5, what=f"every message answered (seed {seed})")
    finally:
        assert stop(watcher) == 0
    assert_each_taken_once_and_answered(site, sent)
