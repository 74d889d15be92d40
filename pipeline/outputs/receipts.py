"""回执: a short Chinese .txt for every submission, and a marked copy of the clerk's form.

The marked copy (`…_标注.xlsx`) is the clerk's own workbook with every problem cell filled (errors
red, warnings yellow) and the message as a comment, plus a sheet 问题清单 listing every finding.
It shows the values the pipeline read: formulas are replaced by their stored results, so a cell
says what the message quotes and nothing from the clerk's file is evaluated again.
An .xls/.ods copy is rebuilt from the grids as read, each value at its own coordinates.
"""
from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.check.sandbox import exit_with
from pipeline.core.findings import CODES, ERROR
from pipeline.core.model import Received, new_received, no_gc
from pipeline.core.period import month_text
from pipeline.core.settings import DEFAULT_TZ, TEMPLATES
from pipeline.core.text import name_part, printable
from pipeline.outputs.marked import Clerks, marked_copy
from pipeline.outputs.marked_parts import Problem
from pipeline.read.grids import read_grids
from pipeline.store.files import atomic_bytes

LEVEL_WORDS = {ERROR: "错误", "warning": "提示"}
VERDICTS = {"accepted": "已接收", "rejected": "已退回，请改正后重新报送",
            "superseded": "已被后来的报表替代", "duplicate": "与已收到的内容相同，不重复计数",
            "held": "已收到并登记；该月已关账，暂不计入汇总"}
# Findings that mean openpyxl must not (or cannot) open the archived bytes.
_UNOPENABLE = {"UNREADABLE", "ENCRYPTED", "TOO_LARGE"}
MARK_IN_POOL = 40   # from this many marked copies on, a process pool makes them (its workers take ~0.7 s to start)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_EXTENSION = re.compile(r"\.[A-Za-z]{2,4}$")


def _plain(text: str | None) -> str:
    """One line of plain text: control characters (newlines, NUL) become spaces."""
    return _CONTROLS.sub(" ", text or "")


def time_text(moment: datetime, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """`2016年9月28日 10:15` in local time."""
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


def receipt_stem(rec: Received) -> str:
    """`回执_侯寨乡_2016年9月_12_侯寨乡9月报表`: the ledger id keeps two submissions apart."""
    name = rec.file or ""
    stem = name.rsplit(".", 1)[0] if _EXTENSION.search(name) else name
    return "_".join(["回执", name_part(rec.unit or "未识别单位", "未命名", 20), month_text(rec.period),
                     str(rec.id), name_part(stem, "未命名", 40)])


@dataclass(frozen=True)
class ReceiptContext:
    bureau: str                          # 郑州市二七区安全生产监督管理局 (settings: district.bureau)
    unit: str
    period_text: str
    file: str
    sheet: str | None
    received_text: str
    late: bool
    verdict: str
    findings: list[tuple[str, str]]      # (错误 / 提示, message)
    errors: int
    warnings: int
    marked: str | None                   # name of the marked copy, if any
    closing: str
    received_by: str = ""                # what the received time is: the e-mail's Date, or the file's mtime
    attachments: tuple[str, ...] = ()    # other files that came with it (情况说明.docx), archived


def _closing(rec: Received, bureau: str, deadline_text: str, counted: dict, tz: ZoneInfo) -> str:
    """The receipt's last lines: what happens now. `counted`: {unit: (received, file)} of the form
    of the month each unit with a rejected form has counted, as a timestamp and a name."""
    contact = f"如有疑问，请与{bureau}联系。"
    if rec.status == "accepted":
        return f"本报表已计入{month_text(rec.period)}汇总。{contact}"
    if rec.status == "rejected":
        by = f"于{deadline_text}前" if deadline_text else "尽快"
        month = month_text(rec.period)
        other = counted.get(rec.unit) if rec.unit and rec.period else None
        if other is None:
            still = f"本单位{month}目前没有被接收的报表，汇总中暂按未报计。" if rec.unit and rec.period else ""
            return f"本报表未计入汇总。请按上述问题改正后{by}重新报送。{still}{contact}"
        when, name = time_text(datetime.fromtimestamp(other[0], tz), tz), _plain(other[1])
        if other[0] > rec.received_at.timestamp():
            return (f"本报表未计入汇总。本单位{month}于{when}报送的“{name}”已被接收并计入汇总，"
                    f"本报表无需再改。{contact}")
        return (f"本报表未计入汇总。请按上述问题改正后{by}重新报送。本单位{month}此前于{when}报送的“{name}”"
                f"已被接收，在收到改正后的报表之前，汇总仍以该表为准。{contact}")
    if rec.status == "superseded":
        return f"本单位后来报送的报表已替代本报表，汇总以后来的报表为准。{contact}"
    if rec.status == "held":
        return (f"{month_text(rec.period)}已关账，汇总仍以关账时的报表为准；区局如重新开账，本报表将按规定计入。"
                f"{contact}")
    return f"该文件与此前收到的文件内容完全相同，不重复计数，无需处理。{contact}"


@functools.cache
def _template():
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True)
    template = env.get_template("receipt.txt.j2")
    # jinja keeps a template's globals as a ChainMap over the environment's and copies it into every
    # render's context: as a plain dict (the same names) a receipt renders in half the time.
    template.globals = dict(template.globals)
    return template


