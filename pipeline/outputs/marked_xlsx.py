"""The marked copy of a clerk's .xlsx, made by editing the workbook's own XML: ~3 ms a copy, where
loading and saving it with openpyxl takes ~25-40 ms (a country sends a thousand such files a month).

It takes the workbooks clerks send: ordinary worksheets, styles, shared strings, merged cells,
formulas, printer settings. Anything else (macros, external links, drawings, comments of the clerk's
own, parts it does not know) it declines with None, and receipts.py makes that copy with openpyxl.

What the clerk sees is what the openpyxl copy shows: the workbook with every formula replaced by its
stored result (nothing from the clerk's file is evaluated again), each problem cell filled red
(error) or yellow (warning) with the messages as a comment, and a 问题清单 sheet, active, listing
every finding with a link to its cell. The parts it does not change are copied byte for byte.
"""
from __future__ import annotations

import copy
import functools
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from pipeline.core.model import cell_index
from pipeline.core.ooxml import inflated, plain_directory
from pipeline.core.text import FORMULA_START, cell_text, display_width, sheet_title

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
BOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
LIST_SHEET = "问题清单"
AUTHOR = "区安监局"
ERROR_RGB, WARNING_RGB, LINK_RGB = "FFFF6666", "FFFFFF00", "FF0563C1"
# The parts of a workbook this path knows; any other part and the copy is left to openpyxl.
KNOWN_PART = re.compile(r"\[Content_Types\]\.xml|_rels/\.rels|docProps/\w+\.xml|xl/(workbook\.xml|"
                        r"_rels/workbook\.xml\.rels|styles\.xml|sharedStrings\.xml|calcChain\.xml|theme/theme\d+\.xml|"
                        r"worksheets/sheet\d+\.xml|worksheets/_rels/sheet\d+\.xml\.rels|printerSettings/\w+\.bin)")
# What follows <legacyDrawing> in a worksheet (ECMA-376 CT_Worksheet order).
AFTER_LEGACY = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                "tableParts", "extLst"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class Problem:
    """One line of the 问题清单, as receipts.py words it."""
    level: str             # 错误 / 提示
    error: bool
    title: str             # 合计不符
    cell: str | None       # `月度报表!C14`, as the finding names it
    message: str
    code: str = ""         # TOTAL_MISMATCH, in the sheet's last column (for the bureau's staff)


# The 问题清单: columns (heading, width) in Chinese, the code last; a message set in lines of
# LIST_LINE display units (a CJK character two) in a column wider than that, so that no program
# wraps it again and none starts a line with 。 or ，.
LIST_COLUMNS = (("序号", 5), ("级别", 6), ("问题", 24), ("单元格", 16), ("说明", 70), ("代码", 22))
LIST_LINE = 62
NO_LINE_START = frozenset("，。、；：？！）》」』”’%…—·,.;:?!)]}")
NO_LINE_END = frozenset("（《「『“‘([{")


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


class _Declined(Exception):
    """Not a workbook this path handles: openpyxl makes the copy."""


def _m(tag: str) -> str:
    return f"{{{MAIN}}}{tag}"


def _xml(data: bytes):
    if b"<!DOCTYPE" in data or b"<!--" in data:   # no DTD (entities) nor comments in the parts Excel writes
        raise _Declined("DOCTYPE or comment")
    return etree.fromstring(data, PARSER)


def _bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rels(data: bytes | None) -> dict[str, tuple[str, str]]:
    """A .rels part: Id -> (type, target)."""
    if data is None:
        return {}
    out = {}
    for rel in _xml(data).iter(f"{{{PKG}}}Relationship"):
        if rel.get("TargetMode") == "External" and not rel.get("Type", "").endswith("/hyperlink"):
            raise _Declined("external link")
        out[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], rel.get("Target", ""))
    return out


