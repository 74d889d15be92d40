"""The look of a clerk's .xls or .ods sheets: column widths, row heights, merged cells, and each
cell's borders, font, alignment and fill.

openpyxl opens only .xlsx, so the marked copy of an .xls or .ods is rebuilt from the values as read
(receipts.py); this gives it the clerk's layout back, so the clerk finds the form as sent. A file
that will not say (or says something odd) gives no look, and the copy keeps plain cells: the look
is a courtesy, the values and the marks are what matter.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field

from lxml import etree

MAX_ROWS, MAX_COLS = 2000, 200     # beyond this no sheet of a form has a look worth copying
MAX_XML = 50_000_000               # bytes of an .ods part read


@dataclass(frozen=True)
class Look:
    font: str | None = None
    size: float | None = None
    bold: bool = False
    horizontal: str | None = None          # openpyxl's names: left, center, right ...
    vertical: str | None = None
    wrap: bool = False
    borders: tuple = (None, None, None, None)   # left, right, top, bottom: openpyxl border styles
    fill: str | None = None                # RRGGBB


@dataclass
class SheetLayout:
    widths: dict = field(default_factory=dict)     # 0-based column -> width in characters (Excel's unit)
    heights: dict = field(default_factory=dict)    # 0-based row -> points
    merges: list = field(default_factory=list)     # (r1, c1, r2, c2), 0-based, inclusive
    looks: dict = field(default_factory=dict)      # (row, col) -> Look


def layout_of(path: str, name: str) -> dict[str, SheetLayout]:
    """{sheet name: layout} of the .xls or .ods at `path` (`name` as received); {} for other kinds."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return {}
    try:
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            return _xls(path)
        if head.startswith(b"PK") and name.lower().endswith(".ods"):
            return _ods(path)
    except Exception:  # noqa: BLE001 - xlrd and a clerk's XML may trip on anything: the copy stays plain
        return {}
    return {}


# ---------------------------------------------------------------- .xls (xlrd's formatting records)
XLS_LINES = {1: "thin", 2: "medium", 3: "dashed", 4: "dotted", 5: "thick", 6: "double", 7: "hair",
             8: "mediumDashed", 9: "dashDot", 10: "mediumDashDot", 11: "dashDotDot", 12: "mediumDashDotDot",
             13: "slantDashDot"}
XLS_HORIZONTAL = {1: "left", 2: "center", 3: "right", 4: "fill", 5: "justify", 6: "centerContinuous",
                  7: "distributed"}
XLS_VERTICAL = {0: "top", 1: "center", 2: "bottom", 3: "justify", 4: "distributed"}


def _xls(path: str) -> dict[str, SheetLayout]:
    import xlrd
    book = xlrd.open_workbook(path, formatting_info=True, on_demand=True)
    looks: dict[int, Look] = {}
    out = {}
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            layout = SheetLayout()
            default = sheet.defcolwidth if sheet.defcolwidth is not None else (sheet.standardwidth or 2340) / 256
            for col in range(min(max(sheet.ncols, 1), MAX_COLS)):
                info = sheet.colinfo_map.get(col)
                layout.widths[col] = info.width / 256 if info else default
            for row, info in sheet.rowinfo_map.items():
                if row < MAX_ROWS and info.height_mismatch:
                    layout.heights[row] = info.height / 20
            layout.merges = [(r1, c1, r2 - 1, c2 - 1) for r1, r2, c1, c2 in sheet.merged_cells]
            for row in range(min(sheet.nrows, MAX_ROWS)):
                for col in range(min(sheet.row_len(row), MAX_COLS)):
                    xf_index = sheet.cell_xf_index(row, col)
                    if xf_index not in looks:
                        looks[xf_index] = _xls_look(book, book.xf_list[xf_index])
                    if looks[xf_index] != Look():
                        layout.looks[(row, col)] = looks[xf_index]
            out[sheet.name] = layout
    finally:
        book.release_resources()
    return out


def _xls_look(book, xf) -> Look:
    font = book.font_list[xf.font_index]
    border, align, background = xf.border, xf.alignment, xf.background
    fill = None
    if background.fill_pattern == 1:
        rgb = book.colour_map.get(background.pattern_colour_index)
        if rgb and rgb != (255, 255, 255):
            fill = "%02X%02X%02X" % rgb
    return Look(font=font.name or None, size=font.height / 20 if font.height else None, bold=bool(font.bold),
                horizontal=XLS_HORIZONTAL.get(align.hor_align), vertical=XLS_VERTICAL.get(align.vert_align),
                wrap=bool(align.text_wrapped),
                borders=tuple(XLS_LINES.get(s) for s in (border.left_line_style, border.right_line_style,
                                                         border.top_line_style, border.bottom_line_style)),
                fill=fill)


# ---------------------------------------------------------------- .ods (content.xml and styles.xml)
NS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
      "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
      "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
ODS_HORIZONTAL = {"center": "center", "end": "right", "right": "right", "start": "left", "left": "left",
                  "justify": "justify"}
ODS_VERTICAL = {"top": "top", "middle": "center", "bottom": "bottom"}
LENGTH = re.compile(r"^\s*([0-9.]+)\s*(cm|mm|in|pt|pc|px)?\s*$")
POINTS = {"cm": 72 / 2.54, "mm": 72 / 25.4, "in": 72.0, "pt": 1.0, "pc": 12.0, "px": 0.75, None: 1.0}


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


def _points(text: str | None) -> float | None:
    m = LENGTH.match(text or "")
    return float(m[1]) * POINTS[m[2]] if m else None


