"""Settings in one place: each has a default and a line of help.

Read from `reference/settings.toml`, then overridden by environment variables named
`PIPELINE_<SECTION>_<KEY>` (e.g. `PIPELINE_LIMITS_SECONDS_PER_FILE=5`). `docs/settings.md` is
generated from SETTINGS and a test keeps it so.
"""
from __future__ import annotations

import calendar
import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

SETTINGS: dict[str, dict[str, tuple[object, str]]] = {
    "district": {
        "name": ("二七区", "本级名称：汇总报表的填报单位"),
        "parent": ("郑州市", "上级名称"),
        "bureau": ("郑州市二七区安全生产监督管理局", "发文机关全称（通报版头、落款）"),
        "timezone": ("Asia/Shanghai", "本地时区：判断迟报、显示收到时间"),
    },
    "deadline": {
        "day": ("end", "每月报送截止日：end 为当月最后一天，或 1–28 的日期"),
        "time": ("23:59:59", "截止日的截止时刻（本地时间）"),
        "resend_working_days": (3, "退回的报表：截止时间未过要求在截止日前重新报送，已过则在几个工作日内（周一至周五）"),
    },
    "targets": {
        "2016": (0.50, "2016 年底三级以上达标企业占规模以上企业的比例目标"),
        "2017": (0.70, "2017 年底目标"),
        "2018": (1.00, "2018 年底目标"),
    },
    "bulletin": {
        "praise": (3, "通报表扬的单位数（达标率为 0 的单位不表扬）"),
        "criticize": (3, "通报批评的单位数（仅限未达目标的单位）"),
        "doc_number": ("二七安监管〔{year}〕{n}号", "发文字号格式"),
        "numbers": ({}, "各季度通报文号的序号，如 { \"2016Q3\" = 21 }；未设时为季度序号"),
        "date": ("", "成文日期 YYYY-MM-DD；空为运行当天"),
        "copy_to": ("区安委会办公室", "版记中的抄送机关"),
        "issuer": ("郑州市二七区安全生产监督管理局办公室", "版记中的印发机关"),
    },
    "limits": {
        "file_bytes": (20_000_000, "单个文件的字节上限"),
        "uncompressed_bytes": (200_000_000, "xlsx/ods 压缩包各成员解压后合计字节上限"),
        "member_bytes": (100_000_000, "单个压缩成员解压后字节上限"),
        "cells": (2_000_000, "单个文件声明或实际的单元格数上限"),
        "seconds_per_file": (20, "读取单个文件的时限（秒），超时的文件判为无法读取"),
        "memory_mb_per_file": (1024, "读取单个文件的内存上限（MB）"),
    },
    "mail": {   # MAIL.md: off while imap_host is empty
        "imap_host": ("", "收取报表的邮箱的 IMAP 服务器；空则不用邮箱（邮件功能关闭）"),
        "imap_port": (0, "IMAP 端口；0 为 imap_security 的标准端口（ssl 993，starttls 143）"),
        "imap_security": ("ssl", "ssl（直接 TLS）或 starttls；服务器证书总是校验"),
        "smtp_host": ("", "发送回执和提醒的 SMTP 服务器；空则与 imap_host 相同"),
        "smtp_port": (0, "SMTP 端口；0 为 smtp_security 的标准端口（ssl 465，starttls 587）"),
        "smtp_security": ("ssl", "ssl 或 starttls；服务器证书总是校验"),
        "user": ("", "邮箱登录名（IMAP 与 SMTP 相同）"),
        "from": ("", "回执和提醒的发件地址；空则为 user"),
        "folder": ("INBOX", "新邮件所在的文件夹"),
        "done_folder": ("已收取", "收取并登记后的邮件移入的文件夹（没有则自动建立）"),
        "password_file": ("", "存放邮箱密码的文件（放在仓库以外，仅本用户可读）；或用环境变量 PIPELINE_MAIL_PASSWORD。"
                               "密码不会显示、记入日志或写入台账"),
        "cafile": ("", "本局自建证书的 CA 证书文件（PEM）；空则用系统的 CA。证书总是校验"),
        "reply": (True, "是否把回执用邮件发回报送人（Reply-To，否则 From）"),
        "remind_days": ([3, 1], "截止日前几天提醒尚未报送的单位（units.csv 的“邮箱”列）"),
        "remind_time": ("09:00", "提醒日从几点起发送提醒（本地时间）"),
        "poll_seconds": (30, "服务器不支持 IDLE 时，监视进程每隔多少秒查看一次新邮件"),
        "retry_seconds": (30, "回执或提醒发送失败后第一次重试前等待的秒数，之后每次加倍，最长一小时"),
    },
}


