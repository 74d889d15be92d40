"""报送情况: who reported for the period, when, and what came of it, as one workbook.

Sheets: 报送情况 (one row per unit, status coloured, a summary line), 全部文件 (every submission
received), 明细 (each counted unit's 24 rows as numbers). Written with xlsxwriter row by row
(constant memory, shared formats): a city or province has tens of thousands of units.
Text from clerks goes through `write_string`, so it is never a formula.
"""
from __future__ import annotations

import os
import zipfile
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter

from .findings import CODES, ERROR
from .model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, Received
from .receipts import _atomic, _display_width, period_text, time_text
from .safety import cell_text

RED, YELLOW, GREEN, HEAD = "#FF9999", "#FFEB84", "#C6EFCE", "#D9E1F2"
STATUS_COLOURS = {"按时": GREEN, "迟报": YELLOW, "退回": RED, "未报": RED}
STATUS_WORDS = {"accepted": "接收", "rejected": "退回", "superseded": "已替代", "duplicate": "重复"}


def unit_status(unit: str, own: list[Received], counted: dict[str, Received]) -> tuple[str, Received | None]:
    """(按时 / 迟报 / 退回 / 未报, the submission shown for the unit: the counted one, else the last).
    `own` is the unit's submissions for the period."""
    if unit in counted:
        rec = counted[unit]
        return ("迟报" if rec.late else "按时"), rec
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


class _Sheet:
    """Rows written in order, with shared formats and column widths measured on the way."""

    def __init__(self, book, name: str, formats: dict):
        self.ws = book.add_worksheet(name)
        self.f = formats
        self.widths: dict[int, int] = {}
        self.row = 0

    def write(self, values: list, center: frozenset = frozenset(), fill: dict | None = None):
        measure = self.row < 500          # widths from the first rows: enough, and cheap for big sheets
        for c, value in enumerate(values):
            fmt = self.f[("center" if c in center else "cell") + ((fill or {}).get(c, ""))]
            if isinstance(value, str) and value:
                text = cell_text(value)
                self.ws.write_string(self.row, c, text, self.f["wrap"] if len(text) > 30 else fmt)
                width = _display_width(text) + 2 if measure else 0
            elif value is None or value == "":
                self.ws.write_blank(self.row, c, None, fmt)
                width = 0
            else:
                self.ws.write_number(self.row, c, value, fmt)
                width = len(str(value)) + 2 if measure else 0
            if width:
                self.widths[c] = max(self.widths.get(c, 6), min(width, 60))
        self.row += 1

    def header(self, heads: list[str]):
        for c, head in enumerate(heads):
            self.ws.write_string(self.row, c, head, self.f["head"])
            self.widths[c] = max(self.widths.get(c, 6), _display_width(head) + 2)
        self.row += 1

    def finish(self, header_row: int, filter_cols: int | None = None):
        for c, width in self.widths.items():
            self.ws.set_column(c, c, width)
        ws = self.ws
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row)
        ws.center_horizontally()
        if filter_cols:
            ws.autofilter(header_row, 0, max(self.row - 1, header_row), filter_cols - 1)


def center_cols(letters: str) -> frozenset[int]:
    return frozenset(ord(ch) - 65 for ch in letters)


OVERVIEW_CENTER, FILES_CENTER = center_cols("ACG"), center_cols("AFG")


def _formats(book) -> dict:
    base = {"border": 1, "border_color": "#999999", "valign": "vcenter", "font_name": "宋体", "font_size": 11}
    f = {"cell": book.add_format(base), "center": book.add_format({**base, "align": "center"}),
         "wrap": book.add_format({**base, "text_wrap": True}),
         "head": book.add_format({**base, "bold": True, "bg_color": HEAD, "align": "center"}),
         "title": book.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter",
                                   "font_name": "宋体"}),
         "note": book.add_format({"font_name": "宋体"}), "bold": book.add_format({"bold": True, "font_name": "宋体"})}
    for colour in (RED, YELLOW, GREEN):
        f["center" + colour] = book.add_format({**base, "align": "center", "bg_color": colour})
    return f


def _overview(book, f, title: str, deadline_text: str, units: list[str], by_unit: dict, counted: dict):
    heads = ["序号", "单位", "状态", "收到时间", "文件名", "问题", "提交次数"]
    s = _Sheet(book, "报送情况", f)
    s.ws.set_row(0, 28)
    s.ws.merge_range(0, 0, 0, len(heads) - 1, cell_text(title), f["title"])
    s.ws.merge_range(1, 0, 1, len(heads) - 1, cell_text(f"报送截止时间：{deadline_text}"), f["note"])
    s.row = 2
    s.header(heads)
    tally = dict.fromkeys(STATUS_COLOURS, 0)
    for n, unit in enumerate(units, 1):
        own = by_unit.get(unit, [])
        status, rec = unit_status(unit, own, counted)
        tally[status] += 1
        times = len({(r.file, r.sha256, r.received_at) for r in own})
        s.ws.set_row(s.row, 20)
        s.write([n, unit, status, time_text(rec.received_at) if rec else "", rec.file if rec else "",
                 problems(rec), times], center=OVERVIEW_CENTER, fill={2: STATUS_COLOURS[status]})
    summary = (f"应报 {len(units)} 家，按时 {tally['按时']} 家，迟报 {tally['迟报']} 家，"
               f"退回 {tally['退回']} 家，未报 {tally['未报']} 家")
    s.ws.merge_range(s.row, 0, s.row, len(heads) - 1, summary, f["bold"])
    s.widths[0] = 6
    s.ws.freeze_panes(3, 0)
    s.finish(2)


