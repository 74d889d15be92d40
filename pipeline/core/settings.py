"""Settings in one place: each has a default and a line of help.

Read from `reference/settings.toml`, then overridden by environment variables named
`PIPELINE_<SECTION>_<KEY>` (e.g. `PIPELINE_LIMITS_SECONDS_PER_FILE=5`). `docs/settings.md` is
generated from SETTINGS and a test keeps it so.
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.period import Month, Quarter

ROOT = Path(__file__).resolve().parents[2]   # the checkout: reference/, templates/ and the default folders
TEMPLATES = ROOT / "templates"                # what staff edit: the 通报's and receipts' wording

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
        "numbers": ({}, "各季度通报文号的序号，如 { \"2016Q3\" = 21 }；没有写明序号的季度不生成通报（不猜文号）"),
        "date": ("", "成文日期 YYYY-MM-DD；空为运行当天"),
        "copy_to": ("区安委会办公室", "版记中的抄送机关"),
        "issuer": ("郑州市二七区安全生产监督管理局办公室", "版记中的印发机关"),
    },
    "annual": {
        "weight_rate": (40.0, "年度综合得分中“年末达标率”的权重：达标率 ÷ 年度目标 × 100，达到目标为满分 100"),
        "weight_quarters": (30.0, "“季度排名”的权重：各季度（参加排名的单位数 − 名次）÷（单位数 − 1）× 100 的平均，"
                                  "该季度未报送为 0，没有数据的季度不计"),
        "weight_on_time": (15.0, "“按时报送”的权重：按时报送且被计入的月数 ÷ 应报月数 × 100"),
        "weight_new": (15.0, "“全年新增”的权重：（全年新增 ÷ 规模以上企业数）÷ 各单位中此比值的最大者 × 100"),
        "number": (1, "年度综合排名通报的文号序号（年份取成文日期的年份）"),
        "date": ("", "年度通报的成文日期 YYYY-MM-DD；空为运行当天"),
    },
    "outliers": {
        "months": (12, "数字异常（OUTLIER）检查回看本单位此前多少个月的报表"),
        "min_history": (6, "回看期内至少有这么多个月的数据才用中位数规则，否则用固定上限"),
        "k": (5.0, "中位数规则：超过“中位数 + k × 离散度”即提示；离散度 = 1.4826 × 绝对中位差（MAD）"),
        "spread_floor": (1.0, "离散度的下限（家），免得以往各月完全相同时差 1 家也提示"),
        "ceiling_new": (10, "数据不足时的固定上限：一个月当月完成合计超过此数即提示"),
        "ceiling_reviewing": (10, "数据不足时的固定上限：正在评审合计比上月增加超过此数即提示"),
    },
    "limits": {
        "file_bytes": (20_000_000, "单个文件的字节上限"),
        "inbox_bytes": (200_000_000, "收件箱中大于此字节数的文件不读取、不存档，留在原处并提示（报表不会这么大；"
                                     "介于 file_bytes 与此值之间的文件照常收取，回执说明过大）"),
        "uncompressed_bytes": (200_000_000, "xlsx/ods 压缩包各成员解压后合计字节上限"),
        "member_bytes": (100_000_000, "单个压缩成员解压后字节上限"),
        "cells": (2_000_000, "单个文件声明或实际的单元格数上限"),
        "seconds_per_file": (20, "读取单个文件的时限（秒），超时的文件判为无法读取"),
        "memory_mb_per_file": (1024, "读取单个文件的内存上限（MB）"),
        "settle_seconds": (2, "收件箱中最近这么多秒内修改过的文件，等它大小和修改时间不再变化才收取"
                              "（还在复制或保存的文件留待下次运行）"),
    },
    "register": {
        "file": ("enterprises", "企业台账的文件名（reference 目录下，不含扩展名；依次找 .xlsx .xlsm .xls .ods）"),
        "expiry_warning_months": (6, "证书到期清单：有效期至在多少个月内的证书列入（已过期的也列入）"),
        "revisit_months": (12, "回访到期清单：达标企业最近一次回访距今超过多少个月即列入（从未回访的也列入）"),
        "interval_a": (12, "分级监管 A 类（一级、二级达标有效）的检查周期（月）"),
        "interval_b": (6, "分级监管 B 类（三级达标有效）的检查周期（月）"),
        "interval_c": (3, "分级监管 C 类（正在评审、创建中）的检查周期（月）"),
        "interval_d": (1, "分级监管 D 类（未开展、已摘牌、证书过期：重点监管）的检查周期（月）"),
        "file_bytes": (100_000_000, "企业台账文件的字节上限"),
        "cells": (5_000_000, "企业台账的单元格数上限（十万家企业约 150 万格）"),
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


def defaults(section: str) -> dict:
    """A section's settings as they are where staff set none (a caller given no settings)."""
    return {key: default for key, (default, _help) in SETTINGS[section].items()}


