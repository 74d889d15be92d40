"""The parts a marked copy adds to the clerk's workbook (marked_book.py puts them in): the 问题清单
sheet, one line a finding, its message set as Chinese is set, a link to its cell; and a sheet's
comments with the VML drawing Excel shows them by."""
from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from pipeline.core.model import cell_index
from pipeline.core.ooxml import MAIN, REL
from pipeline.core.text import FORMULA_START, cell_text, display_width

LIST_SHEET = "问题清单"
# Columns (heading, width) in Chinese, the code last; a message set in lines of LIST_LINE display
# units in a column wider than that, so that no program wraps it again and none starts a line with 。
LIST_COLUMNS = (("序号", 5), ("级别", 6), ("问题", 24), ("单元格", 16), ("说明", 70), ("代码", 22))
LIST_LINE = 62
NO_LINE_START = frozenset("，。、；：？！）》」』”’%…—·,.;:?!)]}")
NO_LINE_END = frozenset("（《「『“‘([{")


@dataclass(frozen=True)
class Problem:
    """One line of the 问题清单, as receipts.py words it."""
    level: str             # 错误 / 提示
    error: bool
    title: str             # 合计不符
    cell: str | None       # `月度报表!C14`, as the finding names it
    message: str
    code: str = ""         # TOTAL_MISMATCH, in the sheet's last column (for the bureau's staff)


def set_lines(text: str, width: int = LIST_LINE) -> list[str]:
    """`text` in lines of at most `width` display units, broken as Chinese is set: a line never
    starts with closing punctuation (the mark stays on the line before, which runs over by it),
    never ends with an opening one, and a run of Latin letters and digits (B11, -1) stays whole."""
    lines = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for ch in paragraph:
            if used + display_width(ch) > width and line and ch not in NO_LINE_START:
                cut = _break_at(line, ch)
                lines.append(line[:cut].rstrip())
                line = line[cut:].lstrip()
                used = display_width(line)
                if not line and ch == " ":
                    continue
            line += ch
            used += display_width(ch)
        lines.append(line)
    return lines


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "._-%")


def _break_at(line: str, following: str) -> int:
    """Where `line` ends before `following`: at its end, or earlier, so that a run of Latin letters
    and digits or an opening mark goes down whole (never leaving the line empty)."""
    cut = len(line)
    if _latin(following):
        while cut > 0 and _latin(line[cut - 1]):
            cut -= 1
    while cut > 0 and line[cut - 1] in NO_LINE_END:
        cut -= 1
    return cut or len(line)


def quoted(sheet: str) -> str:
    """A sheet's name as a cell reference writes it: 'Sheet''s name'."""
    return "'" + sheet.replace("'", "''") + "'"


def list_sheet_xml(title: str, problems: list[Problem], places: list, style) -> str:
    """The sheet: `places` are (sheet as the copy names it, cell) or None for each problem, and
    `style(font="", fill=None, wrap=True, quote=False)` gives a cell format's number in the book."""
    def text(ref: str, value: str, **look) -> str:
        value = cell_text(value)
        s = style(quote=value.startswith(FORMULA_START), **look)
        space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
        return f'<c r="{ref}" s="{s}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'

    rows = [f'<row r="1">{text("A1", title, font="title", wrap=False)}</row>',
            '<row r="2">' + "".join(text(f"{col}2", head, font="bold", wrap=False)
                                    for col, (head, _) in zip("ABCDEF", LIST_COLUMNS)) + "</row>"]
    links = []
    for i, (p, where) in enumerate(zip(problems, places), 1):
        r, lines, link = i + 2, set_lines(p.message), ""
        if where:
            sheet, coord = where
            link = "link"
            links.append(f'<hyperlink ref="D{r}" location={quoteattr(quoted(sheet) + "!" + coord)}/>')
        rows.append(f'<row r="{r}" ht="{16 * len(lines)}" customHeight="1"><c r="A{r}" s="{style()}"><v>{i}</v></c>'
                    f'{text(f"B{r}", p.level, fill=p.error)}{text(f"C{r}", p.title)}'
                    f'{text(f"D{r}", p.cell or "（整个文件）", font=link)}{text(f"E{r}", chr(10).join(lines))}'
                    f'{text(f"F{r}", p.code)}</row>')
    widths = "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>' for c, (_, w) in enumerate(LIST_COLUMNS, 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            f'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><dimension ref="A1:F{len(problems) + 2}"/>'
            f'<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="2" topLeftCell="A3"'
            f' activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A3" sqref="A3"/>'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols>'
            f'<sheetData>{"".join(rows)}</sheetData><mergeCells count="1"><mergeCell ref="A1:F1"/></mergeCells>'
            f'{"<hyperlinks>" + "".join(links) + "</hyperlinks>" if links else ""}'
            f'<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
            f'<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')


def comments_xml(notes: list) -> bytes:
    """A sheet's comments part: `notes` are (cell, author, text, how many messages)."""
    authors = list(dict.fromkeys(author for _, author, _, _ in notes))
    comments = "".join(f'<comment ref="{coord}" authorId="{authors.index(author)}"><text><t xml:space="preserve">'
                       f'{escape(cell_text(text))}</t></text></comment>' for coord, author, text, _ in notes)
    who = "".join(f"<author>{escape(a)}</author>" for a in authors)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}">'
            f'<authors>{who}</authors><commentList>{comments}</commentList></comments>').encode()


def vml_xml(k: int, notes: list) -> bytes:
    """The VML drawing of the `k`th sheet with comments: a box for each note."""
    shapes = "".join(_vml_shape(1024 * k + i + 1, coord, text, n) for i, (coord, _, text, n) in enumerate(notes))
    return (f'<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
            f' xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
            f'<o:idmap v:ext="edit" data="{k}"/></o:shapelayout><v:shapetype id="_x0000_t202"'
            f' coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke'
            f' joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            f'{shapes}</xml>').encode()


def _vml_shape(shape_id: int, coord: str, text: str, messages: int) -> str:
    """A note's box, hidden until the mouse is over its cell: 320 px wide, tall enough for the text."""
    row, col = cell_index(coord)
    height = 40 + 18 * (len(text) // 22 + messages)
    return (f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
            f'margin-top:1.5pt;width:320px;height:{height}px;z-index:1;visibility:hidden" fillcolor="#ffffe1"'
            f' o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
            f'<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left">'
            f'</div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f'<x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>')
