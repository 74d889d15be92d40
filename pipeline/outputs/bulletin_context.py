"""What the 通报's templates see: its typed context, the filters, and a sample quarter (二七区, 2016Q3).

Variables the .docx template sees: every field of BulletinContext, plus `quarter_name`
(第三季度), `first_month`/`last_month` (7, 9), `previous_name` (第二季度, or 2015年第四季度),
`rows` (unit → RankRow), `ranked` (rows with a rank), `reached` (names of ranked units at or
above the target), `needed` (certificates still needed for the district to reach the target),
`next_steps` ((lead, text) pairs), `chart` (the picture). Filters: pct, pp, cn, names, months,
cndate, dash, gap, remark, share.
"""
from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, fields, replace

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.core.period import Month, Quarter
from pipeline.core.settings import TEMPLATES
from pipeline.figures.aggregate import RankRow


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
    """What the enterprise register says of the quarter (docs/register.md §4–5)."""
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


def next_steps(values: dict, env: Environment | None = None, template: str = "next_steps.txt.j2") -> list[tuple[str, str]]:
    """四、下一步工作要求 from its template: paragraphs split on blank lines, each as (lead, rest)
    where the lead is a `（一）…。` heading set in 楷体."""
    text = (env or environment(autoescape=False)).get_template(template).render(values)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        joined = "".join(line.strip() for line in block.splitlines())
        if joined:
            match = LEAD.match(joined)
            paragraphs.append((match[1], match[2]) if match else ("", joined))
    return paragraphs


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