def _part(z: zipfile.ZipFile, name: str):
    try:
        info = z.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_XML:
        return None
    with z.open(info) as f:
        return etree.fromstring(f.read(MAX_XML + 1), PARSER)


def _ods(path: str) -> dict[str, SheetLayout]:
    with zipfile.ZipFile(path) as z:
        content, styles = _part(z, "content.xml"), _part(z, "styles.xml")
    if content is None:
        return {}
    defined = {}
    for root in (styles, content):
        if root is not None:
            for s in root.iter(_q("style", "style")):
                defined[(s.get(_q("style", "family")), s.get(_q("style", "name")))] = s
    cell_looks: dict[str | None, Look] = {}

    def look(name: str | None) -> Look:
        if name not in cell_looks:
            cell_looks[name] = _ods_look(defined, name)
        return cell_looks[name]

    out = {}
    for table in content.iter(_q("table", "table")):
        layout = SheetLayout()
        defaults = _ods_columns(table, defined, layout)
        row = 0
        for tr in table.iter(_q("table", "table-row")):
            repeat = int(tr.get(_q("table", "number-rows-repeated"), "1"))
            props = _props(defined, "table-row", tr.get(_q("table", "style-name")), "table-row-properties")
            height = _points(props.get(_q("style", "row-height")))
            custom = props.get(_q("style", "use-optimal-row-height")) == "false"
            for r in range(row, min(row + min(repeat, 50), MAX_ROWS)):   # a long repeat is the empty rest
                if height and custom:
                    layout.heights[r] = height
                _ods_row(tr, r, defaults, look, layout)
            row += repeat
            if row >= MAX_ROWS:
                break
        out[table.get(_q("table", "name"))] = layout
    return out


def _ods_columns(table, defined: dict, layout: SheetLayout) -> list:
    """The table's column widths into `layout`; each column's default cell style."""
    defaults, col = [], 0
    for column in table.iter(_q("table", "table-column")):
        repeat = int(column.get(_q("table", "number-columns-repeated"), "1"))
        props = _props(defined, "table-column", column.get(_q("table", "style-name")), "table-column-properties")
        width = _points(props.get(_q("style", "column-width")))
        for c in range(col, min(col + repeat, MAX_COLS)):
            if width:
                layout.widths[c] = max(1.0, (width / 0.75 - 5) / 7)   # points -> pixels -> characters
            defaults.append(column.get(_q("table", "default-cell-style-name")))
        col += repeat
        if col >= MAX_COLS:
            break
    return defaults


def _ods_row(tr, r: int, defaults: list, look, layout: SheetLayout) -> None:
    c = 0
    for cell in tr:
        if cell.tag not in (_q("table", "table-cell"), _q("table", "covered-table-cell")):
            continue
        repeat = int(cell.get(_q("table", "number-columns-repeated"), "1"))
        name = cell.get(_q("table", "style-name"))
        for k in range(c, min(c + min(repeat, MAX_COLS), MAX_COLS)):
            cell_look = look(name or (defaults[k] if k < len(defaults) else None))
            if cell_look != Look():
                layout.looks[(r, k)] = cell_look
        rows, cols = (int(cell.get(_q("table", f"number-{what}-spanned"), "1")) for what in ("rows", "columns"))
        if rows > 1 or cols > 1:
            layout.merges.append((r, c, r + rows - 1, c + cols - 1))
        c += repeat
        if c >= MAX_COLS:
            break


def _props(defined: dict, family: str, name: str | None, kind: str) -> dict:
    """The `kind` properties of a style, its parents' first (a child's own win)."""
    chain, seen = [], set()
    while name and (family, name) in defined and name not in seen:
        seen.add(name)
        chain.append(defined[(family, name)])
        name = defined[(family, name)].get(_q("style", "parent-style-name"))
    merged: dict = {}
    for style in reversed(chain):
        for props in style.iter(_q("style", kind)):
            merged.update(props.attrib)
    return merged


def _ods_border(text: str | None) -> str | None:
    """"0.06pt solid #000000" -> thin; none, hidden or nothing -> None."""
    if not text or text.strip() in ("none", "hidden"):
        return None
    words = text.split()
    if "double" in words:
        return "double"
    width = next((p for p in map(_points, words) if p is not None), 0.75)
    kind = "dashed" if "dashed" in words else "dotted" if "dotted" in words else None
    if kind:
        return kind if width < 1.2 else "mediumDashed"
    return "thin" if width < 1.2 else "medium" if width < 2.2 else "thick"


def _ods_look(defined: dict, name: str | None) -> Look:
    cell = _props(defined, "table-cell", name, "table-cell-properties")
    para = _props(defined, "table-cell", name, "paragraph-properties")
    text = _props(defined, "table-cell", name, "text-properties")
    every = cell.get(_q("fo", "border"))
    borders = tuple(_ods_border(cell.get(_q("fo", f"border-{side}"), every)) for side in ("left", "right", "top", "bottom"))
    background = cell.get(_q("fo", "background-color"), "")
    fill = background[1:].upper() if re.fullmatch(r"#[0-9a-fA-F]{6}", background) and background.lower() != "#ffffff" else None
    return Look(font=text.get(_q("style", "font-name")), size=_points(text.get(_q("fo", "font-size"))),
                bold=text.get(_q("fo", "font-weight")) in ("bold", "700", "800", "900"),
                horizontal=ODS_HORIZONTAL.get(para.get(_q("fo", "text-align"), "")),
                vertical=ODS_VERTICAL.get(cell.get(_q("style", "vertical-align"), "")),
                wrap=cell.get(_q("fo", "wrap-option")) == "wrap", borders=borders, fill=fill)
