"""What is wrong in reference/settings.toml, in Chinese: the line, and what to write instead."""
from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.settings_table import SETTINGS


def syntax_message(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
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


def unknown_names(path: Path | None, text: str, from_file: dict) -> list[str]:
    """A section or key no setting has (a misspelt one would leave the setting at its default)."""
    out = []
    for section, keys in from_file.items():
        if section not in SETTINGS:
            out.append(f"{line_of(path, text, section)}：没有“[{section}]”这一节{_did_you_mean(section, SETTINGS)}"
                       f"。各节见 docs/settings.md。")
            continue
        if not isinstance(keys, dict):
            out.append(f"{line_of(path, text, section)}：“{section}”应是一节（[{section}]），不是一个值。")
            continue
        if section == "targets":
            continue
        for key in keys:
            if key not in SETTINGS[section]:
                out.append(f"{line_of(path, text, section, key)}：[{section}] 节没有“{key}”这一项"
                           f"{_did_you_mean(key, SETTINGS[section])}。各项见 docs/settings.md。")
    return out


def _did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"，是不是“{close[0]}”" if close else ""


def line_of(path: Path | None, text: str, section: str, key: str | None = None) -> str:
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


def problem_of(section: str, key: str, value) -> str | None:
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
