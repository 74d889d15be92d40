"""Worker side of `check`: everything one file needs and no other file does.

Hash, archive (when intake says where), sniff (limits before parsing), read every sheet, draft the
forms found, and find each form's unit and period. Runs in the sandbox's worker processes, so it
imports nothing heavy (no pandas); the file is read from disk once.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from pipeline.core.findings import Finding, finding
from pipeline.core.period import Month, month_text
from pipeline.read.draft import Draft, draft
from pipeline.read.grids import Grid, TooManyCells, read_grids
from pipeline.read.heading import find_period
from pipeline.read.locate import locate
from pipeline.read.sniff import sniff
from pipeline.read.units import Units
from pipeline.store.files import open_regular, put


@dataclass(frozen=True)
class Failed:
    code: str
    detail: str = ""
    limit: str = ""


@dataclass(frozen=True)
class Context:
    """What every worker is given once: the limits, the units, and the current month."""
    limits: dict
    units: Units
    current_month: str        # "2016-10": a later period is FUTURE_PERIOD


@dataclass(frozen=True)
class Found:
    """One form of a file, with the unit and period it belongs to and the findings about them."""
    draft: Draft
    unit: str | None
    period: str | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Examined:
    """What a worker learned about one file: its hash and kind, and either why it was refused
    before parsing (`refused`), or what parsing found (`got`)."""
    sha256: str
    kind: str | None
    strict_ooxml: bool
    refused: Finding | None
    got: list[Found] | Failed | None
    stored: tuple[str, str | None, int] | None = None   # (archived path, temporary copy or None, size)


_UNREADABLE_ERRORS = (python_calamine.CalamineError, python_calamine.XmlError, python_calamine.ZipError,
                      python_calamine.WorksheetNotFound, OSError, UnicodeError, EOFError)


def _grids(source: str | bytes, max_cells: int) -> list[Grid] | Failed:
    """Every sheet of one file (a path or its bytes), or why it cannot be read."""
    try:
        return read_grids(source, max_cells)
    except python_calamine.PasswordError:
        return Failed("ENCRYPTED")
    except TooManyCells as err:
        return Failed("TOO_LARGE", f"共有约 {err.cells:,} 个单元格", f"{max_cells:,} 个单元格")
    except _UNREADABLE_ERRORS as err:
        return Failed("UNREADABLE", _reason(err))


def sha256_of(path: str) -> str:
    """The file's sha256; NotRegular (from store) for what is not a regular file."""
    fd, _st = open_regular(path)
    with open(fd, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


STEP_BYTES = 256 * 1024   # files up to this size are worked a stage at a time with the rest of their parcel


def examine(context: Context, item: tuple) -> Generator[None, None, Examined]:
    """All the per-file work for `item` = (index, path, name as received, sha256 or None, archive
    folder or None), as a generator that returns the file's `Examined`. With a folder, the file is
    archived there first (intake: before it is parsed, so a file that kills the worker is archived
    all the same; the parent syncs the chunk).

    Each `yield` ends a stage (reading, hashing and archiving; sniffing; calamine; locating the forms;
    drafting them; their unit and period): the sandbox advances a parcel's files together, a stage
    of each in turn, which keeps each stage's code in the processor's caches (~10 % less CPU than a
    file at a time). A file over STEP_BYTES is worked in one go, so that a parcel never holds more
    than one large file's sheets at a time."""
    _, path, name, sha, folder = item
    limits = context.limits
    fd, st = open_regular(path)   # not open(): no file object for one read (~10 µs a file); no symlink, no FIFO
    try:
        size = st.st_size
        small = size <= limits["file_bytes"]
        data = b"".join(iter(functools.partial(os.read, fd, size + 1), b"")) if small else None   # to its end
        if not sha:
            sha = hashlib.sha256(data).hexdigest() if small else hashlib.file_digest(open(fd, "rb", closefd=False),
                                                                                       "sha256").hexdigest()
        stored = None
        if folder:
            try:
                stored = (*put(folder, name, sha, size, path, data, fd, (st.st_dev, st.st_ino)), size)
            except OSError:
                pass   # archived again by intake, which stops the run if it cannot (a full disk)
    finally:
        os.close(fd)
    stepped = size <= STEP_BYTES
    if stepped:
        yield
    sniffed = sniff(data if small else Path(path), name, limits)
    if sniffed.finding is not None:
        return Examined(sha, sniffed.kind, sniffed.strict_ooxml, sniffed.finding, None, stored)
    if stepped:
        yield
    got = _grids(data, int(limits["cells"]))
    if not isinstance(got, Failed):
        if stepped:
            yield
        tables = [table for table in map(locate, got) if table is not None]
        if len(tables) > 1 and any(not t.grid.hidden for t in tables):
            tables = [t for t in tables if not t.grid.hidden]   # a hidden sheet's form is not sent: not counted
        if stepped:
            yield
        drafts = [draft(table, data, sniffed.kind) for table in tables]
        if stepped:
            yield
        got = [Found(d, *resolve(d, name, len(drafts) == 1, context)) for d in drafts]
    return Examined(sha, sniffed.kind, sniffed.strict_ooxml, None, got, stored)


def _from_filename(name: str, units: Units) -> tuple[str | None, str | None]:
    base = name.rsplit("/", 1)[-1]   # Path(name).stem, without a Path a file
    dot = base.rfind(".")
    stem = base[:dot] if 0 < dot < len(base) - 1 else base
    period = find_period(stem)
    return units.find_in(stem), period[0] if period else None


_SHEET_MONTH = re.compile(r"\s*(?:(\d{4})\s*[年.\-/_]\s*)?(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月份?\s*(?:报表|月报|数据)?\s*"
                          r"|\s*(\d{4})\s*[.\-/_]\s*(\d{1,2})\s*")
_CN_MONTHS = {name: k for k, name in enumerate("一 二 三 四 五 六 七 八 九 十 十一 十二".split(), 1)}


@functools.lru_cache(maxsize=4096)   # sheet names repeat: 月度报表, Sheet1
def sheet_month(sheet: str) -> tuple[int | None, int] | None:
    """(year or None, month) when a sheet is named for a month (9月, 2016年9月, 九月份, 2016-09)."""
    m = _SHEET_MONTH.fullmatch(sheet)
    if not m:
        return None
    year, month = (m.group(1), m.group(2)) if m.group(2) else (m.group(3), m.group(4))
    month = int(month) if month.isdigit() else _CN_MONTHS.get(month, 0)
    return (int(year) if year else None, month) if 1 <= month <= 12 else None


def resolve(d: Draft, name: str, single: bool, context: Context) -> tuple[str | None, str | None, tuple]:
    """The unit and period of a draft, from the sheet, else the file name; with their findings."""
    found: list[Finding] = []
    file_unit, file_period = _from_filename(name, context.units)
    # two forms on the sheet: the file name may name either, so it is no witness against this one
    single = single and not (d.findings and any(f.code == "SECOND_FORM" for f in d.findings))
    unit = _unit(d, name, file_unit if single or d.unit_text is None else None, context.units, found)
    where = d.period_cell or d.unit_cell or f"{d.sheet}!A1"
    period = _period(d, name, file_period, single, where, found)
    if period and period > context.current_month:
        found.append(finding("FUTURE_PERIOD", where, value=period, expected=context.current_month))
    if unit and period:
        u = context.units.get(unit)
        if u and not u.active(period):
            found.append(finding("UNKNOWN_UNIT", d.unit_cell or where,
                                 value=f"{unit}（{period} 不在其报送期内）", hint="请核对单位名称和报表月份。"))
    return unit, period, tuple(found)


def _unit(d: Draft, name: str, file_unit: str | None, units: Units, found: list) -> str | None:
    """The sheet's unit, else the file name's (`file_unit`, when the file names one for this form)."""
    where = d.unit_cell or f"{d.sheet}!A1"
    if d.unit_text is None:
        if file_unit:
            found.append(finding("UNIT_FROM_FILENAME", where, file=name, value=file_unit))
        else:
            found.append(finding("NO_UNIT", where))
        return file_unit
    unit = units.resolve(d.unit_text)
    if unit is None:
        found.append(finding("UNKNOWN_UNIT", where, value=d.unit_text, hint=units.hint(d.unit_text)))
    elif file_unit and file_unit != unit:
        found.append(finding("UNIT_CONFLICT", where, value=unit, expected=file_unit))
    return unit


def _period(d: Draft, name: str, file_period: str | None, single: bool, where: str, found: list) -> str | None:
    """The sheet's period, else the file name's; none where the sheet names two months."""
    period = d.period
    if period is None and any(f.code == "TWO_PERIODS" for f in d.findings):
        return None   # the sheet names two months: neither is chosen, nor the file name's
    if period is None:
        period = file_period
        found.append(finding("PERIOD_FROM_FILENAME", where, file=name, value=file_period) if file_period
                     else finding("NO_PERIOD", where))
    elif single and file_period and file_period != period:
        found.append(finding("PERIOD_CONFLICT", where, value=period, expected=file_period))
    named = sheet_month(d.sheet)
    if period and named and (named[1] != Month(period).number or named[0] not in (None, Month(period).year)):
        # a sheet named for another month (a copy of last month's with its tab renamed, or its header
        # left): two answers, none chosen
        found.append(finding("TWO_PERIODS", where, value=month_text(period),
                             expected=f"{named[0]}年{named[1]}月" if named[0] else f"{named[1]}月",
                             other=f"工作表名“{d.sheet}”"))
        return None
    return period


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"读取出错：{text[:120]}"
