"""Realistic enterprise registers, made from a seed: for `make demo`, the tests and the benchmark.

`district_register` gives each unit about as many above-scale enterprises as units.csv says, plus
smaller ones, certified over 2014–2016 (half of them in 2016, as the drive began): most certificates
三级, some withdrawn (by 摘牌日期 or by a revisit), some never revisited or inspected, small firms with
high-risk work. `as_known` is the
register as staff would have typed it at an earlier date (what was not yet known left out), so two
imports differ as real ones do. `write_register` writes the workbook staff keep: dates as date cells
or in the ways clerks type them, and `mistakes` adds one row or cell of each kind of error.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace
from pathlib import Path

import xlsxwriter
from stdnum.cn import uscc

from pipeline.core.model import INDUSTRIES
from pipeline.core.period import Month
from pipeline.read.register import LABELS
from pipeline.read.register_table import HIGH_RISK

REGION = "410103"            # 郑州市二七区
REVIEWERS = ("河南省安全生产技术服务中心", "郑州安华安全评价有限公司", "河南中安安全评价咨询有限公司",
             "郑州众信安全技术服务有限公司", "河南协和安全科技有限公司", "郑州市安全生产协会")
NAMES = ("华", "兴", "宏", "达", "鑫", "源", "恒", "泰", "盛", "隆", "丰", "祥", "瑞", "通", "嘉", "信", "博", "锦", "昌", "利")
KINDS = {"冶金": "铸造", "机械": "机械制造", "轻工": "食品", "有色": "铝材", "纺织": "纺织", "建材": "建材",
         "商贸": "商贸", "烟草": "烟草物流"}
HEADER = tuple(LABELS)
RISKS = HIGH_RISK


@dataclass(frozen=True)
class Enterprise:
    code: str
    name: str
    unit: str
    industry: str
    scale: str
    status: str
    grade: str | None = None
    cert_no: str | None = None
    issued: dt.date | None = None
    expires: dt.date | None = None          # None: three years less a day, as the register's default
    withdrawn: dt.date | None = None
    reviewer: str | None = None
    inspected: dt.date | None = None
    revisited: dt.date | None = None
    high_risk: str | None = None
    closed: dt.date | None = None            # when it closed (the register has only the status)
    started: dt.date | None = None           # when it began its review (正在评审 from then)


@dataclass(frozen=True)
class Revisit:
    code: str
    date: dt.date
    result: str
    problem: str = ""


def code_for(n: int, rng: random.Random) -> str:
    """A valid 统一社会信用代码: 9 (工商), 1 (企业), the district's region, an organisation code."""
    body = f"91{REGION}" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8)) + str(n % 10)
    return body + uscc.calc_check_digit(body)


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def district_register(units: list[str], bases: dict[str, int], seed: int = 2016, as_of: dt.date = dt.date(2016, 9, 30),
                      skip: tuple[str, ...] = (), scale: float = 1.0) -> tuple[list[Enterprise], list[Revisit]]:
    """Every unit's enterprises as they stand at `as_of` (units in `skip` have none), about
    `scale` × units.csv's above-scale count of them above scale, and half as many again smaller."""
    rng = random.Random(seed)
    out: list[Enterprise] = []
    visits: list[Revisit] = []
    n = 0
    weights = [3 if i in ("机械", "建材", "商贸") else 1 for i in INDUSTRIES]
    for unit in units:
        if unit in skip:
            continue
        above = max(1, round(bases.get(unit, 20) * scale * rng.uniform(0.9, 1.15)))
        for k in range(above + round(above * 0.5)):
            n += 1
            size = "规模以上" if k < above else rng.choice(("规模以下", "小微", "小微"))
            industry = rng.choices(INDUSTRIES, weights)[0]
            name = f"郑州{rng.choice(NAMES)}{rng.choice(NAMES)}{KINDS[industry]}有限公司"
            e = Enterprise(code_for(n, rng), name, unit, industry, size, "未开展")
            roll = rng.random()
            if size != "规模以上":
                roll = roll * 1.6   # smaller firms are less often certified
            if roll < 0.46:
                e = _certified(e, rng, as_of)
            elif roll < 0.56:
                e = replace(e, status="正在评审", reviewer=rng.choice(REVIEWERS),
                            started=_day(rng, dt.date(2016, 1, 1), as_of))
            elif roll < 0.76:
                e = replace(e, status="创建中")
            elif roll < 0.79:
                e = replace(e, status="已关闭", closed=_day(rng, dt.date(2015, 1, 1), as_of))
            if rng.random() < 0.7 and e.status != "已关闭":
                e = replace(e, inspected=_day(rng, dt.date(2015, 6, 1), as_of))
            if size == "小微" and rng.random() < 0.6:
                e = replace(e, high_risk=";".join(sorted(rng.sample(RISKS, rng.randint(1, 3)), key=RISKS.index)))
            if e.status == "已达标":
                e, more = _revisited(e, rng, as_of)
                visits += more
            out.append(e)
    return out, visits