def _all_files(book, f, received: list[Received]):
    s = _Sheet(book, "全部文件", f)
    s.header(["序号", "收到时间", "文件名", "单位", "工作表", "处理结果", "迟报", "问题"])
    for n, rec in enumerate(sorted(received, key=lambda r: (r.received_at, r.id)), 1):
        s.write([n, time_text(rec.received_at), rec.file, rec.unit or "（未识别）", rec.sheet or "",
                 STATUS_WORDS.get(rec.status, rec.status), "是" if rec.late else "否", problems(rec)], center=FILES_CENTER)
    s.ws.freeze_panes(1, 0)
    s.finish(0, 8)


DETAIL_HEADS = ["单位", "行业", "级别", "当月完成", "累计完成", "正在评审"]


def _details(book, f, units: list[str], counted: dict[str, Received]) -> list[tuple]:
    """明细: a placeholder sheet now (header, widths, filter, print setup); its rows, 24 per unit and
    a million of them for a whole country, are streamed straight into the sheet's XML afterwards
    (`_fill_details`): cell by cell through xlsxwriter they cost ~15 µs each."""
    s = _Sheet(book, "明细", f)
    s.header(DETAIL_HEADS)
    known = set(units)
    order = [u for u in units if u in counted] + [u for u in counted if u not in known]
    rank = {ind: i for i, ind in enumerate(INDUSTRIES)}
    rows = [(unit, row.industry, LEVEL_NAMES[row.level], row.new, row.cumulative, row.reviewing)
            for unit in order for row in sorted(counted[unit].rows, key=lambda x: (rank[x.industry], x.level))]
    if rows:
        s.write(list(rows[0]))                # the data format gets its style index
        s.widths[0] = max(s.widths[0], max((_display_width(u) + 2 for u in order[:500]), default=0))
    s.row = len(rows) + 1
    s.ws.freeze_panes(1, 0)
    s.finish(0, 6)
    return rows


def _fill_details(path: str, rows: list[tuple], head_style: int, cell_style: int, sheet_part: str):
    """Replace the placeholder's <sheetData> with every row, written as strings in one pass."""
    def text(col: str, r: int, value) -> str:
        return f'<c r="{col}{r}" s="{cell_style}" t="inlineStr"><is><t>{escape(cell_text(value))}</t></is></c>'

    def number(col: str, r: int, value) -> str:
        return "" if value is None else f'<c r="{col}{r}" s="{cell_style}"><v>{value}</v></c>'

    heads = "".join(f'<c r="{col}1" s="{head_style}" t="inlineStr"><is><t>{h}</t></is></c>'
                    for col, h in zip("ABCDEF", DETAIL_HEADS))
    parts = [f'<sheetData><row r="1">{heads}</row>']
    for r, (unit, ind, lvl, n, c, v) in enumerate(rows, start=2):
        parts.append(f'<row r="{r}">{text("A", r, unit)}{text("B", r, ind)}{text("C", r, lvl)}'
                     f'{number("D", r, n)}{number("E", r, c)}{number("F", r, v)}</row>')
    parts.append("</sheetData>")
    tmp = path + ".details"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == sheet_part:
                xml = data.decode("utf-8")
                start, end = xml.index("<sheetData"), xml.index("</sheetData>") + len("</sheetData>")
                data = (xml[:start] + "".join(parts) + xml[end:]).encode("utf-8")
            dst.writestr(info, data)
    os.replace(tmp, path)


def write_status_book(path: Path, period: str, units: list[str], received: list[Received],
                      counted: dict[str, Received], deadline_text: str, district: str) -> Path:
    """Write the 报送情况 workbook for `period` ("2016-09") to `path`, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    by_unit = defaultdict(list)
    for rec in received:
        by_unit[rec.unit].append(rec)

    def write(tmp):
        book = xlsxwriter.Workbook(tmp, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False})
        f = _formats(book)
        title = f"{district} {period_text(period)} {FORM_TITLE} 报送情况"
        _overview(book, f, title, deadline_text, units, by_unit, counted)
        _all_files(book, f, received)
        rows = _details(book, f, units, counted)
        book.close()
        _fill_details(tmp, rows, f["head"].xf_index, f["cell"].xf_index, "xl/worksheets/sheet3.xml")
    return _atomic(path, write)
