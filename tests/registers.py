"""A small writer of enterprise registers for the tests: rows as lists in the header's order, written
as .xlsx (openpyxl), .xls (xlwt) or .ods (pandas with odfpy), dates as date cells."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from stdnum.cn import uscc

from pipeline.read.register import LABELS
from pipeline.store.ledger import Ledger

HEADER = list(LABELS)
REVISIT_HEADER = ["统一社会信用代码", "回访日期", "结果", "问题"]


def code(n: int) -> str:
    """A valid 统一社会信用代码 (check character by python-stdnum)."""
    body = f"91410103MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def row(n: int, name: str | None = None, unit: str = "侯寨乡", industry: str = "机械", scale: str = "规模以上",
        status: str = "已达标", grade: str | None = "三级", cert_no: str | None = "AQB-1", issued=dt.date(2015, 5, 1),
        expires=None, withdrawn=None, reviewer: str | None = "郑州安华安全评价有限公司", inspected=None,
        revisited=None, high_risk: str | None = None) -> list:
    """One enterprise in the header's order; certified 三级 at 侯寨乡 unless told otherwise."""
    return [code(n), name or f"郑州第{n}机械有限公司", unit, industry, scale, status, grade, cert_no, issued, expires,
            withdrawn, reviewer, inspected, revisited, high_risk]


def write_register(path: Path, rows: list[list], revisits: list[list] = (), header=None, title: str | None = None,
                   sheet: str = "企业台账") -> Path:
    """The register at `path` (.xlsx, .xls or .ods by its suffix); `title` a line above the header."""
    path = Path(path)
    header = list(header or HEADER)
    top = [[title], []] if title else []
    sheets = {sheet: top + [header] + [list(r) for r in rows]}
    if revisits:
        sheets["回访记录"] = [REVISIT_HEADER] + [list(r) for r in revisits]
    {".xls": _xls, ".ods": _ods}.get(path.suffix, _xlsx)(path, sheets)
    return path


def import_on(ledger: Ledger, day: dt.date, tz) -> int | None:
    """The import in force on `day` (at its end, in the district's time zone `tz`): what the register
    said that day."""
    end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)
    for import_id, at in ledger.db.execute("SELECT id, imported_at FROM register_imports ORDER BY id DESC"):
        if dt.datetime.fromisoformat(at) <= end:
            return import_id
    return None


def _xls(path: Path, sheets: dict) -> None:
    import xlwt
    book = xlwt.Workbook()
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for name, table in sheets.items():
        ws = book.add_sheet(name)
        for r, values in enumerate(table):
            for c, v in enumerate(values):
                if isinstance(v, dt.date):
                    ws.write(r, c, dt.datetime.combine(v, dt.time()), date)
                elif v is not None:
                    ws.write(r, c, v)
    book.save(str(path))


def _ods(path: Path, sheets: dict) -> None:
    import pandas as pd
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, table in sheets.items():
            width = max(len(t) for t in table)
            frame = pd.DataFrame([list(t) + [None] * (width - len(t)) for t in table], dtype=object)
            frame.to_excel(writer, sheet_name=name, header=False, index=False)


def _xlsx(path: Path, sheets: dict) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, table in sheets.items():
        ws = book.create_sheet(name)
        for values in table:
            ws.append([v for v in values])
        for r in ws.iter_rows():
            for c in r:
                if isinstance(c.value, dt.date):
                    c.number_format = "yyyy-mm-dd"
    book.save(path)
