"""The annual 通报 of the year's 综合排名: a typed context rendered to .docx (docxtpl), .pdf and .html
with the quarterly 通报's machinery (bulletin.py: filters, the HTML from the rendered .docx; pdf.py).

The wording lives in templates/annual.docx (built by tools/make_annual_template.py, edited by staff in
Word or WPS) and templates/annual_next_steps.txt.j2. Variables the template sees: every field of
AnnualContext, plus `first_month`/`last_month`, `ranked`, `reached` (units at or above the target),
`needed`, `shares` (each part's weight in percent), `quarters_text` (第一至第三季度), `next_steps`,
`chart`. Filters: those of bulletin.py, and place, score, annual_remark, quarter_word, quarters_text.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, fields
from pathlib import Path

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from pipeline.core.period import Month, Quarter
from pipeline.figures.annual import PARTS, AnnualRow, Place
from pipeline.outputs.bulletin import TEMPLATES, render_html
from pipeline.outputs.bulletin_context import cn, environment, next_steps
from pipeline.outputs.pdf import to_pdf
from pipeline.outputs.trends import Trend, draw_trends
from pipeline.store.files import atomic

DOCX_TEMPLATE = TEMPLATES / "annual.docx"


@dataclass(frozen=True)
class YearSummary:
    by_level: dict               # {1: 累计完成, 2: …, 3: …} at each unit's last counted month
    certified: int
    base: int
    rate: float | None
    target: float
    new_in_year: int
    reviewing: int


@dataclass(frozen=True)
class AnnualContext:
    year: int
    bureau: str
    district: str
    doc_number: str
    issued: datetime.date
    first_month: int                                   # the months looked at: 1 … 12
    last_month: int
    summary: YearSummary
    ranking: tuple[AnnualRow, ...]
    quarters: tuple[str, ...]                          # quarters ranked: ("2016Q1", …)
    missing_quarters: tuple[tuple[str, str], ...]      # (quarter, why): 尚未结束 / 没有报表数据
    weights: dict                                      # part -> weight (settings [annual])
    praised: tuple[str, ...]
    criticized: tuple[str, ...]
    not_reported: tuple[str, ...]                      # no counted form all year
    reporting: tuple[tuple[str, int, int], ...]        # (unit, months late, months missed), those with any
    rejected: tuple[tuple[str, int], ...]              # (unit, rejected submissions in the year)
    data_warnings: tuple[tuple[str, str, int], ...]    # (unit, finding title, count)
    far_below: tuple[str, ...]                         # below half of the target at year end
    often_criticized: tuple[tuple[str, tuple[str, ...]], ...]   # (unit, quarters criticized), twice or more
    next_target: float | None                          # next year's target, if set
    copy_to: str
    issuer: str
    trends: tuple[Trend, ...] = ()

    @property
    def title(self) -> str:
        return f"关于{self.year}年度工贸行业企业安全生产标准化达标创建情况综合排名的通报"


def quarter_word(quarter: str) -> str:
    return Quarter(quarter).name


def quarters_text(quarters) -> str:
    """("2016Q1", "2016Q2", "2016Q3") -> 第一至第三季度; non-consecutive ones listed."""
    qs = [Quarter(q).number for q in quarters]
    if len(qs) == 4:
        return "四个季度"
    if len(qs) > 2 and qs == list(range(qs[0], qs[-1] + 1)):
        return f"第{cn(qs[0])}至第{cn(qs[-1])}季度"
    return "、".join(quarter_word(q) for q in quarters)


def place(p: Place | None) -> str:
    if p is None:
        return "—"
    return "未报" if p.rank is None else str(p.rank)


def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def month_list(periods) -> str:
    """("2016-05", "2016-07") -> 5、7月."""
    return "、".join(str(Month(p).number) for p in periods) + "月"


def annual_remark(row: AnnualRow) -> str:
    notes = ["并列"] if row.tied else []
    if row.status != "排名":
        notes.append(row.status)
    else:
        if row.missing:
            notes.append(f"{month_list(row.missing)}缺报")
        if row.late:
            notes.append(f"{month_list(row.late)}迟报")
    return "；".join(notes)


FILTERS = {"place": place, "score": score, "annual_remark": annual_remark, "quarter_word": quarter_word,
           "quarters_text": quarters_text}


def template_context(ctx: AnnualContext) -> dict:
    values = {f.name: getattr(ctx, f.name) for f in fields(ctx)}
    ranked = [r for r in ctx.ranking if r.rank is not None]
    s = ctx.summary
    total = sum(ctx.weights.values()) or 1
    values.update(
        rows={r.unit: r for r in ctx.ranking}, ranked=ranked,
        reached=[r.unit for r in ranked if r.rate is not None and r.rate >= r.target],
        needed=max(0, math.ceil(s.target * s.base - 1e-9) - s.certified),
        shares={k: round(ctx.weights[k] / total * 100) for k in PARTS},
        quarters_text=quarters_text(ctx.quarters),
        all_on_time=[r.unit for r in ranked if r.on_time == r.due and r.due],
    )
    values["next_steps"] = next_steps(values, _environment(autoescape=False), "annual_next_steps.txt.j2")
    return values


def _environment(autoescape: bool):
    env = environment(autoescape)
    env.filters.update(FILTERS)
    return env


def render_docx(ctx: AnnualContext, out: Path, chart: Path) -> Path:
    doc = DocxTemplate(DOCX_TEMPLATE)
    values = template_context(ctx)
    values["chart"] = InlineImage(doc, str(chart), width=Mm(150))
    doc.render(values, jinja_env=_environment(autoescape=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic(out, doc.save)


def render_annual(ctx: AnnualContext, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write {stem}.docx, .pdf, .html and the trend chart ({stem}.走势图.png) into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = draw_trends(ctx.trends, ctx.summary.target, out_dir / f"{stem}.走势图.png", f"{ctx.year}年底目标")
    docx = render_docx(ctx, out_dir / f"{stem}.docx", chart)
    html = render_html(ctx, docx, chart, out_dir / f"{stem}.html")
    pdf = to_pdf(docx, out_dir)
    return {"docx": docx, "pdf": pdf, "html": html, "chart": chart}