def render_txt(ctx: ReceiptContext) -> str:
    return _template().render(vars(ctx))


def _write_new(path: str, data: bytes) -> str:
    """A small file written in place when it is new, through `atomic` when it replaces one. A new
    file is seen empty or whole (one write of a few KB); creating a temporary file and renaming it
    would cost as much again, and the first run of a month writes a receipt for every submission."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return atomic_bytes(path, data)
    try:
        done = 0
        while done < len(data):
            done += os.write(fd, data[done:])
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return path


def _problems(rec: Received) -> list[Problem]:
    """The 问题清单's lines: level, title, cell, message, code."""
    return [Problem(LEVEL_WORDS.get(f.severity, f.severity), f.severity == ERROR,
                    CODES[f.code].title if f.code in CODES else "其他问题", f.cell, f.message, f.code)
            for f in rec.findings]


def _list_title(rec: Received) -> str:
    return f"{rec.unit or '未识别单位'} {month_text(rec.period)} 报表问题清单（文件：{rec.file}）"


def _marked_copy(rec: Received, path: Path, grid_rows: dict | None, bureau: str = "") -> Path | None:
    """The marked copy (marked.py: the clerk's own workbook where it can be, else rebuilt from the
    grid as read); None if there is nothing to copy."""
    openable = not any(f.code in _UNOPENABLE for f in rec.findings)
    data = marked_copy(Clerks(rec.archived, rec.file, openable, grid_rows), _list_title(rec), _problems(rec), bureau)
    return None if data is None else atomic_bytes(path, data)


