"""The canonical form, written with openpyxl: the 附件 of 二七安监管〔2016〕8号, cell for cell.

Layout (1-based rows, as in `shared/spec/examples/`): A1 附件, A2:J2 title, A3:J3 the
填报单位 line, A4:A5 行业, B4:D4 / E4:G4 / H4:J4 the levels, row 5 the measures, rows 6–13 the
eight industries, row 14 合计 as =SUM formulas. A4 landscape, fitted to one page. Notes, if any
(the district's form says which units' figures were carried, or that the month is not over), from
row 16 on, under the table: the reader stops at 合计, so the form is read as any other.

openpyxl stores formulas without results, and our reader (like most) reads the stored result.
`write_form` therefore adds the results of the 合计 formulas to the saved file itself
(`cache_formula_values`), so people keep the formulas and machines see the numbers.
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core import text as safety
from pipeline.core.model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES
from pipeline.core.period import Month
from pipeline.core.text import display_width
from pipeline.store.files import atomic

SHEET_NAME = "月度报表"
FIRST_ROW = 6                      # row of 冶金
TOTAL_ROW = FIRST_ROW + len(INDUSTRIES)
LAST_COL = 1 + len(LEVELS) * len(MEASURES)   # J
BLANK = "_____"

Rows = dict[tuple[str, int], tuple[int, int, int]]

_thin = Side(style="thin")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
FONT_ANNEX = Font(name="黑体", size=14)
FONT_TITLE = Font(name="宋体", size=18, bold=True)
FONT_LINE = Font(name="仿宋", size=12)
FONT_HEAD = Font(name="宋体", size=11, bold=True)
FONT_CELL = Font(name="宋体", size=11)
FONT_NOTE = Font(name="仿宋", size=11)
FONT_ALERT = Font(name="黑体", size=12, color="FFC00000")


def count_col(level: int, measure: str) -> int:
    """1-based column of a count: B for (1, new) … J for (3, reviewing)."""
    return 2 + (level - 1) * len(MEASURES) + MEASURES.index(measure)


def header_line(unit: str, period: str, *, unit_suffix: bool = True) -> str:
    """`填报单位：侯寨乡      2016 年 9 月`; blanks as in the seed when unit or period is empty.

    unit_suffix: a blank unit keeps the seed's printed `乡（镇）办事处` after it (False for the
    district's own form, whose unit is not a township office).
    """
    who = unit or (BLANK + (" 乡（镇）办事处" if unit_suffix else ""))
    if period:
        year, month = Month(period).year, Month(period).number
        when = f"{year} 年 {month} 月"
    else:
        when = f"{BLANK} 年 {BLANK} 月"
    return f"填报单位：{who}      {when}"


def set_text(ws: Worksheet, ref: str, text: str) -> None:
    """Write text that must stay text, even when it starts with = + - @ (never a formula)."""
    safety.set_text(ws[ref], text)


def build_form(ws: Worksheet, unit: str, period: str, rows: Rows | None, *,
               blank: bool = False, unit_suffix: bool = True, notes=()) -> dict[str, int]:
    """Lay the form out on `ws`, with `notes` ((text, alert), …) under it; returns the 合计 results
    {"B14": n, …} to cache."""
    ws.title = SHEET_NAME
    last = ws.cell(1, LAST_COL).column_letter
    ws["A1"] = "附件"
    ws["A1"].font = FONT_ANNEX
    ws["A2"] = FORM_TITLE
    ws["A2"].font = FONT_TITLE
    ws["A2"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A2:{last}2")
    set_text(ws, "A3", header_line(unit, period, unit_suffix=unit_suffix))
    ws["A3"].font = FONT_LINE
    ws["A3"].alignment = Alignment(horizontal="left", vertical="center")
    ws.merge_cells(f"A3:{last}3")

    ws["A4"] = "行业"
    ws.merge_cells("A4:A5")
    for level in LEVELS:
        first = count_col(level, MEASURES[0])
        ws.cell(4, first, LEVEL_NAMES[level])
        ws.merge_cells(start_row=4, start_column=first, end_row=4, end_column=first + len(MEASURES) - 1)
        for measure in MEASURES:
            ws.cell(5, count_col(level, measure), f"{MEASURE_NAMES[measure]} (家)")
    for i, industry in enumerate(INDUSTRIES):
        ws.cell(FIRST_ROW + i, 1, industry)
    ws.cell(TOTAL_ROW, 1, "合计")

    totals: dict[str, int] = {}
    for level in LEVELS:
        for m, measure in enumerate(MEASURES):
            col = count_col(level, measure)
            column_total = 0
            for i, industry in enumerate(INDUSTRIES):
                if not blank:
                    value = (rows or {}).get((industry, level), (0, 0, 0))[m]
                    ws.cell(FIRST_ROW + i, col, int(value))
                    column_total += int(value)
            letter = ws.cell(1, col).column_letter
            ws.cell(TOTAL_ROW, col, f"=SUM({letter}{FIRST_ROW}:{letter}{TOTAL_ROW - 1})")
            totals[f"{letter}{TOTAL_ROW}"] = column_total

    for row in ws.iter_rows(min_row=4, max_row=TOTAL_ROW, max_col=LAST_COL):
        for cell in row:
            cell.border = BORDER
            cell.alignment = CENTER
            cell.font = FONT_HEAD if cell.row <= 5 or cell.column == 1 else FONT_CELL
    for k, (text, alert) in enumerate(notes):
        row = TOTAL_ROW + 2 + k
        set_text(ws, f"A{row}", text)
        ws.merge_cells(f"A{row}:{last}{row}")
        ws[f"A{row}"].font = FONT_ALERT if alert else FONT_NOTE
        ws[f"A{row}"].alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
        width = display_width(text)   # LibreOffice does not grow wrapped rows itself
        ws.row_dimensions[row].height = 17 * (-(-width // 105)) + 4
    _page_setup(ws, TOTAL_ROW + 1 + len(notes) if notes else TOTAL_ROW)
    return totals


def _page_setup(ws: Worksheet, last_row: int = TOTAL_ROW) -> None:
    ws.column_dimensions["A"].width = 10
    for col in range(2, LAST_COL + 1):
        ws.column_dimensions[ws.cell(1, col).column_letter].width = 11.5
    ws.row_dimensions[1].height = 20
    ws.row_dimensions[2].height = 40
    ws.row_dimensions[3].height = 26
    ws.row_dimensions[4].height = 24
    ws.row_dimensions[5].height = 36
    for r in range(FIRST_ROW, TOTAL_ROW + 1):
        ws.row_dimensions[r].height = 30
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.6
    ws.page_margins.top = ws.page_margins.bottom = 0.8
    ws.print_area = f"A1:{ws.cell(1, LAST_COL).column_letter}{last_row}"


def book_properties(wb: Workbook, title: str, author: str | None, made: dt.datetime | None = None) -> None:
    """A workbook's own 属性: its title, the bureau as author (openpyxl would sign it "openpyxl"),
    the run's time, zh-CN."""
    made = made or dt.datetime.now(dt.timezone.utc)
    props = wb.properties
    props.title = safety.ILLEGAL_CHARACTERS_RE.sub("", title)     # a clerk's file name may carry any
    props.creator = props.lastModifiedBy = author or ""
    props.created = props.modified = made.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    props.language = "zh-CN"