@dataclass(frozen=True)
class Settings:
    values: dict

    def __getitem__(self, section: str) -> dict:
        return self.values[section]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.values["district"]["timezone"])

    @property
    def limits(self) -> dict:
        return self.values["limits"]

    def deadline(self, period: str) -> dt.datetime:
        """When a month's form is due ("2016-09"): `deadline.day` ("end" = the month's last day) at
        `deadline.time`, in the district's time zone."""
        year, month = int(period[:4]), int(period[5:7])
        day = str(self.values["deadline"]["day"])
        last = calendar.monthrange(year, month)[1]
        hh, mm, ss = (int(x) for x in str(self.values["deadline"]["time"]).split(":"))
        return dt.datetime(year, month, last if day == "end" else min(int(day), last), hh, mm, ss, tzinfo=self.tz)

    def resend_by(self, period: str, now: dt.datetime) -> dt.date:
        """The date a rejected form of `period` is asked back by, never past: the month's deadline
        while it is ahead, else `deadline.resend_working_days` working days (Monday to Friday) after
        `now`."""
        deadline = self.deadline(period)
        if now < deadline:
            return deadline.date()
        day, left = now.astimezone(self.tz).date(), int(self.values["deadline"]["resend_working_days"])
        while left > 0:
            day += dt.timedelta(days=1)
            left -= day.weekday() < 5
        return day

    def target(self, year: int) -> float | None:
        targets = self.values["targets"]
        if str(year) in targets:
            return float(targets[str(year)])
        later = [int(y) for y in targets if int(y) <= year]
        return float(targets[str(max(later))]) if later else None


def _coerce(default, raw: str):
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list):   # "[3, 1]" or "3,1"
        return [int(x) for x in raw.strip("[] ").split(",") if x.strip()]
    return raw


def load_settings(reference: Path | None) -> Settings:
    from_file: dict = {}
    path = reference / "settings.toml" if reference else None
    if path and path.exists():
        from_file = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    values: dict = {}
    for section, keys in SETTINGS.items():
        given = {str(k): v for k, v in from_file.get(section, {}).items()}
        merged = {key: given.get(key, default) for key, (default, _help) in keys.items()}
        if section == "targets":
            merged.update(given)  # any further year staff add
        for key, (default, _help) in keys.items():
            env = os.environ.get(f"PIPELINE_{section}_{key}".upper())
            if env is not None:
                merged[key] = _coerce(default, env)
        values[section] = merged
    return Settings(values)


def settings_markdown() -> str:
    lines = ["# 设置一览（reference/settings.toml）", "",
             "由 `pipeline/settings.py` 生成（`python -m pipeline settings --markdown`），请勿手改。"
             "每项也可用环境变量 `PIPELINE_<节>_<项>` 覆盖。", "",
             "| 节 | 项 | 默认值 | 说明 |", "|---|---|---|---|"]
    for section, keys in SETTINGS.items():
        for key, (default, help_) in keys.items():
            lines.append(f"| `{section}` | `{key}` | `{default!r}` | {help_} |")
    return "\n".join(lines) + "\n"