def write_receipt(rec: Received, out_dir: Path, bureau: str, grid_rows=None, *,
                  deadline_text: str = "", tz: ZoneInfo = DEFAULT_TZ, counted: dict | None = None) -> list[Path]:
    """Write the receipt .txt (and, with findings, the marked .xlsx) into out_dir; return their paths.

    grid_rows: {sheet: (origin_row, origin_col, rows)} as read, used when openpyxl cannot open the
    archived file (.xls, .ods). deadline_text: `2016年10月31日`, the date a rejected form is asked
    back by. counted: as `_closing` takes it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _receipts_of([rec], out_dir, bureau, deadline_text, tz, lambda _rec: grid_rows, counted or {})[rec.id]


def _to_mark(rec: Received) -> bool:
    return any(f.cell for f in rec.findings)   # something to mark in the clerk's own form


def _context(rec: Received, bureau: str, deadline_text: str, tz: ZoneInfo, marked: Path | None,
             counted: dict) -> ReceiptContext:
    return ReceiptContext(
        bureau=bureau, unit=_plain(rec.unit) or "未识别", period_text=month_text(rec.period),
        file=_plain(rec.file), sheet=_plain(rec.sheet), received_text=time_text(rec.received_at, tz), late=rec.late,
        verdict=VERDICTS[rec.status],
        findings=[(LEVEL_WORDS.get(f.severity, f.severity), f.message) for f in rec.findings],
        errors=sum(f.severity == ERROR for f in rec.findings),
        warnings=sum(f.severity != ERROR for f in rec.findings),
        marked=marked.name if marked else None,
        closing=_closing(rec, bureau, deadline_text, counted, tz),
        received_by=RECEIVED_BY[rec.by_mail], attachments=tuple(_plain(a) for a in rec.attachments))



# What a receipt's received time is (README, 收到时间), said beside it so that a unit can dispute a 迟报.
RECEIVED_BY = {True: "以邮件的发送时间为准", False: "以文件的最后修改时间为准"}


def _txt(ctx: ReceiptContext) -> bytes:
    # Windows Notepad of the time wants a BOM and CRLF to show Chinese text properly.
    return render_txt(ctx).replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8-sig")


def _grid_rows(rec: Received, cells: int):
    """The sheets as read, for marking a copy of a clerk's .xls/.ods (openpyxl opens only .xlsx).

    Only for a file the reader already read in the sandbox (its findings name cells), so reading it
    again here is safe."""
    if not _to_mark(rec):
        return None
    with open(rec.archived, "rb") as f:
        if f.read(2) == b"PK" and not rec.file.lower().endswith(".ods"):
            return None   # .xlsx: the clerk's own file is copied
    return {g.sheet: (g.origin[0], g.origin[1], g.rows) for g in read_grids(rec.archived, cells)}


def _receipts_of(batch: list[Received], receipts_dir: Path, bureau: str, deadline_text: str, tz: ZoneInfo,
                 grid_rows=None, counted: dict | None = None, cells: int = 0) -> dict[int, list[Path]]:
    """Every submission's receipt (its .txt, and its marked copy if it has cells to mark), a stage
    at a time over the batch (names, marked copies, texts, files): each stage's code stays in the
    processor's caches, ~25 % less CPU a receipt than one receipt after another. `grid_rows(rec)`:
    the sheets as read, for a copy openpyxl cannot make from the file itself (else read again here,
    within `cells`, limits.cells)."""
    names = _receipt_names(batch, receipts_dir, bureau, deadline_text, tz, grid_rows, counted, cells)
    return {k: [receipts_dir / name for name in got] for k, got in names.items()}


def _receipt_names(batch: list[Received], receipts_dir: Path, bureau: str, deadline_text: str, tz: ZoneInfo,
                   grid_rows=None, counted: dict | None = None, cells: int = 0) -> dict[int, list[str]]:
    """`_receipts_of`, with the names of the files written in `receipts_dir`: a .txt receipt's path
    is a string joined once, not a Path made and turned back into a string (a plain receipt: 221,000
    instructions -> 182,000)."""
    folder = os.fspath(receipts_dir)
    grid_rows = grid_rows or functools.partial(_grid_rows, cells=cells)
    stems = [receipt_stem(rec) for rec in batch]
    marked = [_marked_or_none(rec, receipts_dir / f"{stem}_标注.xlsx", grid_rows, bureau) if _to_mark(rec)
              else None for rec, stem in zip(batch, stems)]
    contexts = [_context(rec, bureau, deadline_text, tz, m, counted or {}) for rec, m in zip(batch, marked)]
    bodies = [_txt(ctx) for ctx in contexts]
    txts = [f"{stem}.txt" for stem in stems]
    for name, body in zip(txts, bodies):
        _write_new(os.path.join(folder, name), body)
    return {rec.id: [txt, m.name] if m else [txt] for rec, txt, m in zip(batch, txts, marked)}


def _marked_or_none(rec: Received, path: Path, grid_rows, bureau: str = "") -> Path | None:
    """The marked copy; None, said to the operator, when the archived file has gone missing: that
    costs its marked copy (the receipt is written all the same), not the month's outputs."""
    try:
        grid = grid_rows(rec)
    except FileNotFoundError:
        grid = None
    if grid is None and not os.path.exists(rec.archived):
        print(printable(f"存档文件 {rec.archived}（“{rec.file}”）不见了：其回执照常生成，但没有标注副本。"
                        "请运行 python -m pipeline verify 核对存档。"), file=sys.stderr)
        return None
    return _marked_copy(rec, path, grid, bureau)


def _light(rec: Received) -> tuple:
    """What a receipt needs of a submission, as a plain tuple: no rows (no receipt shows them), and
    a tuple pickles several times faster than the dataclass. The time goes as a timestamp: an aware
    datetime pickles its own time zone object, ~6 µs each."""
    return (rec.id, rec.file, rec.archived, rec.sha256, rec.received_at.timestamp(), rec.sheet, rec.unit,
            rec.period, rec.status, rec.late, rec.findings, rec.attachments, rec.by_mail)


def _receipts_of_light(batch: list[tuple], **where) -> dict[int, list[str]]:
    """`_receipts_of` in a pool worker: submissions as `_light` tuples, file names back. A receipt
    shows its time in the district's zone, as the time is made again here."""
    tz = where["tz"]
    recs = [new_received(*t[:4], datetime.fromtimestamp(t[4], tz), *t[5:10], (), t[10], t[11], None, t[12])
            for t in batch]
    return _receipt_names(recs, **where)