def _certified(e: Enterprise, rng: random.Random, as_of: dt.date) -> Enterprise:
    if rng.random() < 0.5:   # the drive's year
        issued = _day(rng, dt.date(2016, 1, 4), as_of - dt.timedelta(days=5))
    else:
        issued = _day(rng, dt.date(2014, 1, 6), min(dt.date(2015, 12, 31), as_of - dt.timedelta(days=5)))
    grade = rng.choices(("三级", "二级", "一级"), (85, 13, 2))[0]
    number = f"豫AQB{'Ⅲ' if grade == '三级' else 'Ⅱ' if grade == '二级' else 'Ⅰ'}{issued.year}{rng.randint(1000, 9999)}"
    e = replace(e, status="已达标", grade=grade, cert_no=number, issued=issued, reviewer=rng.choice(REVIEWERS),
                started=issued - dt.timedelta(days=rng.randint(30, 120)))
    if rng.random() < 0.05:
        e = replace(e, status="已摘牌", withdrawn=_day(rng, max(issued, dt.date(2015, 6, 1)), as_of))
    return e


def _revisited(e: Enterprise, rng: random.Random, as_of: dt.date) -> tuple[Enterprise, list[Revisit]]:
    """Half the certified enterprises revisited once or twice since their certificate; a revisit
    that found the enterprise still failing withdrew the certificate."""
    if rng.random() < 0.5 or e.issued is None or e.issued > as_of - dt.timedelta(days=60):
        return e, []
    visits = []
    day = e.issued
    for _ in range(rng.randint(1, 2)):
        day = _day(rng, day + dt.timedelta(days=60), min(as_of, day + dt.timedelta(days=500)))
        if day > as_of:
            break
        result = rng.choices(("合格", "限期整改", "摘牌"), (72, 22, 6))[0]
        problem = {"合格": "", "限期整改": rng.choice(("隐患排查台账不全", "有限空间作业未审批", "特种作业人员证件过期")),
                   "摘牌": "限期整改后仍不达标"}[result]
        visits.append(Revisit(e.code, day, result, problem))
        if result == "摘牌":
            return replace(e, status="已摘牌", revisited=day), visits
    return replace(e, revisited=visits[-1].date if rng.random() < 0.8 else None), visits


def as_known(enterprises: list[Enterprise], revisits: list[Revisit], day: dt.date) -> tuple[list[Enterprise], list[Revisit]]:
    """The register as staff had it at `day`: what happened later not yet in it."""
    out = []
    later: dict[str, list[Revisit]] = {}
    for r in revisits:
        if r.date > day:
            later.setdefault(r.code, []).append(r)
    for e in enterprises:
        if e.status == "已关闭" and e.closed and e.closed > day:
            e = replace(e, status="创建中")
        if e.issued and e.issued > day:
            e = replace(e, status="正在评审" if e.started and e.started <= day else "创建中", grade=None, cert_no=None,
                        issued=None, withdrawn=None, revisited=None)
        if e.status == "正在评审" and e.started and e.started > day:
            e = replace(e, status="创建中")
        if e.withdrawn and e.withdrawn > day:
            e = replace(e, status="已达标", withdrawn=None)
        late = later.get(e.code, [])
        if e.status == "已摘牌" and e.withdrawn is None and late and any(r.result == "摘牌" for r in late):
            e = replace(e, status="已达标")
        if e.inspected and e.inspected > day:
            e = replace(e, inspected=None)
        if e.revisited and e.revisited > day:
            e = replace(e, revisited=None)
        out.append(e)
    return out, [r for r in revisits if r.date <= day]


def form_counts(enterprises: list[Enterprise], revisits: list[Revisit], unit: str, period: str) -> dict:
    """A unit's honest monthly form from the register: per (industry, level), certificates issued in
    the month, those valid at its end, and those under review (as 三级, the level nearly all seek)."""
    first, end = Month(period).first_day, Month(period).last_day
    struck = {r.code: r.date for r in sorted(revisits, key=lambda r: r.date, reverse=True) if r.result == "摘牌"}
    rows = {(i, lv): [0, 0, 0] for i in INDUSTRIES for lv in (1, 2, 3)}
    for e in enterprises:
        if e.unit != unit:
            continue
        if e.grade and e.issued and e.issued <= end <= _expires(e) and (e.closed is None or e.closed > end):
            gone = min([d for d in (e.withdrawn, struck.get(e.code)) if d and d >= e.issued], default=None)
            if gone is None or gone > end:
                key = (e.industry, {"一级": 1, "二级": 2, "三级": 3}[e.grade])
                rows[key][1] += 1
                rows[key][0] += first <= e.issued
        if e.started and e.started <= end and (e.issued is None or e.issued > end) and e.status != "已关闭":
            rows[(e.industry, 3)][2] += 1
    return {k: tuple(v) for k, v in rows.items()}


