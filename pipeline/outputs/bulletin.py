"""The quarterly 通报: a typed context rendered to .docx (docxtpl), .pdf (LibreOffice) and .html.

The wording lives in templates/bulletin.docx, which staff edit in Word or WPS, and in
templates/next_steps.txt.j2 (四、下一步工作要求); bulletin_context supplies the context and a few
formatting filters, this module adds the chart. The HTML is made from the rendered .docx, paragraph by
paragraph, so the two always say the same thing.

The 版记 stands at the foot of the last page, which must be an even one (GB/T 9704): when the
first PDF ends on an odd page, the document is made again with the 版记 in a section of its own
starting on the next even page (LibreOffice and Word put in a blank page where one is needed),
without page numbers.
"""
from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docx.table import Table
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate, InlineImage

from pipeline.core.settings import TEMPLATES
from pipeline.outputs.bulletin_context import BulletinContext, environment, months, template_context
from pipeline.outputs.chart import draw_chart
from pipeline.outputs.pdf import page_count, to_pdf
from pipeline.outputs.trends import sparkline, top_of
from pipeline.store.files import atomic, atomic_bytes

DOCX_TEMPLATE = TEMPLATES / "bulletin.docx"


def render_docx(ctx: BulletinContext, out: Path, chart: Path, made: datetime.datetime | None = None,
                record_apart: bool = False) -> Path:
    """The .docx; `made`: the run's time, the document's date of creation (default now);
    `record_apart`: the 版记 on a page of its own, the next even one."""
    doc = DocxTemplate(DOCX_TEMPLATE)
    values = template_context(ctx)
    values["chart"] = InlineImage(doc, str(chart), width=Mm(150))
    doc.render(values, jinja_env=environment(autoescape=True))
    _properties(doc.docx, ctx, made or datetime.datetime.now(datetime.timezone.utc))
    if record_apart:
        _record_apart(doc.docx)
    if ctx.draft:
        mark_draft(doc.docx, ctx.draft)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic(out, doc.save)


DRAFT_MARK = "草稿　不得印发"


