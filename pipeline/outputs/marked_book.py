"""The marked copy made by editing the workbook's own XML (lxml): ~3 ms a copy, where loading and
saving it with openpyxl takes ~25-40 ms (a country sends a thousand such files a month). It takes the
parts clerks' programs write (worksheets, styles, shared strings, merges, formulas, printer settings,
pictures, charts, tables) and declines anything else with None (marked.py then gives it the workbook
as openpyxl saves it, or rebuilt from the values read).

The copy: every formula replaced by its stored result (nothing is evaluated again), each problem
cell filled red (error) or yellow (warning) with the messages as a comment, and a 问题清单 sheet,
active, listing every finding with a link to its cell. Parts it does not change are copied as they are.
"""
from __future__ import annotations

import copy
import functools
import io
import posixpath
import re
import zipfile
import zlib
from xml.sax.saxutils import quoteattr

from lxml import etree

from pipeline.core.model import cell_index
from pipeline.core.ooxml import MAIN, PKG, REL, SPREADSHEET, TYPES, inflated, part_of, plain_directory, relationships
from pipeline.core.text import FORMULA_START, sheet_title
from pipeline.outputs.marked_parts import LIST_SHEET, Problem, comments_xml, list_sheet_xml, quoted, vml_xml

SHEET_TYPE, BOOK_TYPE, COMMENTS_TYPE = (f"{SPREADSHEET}.{kind}+xml" for kind in ("worksheet", "sheet.main", "comments"))
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
AUTHOR = "区安监局"
ERROR_RGB, WARNING_RGB, LINK_RGB = "FFFF6666", "FFFFFF00", "FF0563C1"
# The parts of a workbook this path knows; with any other part it declines.
KNOWN_PART = re.compile(r"\[Content_Types\]\.xml|_rels/\.rels|docProps/\w+\.xml|xl/(workbook\.xml|"
                        r"_rels/workbook\.xml\.rels|styles\.xml|sharedStrings\.xml|calcChain\.xml|theme/theme\d+\.xml|"
                        r"worksheets/sheet\d+\.xml|worksheets/_rels/sheet\d+\.xml\.rels|printerSettings/\w+\.bin|"
                        r"drawings/drawing\d+\.xml|drawings/_rels/drawing\d+\.xml\.rels|media/\w+\.(png|jpe?g|gif|emf|wmf)|"
                        r"charts/(chart|style|colors)\d+\.xml|charts/_rels/chart\d+\.xml\.rels|tables/table\d+\.xml)")
# What follows <legacyDrawing> in a worksheet (ECMA-376 CT_Worksheet order).
AFTER_LEGACY = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                "tableParts", "extLst"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class _Declined(Exception):
    """Not a workbook this path handles as it is (marked.py makes it one)."""


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
    out: dict = {}
    if data is None:
        return out
    _xml(data)   # declines a DTD or a comment
    for rel in relationships(data):
        if rel.get("TargetMode") == "External" and not rel.get("Type", "").endswith("/hyperlink"):
            raise _Declined("external link")
        out[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], rel.get("Target", ""))
    return out


def mark(data: bytes, title: str, problems: list[Problem], aliases: dict | None = None,
         comments: dict | None = None) -> bytes | None:
    """The marked copy of the .xlsx whose bytes are `data`, or None if this path declines it.
    `aliases`: a finding's sheet name -> the sheet's name in `data` (a workbook rebuilt under other
    names); `comments`: {sheet: [(cell, author, text)]} the clerk's own, written beside ours."""
    try:
        members = plain_directory(data)   # read as sniff reads it: a fifth of zipfile's time for a form's parts
        if members is None:               # a directory out of the ordinary: zipfile reads it
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return _marked(z.infolist(), z.read, title, problems, aliases, comments)
        return _marked(members, functools.partial(inflated, data), title, problems, aliases, comments)
    except (_Declined, zipfile.BadZipFile, zlib.error, etree.XMLSyntaxError, KeyError, ValueError):
        # KeyError: a part the package names is missing; ValueError: a row or cell reference that is not one
        return None


