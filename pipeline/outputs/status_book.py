"""报送情况: who reported for the period, when, and what came of it, as one workbook.

Sheets: 报送情况 (one row per unit, status coloured, a summary line; units whose last counted
figures the district's form carries, and whether the month is over, said there), 全部文件 (every submission
received), 明细 (each counted unit's 24 rows as numbers). A city or province has tens of thousands
of units and a country's 明细 a million rows, so the cells do not go through xlsxwriter (~15 µs a
cell): xlsxwriter lays out each sheet (formats, widths, merges, panes, filter, print setup) and the
rows are then streamed into the sheet XML as text (`ooxml.finish`). Every text cell is an inline string,
escaped as xlsxwriter escapes it (text from clerks is never a formula), but 明细's: they name the
book's shared strings.
"""
from __future__ import annotations

import functools
import io
import itertools
import operator
from collections import defaultdict
from pathlib import Path

import xlsxwriter

from pipeline.core.findings import CODES, ERROR
from pipeline.core.model import FORM_TITLE, INDUSTRIES, LEVEL_NAMES, ROW_KEY, ROW_KEYS, STATUS_WORDS, Received, no_gc
from pipeline.core.ooxml import finish, inline, shared_strings, xf_numbers
from pipeline.core.period import month_text
from pipeline.core.settings import DEFAULT_TZ
from pipeline.core.text import FORMULA_START, cell_text, display_width
from pipeline.outputs.receipts import time_text
from pipeline.outputs.xlsx import set_properties
from pipeline.store.files import atomic

RED, YELLOW, GREEN, HEAD = "#FF9999", "#FFEB84", "#C6EFCE", "#D9E1F2"
STATUS_COLOURS = {"按时": GREEN, "迟报": YELLOW, "退回": RED, "未报": RED}
COLUMNS = "ABCDEFGHIJ"
SHEET_ROWS = 1_048_576   # rows an Excel worksheet holds


def unit_status(unit: str, own: list[Received], counted: dict[str, Received]) -> tuple[str, Received | None]:
    """(按时 / 迟报 / 退回 / 未报, the submission shown for the unit: the counted one, else the last).
    `own` is the unit's submissions for the period."""
    if unit in counted:
        rec = counted[unit]
        return ("迟报" if rec.late else "按时"), rec
    if own:
        last = max(own, key=lambda r: (r.received_at, r.id))
        if all(r.status == "held" for r in own):   # sent only after the month was closed: not counted
            return "未报", last
        return "退回", last
    return "未报", None


def problems(rec: Received | None) -> str:
    """`合计不符、合计未填（错误 1 项，提示 1 项）`, or '' without findings."""
    if rec is None or not rec.findings:
        return ""
    titles = "、".join(CODES[c].title if c in CODES else c for c in rec.codes)
    errors = sum(f.severity == ERROR for f in rec.findings)
    warnings = len(rec.findings) - errors
    return f"{titles}（错误 {errors} 项，提示 {warnings} 项）"


def explanation(rec: Received | None, chars: int = 300) -> str:
    """What came with a form to explain it: the other files attached to its e-mail (情况说明.docx),
    and the first `chars` characters of the e-mail's text; '' when nothing did."""
    if rec is None or not (rec.attachments or rec.note):
        return ""
    parts = [f"附件：{'、'.join(rec.attachments)}（已存档）"] if rec.attachments else []
    if rec.note:
        text = " ".join(rec.note.split())
        parts.append(f"邮件正文：{text[:chars]}{'……' if len(text) > chars else ''}")
    return "；".join(parts)


