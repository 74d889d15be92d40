"""The marked copy of a clerk's form (`…_标注.xlsx`): one way to mark it (marked_book.py, over the
workbook's XML), and the ways to a workbook it can mark, tried in order (ROUTES):

1. the clerk's .xlsx as sent (nearly every copy: ~3 ms);
2. an .xlsx with parts the XML path does not take (macros, external links, the clerk's own comments,
   parts it does not know), as openpyxl opens and saves it: formulas as their stored results, the
   clerk's comments kept and written again beside ours;
3. an .xls or .ods (or an .xlsx neither takes), rebuilt from the values as read, each at its own
   coordinates, with the clerk's layout where the file gives it (layout.py), printed on one page.

A copy shows the values the pipeline read: nothing from the clerk's file is evaluated again.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipeline.core.text import set_text, sheet_title
from pipeline.outputs.marked_book import mark
from pipeline.outputs.marked_parts import LIST_SHEET, Problem
from pipeline.outputs.xlsx import book_properties
from pipeline.read.layout import SheetLayout, layout_of


@dataclass(frozen=True)
class Clerks:
    """What a copy is made from: the archived file, its name as received, whether it may be opened
    at all (not refused as unreadable, encrypted or too large), and its sheets as read
    ({sheet: (first row, first column, rows)}), for a copy rebuilt from them."""
    archived: str
    name: str
    openable: bool
    grids: dict | None = None


def marked_copy(clerks: Clerks, title: str, problems: list[Problem], bureau: str = "") -> bytes | None:
    """The marked copy's bytes; None when no route gives a workbook to mark."""
    for route in ROUTES:
        plain = route(clerks, title, bureau)
        if plain is not None:
            data, aliases, comments = plain
            copy = mark(data, title, problems, aliases, comments)
            if copy is not None:
                return copy
    return None


def as_sent(clerks: Clerks, _title: str, _bureau: str):
    if not clerks.openable or not _zipped(clerks.archived):
        return None
    with open(clerks.archived, "rb") as f:
        return f.read(), None, None


def through_openpyxl(clerks: Clerks, title: str, bureau: str):
    """The workbook as openpyxl saves it, with formulas replaced by their stored results (what the
    messages quote), its comments taken out to be written again beside ours."""
    if not clerks.openable or not _zipped(clerks.archived):
        return None
    # A file object, not a path: openpyxl judges a path by its extension, and archived copies may have
    # none. An .ods is a zip too; it fails here (no [Content_Types].xml) and is rebuilt.
    try:
        with open(clerks.archived, "rb") as f:
            wb = load_workbook(f, data_only=True, keep_vba=False, keep_links=False)
    except Exception:  # noqa: BLE001 - openpyxl is not our reader: whatever it trips on in a clerk's file,
        return None    # the copy is rebuilt from what the reader did read
    comments: dict = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.comment is not None:
                    comments.setdefault(ws.title, []).append((cell.coordinate, cell.comment.author or "",
                                                              cell.comment.text or ""))
                    cell.comment = None
    book_properties(wb, title, bureau)
    return _saved(wb), None, comments


def from_grids(clerks: Clerks, title: str, bureau: str):
    if not clerks.grids:
        return None
    wb, titles = rebuilt(clerks.grids, layout_of(clerks.archived, clerks.name))
    book_properties(wb, title, bureau)
    return _saved(wb), titles, None


ROUTES = (as_sent, through_openpyxl, from_grids)


def _zipped(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError:
        return False


def _saved(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _put(cell, value) -> None:
    """A value read from a clerk's workbook: numbers and dates as they are, anything else as text."""
    if value is None or value == "":
        return
    if isinstance(value, (bool, int, float)) or hasattr(value, "isoformat"):
        cell.value = value
    else:
        set_text(cell, value)


def rebuilt(grid_rows: dict, layouts: dict | None = None) -> tuple[Workbook, dict[str, str]]:
    """A workbook holding each grid value at its own coordinates, with the clerk's layout where the
    file gives it (widths, heights, merges, borders, fonts), printed on one page; {original sheet:
    its title in the workbook}."""
    wb = Workbook()
    wb.remove(wb.active)
    titles, taken = {}, {LIST_SHEET.casefold()}
    for name, (r0, c0, rows) in grid_rows.items():
        title = sheet_title(name, taken)
        ws = wb.create_sheet(title)
        titles[name] = title
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                _put(ws.cell(r0 + i + 1, c0 + j + 1), value)
        last_col = c0 + max((len(r) for r in rows), default=0)
        look = (layouts or {}).get(name)
        if look is None:
            for col in range(1, last_col + 1):
                ws.column_dimensions[get_column_letter(col)].width = 12
        else:
            _apply(ws, look, last_col)
        _one_page(ws, r0 + len(rows), last_col, look)
    if not wb.sheetnames:
        wb.create_sheet("Sheet")
    return wb, titles


def _apply(ws, look: SheetLayout, last_col: int) -> None:
    for col in range(1, last_col + 1):
        ws.column_dimensions[get_column_letter(col)].width = round(look.widths.get(col - 1, 8.43), 2)
    for row, points in look.heights.items():
        ws.row_dimensions[row + 1].height = points
    styles: dict = {}
    for (row, col), cell_look in look.looks.items():
        if cell_look not in styles:
            sides = [Side(style=b) if b else Side() for b in cell_look.borders]
            styles[cell_look] = (Font(name=cell_look.font, size=cell_look.size, bold=cell_look.bold),
                                 Alignment(horizontal=cell_look.horizontal, vertical=cell_look.vertical,
                                           wrap_text=cell_look.wrap or None),
                                 Border(left=sides[0], right=sides[1], top=sides[2], bottom=sides[3]),
                                 PatternFill("solid", fgColor="FF" + cell_look.fill) if cell_look.fill else None)
        font, alignment, border, fill = styles[cell_look]
        cell = ws.cell(row + 1, col + 1)
        cell.font, cell.alignment, cell.border = font, alignment, border
        if fill is not None:
            cell.fill = fill
    for r1, c1, r2, c2 in look.merges:
        if (r1, c1) != (r2, c2):
            ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)


def _one_page(ws, last_row: int, last_col: int, look: SheetLayout | None) -> None:
    """A4 fitted to one page, landscape when the sheet is wider than tall (the form is)."""
    widths = look.widths if look else {}
    wide_mm = sum(widths.get(c, 12 if look is None else 8.43) * 1.9 for c in range(last_col))
    high_mm = sum((look.heights.get(r, 15) if look else 15) * 25.4 / 72 for r in range(last_row))
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if wide_mm > high_mm else ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