def _marked(infos: list, read, title: str, problems: list[Problem], aliases, comments) -> bytes | None:
    infos = [i for i in infos if not i.is_dir()]
    if not all(KNOWN_PART.fullmatch(i.filename) and i.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
               and not i.flag_bits & 1 for i in infos):      # known parts, plainly zipped, not encrypted
        return None
    return _Book({i.filename: read(i) for i in infos}, aliases).mark(title, problems, comments or {})


class _Book:
    """One workbook's parts, the few it changes parsed (lxml), the rest kept as bytes."""

    def __init__(self, parts: dict[str, bytes], aliases: dict | None = None):
        self.parts, self.aliases = parts, aliases or {}
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
                self.sheets[sheet.get("name")] = part_of("xl", target)
        if LIST_SHEET.casefold() in {s.get("name", "").casefold() for s in self.book.iter(_m("sheet"))}:
            raise _Declined("the workbook has a 问题清单 already")
        self.titles = self._valid_titles()                # name as the clerk's file has it -> name in the copy
        styles = [t for k, t in rels.values() if k == "styles"]
        if len(styles) != 1:
            raise _Declined("no styles")
        self.styles = _xml(parts[part_of("xl", styles[0])])
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
                text = text.replace(quoted(old) + "!", quoted(new) + "!").replace(old + "!", quoted(new) + "!")
            defined.text = text
        return titles

    def derived(self, style: int, **changes: str) -> int:
        """The clerk's cell format `style` with `changes` to its attributes (made once): with Excel's
        quote prefix (text that looks like a formula stays text when edited), or with a fill."""
        key = (style, *sorted(changes.items()))
        if key not in self.xfs:
            xfs = self.styles.find(_m("cellXfs"))
            if xfs is None or style >= len(xfs):
                raise _Declined("cell format out of range")
            xf = copy.deepcopy(xfs[style])
            xf.attrib.update(changes)
            self.xfs[key] = style if xf.attrib == xfs[style].attrib else self._add("cellXfs", xf)
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
                    cell.set("s", str(self.derived(int(cell.get("s", "0")), quotePrefix="1")))

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
        sheet = self.aliases.get(sheet, sheet)
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

    def mark(self, title: str, problems: list[Problem], comments: dict) -> bytes:
        by_cell: dict[tuple[str, str], list[Problem]] = {}
        targets = [self.target(p.cell) for p in problems]
        for p, where in zip(problems, targets):
            if where:
                by_cell.setdefault(where, []).append(p)
        notes: dict[str, list] = {}   # sheet -> its notes: (cell, author, text, messages)
        for (sheet, coord), found in by_cell.items():
            cell = self.cell(sheet, coord)
            fill = self.fill(any(p.error for p in found))
            cell.set("s", str(self.derived(int(cell.get("s", "0")), fillId=str(fill), applyFill="1")))
            notes.setdefault(sheet, []).append((coord, AUTHOR, "\n".join(p.message for p in found), len(found)))
        for sheet, theirs in comments.items():   # the clerk's own, but where ours replaces one
            if sheet in self.sheets:
                notes.setdefault(sheet, []).extend((coord, who, text, 1) for coord, who, text in theirs
                                                   if (sheet, coord) not in by_cell)
        new: dict[str, bytes] = {}
        for k, (sheet, mine) in enumerate(notes.items(), 1):
            new.update(self._comments(self.sheets[sheet], k, mine))
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
            if part_of("xl", rel.get("Target", "")) == part:
                self.book_rels.remove(rel)

    def _comments(self, part: str, k: int, notes: list) -> dict[str, bytes]:
        """The comments of one sheet (`notes`: cell, author, text, how many messages): the comments
        part, its VML drawing (how Excel shows them), the relationships, and <legacyDrawing>."""
        sheet = self.tree(part)
        if sheet.find(_m("legacyDrawing")) is not None:
            raise _Declined("the sheet has a drawing of its own")
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
        return {names["comments"]: comments_xml(notes), names["vml"]: vml_xml(k, notes)}

    def _list_sheet(self, title: str, problems: list[Problem], targets: list) -> dict[str, bytes]:
        """The 问题清单 sheet, after the clerk's sheets and active."""
        xml = list_sheet_xml(title, problems, [(self.titles[w[0]], w[1]) if w else None for w in targets],
                             self.list_style)
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