def cache_formula_values(path: Path, values: dict[str, int | float], sheet_index: int = 0) -> None:
    """Give the formulas at `values`' cells of one sheet a stored result, in the saved file.

    Rewrites `xl/worksheets/sheet{n}.xml` (openpyxl's naming) of the zip: `<f>…</f><v></v>`
    becomes `<f>…</f><v>n</v>`. Only cells that hold a formula are touched.
    """
    member = f"xl/worksheets/sheet{sheet_index + 1}.xml"
    with zipfile.ZipFile(path) as zin:
        infos = zin.infolist()
        data = {info.filename: zin.read(info.filename) for info in infos}
    xml = data[member].decode("utf-8")
    for ref, value in values.items():
        pattern = re.compile(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)(?:<v\s*/>|<v>[^<]*</v>)?')
        xml, n = pattern.subn(rf"\g<1>\g<2><v>{value}</v>", xml, count=1)
        if n != 1:
            raise ValueError(f"{member}: no formula at {ref}")
    data[member] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            zout.writestr(info, data[info.filename])


def write_form(path, unit: str, period: str, rows: Rows | None, *,
               blank: bool = False, unit_suffix: bool = True, notes=(), author: str | None = None) -> Path:
    """Write the form to `path` (.xlsx). blank=True leaves the count cells empty (合计 shows 0).

    unit/period "" print the seed's blanks. Used for the district's own form (unit "二七区"), with
    `notes` ((text, alert), …) under the table; `author`: the bureau, in the book's properties.
    """
    path = Path(path)
    wb = Workbook()
    totals = build_form(wb.active, unit, period, rows, blank=blank, unit_suffix=unit_suffix, notes=notes)
    book_properties(wb, path.stem.replace("_", " "), author)
    def write(tmp):
        wb.save(tmp)
        cache_formula_values(Path(tmp), totals)
    return atomic(path, write)