DEFAULT_TZ = ZoneInfo(SETTINGS["district"]["timezone"][0])   # the district's zone where no settings are given


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
        month = Month(period)
        day = str(self.values["deadline"]["day"])
        last = month.last_day.day
        hh, mm, ss = (int(x) for x in str(self.values["deadline"]["time"]).split(":"))
        return dt.datetime(month.year, month.number, last if day == "end" else min(int(day), last), hh, mm, ss,
                           tzinfo=self.tz)

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


class SetupError(Exception):
    """Something staff must fix before a command can run (reference data, settings, folders, the
    ledger): one or more Chinese lines, each naming the file (and line) and the fix. The command
    prints them and exits 2, having changed nothing."""

    def __init__(self, *lines: str):
        super().__init__("\n".join(lines))
        self.lines = lines


def _coerce(default, raw: str):
    """An environment variable's text as the setting's type, where it reads as one (else the text,
    which the checks below refuse with a message)."""
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        return raw
    if isinstance(default, dict):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    if isinstance(default, list):   # "[3, 1]" or "3,1"
        try:
            return [int(x) for x in raw.strip("[] ").split(",") if x.strip()]
        except ValueError:
            return raw
    return raw


def load_settings(reference: Path | None) -> Settings:
    """The settings of `reference/settings.toml` over the defaults, then the environment's; every
    value checked. Raises SetupError listing every problem (the line, and what to write)."""
    from_file: dict = {}
    text = ""
    path = reference / "settings.toml" if reference else None
    if path and path.exists():
        text = _read_text(path)
        try:
            from_file = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise SetupError(_syntax_message(path, text, error)) from None
    problems = _unknown(path, text, from_file)
    values: dict = {}
    for section, keys in SETTINGS.items():
        given = from_file.get(section, {})
        given = {str(k): v for k, v in given.items()} if isinstance(given, dict) else {}
        merged = {key: given.get(key, default) for key, (default, _help) in keys.items()}
        where = {key: _where(path, text, section, key) for key in given}
        if section == "targets":
            merged.update(given)  # any further year staff add
        for key, (default, _help) in keys.items():
            name = f"PIPELINE_{section}_{key}".upper()
            env = os.environ.get(name)
            if env is not None:
                merged[key] = _coerce(default, env)
                where[key] = f"环境变量 {name}"
        for key, value in merged.items():
            problem = _problem(section, key, value)
            if problem:
                problems.append(f"{where.get(key, f'[{section}] {key}')}：{problem}")
        values[section] = merged
    if problems:
        raise SetupError(*problems)
    return Settings(values)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:   # saved by Notepad on Chinese Windows (GBK, no BOM)
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise SetupError(f"{path}：不是 UTF-8 或 GBK 文本，无法读取。请用记事本打开，另存为 UTF-8 编码。") from None