def _expires(e: Enterprise) -> dt.date:
    if e.expires:
        return e.expires
    try:
        return e.issued.replace(year=e.issued.year + 3) - dt.timedelta(days=1)
    except ValueError:   # 29 February
        return dt.date(e.issued.year + 3, 2, 28) - dt.timedelta(days=1)


def with_mistakes(enterprises: list[Enterprise], revisits: list[Revisit], seed: int = 7) -> tuple[list, list]:
    """One of each mistake a register has, each on a different enterprise (uncertified ones from the
    end of the list, so that no count of certified enterprises changes): a mistyped check character,
    a code of 17 characters, a duplicate code, an unknown unit, an industry outside the eight, a scale
    outside the list, a status left empty, a grade where the status has none, an impossible date, two
    certified without a certificate number, and a revisit of an enterprise the register does not have."""
    rng = random.Random(seed)
    es = list(enterprises)
    # mistakes on enterprises with no certificate, from the end, so that no count changes
    plain = (i for i in range(len(es) - 1, -1, -1) if es[i].status in ("未开展", "创建中"))
    i = next(plain)
    es[i] = replace(es[i], code=es[i].code[:-1] + ("0" if es[i].code[-1] != "0" else "1"))
    i = next(plain)
    es[i] = replace(es[i], code=es[i].code[:-1])
    i, j = next(plain), next(plain)
    es[i] = replace(es[i], code=es[j].code)
    i = next(plain)
    es[i] = replace(es[i], unit="二七新区")
    i = next(plain)
    es[i] = replace(es[i], industry="化工")
    i = next(plain)
    es[i] = replace(es[i], scale="中型")
    i = next(plain)
    es[i] = replace(es[i], status="")
    i = next(plain)
    es[i] = replace(es[i], grade="三级")            # a grade where the status has none
    i = next(plain)
    es[i] = replace(es[i], inspected="2016-02-30")
    done = 0
    for i in range(len(es) - 1, -1, -1):
        if es[i].status == "已达标" and es[i].cert_no and done < 2:
            es[i] = replace(es[i], cert_no=None)
            done += 1
    stranger = code_for(999_999, rng)
    return es, [*revisits, Revisit(stranger, dt.date(2016, 9, 12), "合格", "")]


def write_register(path: Path, enterprises: list[Enterprise], revisits: list[Revisit] = (),
                   text_dates: bool = True) -> Path:
    """The register workbook: sheet 企业台账 (header in row 1) and, with revisits, 回访记录. With
    `text_dates`, every seventh date is typed as text, in one of the ways clerks type dates."""
    path = Path(path)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    text_format = book.add_format({"num_format": "@"})
    ws = book.add_worksheet("企业台账")
    ws.write_row(0, 0, HEADER)
    ws.set_column(0, 0, 22, text_format)
    ws.set_column(1, 1, 30)
    ws.freeze_panes(1, 0)
    styles = ("{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}.{m:02d}.{d:02d}")
    n = 0

    def put(r, c, value):
        nonlocal n
        if value is None or value == "":
            return
        if isinstance(value, dt.date):
            n += 1
            if text_dates and n % 7 == 0:
                ws_now.write_string(r, c, styles[n % 3].format(y=value.year, m=value.month, d=value.day))
            else:
                ws_now.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
        else:
            ws_now.write_string(r, c, str(value))
    ws_now = ws
    for r, e in enumerate(enterprises, start=1):
        for c, value in enumerate((e.code, e.name, e.unit, e.industry, e.scale, e.status, e.grade, e.cert_no, e.issued,
                                   e.expires, e.withdrawn, e.reviewer, e.inspected, e.revisited, e.high_risk)):
            put(r, c, value)
    if revisits:
        ws_now = book.add_worksheet("回访记录")
        ws_now.write_row(0, 0, ("统一社会信用代码", "回访日期", "结果", "问题"))
        ws_now.set_column(0, 0, 22)
        for r, v in enumerate(revisits, start=1):
            for c, value in enumerate((v.code, v.date, v.result, v.problem)):
                put(r, c, value)
    book.close()
    return path
