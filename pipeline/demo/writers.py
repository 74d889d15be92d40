"""The sample workbooks' writers, one per format: .xlsx/.xlsm from strings, .xls (xlwt), .ods (odfpy), a chart sheet."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.core.model import cell_name
from pipeline.demo.sheet import ANNEX, BOX, LINE, TITLE, ErrorValue, Formula, Grid

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_WHEN = (2016, 9, 28, 9, 0, 0)     # fixed zip times: same content, same bytes


STYLES_XML = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
    '<fonts count="5"><font><sz val="11"/><name val="宋体"/><charset val="134"/></font>'
    '<font><sz val="14"/><name val="黑体"/><charset val="134"/></font>'
    '<font><b/><sz val="18"/><name val="宋体"/><charset val="134"/></font>'
    '<font><sz val="12"/><name val="仿宋"/><charset val="134"/></font>'
    '<font><sz val="11"/><name val="宋体"/><charset val="134"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom>'
    '<diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center"/></xf>'
    '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="4" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def sheet_xml(g: Grid, strings: dict[str, int]) -> str:
    by_row: dict[int, list] = {}
    for rc in sorted(set(g.cells) | set(g.styles)):
        by_row.setdefault(rc[0], []).append(rc)
    cols = "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w}" customWidth="1"/>'
                   for c, w in sorted(g.widths.items()))
    out = [(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" '
            f'xmlns:r="{_REL}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'),
           f"<cols>{cols}</cols><sheetData>" if cols else "<sheetData>"]
    for r, cells in by_row.items():
        high = any(g.styles.get(rc) in (BOX, TITLE) for rc in cells)   # room for two lines of header
        out.append(f'<row r="{r + 1}" ht="30" customHeight="1">' if high else f'<row r="{r + 1}">')
        for rc in cells:
            ref, s, value = cell_name(*rc), g.styles.get(rc, 0), g.cells.get(rc)
            if value is None:
                out.append(f'<c r="{ref}" s="{s}"/>')
            elif isinstance(value, Formula):
                cached = "" if value.cached is None else f"<v>{value.cached}</v>"
                out.append(f'<c r="{ref}" s="{s}"><f>{value.text}</f>{cached}</c>')
            elif isinstance(value, ErrorValue):
                formula = f"<f>{value.formula}</f>" if value.formula else ""
                out.append(f'<c r="{ref}" s="{s}" t="e">{formula}<v>{escape(value.text)}</v></c>')
            elif isinstance(value, str):
                index = strings.setdefault(value, len(strings))
                out.append(f'<c r="{ref}" s="{s}" t="s"><v>{index}</v></c>')
            else:
                out.append(f'<c r="{ref}" s="{s}"><v>{value!r}</v></c>')
        out.append("</row>")
    out.append("</sheetData>")
    if g.merges:
        refs = "".join(f'<mergeCell ref="{cell_name(r1, c1)}:{cell_name(r2, c2)}"/>'
                       for r1, c1, r2, c2 in g.merges)
        out.append(f'<mergeCells count="{len(g.merges)}">{refs}</mergeCells>')
    out.append('<pageMargins left="0.6" right="0.6" top="0.8" bottom="0.8" header="0.3" footer="0.3"/>'
               '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="1"/>'
               '</worksheet>')
    return "".join(out)


def write_xlsx(path: Path, grids: list[Grid], *, macro: bool = False) -> None:
    strings: dict[str, int] = {}
    sheets = [sheet_xml(g, strings) for g in grids]
    write_package(path, [g.name for g in grids], sheets, list(strings), macro=macro,
                  hidden={g.name for g in grids if g.hidden})


def write_package(path: Path, names: list[str], sheets: list[str], strings: list[str], *,
                  macro: bool = False, hidden=frozenset()) -> None:
    n = len(sheets)
    main = "application/vnd.ms-excel.sheet.macroEnabled.main+xml" if macro else f"{_CT}.sheet.main+xml"
    types = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
                    for i in range(1, n + 1))
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>{types}'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/></Types>')
    root_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
                 f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
                 '</Relationships>')
    states = {name: ' state="hidden"' for name in hidden}
    sheet_list = "".join(f'<sheet name="{escape(name)}" sheetId="{i}"{states.get(name, "")} r:id="rId{i}"/>'
                         for i, name in enumerate(names, start=1))
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
                f'xmlns:r="{_REL}"><sheets>{sheet_list}</sheets><calcPr calcId="191029"/></workbook>')
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, n + 1))
    workbook_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">{rels}'
        f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>')
    items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}" '
              f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')
    members = [("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
               ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
               ("xl/styles.xml", STYLES_XML), ("xl/sharedStrings.xml", shared)]
    members += [(f"xl/worksheets/sheet{i}.xml", xml) for i, xml in enumerate(sheets, start=1)]
    buffer = io.BytesIO()      # one write to disk: zipfile seeks back to patch every header
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in members:
            info = zipfile.ZipInfo(name, _WHEN)
            # the small fixed parts stored, sheets and strings deflated: deflate costs ~25 µs a
            # member whatever its size, and stored members are valid in any reader
            deflate = name.startswith(("xl/worksheets/", "xl/sharedStrings"))
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(info, text.encode("utf-8"), compresslevel=1)
    path.write_bytes(buffer.getvalue())


def write_with_chart(path: Path, grids: list[Grid]) -> None:
    """The form with a chart sheet of its 累计完成 before it (as Excel's F11 puts one), the 合计
    formulas with their results stored."""
    import xlsxwriter

    (g,) = grids
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    charts = book.add_chartsheet("图表")
    ws = book.add_worksheet(g.name)
    merged = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in g.merges}
    for (r, c), value in g.cells.items():
        if (r, c) in merged:
            ws.merge_range(r, c, *merged.pop((r, c)), "" if value is None else value)
        elif isinstance(value, Formula):
            ws.write_formula(r, c, f"={value.text}", None, value.cached)
        else:
            ws.write(r, c, value)
    for (r1, c1), (r2, c2) in merged.items():
        ws.merge_range(r1, c1, r2, c2, "")
    chart = book.add_chart({"type": "bar"})
    chart.add_series({"values": [g.name, 5, 8, 12, 8], "categories": [g.name, 5, 0, 12, 0]})
    chart.set_title({"name": "各行业累计完成（三级）"})
    charts.set_chart(chart)
    ws.activate()
    book.close()


def _plain(value):
    """A Formula as the number it shows (xlwt cannot store formula results); else as is."""
    if isinstance(value, Formula):
        return value.cached
    return value


def write_xls(path: Path, grids: list[Grid]) -> None:
    import xlwt

    box = xlwt.easyxf("font: name 宋体; borders: left thin, right thin, top thin, bottom thin;"
                      "align: horiz center, vert center, wrap on")
    styles = {ANNEX: xlwt.easyxf("font: name 黑体, height 280"),
              TITLE: xlwt.easyxf("font: name 宋体, bold on, height 360; align: horiz center"),
              LINE: xlwt.easyxf("font: name 仿宋, height 240"), BOX: box}
    plain = xlwt.easyxf("font: name 宋体")
    wb = xlwt.Workbook(encoding="utf-8")
    for g in grids:
        ws = wb.add_sheet(g.name)
        covered = set()
        for r1, c1, r2, c2 in g.merges:
            ws.write_merge(r1, r2, c1, c2, _plain(g.cells.get((r1, c1))) or "",
                           styles.get(g.styles.get((r1, c1)), plain))
            covered |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
        for rc in set(g.cells) | set(g.styles):
            if rc not in covered:
                value = _plain(g.cells.get(rc))
                ws.write(*rc, "" if value is None else value, styles.get(g.styles.get(rc), plain))
        for c, width in g.widths.items():
            ws.col(c).width = int(256 * width)
        ws.landscape = True
        ws.paper_size_code = 9
        ws.fit_num_pages = 1
    wb.save(str(path))


def _ods_formula(text: str) -> str:
    return "of:=" + re.sub(r"([A-Z]+\d+):([A-Z]+\d+)", r"[.\1:.\2]", text)


def write_ods(path: Path, grids: list[Grid]) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for g in grids:
        table = Table(name=g.name)
        spans = {(r1, c1): (r2 - r1 + 1, c2 - c1 + 1) for r1, c1, r2, c2 in g.merges}
        covered = {(r, c) for r1, c1, r2, c2 in g.merges
                   for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - set(spans)
        keys = set(g.cells) | set(g.styles)
        n_rows, n_cols = max(r for r, _ in keys) + 1, max(c for _, c in keys) + 1
        table.addElement(TableColumn(numbercolumnsrepeated=n_cols))
        for r in range(n_rows):
            tr = TableRow()
            for c in range(n_cols):
                if (r, c) in covered:
                    tr.addElement(CoveredTableCell())
                    continue
                value = g.cells.get((r, c))
                attrs = {}
                if (r, c) in spans:
                    attrs = {"numberrowsspanned": spans[(r, c)][0], "numbercolumnsspanned": spans[(r, c)][1]}
                if isinstance(value, Formula):
                    cell = TableCell(formula=_ods_formula(value.text), **attrs,
                                     **({} if value.cached is None else
                                        {"valuetype": "float", "value": value.cached}))
                    shown = "" if value.cached is None else str(value.cached)
                elif isinstance(value, (int, float)):
                    cell, shown = TableCell(valuetype="float", value=value, **attrs), str(value)
                else:
                    cell = TableCell(valuetype="string", **attrs) if value is not None else TableCell(**attrs)
                    shown = value or ""
                for line in shown.split("\n") if shown else ():
                    cell.addElement(P(text=line))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