def _syntax_message(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
    """TOMLDecodeError says `... (at line 34, column 10)`: the line, in Chinese, with what it holds."""
    found = re.search(r"at line (\d+), column (\d+)", str(error))
    if not found:
        return f"{path}：格式有误，无法读取（{error}）。请对照 docs/settings.md 改正。"
    line, column = int(found[1]), int(found[2])
    lines = text.splitlines()
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    what = str(error)[:found.start()].strip(" (")
    return (f"{path} 第 {line} 行第 {column} 列格式有误（{what}）：“{shown}”。请检查：文字要加英文双引号，"
            f"节名写在一行的英文方括号里，同一节、同一项只写一次。")


def _unknown(path: Path | None, text: str, from_file: dict) -> list[str]:
    """A section or key no setting has (a misspelt one would leave the setting at its default)."""
    out = []
    for section, keys in from_file.items():
        if section not in SETTINGS:
            out.append(f"{_where(path, text, section)}：没有“[{section}]”这一节{_did_you_mean(section, SETTINGS)}"
                       f"。各节见 docs/settings.md。")
            continue
        if not isinstance(keys, dict):
            out.append(f"{_where(path, text, section)}：“{section}”应是一节（[{section}]），不是一个值。")
            continue
        if section == "targets":
            continue
        for key in keys:
            if key not in SETTINGS[section]:
                out.append(f"{_where(path, text, section, key)}：[{section}] 节没有“{key}”这一项"
                           f"{_did_you_mean(key, SETTINGS[section])}。各项见 docs/settings.md。")
    return out


def _did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"，是不是“{close[0]}”" if close else ""


def _where(path: Path | None, text: str, section: str, key: str | None = None) -> str:
    """`reference/settings.toml 第 18 行`: the line of `[section]`, or of `key` inside it."""
    current, header = None, re.compile(r"\s*\[\s*([^\]]+?)\s*\]")
    for n, line in enumerate(text.splitlines(), 1):
        got = header.match(line)
        if got:
            current = got[1].strip('"')
            if key is None and current == section:
                return f"{path} 第 {n} 行"
            continue
        if key is not None and current == section and re.match(rf'\s*"?{re.escape(key)}"?\s*=', line):
            return f"{path} 第 {n} 行"
    return f"{path}（[{section}]{' ' + key if key else ''}）"


_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")
_QUARTER = re.compile(r"[0-9]{4}Q[1-4]")


def _problem(section: str, key: str, value) -> str | None:
    """What is wrong with one setting's value, and what to write instead; None if it is fine."""
    default = SETTINGS[section][key][0] if key in SETTINGS[section] else 0.5
    check = _SECTION_CHECKS.get(section) or _KEY_CHECKS.get(key)
    if check is not None:
        return check(key, value, default)
    if isinstance(default, str):
        if not isinstance(value, str):
            return f"“{value}”应是加英文双引号的文字，如 {key} = \"{default}\""
        return _TEXT_CHECKS[key](key, value, default) if key in _TEXT_CHECKS else None
    return _typed(key, value, default)


def _not_number(value) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float))


def _target(key: str, value, _default) -> str | None:
    if not re.fullmatch(r"[0-9]{4}", key):
        return f"“{key}”不是年份。每行写一个年份和比例，如 2019 = 1.0"
    if _not_number(value) or not 0 <= value <= 1:
        return f"目标“{value}”应是 0 到 1 之间的小数（0.5 表示 50%），如 {key} = 0.7"
    return None


def _limit(key: str, value, default) -> str | None:
    least = 0 if key == "settle_seconds" else 1e-9
    if _not_number(value) or value < least:
        return f"“{value}”应是大于{'等于' if least == 0 else ''} 0 的数，如 {key} = {default}"
    return None


def _how_many(key: str, value, _default) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"“{value}”应是 0 或正整数（用阿拉伯数字），如 {key} = 3"
    return None


def _numbers(_key: str, value, _default) -> str | None:
    if not isinstance(value, dict):
        return '应写成 numbers = { "2016Q3" = 21, "2016Q4" = 30 }'
    for quarter, n in value.items():
        if not _QUARTER.fullmatch(quarter):
            return f"“{quarter}”不是季度，应写成如 \"2016Q3\""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            return f"{quarter} 的文号序号“{n}”应是正整数，如 \"{quarter}\" = 21"
    return None


def _day(_key: str, value, _default) -> str | None:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if text != "end" and not (isinstance(text, str) and text.isascii() and text.isdigit() and 1 <= int(text) <= 28):
        return f"“{value}”不是可用的截止日：写 \"end\"（月末），或 1 到 28 之间的日期，如 day = 25"
    return None


