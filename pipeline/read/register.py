"""Read and check the enterprise register (企业台账, docs/register.md §1).

`reference/enterprises.xlsx` (or .xlsm/.xls/.ods) goes through the forms' reader (sniff's limits,
calamine's grids with their own coordinates); the columns are found by their labels in a header row,
wherever it stands, as the form's are. Each cell is made typed here, a column at a time (a unit or
an industry looked up once for each spelling, dates parsed by pattern over the whole column), and
`pipeline.schemas.register` checks the rows in one lazy pass. Its failure table becomes the findings, each
with its cell; a row with an error is left out, the rest of the register is used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.findings import Finding, finding
from pipeline.core.model import norm
from pipeline.core.settings import Settings
from pipeline.read.grids import TooManyCells, read_grids
from pipeline.read.register_findings import error_rows, failures, findings_of
from pipeline.read.register_table import find_table, frame, typed_enterprises, typed_revisits
from pipeline.read.sniff import sniff
from pipeline.read.units import Units
from pipeline.schemas.register import enterprise_rows, revisit_rows

SHEET, REVISIT_SHEET = "企业台账", "回访记录"
WHOLE = {"UNREADABLE", "ENCRYPTED", "TOO_LARGE", "REG_NO_TABLE"}   # findings that leave the whole register unused
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
# Each column and the labels staff give it (compared after `_label`: no spaces, notes in brackets or
# a leading * dropped, full-width folded).
LABELS: dict[str, tuple[str, ...]] = {
    "统一社会信用代码": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码", "统一社会信用代码证号"),
    "企业名称": ("企业名称", "单位名称", "企业", "名称"),
    "所属单位": ("所属单位", "所属乡镇", "所属乡（镇）办事处", "乡（镇）办事处", "所属街道", "属地", "乡镇办事处"),
    "行业": ("行业", "所属行业", "行业类别"),
    "规模": ("规模", "企业规模"),
    "状态": ("状态", "标准化状态", "达标状态", "创建状态"),
    "等级": ("等级", "达标等级", "级别"),
    "证书编号": ("证书编号", "证书号", "证书号码"),
    "发证日期": ("发证日期", "发证时间", "取证日期"),
    "有效期至": ("有效期至", "有效期", "证书有效期", "证书有效期至", "到期日期"),
    "摘牌日期": ("摘牌日期", "摘牌时间"),
    "评审单位": ("评审单位", "评审机构", "评审组织单位"),
    "最近检查日期": ("最近检查日期", "最近检查", "最近一次检查日期", "检查日期"),
    "最近回访日期": ("最近回访日期", "最近回访", "最近一次回访日期"),
    "高风险作业": ("高风险作业", "高风险作业环节", "高风险环节", "高风险"),
}
REQUIRED = ("统一社会信用代码", "企业名称", "所属单位", "行业", "规模", "状态")
REVISIT_LABELS: dict[str, tuple[str, ...]] = {
    "统一社会信用代码": LABELS["统一社会信用代码"],
    "回访日期": ("回访日期", "回访时间"),
    "结果": ("结果", "回访结果"),
    "问题": ("问题", "发现问题", "存在问题", "备注"),
}
# The register's columns as the code names them (the ledger's and the lists' columns).
FIELDS = {"统一社会信用代码": "code", "企业名称": "name", "所属单位": "unit", "行业": "industry", "规模": "scale",
          "状态": "status", "等级": "grade", "证书编号": "cert_no", "发证日期": "issued", "有效期至": "expires",
          "摘牌日期": "withdrawn", "评审单位": "reviewer", "最近检查日期": "inspected", "最近回访日期": "revisited",
          "高风险作业": "high_risk"}
REVISIT_FIELDS = {"统一社会信用代码": "code", "回访日期": "date", "结果": "result", "问题": "problem"}
ENTERPRISE_COLUMNS = ("row", *FIELDS.values())
REVISIT_COLUMNS = ("row", *REVISIT_FIELDS.values())


@dataclass(frozen=True, eq=False)
class Register:
    """A register as read: the rows that can be used (errors left out), and what was found."""
    file: str                       # its name
    sha256: str
    enterprises: pd.DataFrame       # ENTERPRISE_COLUMNS, one row per usable enterprise
    revisits: pd.DataFrame          # REVISIT_COLUMNS, the usable rows of 回访记录
    findings: tuple[Finding, ...]
    rows: int                       # enterprise rows in the workbook
    excluded: int                   # of them left out by an error

    @property
    def usable(self) -> bool:
        """Whether the workbook could be read as a register at all (it may still have no enterprise)."""
        return not any(f.code in WHOLE for f in self.findings)

    @property
    def units(self) -> set[str]:
        """The units with at least one enterprise in the register."""
        return set(self.enterprises["unit"].unique())


def find_register(reference: Path, settings: Settings) -> Path | None:
    """The register file in the reference folder, if there is one."""
    stem = str(settings["register"]["file"])
    for suffix in SUFFIXES:
        path = Path(reference) / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def register_limits(settings: Settings) -> dict:
    """The forms' limits, with the register's own size and cell limits: a province's register is a
    hundred thousand rows, and its sheet XML inflates to ten times the file."""
    own = settings["register"]
    size = int(own["file_bytes"])
    return {**settings.limits, "file_bytes": size, "cells": int(own["cells"]),
            "uncompressed_bytes": max(int(settings.limits["uncompressed_bytes"]), 10 * size),
            "member_bytes": max(int(settings.limits["member_bytes"]), 10 * size)}


def read_register(path: Path, units: Units, settings: Settings, today: dt.date | None = None,
                  data: bytes | None = None) -> Register:
    """Read and check the register at `path` (or its bytes `data`, named as `path`)."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    name, sha = path.name, hashlib.sha256(data).hexdigest()
    today = today or dt.datetime.now(settings.tz).date()
    limits = register_limits(settings)
    sniffed = sniff(data, name, limits)
    if sniffed.finding is not None:
        return _unusable(name, sha, sniffed.finding)
    try:
        grids = read_grids(data, int(limits["cells"]))
    except TooManyCells as err:
        return _unusable(name, sha, finding("TOO_LARGE", file=name, detail=f"有 {err.cells:,} 个单元格",
                                            limit=f"{limits['cells']:,} 个单元格"))
    except Exception as err:   # calamine's errors and its Rust panics (a BaseException) alike
        if not _reader_error(err):
            raise
        return _unusable(name, sha, finding("UNREADABLE", file=name, detail=type(err).__name__))
    except BaseException as err:
        if not _reader_error(err):
            raise
        return _unusable(name, sha, finding("UNREADABLE", file=name, detail="文件结构损坏"))
    return check_grids(grids, name, sha, units, pd.Timestamp(today))