def _lines_high(text: str, points: float = 20) -> float | None:
    """A row's height for `text` wrapped in a column 60 wide (LibreOffice does not fit a row to its
    wrapped text when opening the book): None for one line (the sheet's own height)."""
    lines = -(-display_width(text) // 58) if text else 1
    return None if lines <= 1 else max(points, 15 * lines + 4)


@functools.cache
def _height(points: float) -> str:
    """A row height as xlsxwriter's set_row writes it (rounded to whole pixels)."""
    return f' ht="{round(points * 4 / 3) * 0.75:g}" customHeight="1"'


class _Sheet:
    """One worksheet: xlsxwriter holds its layout, `rows` its <row> elements as text (a list, or for
    明细 an iterator of a unit's rows at a time, read while the book is written). Column widths are
    measured on the first 500 rows."""

    def __init__(self, book, name: str, styles: dict[str, str], columns: int):
        self.ws = book.add_worksheet(name)
        self.s = styles
        self.columns = columns
        self.widths: dict[int, int] = {}
        self.rows: list[str] = []
        self.row = 0
        self._attributes: dict[tuple, tuple] = {}   # the styles of a row's cells -> their s="…"
        self._texts: dict[str, tuple[bool, str]] = {}
        self._wrap = f' s="{styles["wrap"]}"'
        self._quoted = {f' s="{styles[name]}"': f' s="{styles[name + QUOTED]}"' for name in styles if not name.endswith(QUOTED)}

    def write(self, values: list, styles: tuple[str, ...], height: float | None = None):
        """One row; `styles` names each column's format. Long text wraps (in a format without fill)."""
        if self.row < 500:
            self._measure(values)
        self.row += 1
        attributes = self._attributes.get(styles)
        if attributes is None:
            attributes = self._attributes[styles] = tuple(f' s="{self.s[style]}"' for style in styles)
        cells = []   # one for each value from column A on: their references may be left out (§18.3.1.4)
        texts = self._texts
        for value, a in zip(values, attributes):
            if value is None or value == "":
                cells.append(f"<c{a}/>")
            elif isinstance(value, str):
                text = texts.get(value)
                if text is None:
                    text = self._text(value)
                wraps, inline = text
                a = self._wrap if wraps else a
                if value[:1] in _FORMULA_START:   # text that looks like a formula: Excel's quote prefix
                    a = self._quoted[a]
                cells.append(f'<c{a} t="inlineStr">{inline}</c>')
            else:
                cells.append(f"<c{a}><v>{value}</v></c>")
        self.rows.append(f'<row r="{self.row}"{_height(height) if height else ""}>{"".join(cells)}</row>')

    def _text(self, value: str) -> tuple[bool, str]:
        """Whether a text is long enough to wrap, and its <is>: kept, as most texts come back (a status,
        a time to the minute, a sheet's name, a list of problems) in a country's 80,000 rows."""
        if len(self._texts) >= _TEXTS_KEPT:
            self._texts.clear()
        text = self._texts[value] = (len(value) > 30 and len(cell_text(value)) > 30, inline(value))
        return text

    def _measure(self, values: list):
        for c, value in enumerate(values):
            if value is None or value == "":
                continue
            width = display_width(cell_text(value)) + 2 if isinstance(value, str) else len(str(value)) + 2
            self.widths[c] = max(self.widths.get(c, 6), min(width, 60))

    def merged(self, text: str, style: str, height: float | None = None):
        """One row merged across the sheet's columns, holding `text`."""
        self.ws.merge_range(self.row, 0, self.row, self.columns - 1, "", None)
        s = self.s[style]
        rest = "".join(f'<c r="{COLUMNS[c]}{self.row + 1}" s="{s}"/>' for c in range(1, self.columns))
        self.rows.append(f'<row r="{self.row + 1}"{_height(height) if height else ""}>'
                         f'<c r="A{self.row + 1}" s="{s}" t="inlineStr">{inline(text)}</c>{rest}</row>')
        self.row += 1

    def header(self, heads: list[str]):
        self.write(heads, ("head",) * len(heads))
        for c, head in enumerate(heads):   # headers are never cut to 60
            self.widths[c] = max(self.widths.get(c, 6), display_width(head) + 2)

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


def _formats(book) -> dict[str, str]:
    """Format name -> xf index. The indices are taken now (xlsxwriter otherwise assigns them as cells
    are written through it, and writes only the formats so used)."""
    base = {"border": 1, "border_color": "#999999", "valign": "vcenter", "font_name": "宋体", "font_size": 11}
    f = {"title": {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter", "font_name": "宋体"},
         "note": {"font_name": "宋体"}, "head": {**base, "bold": True, "bg_color": HEAD, "align": "center"},
         "center": {**base, "align": "center"}, "cell": base}
    for colour in (GREEN, YELLOW, RED):
        f["center" + colour] = {**base, "align": "center", "bg_color": colour}
    f.update({"bold": {"bold": True, "font_name": "宋体"}, "wrap": {**base, "text_wrap": True},
              "remark": {"font_name": "宋体", "text_wrap": True, "valign": "top"}})
    f.update({name + QUOTED: {**props, "quote_prefix": True} for name, props in f.items()})
    return xf_numbers({name: book.add_format(props) for name, props in f.items()})


QUOTED = "'"   # a format's twin with Excel's quote prefix: its name and this
_FORMULA_START = frozenset(FORMULA_START)


OVERVIEW_HEADS = ["序号", "单位", "状态", "收到时间", "文件名", "问题", "提交次数", "随附说明"]
FILES_HEADS = ["序号", "收到时间", "文件名", "单位", "工作表", "处理结果", "迟报", "问题", "随附说明"]
DETAIL_HEADS = ["单位", "行业", "级别", "当月完成", "累计完成", "正在评审"]


def _overview(book, s, title: str, deadline_text: str, units: list[str], by_unit: dict, counted: dict, tz,
              carried: dict, notes: list[str]) -> _Sheet:
    sheet = _Sheet(book, "报送情况", s, len(OVERVIEW_HEADS))
    sheet.merged(title, "title", height=28)
    sheet.merged(f"报送截止时间：{deadline_text}", "note")
    sheet.header(OVERVIEW_HEADS)
    styles = {status: ("center", "cell", "center" + colour, "cell", "cell", "cell", "center", "cell")
              for status, colour in STATUS_COLOURS.items()}
    tally = dict.fromkeys(STATUS_COLOURS, 0)
    for n, unit in enumerate(units, 1):
        own = by_unit.get(unit, [])
        status, rec = unit_status(unit, own, counted)
        tally[status] += 1
        times = len({(r.file, r.sha256, r.received_at) for r in own})
        said = problems(rec)
        if unit in carried:
            said = "；".join(filter(None, (said, f"全区月报沿用{month_text(carried[unit][0])}的数字")))
        sent_with = explanation(rec, 100)
        sheet.write([n, unit, status, time_text(rec.received_at, tz) if rec else "", rec.file if rec else "",
                     said, times, sent_with], styles[status], height=_lines_high(sent_with) or 20)
    sheet.merged(f"应报 {len(units)} 家，按时 {tally['按时']} 家，迟报 {tally['迟报']} 家，"
                 f"退回 {tally['退回']} 家，未报 {tally['未报']} 家", "bold")
    width = sum(sheet.widths.get(c, 6) for c in range(len(OVERVIEW_HEADS)))   # as finish() will set them
    for note in notes:
        sheet.merged(note, "remark", height=16 * (1 + display_width(note) // max(width - 4, 20)) + 4)
    held = [r for rs in by_unit.values() for r in rs if r.status == "held"]
    if held:   # a closed month: what came after its 通报 is kept, not counted (closing.py)
        sheet.merged(f"本月所属季度已关账：关账后收到 {len(held)} 份报表（"
                     + "、".join(dict.fromkeys(r.unit or "未识别" for r in held))
                     + "），已存档登记，重新开账前不计入汇总，详见“全部文件”页。", "bold")
    sheet.widths[0] = 6
    sheet.ws.freeze_panes(3, 0)
    sheet.finish(2)
    return sheet


def _all_files(book, s, received: list[Received], tz) -> _Sheet:
    sheet = _Sheet(book, "全部文件", s, len(FILES_HEADS))
    sheet.header(FILES_HEADS)
    styles = ("center", "cell", "cell", "cell", "cell", "center", "center", "cell", "cell")
    for n, rec in enumerate(sorted(received, key=lambda r: (r.received_at, r.id)), 1):
        said = explanation(rec)
        sheet.write([n, time_text(rec.received_at, tz), rec.file, rec.unit or "（未识别）", rec.sheet or "",
                     STATUS_WORDS.get(rec.status, rec.status), "是" if rec.late else "否", problems(rec), said],
                    styles, height=_lines_high(said, 15) if said else None)
    sheet.ws.freeze_panes(1, 0)
    sheet.finish(0, len(FILES_HEADS))
    return sheet


def _details(book, s, units: list[str], counted: dict[str, Received], strings: _Strings) -> list[_Sheet]:
    """明细: 24 rows a counted unit, made while the book is written (a million for a whole country).
    A sheet holds at most Excel's SHEET_ROWS: beyond them, 明细2, 明细3…, a unit's rows kept together.
    Their texts go in the book's shared strings (`strings`)."""
    known = set(units)
    order = [u for u in units if u in counted] + [u for u in counted if u not in known]
    per_sheet = (SHEET_ROWS - 1) // 24
    sheets = []
    for k in range(0, max(len(order), 1), per_sheet):
        part = order[k:k + per_sheet]
        sheet = _Sheet(book, f"明细{k // per_sheet + 1}" if k else "明细", s, len(DETAIL_HEADS))
        sheet.header(DETAIL_HEADS)
        if part:
            sheet.widths[0] = max(sheet.widths[0], max(display_width(u) + 2 for u in part[:500]))
        sheet.rows = itertools.chain(sheet.rows, _detail_rows(part, counted, s["cell"], sheet.row + 1, strings,
                                                              s["cell" + QUOTED]))
        sheet.row += 24 * len(part)
        sheet.ws.freeze_panes(1, 0)
        sheet.finish(0, 6)
        sheets.append(sheet)
    return sheets


_TEXTS_KEPT = 65_536   # texts kept made, a sheet
_TAILS_KEPT = 65_536   # kinds of row kept made (the bench's 10,000 units: 228,672 rows of 1,728 kinds)


class _Strings:
    """The book's shared strings (xl/sharedStrings.xml): 明细's texts, each unit's name and each label
    once, a cell naming its text by number. A row of 明细 takes ~150 bytes, where with its texts inline
    it took ~270: a country's 明细 is a million rows, and each byte is made, encoded, deflated and
    checksummed."""

    def __init__(self):
        self.texts: list[str] = []
        self.numbers: dict[str, int] = {}
        self.cells = 0   # cells naming one

    def cell(self, value: str, style: str) -> str:
        """The rest of a <c holding `value`, after `<c`: ` s="5" t="s"><v>12</v></c>`."""
        number = self.numbers.get(value)
        if number is None:
            number = self.numbers[value] = len(self.texts)
            self.texts.append(value)
        return f' s="{style}" t="s"><v>{number}</v></c>'

    def xml(self) -> bytes:
        return shared_strings(self.texts, self.cells)


def carried_note(carried: dict) -> str:
    """The note saying which units' figures the district's form carried, and from which month."""
    return ("注：以下单位本月没有被计入的报表，全区月报沿用其最近一次被计入的累计完成和正在评审（当月完成按 0 计）："
            + "、".join(f"{unit}（{month_text(month)}）" for unit, (month, _) in carried.items()) + "。")


def _detail_rows(order: list[str], counted: dict[str, Received], style: str, r: int, strings: _Strings,
                 quoted: str = ""):
    """The <row> elements of 明细 from row r on, a unit's 24 at a time, their texts in `strings`. What is
    alike in many rows is made once: a row's cells after the unit's are the same in every unit with
    the same counts in that row, so they are made once and kept, and a unit's rows are joined around
    its name in one go."""
    if not order:
        return   # no label in the shared strings that no cell names
    rank = {ind: i for i, ind in enumerate(INDUSTRIES)}

    def text(value: str) -> str:
        return strings.cell(value, quoted if quoted and value[:1] in _FORMULA_START else style)

    labels = {(ind, lvl): (text(ind), text(name)) for ind in INDUSTRIES for lvl, name in LEVEL_NAMES.items()}
    s = f' s="{style}"'
    tails: dict = {}   # a row -> its cells after the unit's, and the row's end

    def tail(row) -> str | None:
        n, k, v = row.new, row.cumulative, row.reviewing
        if n is None or k is None or v is None:
            return None   # a blank count: its row names each cell (below)
        if len(tails) >= _TAILS_KEPT:
            tails.clear()
        b, c = labels[row.industry, row.level]
        tails[row] = f"<c{b}<c{c}<c{s}><v>{n}</v></c><c{s}><v>{k}</v></c><c{s}><v>{v}</v></c></row>"
        return tails[row]

    for unit in order:
        a = text(unit)
        rows = counted[unit].rows
        if tuple(map(ROW_KEY, rows)) != ROW_KEYS:   # as the ledger gives them, already in the form's order
            rows = sorted(rows, key=lambda x: (rank[x.industry], x.level))
        strings.cells += 3 * len(rows)
        ends = [tails.get(row) or tail(row) for row in rows]
        if None not in ends:   # six cells in a row from A: their references may be left out (ECMA-376 §18.3.1.4)
            heads = [f'<row r="{q}"><c' for q in range(r, r + len(rows))]
            yield a.join(map(operator.add, ["", *ends], [*heads, ""]))
            r += len(rows)
            continue
        for row, end in zip(rows, ends):
            q = str(r)
            if end is None:   # a blank count: no cell, as the form had none
                b, c = labels[row.industry, row.level]
                numbers = "".join(f'<c r="{col}{q}"{s}><v>{x}</v></c>' for col, x in
                                  zip("DEF", (row.new, row.cumulative, row.reviewing)) if x is not None)
                yield f'<row r="{q}"><c r="A{q}"{a}<c r="B{q}"{b}<c r="C{q}"{c}{numbers}</row>'
            else:
                yield f'<row r="{q}"><c{a}{end}'
            r += 1


def write_status_book(path: Path, period: str, units: list[str], received: list[Received],
                      counted: dict[str, Received], deadline_text: str, district: str,
                      carried: dict | None = None, interim: str | None = None,
                      author: str = "", register_note: str | None = None, tz=DEFAULT_TZ) -> Path:
    """Write the 报送情况 workbook for `period` ("2016-09") to `path`, atomically. `carried`: {unit:
    (month, rows)} of the units the district's form carries; `interim`: the note of a run before the
    month is over; `author`: the bureau, in the book's properties;
    `register_note`: the units the enterprise register could not reconcile; `tz`: the district's
    time zone, the times' (settings' district.timezone)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp):
        by_unit = defaultdict(list)
        for rec in received:
            by_unit[rec.unit].append(rec)
        layout = io.BytesIO()
        book = xlsxwriter.Workbook(layout, {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False})
        s = _formats(book)
        title = f"{district} {month_text(period)} {FORM_TITLE} 报送情况" + ("（中期）" if interim else "")
        notes = [interim] if interim else []
        if carried:
            notes.append(carried_note(carried))
        if register_note:
            notes.append(register_note)
        set_properties(book, title, author, company=author)
        strings = _Strings()
        sheets = [_overview(book, s, title, deadline_text, units, by_unit, counted, tz, carried or {}, notes),
                  _all_files(book, s, received, tz),
                  *_details(book, s, units, counted, strings)]
        book.close()
        parts = {f"xl/worksheets/sheet{i}.xml": (sheet.rows, f"{COLUMNS[sheet.columns - 1]}{max(sheet.row, 1)}")
                 for i, sheet in enumerate(sheets, 1)}
        finish(layout.getvalue(), tmp, parts, strings.xml, threads=True)
    with no_gc():
        return atomic(path, write)
