"""`make demo`: a realistic 2016 Q3 of 二七区, run month by month, then the quarterly bulletin.

The sixteen units send their forms in the variants clerks really produce; some are late, one
never reports, one sends a form whose 合计 is wrong and then a corrected one, one sends the same
file twice, one e-mails it with a GBK-encoded attachment name. Files are dropped into a scratch
inbox with the time they "arrived", and each monthly run takes them in as staff would.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import shutil
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from .cli import ROOT
from .model import INDUSTRIES
from .register_samples import as_known, district_register, form_counts, with_mistakes, write_register
from .samples import write_sample

MONTHS = ("2016-07", "2016-08", "2016-09")
QUARTER = "2016Q3"
VARIANTS = ("canonical", "offset", "spaced_labels", "industry_suffix", "shuffled_rows", "text_numbers",
            "total_values", "unit_in_title", "split_header", "period_zero", "period_fen", "period_dot",
            "alias_unit", "footer", "instructions_sheet", "xls", "ods", "canonical")
NEVER = "德化街街道"                    # never reports in the quarter
SKIPS = {"2016-08": "一马路街道"}       # misses one month
LATE = {"2016-07": ("铭功路街道",), "2016-08": ("铭功路街道", "五里堡街道"), "2016-09": ("人和路街道",)}
WRONG_TOTAL = {"2016-09": "马寨镇"}     # sends a bad 合计 first, then the corrected form
TWICE = {"2016-08": "大学路街道"}        # the same file twice
MAILED = {"2016-09": "蜜蜂张街道"}       # by e-mail, attachment name in GBK
# The enterprise register: as staff had it before July's run and before September's (two imports that
# differ), with one mistake of each kind; 侯寨乡's enterprises not yet in it. The forms are honest
# counts from it, but two units' September forms, which differ from it (RECONCILE_MISMATCH).
REGISTER_KNOWN = {"2016-07": dt.date(2016, 7, 31), "2016-09": dt.date(2016, 9, 30)}
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
    y, m = int(period[:4]), int(period[5:7])
    tz = dt.timezone(dt.timedelta(hours=8))
    if late:
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        return dt.datetime(ny, nm, 3, 9 + k % 8, 10, tzinfo=tz)
    return dt.datetime(y, m, 24 + k % 5, 9 + k % 8, 5 * (k % 12), tzinfo=tz)


def _touch(path: Path, when: dt.datetime):
    os.utime(path, (when.timestamp(), when.timestamp()))


def _next_month(rows: dict, rng: random.Random) -> dict:
    out = {}
    for key, (_new, cum, rev) in rows.items():
        add = 1 if rng.random() < 0.06 else 0
        out[key] = (add, cum + add, max(0, rev - add) if rng.random() < 0.5 else rev)
    return out


def _first_month(base: int, rng: random.Random) -> dict:
    """A unit's July: somewhere between 10 % and 70 % of its above-scale enterprises certified,
    mostly at 三级, a few under review; this month's new ones among them."""
    rows = {(i, lv): [0, 0, 0] for i in INDUSTRIES for lv in (1, 2, 3)}
    keys = list(rows)
    weights = [{1: 1, 2: 3, 3: 8}[lv] * (3 if i in ("机械", "建材", "商贸") else 1) for i, lv in keys]
    for key in rng.choices(keys, weights, k=round(base * rng.uniform(0.1, 0.7))):
        rows[key][1] += 1
    for key in rng.choices(keys, weights, k=rng.randint(0, 3)):
        rows[key][0] += 1
        rows[key][1] += 1
    for key in rng.choices(keys, weights, k=rng.randint(1, 6)):
        rows[key][2] += 1
    return {k: tuple(v) for k, v in rows.items()}


def drop_month(inbox: Path, period: str, units: list[str], history: dict, rng: random.Random,
               bases: dict | None = None, given: dict | None = None):
    """Write one month's submissions into the inbox, each with its arrival time; returns the rows
    each reporting unit meant to send: {unit: rows}. `given` holds the rows of units whose form is
    not made up (from the enterprise register)."""
    inbox.mkdir(parents=True, exist_ok=True)
    sent = {}
    ym = f"{int(period[:4])}年{int(period[5:7])}月"
    for k, unit in enumerate(units):
        if unit == NEVER or SKIPS.get(period) == unit:
            continue
        rows = history[unit] = (given[unit] if given and unit in given else
                                _next_month(history[unit], rng) if unit in history
                                else _first_month((bases or {}).get(unit, 30), rng))
        sent[unit] = rows
        variant = VARIANTS[(k + int(period[5:7])) % len(VARIANTS)]
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


def run_demo(base: Path) -> int:
    from .monthly import run_monthly
    from .reference import load_units
    folders = {"inbox": base / "inbox", "archive": base / "archive", "outbox": base / "outbox",
               "reference": base / "reference"}
    if base.exists():
        shutil.rmtree(base)
    folders["reference"].mkdir(parents=True)   # the repository's units and settings, and the demo's register
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(ROOT / "reference" / name, folders["reference"] / name)
    # The demo's bulletin is dated as the bureau would have issued it, unless staff say otherwise.
    os.environ.setdefault("PIPELINE_BULLETIN_DATE", "2016-10-10")
    ref = load_units(folders["reference"])
    units, bases = ref.names, {u.name: u.base for u in ref.units}
    rng, history = random.Random(2016), {}
    truth, visits = district_register(units, bases, skip=(NOT_IN_REGISTER,))
    for period in MONTHS:
        if period in REGISTER_KNOWN:   # staff update the register before the month's run
            write_register(folders["reference"] / "enterprises.xlsx",
                           *with_mistakes(*as_known(truth, visits, REGISTER_KNOWN[period])))
        drop_month(folders["inbox"], period, units, history, rng, bases, given=register_forms(truth, visits, units, period))
        print(f"—— {period}：{len(list(folders['inbox'].iterdir()))} 个文件放入收件箱 {folders['inbox']}")
        run_monthly(folders, period)
    try:
        from .quarterly import run_quarterly
    except ImportError:
        run_quarterly = None
    if run_quarterly:
        run_quarterly(folders, QUARTER)
    from .register_run import run_register
    run_register(folders, dt.date(2016, 9, 30))
    print("\n演示完成。输出在：")
    for p in sorted(folders["outbox"].iterdir()):
        print(f"  {p}")
    print(f"存档与台账：{folders['archive']}")
    return 0