def _part(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def marked_xlsx(archived: str, title: str, problems: list[Problem]) -> bytes | None:
    """The marked copy of the .xlsx at `archived`, or None if this path declines the workbook."""
    try:
        with open(archived, "rb") as f:
            data = f.read()
        members = plain_directory(data)   # read as sniff reads it: a fifth of zipfile's time for a form's parts
        if members is None:               # a directory out of the ordinary: zipfile reads it
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return _marked(z.infolist(), z.read, title, problems)
        return _marked(members, functools.partial(inflated, data), title, problems)
    except (_Declined, zipfile.BadZipFile, zlib.error, etree.XMLSyntaxError, KeyError, ValueError):
        # KeyError: a part the package names is missing; ValueError: a row or cell reference that is not one
        return None


def _marked(infos: list, read, title: str, problems: list[Problem]) -> bytes | None:
    infos = [i for i in infos if not i.is_dir()]
    if not all(KNOWN_PART.fullmatch(i.filename) and i.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
               and not i.flag_bits & 1 for i in infos):      # known parts, plainly zipped, not encrypted
        return None
    return _Book({i.filename: read(i) for i in infos}).mark(title, problems)


class _Book:
    """One workbook's parts, the few it changes parsed (lxml), the rest kept as bytes."""

    def __init__(self, parts: dict[str, bytes]):
        self.parts = parts
        self.types = _xml(parts["[Content_Types].xml"])
        book_types = [o for o in self.types.iter(f"{{{TYPES}}}Override") if o.get("PartName") == "/xl/workbook.xml"]
        if [o.get("ContentType") for o in book_types] != [BOOK_TYPE]:
            raise _Declined("not a plain .xlsx workbook")
        self.book = _xml(parts["xl/workbook.xml"])
        if self.book.find(_m("sheets")) is None:
            raise _Declined("a workbook without sheets")
        self.book_rels = _xml(parts["xl/_rels/workbook.xml.rels"])
        rels = _rels(parts["xl/_rels/workbook.xml.rels"])
        self.sheets = {}                                  # name -> part, worksheets only
        for sheet in self.book.iter(_m("sheet")):
            kind, target = rels[sheet.get(f"{{{REL}}}id")]
            if kind == "worksheet":
                self.sheets[sheet.get("name")] = _part("xl", target)
        if LIST_SHEET.casefold() in {s.get("name", "").casefold() for s in self.book.iter(_m("sheet"))}:
            raise _Declined("the workbook has a 问题清单 already")
        self.titles = self._valid_titles()                # name as the clerk's file has it -> name in the copy
        styles = [t for k, t in rels.values() if k == "styles"]
        if len(styles) != 1:
            raise _Declined("no styles")
        self.styles = _xml(parts[_part("xl", styles[0])])
        self.trees = {}                                   # worksheet part -> parsed, for those changed
        self.fills: dict[bool, int] = {}
        self.fonts: dict[str, int] = {}
        self.xfs: dict[tuple, int] = {}

    def _valid_titles(self) -> dict[str, str]:
        """Sheet names Excel refuses (`9月:报表`, over 31 characters, `History`: written by WPS,
        LibreOffice or a program) renamed in the copy, so that Excel opens it; the defined names
        (print areas) that refer to them follow. Findings keep the names as the file has them."""
        names = [s.get("name", "") for s in self.book.iter(_m("sheet"))]
        taken = {LIST_SHEET.casefold()}
        titles = {name: sheet_title(name, taken) for name in names}
        renamed = {old: new for old, new in titles.items() if old != new}
        if not renamed:
            return titles
        for sheet in self.book.iter(_m("sheet")):
            sheet.set("name", titles[sheet.get("name", "")])
        for defined in self.book.iter(_m("definedName")):
            text = defined.text or ""
            for old, new in renamed.items():
                text = text.replace(_quoted(old) + "!", _quoted(new) + "!").replace(old + "!", _quoted(new) + "!")
            defined.text = text
        return titles

    # --- styles ------------------------------------------------------------------------------------

    def quoted_style(self, style: int) -> int:
        """The cell format `style` with Excel's quote prefix: text that looks like a formula (=, +, -, @)
        stays text when the clerk edits the cell."""
        key = ("quote", style)
        if key not in self.xfs:
            xfs = self.styles.find(_m("cellXfs"))
            if xfs is None or style >= len(xfs):
                raise _Declined("cell format out of range")
            if xfs[style].get("quotePrefix") in ("1", "true"):
                self.xfs[key] = style
            else:
                xf = copy.deepcopy(xfs[style])
                xf.set("quotePrefix", "1")
                self.xfs[key] = self._add("cellXfs", xf)
        return self.xfs[key]

    def quote_texts(self) -> None:
        """Every text cell of the clerk's sheets that starts like a formula given the quote prefix (a
        formula's text result made plain text by `values_only`, or a shared string). Shared strings
        are looked at only when one starts so: nearly never."""
        strings = self.parts.get("xl/sharedStrings.xml", b"")
        starts = tuple(ch.encode() for ch in FORMULA_START)
        looks = set()
        if re.search(rb"<t(?:\s[^>]*)?>(?:" + b"|".join(re.escape(x) for x in starts) + rb")", strings):
            for k, si in enumerate(_xml(strings).iter(_m("si"))):
                if "".join(t.text or "" for t in si.iter(_m("t"))).startswith(FORMULA_START):
                    looks.add(str(k))
        for part in set(self.sheets.values()):
            if not looks and part not in self.trees:
                continue
            for cell in self.tree(part).iter(_m("c")):
                kind = cell.get("t")
                if kind == "s" and looks:
                    value = cell.find(_m("v"))
                    text_like = value is not None and (value.text or "").strip() in looks
                elif kind == "inlineStr":
                    text_like = "".join(t.text or "" for t in cell.iter(_m("t"))).startswith(FORMULA_START)
                else:
                    continue
                if text_like:
                    cell.set("s", str(self.quoted_style(int(cell.get("s", "0")))))


    def _add(self, group: str, element) -> int:
        parent = self.styles.find(_m(group))
        if parent is None:
            raise _Declined(f"styles without {group}")
        parent.append(element)
        parent.set("count", str(len(parent)))
        return len(parent) - 1

    def fill(self, error: bool) -> int:
        if error not in self.fills:
            rgb = ERROR_RGB if error else WARNING_RGB
            self.fills[error] = self._add("fills", etree.fromstring(
                f'<fill xmlns="{MAIN}"><patternFill patternType="solid"><fgColor rgb="{rgb}"/></patternFill></fill>'))
        return self.fills[error]

    def marked_style(self, style: int, error: bool) -> int:
        """The clerk's cell format `style` with the red or yellow fill."""
        key = ("mark", style, error)
        if key not in self.xfs:
            xfs = self.styles.find(_m("cellXfs"))
            if xfs is None or style >= len(xfs):
                raise _Declined("cell format out of range")
            xf = copy.deepcopy(xfs[style])
            xf.set("fillId", str(self.fill(error)))
            xf.set("applyFill", "1")
            self.xfs[key] = self._add("cellXfs", xf)
        return self.xfs[key]

    def list_style(self, font: str = "", fill: bool | None = None, wrap: bool = True, quote: bool = False) -> int:
        """A format of the 问题清单: font "" (the book's), "title", "bold" or "link"."""
        key = (font, fill, wrap, quote)
        if key not in self.xfs:
            if font and font not in self.fonts:
                self.fonts[font] = self._add("fonts", self._font(font))
            fill_id = 0 if fill is None else self.fill(fill)
            quoted = ' quotePrefix="1"' if quote else ""    # Excel keeps "=…" text text when it is edited
            align = '<alignment vertical="top" wrapText="1"/>' if wrap else ""
            self.xfs[key] = self._add("cellXfs", etree.fromstring(
                f'<xf xmlns="{MAIN}" numFmtId="0" fontId="{self.fonts.get(font, 0)}" fillId="{fill_id}" borderId="0"'
                f' xfId="0" applyFont="1" applyFill="1" applyAlignment="1"{quoted}>{align}</xf>'))
        return self.xfs[key]

    def _font(self, kind: str):
        """The book's first font (its default), made bold for "title" (size 12) and "bold", or blue and
        underlined for "link"."""
        fonts = self.styles.find(_m("fonts"))
        if fonts is None or not len(fonts):
            raise _Declined("styles without fonts")
        size, name = fonts[0].find(_m("sz")), fonts[0].find(_m("name"))
        size = "12" if kind == "title" else (size.get("val", "11") if size is not None else "11")
        look = f'<u/><sz val="{size}"/><color rgb="{LINK_RGB}"/>' if kind == "link" else f'<b/><sz val="{size}"/>'
        named = f"<name val={quoteattr(name.get('val', ''))}/>" if name is not None else ""
        return etree.fromstring(f'<font xmlns="{MAIN}">{look}{named}</font>')

    # --- worksheets --------------------------------------------------------------------------------

    def tree(self, part: str):
        if part not in self.trees:
            self.trees[part] = _xml(self.parts[part])
        return self.trees[part]

    def target(self, ref: str | None) -> tuple[str, str] | None:
        """(sheet name, cell) a finding points at ("Sheet!C14"), the top-left one of a merged range."""
        if not ref or "!" not in ref:
            return None
        sheet, _, coord = ref.rpartition("!")
        if sheet.startswith("'") and sheet.endswith("'"):
            sheet = sheet[1:-1].replace("''", "'")
        if sheet not in self.sheets or not re.fullmatch(r"[A-Za-z]{1,3}[0-9]{1,7}", coord):
            return None
        row, col = cell_index(coord.upper())
        for merged in self.tree(self.sheets[sheet]).iter(_m("mergeCell")):
            first, _, last = merged.get("ref", "").partition(":")
            (r0, c0), (r1, c1) = cell_index(first), cell_index(last or first)
            if r0 <= row <= r1 and c0 <= col <= c1:
                return sheet, first
        return sheet, coord.upper()

    def cell(self, sheet: str, coord: str):
        """The <c> element at coord, made (with its row) if the sheet has none there."""
        data = self.tree(self.sheets[sheet]).find(_m("sheetData"))
        if data is None:
            raise _Declined("worksheet without sheetData")
        row_n, col = cell_index(coord)
        rows = list(data.iter(_m("row")))
        if any(r.get("r") is None for r in rows):
            raise _Declined("rows without numbers")
        row = next((r for r in rows if int(r.get("r")) == row_n + 1), None)
        if row is None:
            row = etree.Element(_m("row"), r=str(row_n + 1))
            later = [r for r in rows if int(r.get("r")) > row_n + 1]
            later[0].addprevious(row) if later else data.append(row)
        cells = list(row.iter(_m("c")))
        if any(c.get("r") is None for c in cells):
            raise _Declined("cells without references")
        found = next((c for c in cells if c.get("r") == coord), None)
        if found is None:
            found = etree.Element(_m("c"), r=coord)
            later = [c for c in cells if cell_index(c.get("r"))[1] > col]
            later[0].addprevious(found) if later else row.append(found)
        return found

    def values_only(self, part: str) -> None:
        """Formulas out, stored results kept; and no sheet tab selected but the 问题清单."""
        data = self.parts[part]
        if b"<f" not in data and b"tabSelected" not in data and part not in self.trees:
            return
        root = self.tree(part)
        for formula in list(root.iter(_m("f"))):
            cell = formula.getparent()
            cell.remove(formula)
            value = cell.find(_m("v"))
            if value is None or not value.text:         # never calculated: an empty cell, as openpyxl reads it
                if value is not None:
                    cell.remove(value)
                cell.attrib.pop("t", None)
            elif cell.get("t") == "str":                # a formula's text result: plain text now
                cell.remove(value)
                cell.set("t", "inlineStr")
                etree.SubElement(etree.SubElement(cell, _m("is")), _m("t")).text = value.text
        for view in root.iter(_m("sheetView")):
            view.attrib.pop("tabSelected", None)

    # --- the copy ----------------------------------------------------------------------------------

    def mark(self, title: str, problems: list[Problem]) -> bytes:
        by_cell: dict[tuple[str, str], list[Problem]] = {}
        targets = [self.target(p.cell) for p in problems]
        for p, where in zip(problems, targets):
            if where:
                by_cell.setdefault(where, []).append(p)
        new: dict[str, bytes] = {}
        for k, sheet in enumerate(dict.fromkeys(s for s, _ in by_cell), 1):
            marks = [(coord, found) for (s, coord), found in by_cell.items() if s == sheet]
            for coord, found in marks:
                cell = self.cell(sheet, coord)
                cell.set("s", str(self.marked_style(int(cell.get("s", "0")), any(p.error for p in found))))
            new.update(self._comments(self.sheets[sheet], k, marks))
        for part in set(self.sheets.values()):
            self.values_only(part)
        self.quote_texts()
        new.update(self._list_sheet(title, problems, targets))
        self._drop("xl/calcChain.xml")
        changed = {part: _bytes(root) for part, root in self.trees.items()}
        changed.update({"[Content_Types].xml": _bytes(self.types), "xl/workbook.xml": _bytes(self.book),
                        "xl/_rels/workbook.xml.rels": _bytes(self.book_rels), "xl/styles.xml": _bytes(self.styles)})
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, data in [*((n, changed.get(n, d)) for n, d in self.parts.items()), *new.items()]:
                # Parts of a few KB are stored: deflating a dozen of them would take longer than the rest
                # of the copy together, to save ~10 KB.
                z.writestr(name, data, zipfile.ZIP_DEFLATED if len(data) > 65536 else zipfile.ZIP_STORED)
        return out.getvalue()

    def _override(self, part: str, kind: str) -> None:
        etree.SubElement(self.types, f"{{{TYPES}}}Override", PartName="/" + part, ContentType=kind)

    def _drop(self, part: str) -> None:
        """calcChain lists the formula cells; with no formulas left Excel would call the file damaged."""
        if self.parts.pop(part, None) is None:
            return
        for o in list(self.types.iter(f"{{{TYPES}}}Override")):
            if o.get("PartName") == "/" + part:
                self.types.remove(o)
        for rel in list(self.book_rels):
            if _part("xl", rel.get("Target", "")) == part:
                self.book_rels.remove(rel)

    def _comments(self, part: str, k: int, marks: list) -> dict[str, bytes]:
        """The comments of one sheet: the comments part, its VML drawing (how Excel shows them), the
        relationships, and <legacyDrawing> in the sheet."""
        sheet = self.tree(part)
        if sheet.find(_m("legacyDrawing")) is not None:
            raise _Declined("the sheet has a drawing of its own")
        comments = "".join(
            f'<comment ref="{coord}" authorId="0"><text><t xml:space="preserve">'
            f'{escape(cell_text(chr(10).join(p.message for p in found)))}</t></text></comment>' for coord, found in marks)
        shapes = "".join(_vml_shape(1024 * k + i + 1, coord, found) for i, (coord, found) in enumerate(marks))
        names = {"comments": f"xl/comments{k}.xml", "vml": f"xl/drawings/vmlDrawing{k}.vml"}
        if any(name in self.parts for name in names.values()):
            raise _Declined("part names taken")
        rels_part = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
        rels = (_xml(self.parts[rels_part]) if rels_part in self.parts
                else etree.Element(f"{{{PKG}}}Relationships", nsmap={None: PKG}))
        _rels(self.parts.get(rels_part))            # declines external links other than hyperlinks
        for rid, kind, name in (("rIdMarkComments", "comments", names["comments"]),
                                ("rIdMarkVml", "vmlDrawing", names["vml"])):
            etree.SubElement(rels, f"{{{PKG}}}Relationship", Id=rid, Type=f"{REL}/{kind}",
                             Target="../" + posixpath.relpath(name, "xl"))
        self.parts[rels_part] = _bytes(rels)
        legacy = etree.Element(_m("legacyDrawing"))
        legacy.set(f"{{{REL}}}id", "rIdMarkVml")
        later = [e for e in sheet if isinstance(e.tag, str) and etree.QName(e).localname in AFTER_LEGACY]
        later[0].addprevious(legacy) if later else sheet.append(legacy)
        self._override(names["comments"], COMMENTS_TYPE)
        if not any(d.get("Extension", "").lower() == "vml" for d in self.types.iter(f"{{{TYPES}}}Default")):
            self.types.insert(0, etree.Element(f"{{{TYPES}}}Default", Extension="vml", ContentType=VML_TYPE))
        return {names["comments"]: (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}">'
                                    f'<authors><author>{AUTHOR}</author></authors><commentList>{comments}</commentList>'
                                    f'</comments>').encode(),
                names["vml"]: (f'<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
                               f' xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
                               f'<o:idmap v:ext="edit" data="{k}"/></o:shapelayout><v:shapetype id="_x0000_t202"'
                               f' coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke'
                               f' joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
                               f'{shapes}</xml>').encode()}

    def _list_sheet(self, title: str, problems: list[Problem], targets: list) -> dict[str, bytes]:
        """The 问题清单 sheet, after the clerk's sheets and active."""
        def text(ref: str, value: str, **style) -> str:
            value = cell_text(value)
            s = self.list_style(quote=value.startswith(FORMULA_START), **style)
            space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
            return f'<c r="{ref}" s="{s}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'

        rows = [f'<row r="1">{text("A1", title, font="title", wrap=False)}</row>',
                '<row r="2">' + "".join(text(f"{col}2", head, font="bold", wrap=False)
                                        for col, (head, _) in zip("ABCDEF", LIST_COLUMNS)) + "</row>"]
        links = []
        for i, (p, where) in enumerate(zip(problems, targets), 1):
            r = i + 2
            lines = set_lines(p.message)
            link = ""
            if where:
                sheet, coord = where
                link = "link"
                links.append(f'<hyperlink ref="D{r}" location={quoteattr(_quoted(self.titles[sheet]) + "!" + coord)}/>')
            rows.append(f'<row r="{r}" ht="{16 * len(lines)}" customHeight="1"><c r="A{r}" s="{self.list_style()}"><v>{i}</v></c>'
                        f'{text(f"B{r}", p.level, fill=p.error)}{text(f"C{r}", p.title)}'
                        f'{text(f"D{r}", p.cell or "（整个文件）", font=link)}{text(f"E{r}", chr(10).join(lines))}'
                        f'{text(f"F{r}", p.code)}</row>')
        widths = "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>'
                         for c, (_, w) in enumerate(LIST_COLUMNS, 1))
        xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
               f'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><dimension ref="A1:F{len(problems) + 2}"/>'
               f'<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="2" topLeftCell="A3"'
               f' activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A3" sqref="A3"/>'
               f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols>'
               f'<sheetData>{"".join(rows)}</sheetData><mergeCells count="1"><mergeCell ref="A1:F1"/></mergeCells>'
               f'{"<hyperlinks>" + "".join(links) + "</hyperlinks>" if links else ""}'
               f'<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
               f'<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')
        numbers = [int(n) for n in re.findall(r"xl/worksheets/sheet(\d+)\.xml", " ".join(self.parts))]
        part = f"xl/worksheets/sheet{max(numbers, default=0) + 1}.xml"
        sheets = self.book.find(_m("sheets"))
        ids = [int(s.get("sheetId", "0")) for s in sheets]
        entry = etree.SubElement(sheets, _m("sheet"), name=LIST_SHEET, sheetId=str(max(ids, default=0) + 1))
        entry.set(f"{{{REL}}}id", "rIdMarkList")
        etree.SubElement(self.book_rels, f"{{{PKG}}}Relationship", Id="rIdMarkList", Type=f"{REL}/worksheet",
                         Target=posixpath.relpath(part, "xl"))
        views = self.book.find(_m("bookViews"))
        if views is None:
            views = etree.Element(_m("bookViews"))
            sheets.addprevious(views)
        view = views.find(_m("workbookView"))
        if view is None:
            view = etree.SubElement(views, _m("workbookView"))
        view.set("activeTab", str(len(sheets) - 1))
        view.attrib.pop("firstSheet", None)
        self._override(part, SHEET_TYPE)
        return {part: xml.encode()}


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _vml_shape(shape_id: int, coord: str, found: list[Problem]) -> str:
    """A note's box, hidden until the mouse is over its cell: 320 px wide, tall enough for the text."""
    row, col = cell_index(coord)
    text = "\n".join(p.message for p in found)
    height = 40 + 18 * (len(text) // 22 + len(found))
    return (f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
            f'margin-top:1.5pt;width:320px;height:{height}px;z-index:1;visibility:hidden" fillcolor="#ffffe1"'
            f' o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
            f'<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left">'
            f'</div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f'<x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>')
