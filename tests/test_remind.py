"""remind: each unit that has not reported hears of it before the deadline, once a day (docs/mail.md, Reminders)."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from pipeline.core.settings import load_settings
from pipeline.jobs.mail.mailconf import mail_config
from pipeline.jobs.mail.remind import remind_due

from conftest import REFERENCE
from mailservers import mail_servers
from mailsite import Site, cli, form_message

TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize("now, expected", [
    (dt.datetime(2016, 9, 27, 9, 0, tzinfo=TZ), "2016-09"),      # 3 days before 30 September
    (dt.datetime(2016, 9, 29, 17, 30, tzinfo=TZ), "2016-09"),    # 1 day before
    (dt.datetime(2016, 9, 27, 8, 59, tzinfo=TZ), None),          # before remind_time
    (dt.datetime(2016, 9, 28, 9, 0, tzinfo=TZ), None),           # 2 days before: not a remind day
    (dt.datetime(2016, 9, 30, 9, 0, tzinfo=TZ), None),           # the deadline's own day
    (dt.datetime(2016, 2, 26, 10, 0, tzinfo=TZ), "2016-02"),     # 29 February 2016 is the deadline
])
def test_the_watcher_reminds_on_the_remind_days_from_remind_time(now, expected):
    settings = load_settings(REFERENCE)
    assert remind_due(settings, mail_config(settings), now) == expected


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remind")
    with mail_servers(tmp) as servers:
        site = Site(tmp, servers, addresses={"侯寨乡": "hz@houzhai.example", "马寨镇": "mz@mazhai.example;MZ2@mazhai.example",
                                             "淮河路街道": "@huaihe.gov.cn"})
        site.imap.append(form_message(tmp, "侯寨乡", "remind-hz"))
        assert site.cli("fetch-mail").returncode == 0
        yield site


def test_units_that_have_not_reported_are_reminded_by_mail_once_a_day(site):
    before = len(site.smtp.messages)
    first = site.cli("remind", "--period", "2016-09")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "未报：马寨镇，已发提醒至 mz@mazhai.example, mz2@mazhai.example" in lines
    assert "未报：淮河路街道（没有登记可发信的邮箱，请电话提醒）" in lines
    assert "未报：德化街街道（没有登记可发信的邮箱，请电话提醒）" in lines
    assert not [line for line in lines if "侯寨乡" in line]
    (reminder,) = site.receipts()[before:]
    assert site.smtp.messages[-1].rcpt_tos == ["mz@mazhai.example", "mz2@mazhai.example"]
    assert str(reminder["Subject"]) == "提醒：请于2016年9月30日（星期五）23:59 前报送2016年9月工贸企业安全生产标准化月度报表"
    assert reminder["Auto-Submitted"] == "auto-generated"
    text = reminder.get_body(("plain",)).get_content()
    assert text.startswith("马寨镇：") and "尚未收到贵单位2016年9月" in text
    (form,) = list(reminder.iter_attachments())
    assert form.get_filename() == "马寨镇_2016年9月_月度报表.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(form.get_content()))
    assert any("马寨镇" in str(c.value) for row in book["月度报表"].iter_rows() for c in row if c.value)

    again = site.cli("remind", "--period", "2016-09")
    assert "未报：马寨镇，今天已提醒过（mz@mazhai.example, mz2@mazhai.example）" in again.stdout.splitlines()
    assert len(site.smtp.messages) == before + 1


def test_without_mail_reminders_are_lines_on_screen(site, tmp_path):
    (tmp_path / "reference").mkdir()
    (tmp_path / "archive").mkdir()
    (tmp_path / "reference" / "units.csv").write_bytes((site.folders["reference"] / "units.csv").read_bytes())
    (tmp_path / "reference" / "settings.toml").write_bytes((REFERENCE / "settings.toml").read_bytes())
    folders = dict(site.folders, archive=tmp_path / "archive", reference=tmp_path / "reference")
    got = cli(folders, "remind", "--period", "2016-09")
    assert got.returncode == 0
    assert "未报：马寨镇（邮箱 mz@mazhai.example, mz2@mazhai.example）" in got.stdout.splitlines()
    assert "未报：侯寨乡（邮箱 hz@houzhai.example）" in got.stdout.splitlines()   # nothing received in this archive


def test_a_bad_period_is_a_usage_error(site):
    got = site.cli("remind", "--period", "2016-9")
    assert got.returncode == 2 and "2016-09" in got.stderr