def mark_draft(doc, reason: str) -> None:
    """Say on the document's face that it is a draft, and why: two red lines before everything else
    (the HTML and PDF are made from the .docx, so they say it too)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    first = doc.paragraphs[0]
    for text, size in ((DRAFT_MARK, 22), (f"（{reason}。本稿仅供核对数字。）", 14)):
        para = first.insert_paragraph_before()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = para.add_run(text)
        run.bold = True
        run.font.size = Pt(size)
        run.font.color.rgb = RGBColor(0xC0, 0, 0)
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "黑体")


def _properties(document, ctx: BulletinContext, made: datetime.datetime) -> None:
    """The document's own title, the bureau as author, the run's time, zh-CN (Word's 属性 and the
    PDF's title and author, which LibreOffice takes from these)."""
    core = document.core_properties
    core.title = ctx.title
    core.subject = "工贸行业企业安全生产标准化达标创建情况"
    core.author = core.last_modified_by = ctx.bureau
    core.keywords = ctx.doc_number
    core.category = "通报"
    core.comments = ""
    core.language = "zh-CN"
    core.revision = 1
    utc = made.astimezone(datetime.timezone.utc).replace(tzinfo=None) if made.tzinfo else made
    core.created = core.modified = utc.replace(microsecond=0)


def _record_apart(document) -> None:
    """End the section before the 版记 and start a new one on the next even page, with empty footers
    (GB/T 9704: a 版记 page and the blank page before it carry no page number)."""
    record = document.tables[-1]._tbl
    section = document.add_section(WD_SECTION.EVEN_PAGE)   # a paragraph at the end closes the one before
    closing = document.element.body.xpath("./w:p[w:pPr/w:sectPr]")[-1]
    record.addprevious(closing)
    # LibreOffice ignores a section break followed at once by a table: a paragraph comes between.
    closing.addnext(_point_paragraph())
    _point_high(closing)
    for footer in (section.footer, section.even_page_footer):
        footer.is_linked_to_previous = False


def _point_paragraph():
    paragraph = OxmlElement("w:p")
    _point_high(paragraph)
    return paragraph


def _point_high(paragraph) -> None:
    """A paragraph one point high, off the line grid: it never pushes text onto a new page."""
    ppr = paragraph.get_or_add_pPr()
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:line"), "20")
    spacing.set(qn("w:lineRule"), "exact")
    ppr.insert(0, spacing)
    ppr.insert(0, snap)


# Paragraph and character styles of the template → CSS classes of the HTML.
STYLE_CLASSES = {"公文发文机关标志": "mark", "公文发文字号": "number", "公文标题": "title", "公文主送机关": "to",
                 "公文正文": "body", "公文一级标题": "h1", "公文附件说明": "attach", "公文附件说明续": "attach2",
                 "公文署名": "sign", "公文成文日期": "date", "附件标识": "attach-mark", "附件标题": "attach-title",
                 "表格注释": "note", "图片": "picture", "公文二级标题字": "h2", "表头文字": "ranking",
                 "版记": "record"}


@dataclass(frozen=True)
class Block:
    kind: str                                  # "p" | "image" | "table"
    cls: str
    runs: tuple[tuple[str, str], ...] = ()     # (text, css class) of a paragraph
    rows: tuple[tuple[str, ...], ...] = ()     # cell texts of a table


def docx_blocks(path: Path) -> list[Block]:
    """The rendered document's paragraphs and tables in order, with their style as a class."""
    doc = Document(path)
    blocks = []
    for element in doc.element.body.iterchildren():
        if element.tag.endswith("}tbl"):
            table = Table(element, doc)
            first = table.rows[0].cells[0].paragraphs[0].style.name
            rows = tuple(tuple(c.text for c in row.cells) for row in table.rows)
            blocks.append(Block("table", STYLE_CLASSES.get(first, "table"), rows=rows))
        elif element.tag.endswith("}p"):
            para = Paragraph(element, doc)
            cls = STYLE_CLASSES.get(para.style.name, "body")
            if element.xpath(".//w:drawing"):
                blocks.append(Block("image", cls))
            elif para.text.strip():
                runs = tuple((r.text, STYLE_CLASSES.get(r.style.name, "")) for r in para.runs if r.text)
                blocks.append(Block("p", cls, runs=runs))
    return blocks


def render_html(ctx: BulletinContext, docx: Path, chart: Path, out: Path) -> Path:
    chart_src = "data:image/png;base64," + base64.b64encode(chart.read_bytes()).decode("ascii")
    html = environment(autoescape=True).get_template("bulletin.html.j2").render(
        title=ctx.title, blocks=docx_blocks(docx), chart_src=chart_src,
        trends=trend_rows(ctx.trends, ctx.summary.target), target=ctx.summary.target,
        trend_months=months((ctx.trends[0].months[0], ctx.trends[0].months[-1])).replace("、", "至") if ctx.trends else "")
    return atomic_bytes(out, html.encode("utf-8"))


def trend_rows(rows, target: float) -> list[tuple]:
    """(unit, its sparkline, its latest rate, that month) for the HTML's table of trends."""
    top = top_of(rows, target) if rows else 1.0
    out = []
    for t in rows:
        latest = next(((m, v) for m, v in zip(t.months[::-1], t.rates[::-1]) if v is not None), (None, None))
        out.append((t.unit, sparkline(t, target, top), latest[1], latest[0]))
    return out


def render_bulletin(ctx: BulletinContext, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write {stem}.docx, {stem}.pdf, {stem}.html and {stem}.chart.png into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    made = datetime.datetime.now(datetime.timezone.utc)
    chart = draw_chart(ctx.ranking, ctx.summary.target, out_dir / f"{stem}.chart.png", f"{ctx.year}年底目标")
    docx = render_docx(ctx, out_dir / f"{stem}.docx", chart, made)
    pdf = to_pdf(docx, out_dir)
    if page_count(pdf) % 2:     # the 版记, last, is on an odd page
        docx = render_docx(ctx, out_dir / f"{stem}.docx", chart, made, record_apart=True)
        pdf = to_pdf(docx, out_dir)
    html = render_html(ctx, docx, chart, out_dir / f"{stem}.html")
    return {"docx": docx, "pdf": pdf, "html": html, "chart": chart}
