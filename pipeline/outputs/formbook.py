"""The canonical form, written with xlsxwriter: the 附件 of 二七安监管〔2016〕8号, cell for cell.

Layout (1-based rows, as docs/form.md shows it): A1 附件, A2:J2 title, A3:J3 the 填报单位 line,
A4:A5 行业, B4:D4 / E4:G4 / H4:J4 the levels, row 5 the measures, rows 6–13 the eight industries, row
14 合计 as =SUM formulas with their results stored (people keep the formulas, readers see the numbers).
A4 landscape, fitted to one page. Notes, if any (the district's form says which units' figures were
carried, or that the month is not over), from row 16 on, under the table: the reader stops at 合计,
so the form is read as any other.
"""
from __future__ import annotations

import io
from pathlib import Path

import xlsxwriter

from pipeline.core.model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, LEVELS, MEASURE_NAMES, MEASURES
from pipeline.core.ooxml import finish
from pipeline.core.period import Month
from pipeline.core.text import cell_text, display_width
from pipeline.outputs.xlsx import set_properties
from pipeline.store.files import atomic

SHEET_NAME = "月度报表"
FIRST_ROW = 6                      # row of 冶金 (1-based)
TOTAL_ROW = FIRST_ROW + len(INDUSTRIES)
LAST_COL = 1 + len(LEVELS) * len(MEASURES)   # J (1-based)
BLANK = "_____"
ALERT_RED = "#C00000"

Rows = dict[tuple[str, int], tuple[int, int, int]]

_BOX = {"border": 1, "align": "center", "valign": "vcenter", "text_wrap": True, "font_name": "宋体", "font_size": 11}
STYLES = {
    "annex": {"font_name": "黑体", "font_size": 14},
    "title": {"font_name": "宋体", "font_size": 18, "bold": True, "align": "center", "valign": "vcenter"},
    "line": {"font_name": "仿宋", "font_size": 12, "align": "left", "valign": "vcenter"},
    "head": {**_BOX, "bold": True},
    "cell": _BOX,
    "note": {"font_name": "仿宋", "font_size": 11, "align": "left", "valign": "vcenter", "text_wrap": True},
    "alert": {"font_name": "黑体", "font_size": 12, "font_color": ALERT_RED, "align": "left", "valign": "vcenter",
              "text_wrap": True},
}


def count_col(level: int, measure: str) -> int:
    """1-based column of a count: B for (1, new) … J for (3, reviewing)."""
    return 2 + (level - 1) * len(MEASURES) + MEASURES.index(measure)


def header_line(unit: str, period: str, *, unit_suffix: bool = True) -> str:
    """`填报单位：侯寨乡      2016 年 9 月`; blanks as in the seed when unit or period is empty.

    unit_suffix: a blank unit keeps the seed's printed `乡（镇）办事处` after it (False for the
    district's own form, whose unit is not a township office).
    """
    who = unit or (BLANK + (" 乡（镇）办事处" if unit_suffix else ""))
    when = f"{Month(period).year} 年 {Month(period).number} 月" if period else f"{BLANK} 年 {BLANK} 月"
    return f"填报单位：{who}      {when}"


def lay_out(book, ws, unit: str, period: str, rows: Rows | None, *, blank: bool = False, unit_suffix: bool = True,
            notes=(), count: dict | None = None) -> None:
    """Lay the form out on the xlsxwriter sheet `ws`, with `notes` ((text, alert), …) under it;
    `count`: format properties added to the count cells' (a blank form's unlocked, shaded cells)."""
    f = {name: book.add_format(props) for name, props in STYLES.items()}
    counts = book.add_format({**_BOX, **(count or {})})
    last = LAST_COL - 1
    ws.write_string(0, 0, "附件", f["annex"])
    ws.merge_range(1, 0, 1, last, FORM_TITLE, f["title"])
    ws.merge_range(2, 0, 2, last, cell_text(header_line(unit, period, unit_suffix=unit_suffix)), f["line"])
    ws.merge_range(3, 0, 4, 0, "行业", f["head"])
    for level in LEVELS:
        first = count_col(level, MEASURES[0]) - 1
        ws.merge_range(3, first, 3, first + len(MEASURES) - 1, LEVEL_NAMES[level], f["head"])
        for measure in MEASURES:
            ws.write_string(4, count_col(level, measure) - 1, f"{MEASURE_NAMES[measure]} (家)", f["head"])
    for i, industry in enumerate(INDUSTRIES):
        ws.write_string(FIRST_ROW - 1 + i, 0, industry, f["head"])
    ws.write_string(TOTAL_ROW - 1, 0, "合计", f["head"])
    for level in LEVELS:
        for m, measure in enumerate(MEASURES):
            col = count_col(level, measure) - 1
            total = 0
            for i, industry in enumerate(INDUSTRIES):
                if blank:
                    ws.write_blank(FIRST_ROW - 1 + i, col, None, counts)
                    continue
                value = int((rows or {}).get((industry, level), (0, 0, 0))[m])
                ws.write_number(FIRST_ROW - 1 + i, col, value, counts)
                total += value
            letter = xlsxwriter.utility.xl_col_to_name(col)
            ws.write_formula(TOTAL_ROW - 1, col, f"=SUM({letter}{FIRST_ROW}:{letter}{TOTAL_ROW - 1})", f["cell"], total)
    for k, (text, alert) in enumerate(notes):
        row = TOTAL_ROW + 1 + k   # 0-based: one blank row under 合计
        ws.merge_range(row, 0, row, last, cell_text(text), f["alert" if alert else "note"])
        ws.set_row(row, 17 * (-(-display_width(text) // 105)) + 4)   # LibreOffice does not grow wrapped rows itself
    _page_setup(ws, TOTAL_ROW + 1 + len(notes) if notes else TOTAL_ROW)


def _page_setup(ws, last_row: int) -> None:
    ws.set_column(0, 0, 10)
    ws.set_column(1, LAST_COL - 1, 11.5)
    for row, points in ((0, 20), (1, 40), (2, 26), (3, 24), (4, 36)):
        ws.set_row(row, points)
    for row in range(FIRST_ROW - 1, TOTAL_ROW):
        ws.set_row(row, 30)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 1)
    ws.center_horizontally()
    ws.set_margins(left=0.6, right=0.6, top=0.8, bottom=0.8)
    ws.print_area(0, 0, last_row - 1, LAST_COL - 1)


def new_book(title: str, author: str | None):
    """An xlsxwriter book in memory (`ooxml.finish` writes it out), text kept as text."""
    data = io.BytesIO()
    book = xlsxwriter.Workbook(data, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    set_properties(book, title, author)
    return book, data


def write_form(path, unit: str, period: str, rows: Rows | None, *,
               blank: bool = False, unit_suffix: bool = True, notes=(), author: str | None = None) -> Path:
    """Write the form to `path` (.xlsx). blank=True leaves the count cells empty (合计 shows 0).

    unit/period "" print the seed's blanks. Used for the district's own form (unit "二七区"), with
    `notes` ((text, alert), …) under the table; `author`: the bureau, in the book's properties.
    """
    path = Path(path)

    def write(tmp):
        book, data = new_book(path.stem.replace("_", " "), author)
        lay_out(book, book.add_worksheet(SHEET_NAME), unit, period, rows, blank=blank, unit_suffix=unit_suffix,
                notes=notes)
        book.close()
        finish(data.getvalue(), tmp)
    return atomic(path, write)
