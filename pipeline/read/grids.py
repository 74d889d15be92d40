"""Read a workbook into grids that keep the workbook's own cell coordinates.

python-calamine reads .xlsx/.xlsm/.xlsb/.xls/.ods alike and fast. It trims leading empty rows
and columns, so each grid carries its origin; it also reads a formula with no stored value, and an
error value (#VALUE!, #REF!, #DIV/0!, #N/A…, typed or the stored result of a formula), as an empty
cell: `blank_causes` finds those afterwards by looking at that one sheet again, only when a count
cell came back empty.
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass

import python_calamine

from pipeline.core.model import cell_name
from pipeline.core.ooxml import part_of, relationships, sheet_parts, unescape


@dataclass(frozen=True)
class Grid:
    sheet: str
    index: int                     # position of the sheet in the workbook
    origin: tuple[int, int]        # (row, col) of rows[0][0], zero-based
    rows: list                     # list of lists of values ('' for empty)
    merged: tuple = ()             # ((r1, c1), (r2, c2)) zero-based, inclusive
    hidden: bool = False           # a hidden sheet: not what the clerk sees and sends

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
        hidden = [m.visible != python_calamine.SheetVisibleEnum.Visible for m in book.sheets_metadata]
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
            grids.append(Grid(name, index, tuple(start), rows, merged, hidden[index]))
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
        rows = [[_xlrd_value(c) for c in sheet.row(r)] for r in range(sheet.nrows)]
        if rows:
            grids.append(Grid(sheet.name, index, (0, 0), rows, (), bool(sheet.visibility)))
    return grids


def _xlrd_value(cell):
    """A cell as calamine gives it, but an error value as its text (#DIV/0!): never its code, a number."""
    import xlrd
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#N/A")
    return cell.value


class _Quiet:
    def write(self, _text):
        pass


# --- cells read as empty that are not: formulas without stored values, error values ----------------

_CELL = re.compile(rb'<c\b([^>]*?)(/>|>(.*?)</c>)', re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_VALUE = re.compile(rb'<v>[^<]+</v>')
_FORMULA = re.compile(rb'<f\b[^>]*?(?:/>|>(.*?)</f>)', re.DOTALL)


def blank_causes(source: str | bytes, sheet: str, kind: str | None) -> dict[str, tuple[str, str]]:
    """What the cells of `sheet` (in a file of `kind`, or its bytes) that calamine reads as empty
    really hold, where it is not nothing: {"B14": ("formula", "SUM(B6:B13)")} for a formula with no
    stored value (.xlsx and .xlsm: .xls and .ods always store results), {"C6": ("error", "#DIV/0!")}
    for an error value."""
    if kind in ("xlsx", "xlsm"):
        return _xlsx_causes(source, sheet)
    if kind == "xls":
        return _xls_errors(source, sheet)
    if kind == "ods":
        return _ods_errors(source, sheet)
    if kind == "xlsb":
        return _xlsb_errors(source, sheet)
    return {}


def _xlsx_causes(source: str | bytes, sheet: str) -> dict[str, tuple[str, str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            part = sheet_parts(z.read).get(sheet)
            if part not in z.namelist():
                return {}
            xml = z.read(part)
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    found: dict = {}
    if not _UNCACHED.search(xml) and not _ERROR.search(xml):   # every formula with its value, no error: the usual sheet
        return found
    for m in _CELL.finditer(xml):
        body = m.group(3) or b""
        error = _ERROR.search(m.group(1))
        if error is None and (b"<f" not in body or _VALUE.search(body)):
            continue
        ref = _REF.search(m.group(1))
        if ref is None:
            continue
        if error is not None:
            value = _VALUE.search(body)
            found[ref.group(1).decode()] = ("error", unescape(value.group(0)[3:-4]) if value else "#N/A")
        else:
            f = _FORMULA.search(body)
            found[ref.group(1).decode()] = ("formula", unescape(f.group(1) or b"") if f else "")
    return found


_ERROR = re.compile(rb"""\bt=["']e["']""")
# A formula's end not followed by a stored value: every formula without one matches (and a few with
# one written oddly, which the cell by cell look then clears).
_UNCACHED = re.compile(rb"(?:</f>|<f\b[^>]*/>)(?!\s*<v>[^<])")


def _xls_errors(source: str | bytes, sheet: str) -> dict[str, tuple[str, str]]:
    """The error cells of an Excel 97 sheet, read again with xlrd (its formulas always have results)."""
    import xlrd
    try:
        data = source if isinstance(source, bytes) else open(source, "rb").read()
        book = xlrd.open_workbook(file_contents=data, logfile=_Quiet(), on_demand=True)
        ws = book.sheet_by_name(sheet)
    except (xlrd.XLRDError, AssertionError, struct.error, IndexError, KeyError, ValueError, OSError):
        return {}
    found = {}
    for r in range(ws.nrows):
        for c, cell in enumerate(ws.row(r)):
            if cell.ctype == xlrd.XL_CELL_ERROR:
                found[cell_name(r, c)] = ("error", xlrd.error_text_from_code.get(cell.value, "#N/A"))
    return found


# Excel's binary workbook (MS-XLSB): records of a variable-length type and size; a cell's row is the last
# BrtRowHdr's, its error a byte: BrtCellError (3) typed, BrtFmlaError (11) a formula's stored result.
_XLSB_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!",
                0x2A: "#N/A", 0x2B: "#GETTING_DATA"}


def _xlsb_records(data: bytes):
    """(type, body) of each record of an .xlsb part."""
    i, n = 0, len(data)
    while i < n:
        kind = data[i]
        i += 1
        if kind & 0x80 and i < n:
            kind = (kind & 0x7F) | ((data[i] & 0x7F) << 7)
            i += 1
        size = shift = 0
        for _ in range(4):
            if i >= n:
                return
            byte = data[i]
            i += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield kind, data[i: i + size]
        i += size


def _xlsb_errors(source: str | bytes, sheet: str) -> dict[str, tuple[str, str]]:
    """The error cells of one sheet of an .xlsb workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            targets = {r.get("Id"): r.get("Target", "") for r in relationships(z.read("xl/_rels/workbook.bin.rels"))}
            part = None
            for kind, body in _xlsb_records(z.read("xl/workbook.bin")):
                if kind == 156 and len(body) >= 12:   # BrtBundleSh: state, tab id, relation id, name
                    k = 8
                    rid_len = int.from_bytes(body[k: k + 4], "little")
                    rid = body[k + 4: k + 4 + 2 * rid_len].decode("utf-16-le", "replace")
                    k += 4 + 2 * rid_len
                    name_len = int.from_bytes(body[k: k + 4], "little")
                    if body[k + 4: k + 4 + 2 * name_len].decode("utf-16-le", "replace") == sheet and rid in targets:
                        part = part_of("xl", targets[rid])
            if part is None or part not in z.namelist():
                return {}
            data = z.read(part)
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    found, row = {}, 0
    for kind, body in _xlsb_records(data):
        if kind == 0 and len(body) >= 4:                       # BrtRowHdr
            row = int.from_bytes(body[:4], "little")
        elif kind in (3, 11) and len(body) >= 9:               # BrtCellError, BrtFmlaError
            col = int.from_bytes(body[:4], "little")
            found[cell_name(row, col)] = ("error", _XLSB_ERRORS.get(body[8], "#N/A"))
    return found


_ODS = "urn:oasis:names:tc:opendocument:xmlns:"
_ODS_TABLE, _ODS_OFFICE, _ODS_TEXT = f"{{{_ODS}table:1.0}}", f"{{{_ODS}office:1.0}}", f"{{{_ODS}text:1.0}}"
_ODS_CALC = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_ODS_ERROR_TEXT = re.compile(r"^(#[A-Z0-9/]+[!?]?|#N/A|Err:\d+)$")


def _ods_errors(source: str | bytes, sheet: str) -> dict[str, tuple[str, str]]:
    """The error cells of an OpenDocument sheet: formulas whose result is an error (LibreOffice marks
    them calcext:value-type="error"; other writers leave the error's text, #DIV/0! or Err:502)."""
    import xml.etree.ElementTree as ET
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            content = z.read("content.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    if b"table:formula" not in content:
        return {}
    found: dict = {}
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return {}
    for table in root.iter(f"{_ODS_TABLE}table"):
        if table.get(f"{_ODS_TABLE}name") != sheet:
            continue
        r = 0
        for row in table.iter(f"{_ODS_TABLE}table-row"):
            c = 0
            for cell in row:
                if cell.tag not in (f"{_ODS_TABLE}table-cell", f"{_ODS_TABLE}covered-table-cell"):
                    continue
                if cell.get(f"{_ODS_TABLE}formula"):
                    shown = "".join(p.text or "" for p in cell.iter(f"{_ODS_TEXT}p")).strip()
                    if cell.get(f"{_ODS_CALC}value-type") == "error" or _ODS_ERROR_TEXT.match(shown):
                        found[cell_name(r, c)] = ("error", shown or "#N/A")
                c += int(cell.get(f"{_ODS_TABLE}number-columns-repeated", 1))
            r += int(row.get(f"{_ODS_TABLE}number-rows-repeated", 1))
        break
    return found
