"""`make demo`: a realistic 2016 of 二七区, run month by month as staff would: twelve monthly runs,
a 通报 after each quarter, the third quarter closed once its 通报 is out (and a late correction
for September arriving after that), and the year's 综合排名.

The sixteen units send their forms in the variants clerks really produce; some are late, one
never reports, one sends a form whose 合计 is wrong and then a corrected one, one sends the same
file twice, one e-mails it with a GBK-encoded attachment name. Two months hold numbers the units'
own history does not explain (OUTLIER): a 正在评审 typed far too high in May, left as it was, and a
当月完成 typed 11 for 1 in November, corrected two days later. Files are dropped into a scratch
inbox with the time they "arrived", and each monthly run takes them in as staff would.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import re
import shutil
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from pipeline.core.model import INDUSTRIES
from pipeline.core.period import Month, year_months
from pipeline.core.settings import ROOT
from pipeline.demo.registers import as_known, district_register, form_counts, with_mistakes, write_register
from pipeline.demo.samples import write_sample

MONTHS = ("2016-07", "2016-08", "2016-09")      # the third quarter (the tests' quarter)
QUARTER = "2016Q3"
YEAR = 2016
YEAR_MONTHS = year_months(YEAR)
ISSUED = {"2016Q1": "2016-04-11", "2016Q2": "2016-07-11", "2016Q3": "2016-10-10", "2016Q4": "2017-01-10"}
ANNUAL_ISSUED = "2017-01-20"
CLOSED = "2016Q3"                                                     # closed once its 通报 is out
LATE_CORRECTION = ("长江路街道", "2016-09", dt.datetime(2016, 10, 18, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))
REVIEW_SLIP = {"2016-05": ("京广路街道", ("机械", 3), 26)}             # 正在评审 typed 26: OUTLIER, left
NEW_SLIP = {"2016-11": ("福华街街道", ("商贸", 3), 11)}               # 当月完成 typed 11: OUTLIER, corrected
OUTLIERS = {("京广路街道", "2016-05"), ("福华街街道", "2016-11")}     # the year's only implausible forms
VARIANTS = ("canonical", "offset", "spaced_labels", "industry_suffix", "shuffled_rows", "text_numbers",
            "total_values", "unit_in_title", "split_header", "period_zero", "period_fen", "period_dot",
            "alias_unit", "footer", "instructions_sheet", "xls", "ods", "canonical")
NEVER = "德化街街道"                    # never reports in the quarter
SKIPS = {"2016-03": "长江路街道", "2016-08": "一马路街道", "2016-10": "侯寨乡"}   # each misses a month
LATE = {"2016-02": ("嵩山路街道",), "2016-04": ("长江路街道",), "2016-05": ("铭功路街道",),
        "2016-07": ("铭功路街道",), "2016-08": ("铭功路街道", "五里堡街道"), "2016-09": ("人和路街道",),
        "2016-11": ("五里堡街道", "京广路街道"), "2016-12": ("人和路街道",)}
WRONG_TOTAL = {"2016-09": "马寨镇"}     # sends a bad 合计 first, then the corrected form
TWICE = {"2016-08": "大学路街道"}        # the same file twice
MAILED = {"2016-09": "蜜蜂张街道"}       # by e-mail, attachment name in GBK
DOC_NUMBERS = '{ "2016Q1" = 8, "2016Q2" = 15, "2016Q3" = 21, "2016Q4" = 30 }'
# The enterprise register, brought up to each month's end before its run, with one mistake of each
# kind; 侯寨乡's enterprises not yet in it. The forms are honest counts from it, but two units'
# September forms, which differ from it (RECONCILE_MISMATCH).
NOT_IN_REGISTER = "侯寨乡"
OFF_REGISTER = {"2016-09": {"长江路街道": 2, "马寨镇": -1}}   # what the form says more than the register


def register_forms(truth, visits, units: list[str], period: str) -> dict:
    """Each unit's form for the month as the register has it, but for OFF_REGISTER's units: their
    largest 三级 累计完成 changed (and its 当月完成 with it, so the form still adds up)."""
    out = {}
    for unit in units:
        if unit == NOT_IN_REGISTER:
            continue
        rows = form_counts(truth, visits, unit, period)
        off = OFF_REGISTER.get(period, {}).get(unit)
        if off:
            key = max((k for k in rows if k[1] == 3), key=lambda k: rows[k][1])
            new, cum, rev = rows[key]
            rows[key] = (max(0, new + off), cum + off, rev)
        out[unit] = rows
    return out


def _arrival(period: str, late: bool, k: int) -> dt.datetime:
    month, tz = Month(period), dt.timezone(dt.timedelta(hours=8))
    if late:
        return dt.datetime(month.next.year, month.next.number, 3, 9 + k % 8, 10, tzinfo=tz)
    return dt.datetime(month.year, month.number, 24 + k % 5, 9 + k % 8, 5 * (k % 12), tzinfo=tz)


def _touch(path: Path, when: dt.datetime):
    os.utime(path, (when.timestamp(), when.timestamp()))


YEAR_LEVELS = {1: 0.2, 2: 0.8, 3: 2.0}   # a 三级 certificate is ten times as likely as a 一级 one


def _next_month(rows: dict, rng: random.Random, pace: float = 0.06, rises: float = 0.0,
                levels: dict | None = None) -> dict:
    """A month after `rows`: each row certifies one more enterprise with probability `pace` (times
    its level's weight in `levels`; taking it from those under review half the time), and with
    probability `rises` one more goes under review."""
    out = {}
    for key, (_new, cum, rev) in rows.items():
        add = 1 if rng.random() < pace * (levels[key[1]] if levels else 1) else 0
        rev = max(0, rev - add) if rng.random() < 0.5 else rev
        if rises:
            rev += rng.random() < rises
        out[key] = (add, cum + add, rev)
    return out


def _first_month(base: int, rng: random.Random, share=(0.1, 0.7)) -> dict:
    """A unit's first month: a `share` of its above-scale enterprises certified (10 % to 70 %),
    mostly at 三级, a few under review; this month's new ones among them."""
    rows = {(i, lv): [0, 0, 0] for i in INDUSTRIES for lv in (1, 2, 3)}
    keys = list(rows)
    weights = [{1: 1, 2: 3, 3: 8}[lv] * (3 if i in ("机械", "建材", "商贸") else 1) for i, lv in keys]
    for key in rng.choices(keys, weights, k=round(base * rng.uniform(*share))):
        rows[key][1] += 1
    for key in rng.choices(keys, weights, k=rng.randint(0, 3)):
        rows[key][0] += 1
        rows[key][1] += 1
    for key in rng.choices(keys, weights, k=rng.randint(1, 6)):
        rows[key][2] += 1
    return {k: tuple(v) for k, v in rows.items()}


def drop_month(inbox: Path, period: str, units: list[str], history: dict, rng: random.Random,
               bases: dict | None = None, year: bool = False, given: dict | None = None):
    """Write one month's submissions into the inbox, each with its arrival time; returns the rows
    each reporting unit meant to send: {unit: rows}. `year`: paced for a whole year (units start
    lower, certify about one enterprise a month, more in the fourth quarter, and enterprises also
    go under review), with the year's two implausible forms. `given` holds the rows of units whose
    form is not made up (from the enterprise register)."""
    inbox.mkdir(parents=True, exist_ok=True)
    sent = {}
    ym = Month(period).text
    for k, unit in enumerate(units):
        if unit == NEVER or SKIPS.get(period) == unit:
            continue
        if given and unit in given:
            rows = history[unit] = given[unit]
        elif not year:
            rows = history[unit] = (_next_month(history[unit], rng) if unit in history
                                    else _first_month((bases or {}).get(unit, 30), rng))
        else:
            pace = 0.05 if period >= "2016-10" else 0.035   # the fourth quarter's push for the year's target
            rows = history[unit] = (_next_month(history[unit], rng, pace, 0.025, YEAR_LEVELS) if unit in history
                                    else _first_month((bases or {}).get(unit, 30), rng, (0.05, 0.3)))
        sent[unit] = rows
        variant = VARIANTS[(k + Month(period).number) % len(VARIANTS)]
        when = _arrival(period, unit in LATE.get(period, ()), k)
        name = inbox / f"{unit}_{ym}月报表.xlsx".replace("月月", "月")
        if WRONG_TOTAL.get(period) == unit:
            bad = dict(rows)
            first = (INDUSTRIES[0], 3)
            bad[first] = (rows[first][0], rows[first][1], rows[first][2])
            path = write_sample(inbox / f"{unit}_{ym}_初报.xlsx", unit, period, bad, "total_values")
            _corrupt_total(path)
            _touch(path, when - dt.timedelta(days=2))
        if MAILED.get(period) == unit:
            tmp = write_sample(inbox.parent / f"{unit}.xlsx", unit, period, rows, variant)
            msg = EmailMessage()
            msg["From"] = "clerk@example.cn"
            msg["To"] = "ajj@example.cn"
            msg["Subject"] = f"{unit}{ym}标准化月报"
            msg["Date"] = format_datetime(when)
            msg.set_content(f"区安监局：附件是{unit}{ym}工贸企业安全生产标准化月度报表，请查收。")
            msg.add_attachment(tmp.read_bytes(), maintype="application",
                               subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               filename=("gbk", "", f"{unit}{ym}报表.xlsx"))
            eml = inbox / f"{unit}_{ym}.eml"
            eml.write_bytes(bytes(msg))
            tmp.unlink()
            _touch(eml, when)
            continue
        if REVIEW_SLIP.get(period, (None,))[0] == unit:   # left as sent: counted, with its warning
            _, key, typed = REVIEW_SLIP[period]
            rows = sent[unit] = {**rows, key: (rows[key][0], rows[key][1], typed)}
        if NEW_SLIP.get(period, (None,))[0] == unit:      # sent two days early with a slip, then corrected
            _, key, typed = NEW_SLIP[period]
            new, cum, rev = rows[key]
            slip = write_sample(inbox / f"{unit}_{ym}_报表.xlsx", unit, period,
                                {**rows, key: (typed, cum + typed - new, rev)}, variant)
            _touch(slip, when - dt.timedelta(days=2))
        path = write_sample(name, unit, period, rows, variant)
        _touch(path, when)
        if TWICE.get(period) == unit:
            again = path.with_name(path.stem + "(1)" + path.suffix)
            shutil.copyfile(path, again)
            _touch(again, when + dt.timedelta(hours=1))
    return sent


def _corrupt_total(path: Path):
    """Make the first 合计 cell of a sample wrong, as a clerk who typed it by hand would."""
    import openpyxl
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[-1]
    for row in ws.iter_rows():
        if row[0].value and str(row[0].value).replace(" ", "") == "合计":
            cell = row[2]
            cell.value = (cell.value if isinstance(cell.value, int) else 0) + 1
            break
    wb.save(path)


def late_correction(inbox: Path, sent: dict) -> Path:
    """长江路街道's September again, one more enterprise certified, arriving after the quarter closed."""
    unit, period, when = LATE_CORRECTION
    rows = dict(sent[(unit, period)])
    key = next(k for k, (_n, cum, _r) in rows.items() if cum)
    new, cum, rev = rows[key]
    rows[key] = (new + 1, cum + 1, rev)
    inbox.mkdir(parents=True, exist_ok=True)
    path = write_sample(inbox / f"{unit}_2016年9月报表_更正.xlsx", unit, period, rows, "canonical")
    _touch(path, when)
    return path


def demo_reference(folder: Path) -> Path:
    """The demo's reference folder: the repository's units and settings, with the 文号 of the year's
    four 通报 (staff add each before its 通报; none is guessed); the year's register is written into it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "reference" / "units.csv", folder / "units.csv")
    text = (ROOT / "reference" / "settings.toml").read_text(encoding="utf-8")
    text = re.sub(r"^numbers = .*$", f"numbers = {DOC_NUMBERS}   # 演示：2016 年四个季度通报的文号序号", text, flags=re.M)
    (folder / "settings.toml").write_text(text, encoding="utf-8")
    return folder


def run_year(folders: dict, bulletins: bool = True) -> dict:
    """The demo's year into `folders` (its reference folder made by `demo_reference`); returns what
    each unit sent: {(unit, month): rows}. Before each month's run staff bring the enterprise
    register up to the month's end, and the forms are honest counts from it (docs/register.md), but
    for OFF_REGISTER's, the year's two slips and 侯寨乡, whose enterprises are not in it yet.
    Without `bulletins`: the monthly runs and the closing only (what the tests need of the year)."""
    from pipeline.jobs.closing import close_quarter
    from pipeline.jobs.monthly import run_monthly
    from pipeline.jobs.quarterly import run_quarterly
    from pipeline.read.units import load_units
    ref = load_units(folders["reference"])
    units, bases = ref.names, {u.name: u.base for u in ref.units}
    rng, history, sent = random.Random(YEAR), {}, {}
    truth, visits = district_register(units, bases, skip=(NOT_IN_REGISTER,), as_of=dt.date(YEAR, 12, 31))
    for period in YEAR_MONTHS:
        write_register(folders["reference"] / "enterprises.xlsx",
                       *with_mistakes(*as_known(truth, visits, period.last_day)))
        got = drop_month(folders["inbox"], period, units, history, rng, bases, year=True,
                         given=register_forms(truth, visits, units, period))
        sent.update({(unit, period): rows for unit, rows in got.items()})
        print(f"—— {period}：{len(list(folders['inbox'].iterdir()))} 个文件放入收件箱 {folders['inbox']}")
        run_monthly(folders, period)
        quarter = period.quarter
        if period != quarter.last_month:
            continue
        if bulletins:
            with _env("PIPELINE_BULLETIN_DATE", ISSUED[quarter]):
                run_quarterly(folders, quarter)
        if quarter == CLOSED:
            close_quarter(folders, quarter, "通报已印发")
            late_correction(folders["inbox"], sent)
            print(f"—— {LATE_CORRECTION[0]} 在关账后报来 9 月更正表；重新生成 9 月输出")
            run_monthly(folders, LATE_CORRECTION[1])
            if bulletins:   # the closed quarter's 通报 rebuilt: the same figures, the same text
                run_quarterly(folders, quarter)
    return sent


@contextlib.contextmanager
def _env(name: str, value: str):
    """An environment setting for one step, unless staff set it already."""
    before = os.environ.get(name)
    os.environ[name] = before or value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]


def run_demo(base: Path) -> int:
    from pipeline.jobs.annual import run_annual
    folders = {"inbox": base / "inbox", "archive": base / "archive", "outbox": base / "outbox",
               "reference": base / "reference"}
    if base.exists():
        shutil.rmtree(base)
    demo_reference(folders["reference"])
    run_year(folders)
    with _env("PIPELINE_ANNUAL_DATE", ANNUAL_ISSUED):
        run_annual(folders, YEAR)
    from pipeline.jobs.register import run_register
    run_register(folders, dt.date(YEAR, 12, 31))   # the bureau's work lists at the year's end
    print("\n演示完成。输出在：")
    for p in sorted(folders["outbox"].iterdir()):
        print(f"  {p}")
    print(f"存档与台账：{folders['archive']}")
    return 0
