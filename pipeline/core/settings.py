"""Settings in one place: each has a default and a line of help.

Read from `reference/settings.toml`, then overridden by environment variables named
`PIPELINE_<SECTION>_<KEY>` (e.g. `PIPELINE_LIMITS_SECONDS_PER_FILE=5`). `docs/settings.md` is
generated from SETTINGS and a test keeps it so.
"""
from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.core.period import Month, Quarter
from pipeline.core.settings_checks import line_of, problem_of, syntax_message, unknown_names
from pipeline.core.settings_table import SETTINGS

ROOT = Path(__file__).resolve().parents[2]   # the checkout: reference/, templates/ and the default folders
TEMPLATES = ROOT / "templates"                # what staff edit: the 通报's and receipts' wording


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
    which settings_checks refuses with a message)."""
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
            raise SetupError(syntax_message(path, text, error)) from None
    problems = unknown_names(path, text, from_file)
    values: dict = {}
    for section, keys in SETTINGS.items():
        given = from_file.get(section, {})
        given = {str(k): v for k, v in given.items()} if isinstance(given, dict) else {}
        merged = {key: given.get(key, default) for key, (default, _help) in keys.items()}
        where = {key: line_of(path, text, section, key) for key in given}
        if section == "targets":
            merged.update(given)  # any further year staff add
        for key, (default, _help) in keys.items():
            name = f"PIPELINE_{section}_{key}".upper()
            env = os.environ.get(name)
            if env is not None:
                merged[key] = _coerce(default, env)
                where[key] = f"环境变量 {name}"
        for key, value in merged.items():
            problem = problem_of(section, key, value)
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
