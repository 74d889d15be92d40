"""报送情况: who reported for the period, when, and what came of it, as one workbook.

Sheets: 报送情况 (one row per unit, status coloured, a summary line), 全部文件 (every submission
received), 明细 (each counted unit's 24 rows as numbers).
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .findings import CODES, ERROR
from .model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, Received
from .receipts import _atomic, _display_width, _text, period_text, time_text

RED = PatternFill("solid", fgColor="FFFF9999")
YELLOW = PatternFill("solid", fgColor="FFFFEB84")
GREEN = PatternFill("solid", fgColor="FFC6EFCE")
STATUS_FILLS = {"按时": GREEN, "迟报": YELLOW, "退回": RED, "未报": RED}
STATUS_WORDS = {"accepted": "接收", "rejected": "退回", "superseded": "已替代", "duplicate": "重复"}
_thin = Side(style="thin", color="FF999999")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
HEAD_FONT = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="FFD9E1F2")


def unit_status(unit: str, received: list[Received], counted: dict[str, Received]) -> tuple[str, Received | None]:
    """(按时 / 迟报 / 退回 / 未报, the submission shown for the unit: the counted one, else the last)."""
    if unit in counted:
        rec = counted[unit]
        return ("迟报" if rec.late else "按时"), rec
    own = [r for r in received if r.unit == unit]
    if own:
        return "退回", max(own, key=lambda r: (r.received_at, r.id))
    return "未报", None


def problems(rec: Received | None) -> str:
    """`合计不符、合计未填（错误 1 项，提示 1 项）`, or '' without findings."""
    if rec is None or not rec.findings:
        return ""
    titles = "、".join(CODES[c].title if c in CODES else c for c in rec.codes)
    errors = sum(f.severity == ERROR for f in rec.findings)
    warnings = len(rec.findings) - errors
    return f"{titles}（错误 {errors} 项，提示 {warnings} 项）"


def _row(ws: Worksheet, r: int, values: list) -> None:
    for c, value in enumerate(values, 1):
        cell = ws.cell(r, c)
        if isinstance(value, str):
            _text(cell, value)
        else:
            cell.value = value
        cell.border = BORDER
        cell.alignment = Alignment(vertical="center", wrap_text=isinstance(value, str) and len(value) > 30)


def _center(ws: Worksheet, columns: str, first_row: int, last_row: int) -> None:
    for letter in columns:
        for row in range(first_row, last_row + 1):
            ws[f"{letter}{row}"].alignment = Alignment(horizontal="center", vertical="center")


def _header(ws: Worksheet, r: int, heads: list[str]) -> None:
    _row(ws, r, heads)
    for c in range(1, len(heads) + 1):
        ws.cell(r, c).font = HEAD_FONT
        ws.cell(r, c).fill = HEAD_FILL
        ws.cell(r, c).alignment = Alignment(horizontal="center", vertical="center")


def _widths(ws: Worksheet, first_row: int, cap: int = 60) -> None:
    """Column widths from content; a CJK character takes two columns."""
    widths: dict[int, int] = {}
    for row in ws.iter_rows(min_row=first_row):
        for cell in row:
            if cell.value is not None:
                width = _display_width(str(cell.value)) + 2
                widths[cell.column] = max(widths.get(cell.column, 6), min(width, cap))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def _page(ws: Worksheet, header_row: int) -> None:
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.horizontalCentered = True


def _overview(ws: Worksheet, title: str, deadline_text: str, units: list[str],
              received: list[Received], counted: dict[str, Received]) -> None:
    heads = ["序号", "单位", "状态", "收到时间", "文件名", "问题", "提交次数"]
    _text(ws["A1"], title)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(heads))
    ws.row_dimensions[1].height = 28
    _text(ws["A2"], f"报送截止时间：{deadline_text}")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(heads))
    _header(ws, 3, heads)
    tally = dict.fromkeys(STATUS_FILLS, 0)
    r = 3
    for n, unit in enumerate(units, 1):
        status, rec = unit_status(unit, received, counted)
        tally[status] += 1
        times = len({(s.file, s.sha256, s.received_at) for s in received if s.unit == unit})
        r += 1
        _row(ws, r, [n, unit, status, time_text(rec.received_at) if rec else "",
                     rec.file if rec else "", problems(rec), times])
        ws.cell(r, 3).fill = STATUS_FILLS[status]
        ws.cell(r, 3).alignment = Alignment(horizontal="center", vertical="center")
    summary = (f"应报 {len(units)} 家，按时 {tally['按时']} 家，迟报 {tally['迟报']} 家，"
               f"退回 {tally['退回']} 家，未报 {tally['未报']} 家")
    _text(ws.cell(r + 1, 1), summary)
    ws.cell(r + 1, 1).font = HEAD_FONT
    ws.merge_cells(start_row=r + 1, start_column=1, end_row=r + 1, end_column=len(heads))
    _center(ws, "ACG", 4, r)
    _widths(ws, 3)
    ws.column_dimensions["A"].width = 6
    for row in range(3, r + 2):
        ws.row_dimensions[row].height = 20
    _page(ws, 3)


def _all_files(ws: Worksheet, received: list[Received]) -> None:
    _header(ws, 1, ["序号", "收到时间", "文件名", "单位", "工作表", "处理结果", "迟报", "问题"])
    for n, rec in enumerate(sorted(received, key=lambda r: (r.received_at, r.id)), 1):
        _row(ws, n + 1, [n, time_text(rec.received_at), rec.file, rec.unit or "（未识别）",
                         rec.sheet or "", STATUS_WORDS.get(rec.status, rec.status),
                         "是" if rec.late else "否", problems(rec)])
    _center(ws, "AFG", 2, len(received) + 1)
    _widths(ws, 1)
    ws.auto_filter.ref = f"A1:H{max(len(received), 1) + 1}"
    _page(ws, 1)


def _details(ws: Worksheet, units: list[str], counted: dict[str, Received]) -> None:
    _header(ws, 1, ["单位", "行业", "级别", "当月完成", "累计完成", "正在评审"])
    r = 1
    order = [u for u in units if u in counted] + [u for u in counted if u not in units]
    for unit in order:
        rows = sorted(counted[unit].rows, key=lambda x: (INDUSTRIES.index(x.industry), x.level))
        for row in rows:
            r += 1
            _row(ws, r, [unit, row.industry, LEVEL_NAMES[row.level], row.new, row.cumulative, row.reviewing])
    _widths(ws, 1)
    ws.auto_filter.ref = f"A1:F{r}"
    _page(ws, 1)


def write_status_book(path: Path, period: str, units: list[str], received: list[Received],
                      counted: dict[str, Received], deadline_text: str, district: str) -> Path:
    """Write the 报送情况 workbook for `period` ("2016-09") to `path`, atomically."""
    path = Path(path)
    wb = Workbook()
    wb.active.title = "报送情况"
    title = f"{district} {period_text(period)} {FORM_TITLE} 报送情况"
    _overview(wb.active, title, deadline_text, units, received, counted)
    _all_files(wb.create_sheet("全部文件"), received)
    _details(wb.create_sheet("明细"), units, counted)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _atomic(path, wb.save)