def _reader_error(err: BaseException) -> bool:
    import python_calamine
    return isinstance(err, python_calamine.CalamineError) or type(err).__name__ == "PanicException"


def _unusable(name: str, sha: str, f: Finding) -> Register:
    return Register(name, sha, _empty(ENTERPRISE_COLUMNS), _empty(REVISIT_COLUMNS), (f,), 0, 0)


_DATES = {"issued", "expires", "withdrawn", "inspected", "revisited", "date"}


def _empty(columns) -> pd.DataFrame:
    """A frame of no rows with the columns' types, as a register read whole has them."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c in _DATES else "int64" if c == "row" else object)
                         for c in columns})


def check_grids(grids, name: str, sha: str, units: Units, today: pd.Timestamp) -> Register:
    table = find_table(grids, LABELS, ("统一社会信用代码", "企业名称"), SHEET)
    if table is None:
        return _unusable(name, sha, finding("REG_NO_TABLE", file=name, detail="中没有找到企业台账的表头"))
    missing = [c for c in REQUIRED if c not in table.columns]
    sheet = table.grid.sheet
    if missing:
        where = f"工作表“{sheet}”第 {table.header + 1} 行的表头中缺少" + "、".join(f"“{c}”" for c in missing) + "列"
        return _unusable(name, sha, finding("REG_NO_TABLE", f"{sheet}!A{table.header + 1}", file=name, detail=where))
    raw, given = frame(table, tuple(LABELS))
    typed, problems = typed_enterprises(raw, given, units)
    example = units.names[0] if units.names else ""
    revisits, more = _revisits(grids, name, set(typed["统一社会信用代码"].dropna()), today)
    struck = frozenset(revisits.loc[revisits["result"] == "摘牌", "code"])
    cases = failures(enterprise_rows(typed, given, problems, units.names, today, struck), typed)
    found = findings_of(cases, sheet, table, typed, given, today, problems, example)
    bad_rows = error_rows(cases)
    usable = typed[~typed.index.isin(bad_rows)]
    enterprises = usable.rename(columns=FIELDS).rename_axis("row").reset_index()
    revisits = revisits[revisits["code"].isin(set(enterprises["code"]))]
    return Register(name, sha, enterprises[list(ENTERPRISE_COLUMNS)].reset_index(drop=True),
                    revisits.reset_index(drop=True), tuple(found + more), len(typed), len(bad_rows))


def _revisits(grids, name: str, known: set, today: pd.Timestamp) -> tuple[pd.DataFrame, list[Finding]]:
    table = find_table([g for g in grids if norm(g.sheet) == REVISIT_SHEET] or grids, REVISIT_LABELS,
                       ("统一社会信用代码", "回访日期", "结果"), REVISIT_SHEET)
    if table is None:
        return _empty(REVISIT_COLUMNS), []
    raw, given = frame(table, tuple(REVISIT_LABELS))
    typed = typed_revisits(raw, given)
    cases = failures(revisit_rows(typed, given, known, today), typed)
    found = findings_of(cases, table.grid.sheet, table, typed, given, today)
    bad = error_rows(cases)
    usable = typed[~typed.index.isin(bad)].rename(columns=REVISIT_FIELDS).rename_axis("row").reset_index()
    return usable[list(REVISIT_COLUMNS)], found