def _typed(key: str, value, default) -> str | None:
    """A setting whose default is a flag, a whole number, a number or a list: a value of that type."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"“{value}”应是 true 或 false，如 {key} = {str(default).lower()}"
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"“{value}”应是 0 或正整数（用阿拉伯数字），如 {key} = {default}"
        return None
    if isinstance(default, float):
        return f"“{value}”应是大于等于 0 的数，如 {key} = {default}" if _not_number(value) or value < 0 else None
    if isinstance(default, list):
        return None if isinstance(value, list) else f"“{value}”应写成方括号中的列表，如 {key} = {default}"
    return None


def _timezone(_key: str, value: str, _default) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"没有名为“{value}”的时区。中国大陆写 timezone = \"Asia/Shanghai\""
    return None


def _time(_key: str, value: str, _default) -> str | None:
    if not _TIME.fullmatch(value):
        return f"“{value}”不是时刻，应写成 24 小时制的 \"时:分:秒\"，如 time = \"23:59:59\""
    return None


def _date(_key: str, value: str, _default) -> str | None:
    if value and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) or value and not _is_date(value):
        return f"“{value}”不是日期，应写成 \"年-月-日\"，如 date = \"2016-10-10\"；留空（\"\"）为运行当天"
    return None


def _doc_number(_key: str, value: str, _default) -> str | None:
    try:
        value.format(year=2016, n=1)
    except (KeyError, IndexError, ValueError):
        return f"“{value}”中只能用 {{year}}（年份）和 {{n}}（序号），如 \"二七安监管〔{{year}}〕{{n}}号\""
    if "{n}" not in value:
        return f"“{value}”中没有 {{n}}（文号序号），如 \"二七安监管〔{{year}}〕{{n}}号\""
    return None


def _named(key: str, value: str, default) -> str | None:
    return f"不能为空，如 {key} = \"{default}\"" if not value.strip() else None


_SECTION_CHECKS = {"targets": _target, "limits": _limit}
_KEY_CHECKS = {"praise": _how_many, "criticize": _how_many, "numbers": _numbers, "day": _day}
_TEXT_CHECKS = {"timezone": _timezone, "time": _time, "date": _date, "doc_number": _doc_number, "name": _named,
                "bureau": _named}


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return True
    except ValueError:
        return False


def doc_number_of(settings: Settings, quarter: str, path: Path | None = None) -> int:
    """The 文号's number of a quarter's 通报, as staff set it; SetupError when it is not set (a 文号
    is the bureau's to give: none is guessed)."""
    numbers = settings["bulletin"]["numbers"] or {}
    if quarter not in numbers:
        where = path / "settings.toml" if path else "settings.toml"
        listed = "、".join(sorted(numbers)) or "（还没有）"
        raise SetupError(f"{where}：[bulletin] numbers 中没有 {quarter} 通报的文号序号（已有：{listed}）。"
                         f"请向办公室要到文号后加上，如 numbers = {{ \"{quarter}\" = 序号 }}，再运行。")
    return numbers[quarter]


def settings_markdown() -> str:
    lines = ["# 设置一览（reference/settings.toml）", "",
             "由 `pipeline/core/settings.py` 生成（`python -m pipeline settings --markdown`），请勿手改。"
             "每项也可用环境变量 `PIPELINE_<节>_<项>` 覆盖。", "",
             "| 节 | 项 | 默认值 | 说明 |", "|---|---|---|---|"]
    for section, keys in SETTINGS.items():
        for key, (default, help_) in keys.items():
            lines.append(f"| `{section}` | `{key}` | `{default!r}` | {help_} |")
    return "\n".join(lines) + "\n"


def doc_number(settings: Settings, quarter: str) -> str:
    """The 通报's 文号. A final run asks for its number before anything is done (`doc_number_of`);
    a draft, or a quarter's ranking recomputed for the year's, shows a blank where none is given."""
    n = (settings["bulletin"]["numbers"] or {}).get(quarter, "__")
    return settings["bulletin"]["doc_number"].format(year=Quarter(quarter).year, n=n)


def issued_on(settings: Settings) -> dt.date:
    given = settings["bulletin"]["date"]
    return dt.date.fromisoformat(given) if given else dt.datetime.now(settings.tz).date()
