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
        "uncompressed_bytes": (200_000_000, "xlsx/ods 压缩包各成员解压后合计字节上限"),
        "member_bytes": (100_000_000, "单个压缩成员解压后字节上限"),
        "cells": (2_000_000, "单个文件声明或实际的单元格数上限"),
        "seconds_per_file": (20, "读取单个文件的时限（秒），超时的文件判为无法读取"),
        "memory_mb_per_file": (1024, "读取单个文件的内存上限（MB）"),
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
