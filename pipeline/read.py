"""Read a workbook into grids that keep the workbook's own cell coordinates.

python-calamine reads .xlsx/.xlsm/.xlsb/.xls/.ods alike and fast. It trims leading empty rows
and columns, so each grid carries its origin; it also reads a formula with no stored value as an
empty cell, which `uncached_formulas` finds afterwards by looking at that one sheet's XML, only when
a count cell came back empty.
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import python_calamine

from .model import cell_name


@dataclass(frozen=True)
class Grid:
    sheet: str
    index: int                     # position of the sheet in the workbook
    origin: tuple[int, int]        # (row, col) of rows[0][0], zero-based
    rows: list                     # list of lists of values ('' for empty)
    merged: tuple = ()             # ((r1, c1), (r2, c2)) zero-based, inclusive

    def value(self, r: int, c: int):
        r0, c0 = self.origin
        i, j = r - r0, c - c0
        if 0 <= i < len(self.rows) and 0 <= j < len(self.rows[i]):
            return self.rows[i][j]
        return ""

    def ref(self, r: int, c: int) -> str:
        return f"{self.sheet}!{cell_name(r, c)}"

    @property
    def height(self) -> int:
        return self.origin[0] + len(self.rows)

    @property
    def width(self) -> int:
        return self.origin[1] + max((len(r) for r in self.rows), default=0)


class TooManyCells(Exception):
    def __init__(self, cells: int):
        super().__init__(cells)
        self.cells = cells


def read_grids(source: str | bytes, max_cells: int) -> list[Grid]:
    """Every non-empty sheet of the workbook (a path, or its bytes) as a Grid. Raises calamine's
    errors for unreadable files.

    Opened by content, not by name: an Excel 97 file named .xlsx is read as what it is. Excel 2.x–4.0
    worksheets, which calamine does not read, are read with xlrd."""
    with (io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")) as f:
        head = f.read(4)
        f.seek(0)
        if head[:2] in _OLD_BIFF:
            return _read_old_biff(f.read(), max_cells)
        book = python_calamine.CalamineWorkbook.from_filelike(f)
    grids, total = [], 0
    try:
        for index, name in enumerate(book.sheet_names):
            sheet = book.get_sheet_by_index(index)
            start = sheet.start
            if start is None:
                continue
            h, w = sheet.height, sheet.width
            total += h * w
            if total > max_cells:
                raise TooManyCells(total)
            rows = sheet.to_python()
            if not rows:
                continue
            merged = tuple(sheet.merged_cell_ranges or ())
            grids.append(Grid(name, index, tuple(start), rows, merged))
    finally:
        book.close()
    return grids


_OLD_BIFF = (b"\x09\x00", b"\x09\x02", b"\x09\x04")   # BOF records of BIFF2, BIFF3, BIFF4


def _read_old_biff(data: bytes, max_cells: int) -> list[Grid]:
    import xlrd
    try:
        book = xlrd.open_workbook(file_contents=data, logfile=_Quiet(), on_demand=False)
    except (xlrd.XLRDError, AssertionError, struct.error, IndexError, KeyError, ValueError) as err:
        raise python_calamine.CalamineError(f"Excel 2.x–4.0 file: {err}") from None
    grids, total = [], 0
    for index, sheet in enumerate(book.sheets()):
        total += sheet.nrows * sheet.ncols
        if total > max_cells:
            raise TooManyCells(total)
        rows = [["" if c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else c.value for c in sheet.row(r)]
                for r in range(sheet.nrows)]
        if rows:
            grids.append(Grid(sheet.name, index, (0, 0), rows))
    return grids


class _Quiet:
    def write(self, _text):
        pass


# --- formulas without stored values (xlsx/xlsm only: .xls and .ods always store results) ----------

_RELS = re.compile(rb'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"|'
                   rb'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"')
_SHEETS = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]+)"')
_CELL = re.compile(rb'<c\b([^>]*?)(/>|>(.*?)</c>)', re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_VALUE = re.compile(rb'<v>[^<]+</v>')
_FORMULA = re.compile(rb'<f\b[^>]*?(?:/>|>(.*?)</f>)', re.DOTALL)


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(a, b)
    return text


def uncached_formulas(source: str | bytes, sheet: str) -> dict[str, str]:
    """{"B14": "SUM(B6:B13)"} for the formula cells of `sheet` (in a file, or its bytes) that have no
    stored value."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            names = set(z.namelist())
            book = z.read("xl/workbook.xml")
            rels = z.read("xl/_rels/workbook.xml.rels")
            targets = {}
            for m in _RELS.finditer(rels):
                rid, target = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
                targets[rid] = target.decode()
            part = None
            for m in _SHEETS.finditer(book):
                if _unescape(m.group(1)) == sheet:
                    target = targets.get(m.group(2))
                    if target:
                        part = target.lstrip("/") if target.startswith("/") else str(
                            PurePosixPath("xl") / target)
            if part not in names:
                return {}
            xml = z.read(part)
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    found = {}
    if b"<f" not in xml:   # no formula at all: the usual sheet with an empty count cell
        return found
    for m in _CELL.finditer(xml):
        body = m.group(3) or b""
        if b"<f" not in body or _VALUE.search(body):
            continue
        ref = _REF.search(m.group(1))
        f = _FORMULA.search(body)
        if ref:
            found[ref.group(1).decode()] = _unescape(f.group(1) or b"") if f else ""
    return found