IN_POOL = 2000        # from this many receipts on (or MARK_IN_POOL marked copies), a pool writes them
PLAIN_BATCH = 500     # .txt receipts a message (~60 ms of a worker's time)
MARK_BATCH = 10       # marked copies a message (~50 ms)


BACKGROUND = 10       # how much nicer than this process the receipt workers run


def receipt_pool(expected: int):
    """The process pool `write_receipts` will want for a month of `expected` submissions, started
    now (its workers take ~1 s to load, while the caller reads the month); below IN_POOL, none.

    Its workers run at a lower priority (BACKGROUND): meanwhile this process makes the month's other
    outputs, one after another, and they are the longest path. At equal priority three processes
    shared two cores, the workers were done ~1.5 s before 报送情况 in a national month, and a core
    stood idle; now this process has a core whenever it has work, and the workers take what is left
    (idle core time of a 40,000-file run: 2.7 s -> 1.5 s)."""
    if expected < IN_POOL:
        return contextlib.nullcontext()
    workers = os.cpu_count() or 1
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_in_background, initargs=(os.getpid(),))
    for _ in range(workers):   # a worker is started for each: it loads this module to run `_loaded`
        pool.submit(_loaded)
    return pool


def _loaded() -> None:
    pass


def _in_background(run: int | None = None) -> None:
    """A receipt worker's start: BACKGROUND nicer, where the system lets it (a pool whose initializer
    failed would be broken, and its receipts all written in the caller); ended with the run's
    process `run`, even when that is killed."""
    with contextlib.suppress(OSError):
        os.nice(BACKGROUND)
    if run:
        exit_with(run)


def write_receipts(subs: list[Received], receipts_dir: Path, bureau: str, deadline_text: str,
                   settings, meanwhile=None, pool: ProcessPoolExecutor | None = None) -> list[Path]:
    """Every submission's receipt; the paths in the order of `subs`, each .txt before its marked copy.
    `meanwhile()`, if given, runs in this process while the receipts are written. `pool`: one
    `receipt_pool` started (the caller shuts it down), else a pool is started here if needed.

    A country's month has 40,000 receipts (~0.12 ms each, half of it creating the file) and a
    thousand marked copies (~5 ms each). They go in batches to a pool of worker processes, the
    marked copies first, while this process runs `meanwhile` (the status book); then this process
    writes the batches no worker has started yet, from the last one back."""
    receipts_dir = Path(receipts_dir)
    receipts_dir.mkdir(parents=True, exist_ok=True)
    rejected = {rec.unit for rec in subs if rec.status == "rejected" and rec.unit}
    counted = {rec.unit: (rec.received_at.timestamp(), rec.file) for rec in subs
               if rec.status == "accepted" and rec.unit in rejected}      # what a rejected form's receipt tells
    where = {"receipts_dir": receipts_dir, "bureau": bureau, "deadline_text": deadline_text, "tz": settings.tz,
             "cells": settings.limits["cells"],
             "counted": counted}
    to_mark = [rec for rec in subs if _to_mark(rec)]
    if pool is None and len(to_mark) < MARK_IN_POOL and len(subs) < IN_POOL:
        if meanwhile:
            meanwhile()
        with no_gc():
            written = _receipts_of(subs, **where)
        return [p for rec in subs for p in written[rec.id]]
    batches = _batches(to_mark, MARK_BATCH) + _batches([rec for rec in subs if not _to_mark(rec)],
                                                       PLAIN_BATCH)
    written = {}
    with no_gc(), (receipt_pool(IN_POOL) if pool is None else contextlib.nullcontext(pool)) as pool:
        sent = [pool.submit(_receipts_of_light, [_light(rec) for rec in batch], **where) for batch in batches]
        try:
            if meanwhile:
                meanwhile()
            for batch, future in zip(reversed(batches), reversed(sent)):
                if not future.cancel():   # a worker has it: so have they every batch before it
                    break
                written.update(_receipts_of(batch, **where))
            for batch, future in zip(batches, sent):
                if future.cancelled():
                    continue
                try:
                    names = future.result()
                except BrokenProcessPool:   # a worker died (killed, out of memory): this process writes them
                    written.update(_receipts_of(batch, **where))
                    continue
                written.update({k: [receipts_dir / name for name in got] for k, got in names.items()})
        except BaseException:
            for future in sent:
                future.cancel()
            raise
    return [p for rec in subs for p in written[rec.id]]


def _batches(items: list, size: int) -> list[list]:
    return [items[k:k + size] for k in range(0, len(items), size)]
