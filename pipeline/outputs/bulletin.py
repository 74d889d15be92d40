"""The quarterly 通报: a typed context rendered to .docx (docxtpl), .pdf (LibreOffice) and .html.

The wording lives in templates/bulletin.docx, which staff edit in Word or WPS, and in
templates/next_steps.txt.j2 (四、下一步工作要求); this module only supplies the context, a few
formatting filters, and the chart. The HTML is made from the rendered .docx, paragraph by
paragraph, so the two always say the same thing.

Variables the .docx template sees: every field of BulletinContext, plus `quarter_name`
(第三季度), `first_month`/`last_month` (7, 9), `previous_name` (第二季度, or 2015年第四季度),
`rows` (unit → RankRow), `ranked` (rows with a rank), `reached` (names of ranked units at or
above the target), `needed` (certificates still needed for the district to reach the target),
`next_steps` ((lead, text) pairs), `chart` (the picture). Filters: pct, pp, cn, names, months,
cndate, dash, gap, remark, share.

The 版记 stands at the foot of the last page, which must be an even one (GB/T 9704): when the
first PDF ends on an odd page, the document is made again with the 版记 in a section of its own
starting on the next even page (LibreOffice and Word put in a blank page where one is needed),
without page numbers.
"""
from __future__ import annotations

import base64
import datetime
import math
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docx.table import Table
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.core.period import Month, Quarter
from pipeline.core.settings import TEMPLATES
from pipeline.figures.aggregate import RankRow
from pipeline.outputs.chart import draw_chart
from pipeline.outputs.pdf import page_count, to_pdf
from pipeline.outputs.trends import sparkline, top_of
from pipeline.store.files import atomic, atomic_bytes

DOCX_TEMPLATE = TEMPLATES / "bulletin.docx"


@dataclass(frozen=True)
class DistrictSummary:
    by_level: dict            # {1: cumulative, 2: ..., 3: ...} 累计完成 at quarter end over counted units
    certified: int
    base: int
    rate: float | None
    target: float
    new_in_quarter: int
    reviewing: int
    previous_rate: float | None = None       # previous quarter's district rate, None if no data
    previous_certified: int | None = None


@dataclass(frozen=True)
class RegisterPart:
    """What the enterprise register says of the quarter (ENTERPRISES.md §4–5)."""
    base: int                                  # 规模以上 enterprises not 已关闭, over the units it has
    certified: int                             # of them certified at the quarter's last day
    rate: float | None
    units: tuple[tuple[str, float | None, float | None], ...]   # (unit, register's rate, reported rate)
    unreconciled: tuple[str, ...]              # units the register has no enterprise of
    withdrawn: int                             # certificates withdrawn in the quarter
    expired: int                               # certificates that ran out in the quarter
    revisits: int                              # revisits done in the quarter
    passed: int                                # of them 合格
    rectify: int                               # 限期整改
    struck: int                                # 摘牌
    unrecorded: int                            # revisits known only by a 最近回访日期: no result recorded
    key: tuple[tuple[str, int], ...]           # (unit, enterprises under 重点监管, class D) at the quarter's end
    key_total: int


@dataclass(frozen=True)
class BulletinContext:
    year: int
    quarter: int
    period: str                                    # "2016Q3"
    bureau: str                                    # 郑州市二七区安全生产监督管理局
    district: str                                  # 二七区
    doc_number: str                                # 二七安监管〔2016〕21号
    issued: datetime.date                          # 成文日期 (also the 印发日期 of the 版记)
    summary: DistrictSummary
    ranking: tuple[RankRow, ...]
    praised: tuple[str, ...]
    criticized: tuple[str, ...]
    interview: tuple[str, ...]        # criticized this quarter and the previous one: 约谈
    not_reported: tuple[str, ...]     # no counted submission in the quarter at all
    late: tuple[tuple[str, tuple[str, ...]], ...]            # (unit, months reported late)
    missed_months: tuple[tuple[str, tuple[str, ...]], ...]   # (unit, months not reported)
    rejected: tuple[tuple[str, int], ...]                    # (unit, rejected submissions)
    data_warnings: tuple[tuple[str, str, int], ...]          # (unit, finding title, count)
    far_below: tuple[str, ...]        # units below half of the target
    copy_to: str                      # 版记: 抄送
    issuer: str                       # 版记: 印发机关
    draft: str = ""                   # why this is only a draft (quarter not over…), said on its face; "" = none
    register: RegisterPart | None = None   # the enterprise register's part, when there is one
    trends: tuple = ()                # trends.Trend of each unit, for the HTML only

    @property
    def title(self) -> str:
        return f"关于{Quarter(self.period).text}工贸行业企业安全生产标准化达标创建情况的通报"


# ---------------------------------------------------------------- filters
CN_DIGITS = "零一二三四五六七八九十"


def cn(n: int) -> str:
    """1 → 一, 12 → 十二 (numbering of headings and items; up to 99)."""
    if n <= 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return (CN_DIGITS[tens] if tens > 1 else "") + "十" + (CN_DIGITS[ones] if ones else "")


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def pp(diff: float) -> str:
    """A difference of fractions in 百分点, without sign: the wording says 提高/下降/还差."""
    return f"{abs(diff) * 100:.1f}"


def months(periods) -> str:
    return "、".join(f"{Month(p).number}月" for p in periods)


def cndate(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def dash(value) -> object:
    return "—" if value is None else value


def gap(row: RankRow) -> str:
    if row.gap is None:
        return "—"
    return "已达标" if row.gap <= 0 else pp(row.gap)


def share(target: float) -> str:
    """How many of the 规模以上企业 the target asks for, as the 8号 document says it: "50%以上",
    and "所有" for 100 % (never "100%以上")."""
    return "所有" if target >= 1 else f"{pct(target, 0)}以上"


def remark(row: RankRow) -> str:
    notes = ["并列"] if row.tied else []
    if row.status != "排名":
        notes.append(row.status)
    elif row.missing_months:
        notes.append(f"缺报{months(row.missing_months)}")
    return "；".join(notes)


FILTERS = {"pct": pct, "pp": pp, "cn": cn, "names": "、".join, "months": months, "cndate": cndate,
           "dash": dash, "gap": gap, "remark": remark, "share": share}


def environment(autoescape: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=autoescape, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


# ---------------------------------------------------------------- context
LEAD = re.compile(r"^(（[一二三四五六七八九十]+）[^。]*。)(.*)$", re.DOTALL)


def template_context(ctx: BulletinContext) -> dict:
    values = {f.name: getattr(ctx, f.name) for f in fields(ctx)}
    ranked = [r for r in ctx.ranking if r.rank is not None]
    s, quarter = ctx.summary, Quarter(ctx.period)
    values.update(
        quarter_name=quarter.name,
        first_month=quarter.first_month.number,
        last_month=quarter.last_month.number,
        previous_name=quarter.previous.name if quarter.number > 1 else quarter.previous.text,
        rows={r.unit: r for r in ctx.ranking},
        ranked=ranked,
        reached=[r.unit for r in ranked if r.rate is not None and r.rate >= r.target],
        needed=max(0, math.ceil(s.target * s.base - 1e-9) - s.certified),
    )
    values["next_steps"] = next_steps(values)
    return values


def next_steps(values: dict) -> list[tuple[str, str]]:
    """四、下一步工作要求 from its template: paragraphs split on blank lines, each as (lead, rest)
    where the lead is a `（一）…。` heading set in 楷体."""
    text = environment(autoescape=False).get_template("next_steps.txt.j2").render(values)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        joined = "".join(line.strip() for line in block.splitlines())
        if joined:
            match = LEAD.match(joined)
            paragraphs.append((match[1], match[2]) if match else ("", joined))
    return paragraphs


# ---------------------------------------------------------------- rendering
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


# ---------------------------------------------------------------- sample
SAMPLE_UNITS = [
    # unit, 规模以上企业数, 达标企业数, 季度新增, 按时报送, 正在评审, 缺报月份
    ("淮河路街道", 12, 8, 2, 3, 1, ()), ("铭功路街道", 9, 6, 2, 3, 0, ()),
    ("五里堡街道", 11, 6, 1, 3, 1, ()), ("人和路街道", 8, 4, 2, 3, 1, ()),
    ("解放路街道", 10, 5, 1, 3, 1, ()), ("福华街街道", 6, 3, 1, 3, 0, ()),
    ("建中街街道", 7, 3, 0, 3, 0, ()), ("大学路街道", 15, 6, 1, 3, 2, ()),
    ("京广路街道", 10, 4, 0, 3, 1, ()), ("一马路街道", 8, 3, 1, 3, 1, ()),
    ("蜜蜂张街道", 14, 5, 0, 2, 2, ()), ("嵩山路街道", 13, 4, 1, 1, 1, ()),
    ("长江路街道", 9, 2, 0, 2, 0, ("2016-08",)), ("马寨镇", 24, 5, 1, 3, 3, ()),
    ("德化街街道", 5, 1, 0, 3, 1, ()),
]


def sample_context(**changes) -> BulletinContext:
    """二七区, 2016 Q3, target 50 %: two ties, one unit not reported, two late, one month missed.
    Keyword arguments replace fields (`sample_context(late=())`)."""
    target = 0.5
    keys = [(certified / base, new, on_time) for _, base, certified, new, on_time, _, _ in SAMPLE_UNITS]
    rows = [RankRow(1 + sum(other > key for other in keys), unit, certified, base, certified / base, target,
                    target - certified / base, new, on_time, reviewing, "排名", missing, keys.count(key) > 1)
            for key, (unit, base, certified, new, on_time, reviewing, missing) in zip(keys, SAMPLE_UNITS)]
    rows.append(RankRow(None, "侯寨乡", 0, 18, None, target, None, 0, 0, 0, "未报送",
                        ("2016-07", "2016-08", "2016-09")))
    certified = sum(r.certified for r in rows)
    base = sum(r.base for r in rows)
    new = sum(r.new_in_quarter for r in rows)
    summary = DistrictSummary(by_level={1: 0, 2: 9, 3: certified - 9}, certified=certified, base=base,
                              rate=certified / base, target=target, new_in_quarter=new,
                              reviewing=sum(r.reviewing for r in rows),
                              previous_rate=(certified - new) / base, previous_certified=certified - new)
    ctx = BulletinContext(
        year=2016, quarter=3, period="2016Q3", bureau="郑州市二七区安全生产监督管理局", district="二七区",
        doc_number="二七安监管〔2016〕21号", issued=datetime.date(2016, 10, 10), summary=summary,
        ranking=tuple(rows),
        praised=("淮河路街道", "铭功路街道", "五里堡街道"),
        criticized=("长江路街道", "马寨镇", "德化街街道"),
        interview=("德化街街道",),
        not_reported=("侯寨乡",),
        late=(("蜜蜂张街道", ("2016-08",)), ("嵩山路街道", ("2016-07", "2016-09"))),
        missed_months=(("长江路街道", ("2016-08",)),),
        rejected=(("马寨镇", 1), ("长江路街道", 2)),
        data_warnings=(("大学路街道", "累计数不衔接", 2), ("蜜蜂张街道", "累计数减少", 1)),
        far_below=("长江路街道", "马寨镇", "德化街街道"),
        copy_to="区安委会办公室", issuer="郑州市二七区安全生产监督管理局办公室")
    return replace(ctx, **changes)
