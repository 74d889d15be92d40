"""The register in a run: read, checked and imported before intake (the forms are reconciled against
it), found again by the outputs, and `python -m pipeline register`, which writes the work lists.

No register in the reference folder: nothing is reconciled and every base comes from units.csv.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import sys
from pathlib import Path

from pipeline.check.certified import NAMED, Reconciler
from pipeline.core.findings import ERROR
from pipeline.core.settings import Settings, load_settings
from pipeline.jobs.register_ledger import (
    changes,
    import_in_use,
    imports,
    load_import,
    previous_import,
    record_import,
    units_digest,
)
from pipeline.outputs.register_lists import LIST_NOTES, Intervals, summary, work_lists, write_lists
from pipeline.read.register import Register, find_register, read_register
from pipeline.store.ledger import Ledger


def import_register(folders: dict, ledger: Ledger, settings: Settings, units,
                    now: dt.datetime | None = None) -> Register | None:
    """The register of the reference folder, checked and imported (once for the same bytes and units);
    None when there is none."""
    path = find_register(folders["reference"], settings)
    if path is None:
        return None
    now = now or dt.datetime.now(settings.tz)
    data = path.read_bytes()
    register = read_register(path, units, settings, today=now.date(), data=data)
    record_import(ledger, folders["archive"], register, data, units_digest(folders["reference"]), now)
    return register


def register_in_use(folders: dict, ledger: Ledger, settings: Settings) -> Register | None:
    """The register the run imported (read back from the ledger), or None when the reference folder
    has none: the outputs use what the forms were reconciled against."""
    found = register_import_in_use(folders, ledger, settings)
    return load_import(ledger, found) if found else None


def register_import_in_use(folders: dict, ledger: Ledger, settings: Settings) -> int | None:
    """The ledger's import of the reference folder's register, if it has one."""
    path = find_register(folders["reference"], settings)
    if path is None:
        return None
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return import_in_use(ledger, sha, units_digest(folders["reference"]))


def reconciler(register: Register | None) -> Reconciler | None:
    return Reconciler(register) if register is not None and not register.enterprises.empty else None


def unreconciled_note(register: Register | None, units: list[str]) -> str | None:
    """The status book's line on units the register has no enterprise of."""
    if register is None or register.enterprises.empty:
        return None
    missing = [u for u in units if u not in register.units]
    if not missing:
        return "各单位报表的累计完成均已与企业台账核对。"
    named = "、".join(missing[:NAMED]) + (f"等 {len(missing)} 个单位" if len(missing) > NAMED else "")
    return f"企业台账中没有{named}的企业，{'这些单位' if len(missing) > 1 else '该单位'}的报表未与台账核对。"


def _date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def run_register(folders: dict, day: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """`python -m pipeline register`: check and import the register, write the work lists for `day`
    (today by default) into outbox/register/<day>/."""
    from pipeline.jobs.lock import run_lock
    from pipeline.read.units import load_units
    settings = load_settings(folders["reference"])
    units = load_units(folders["reference"])
    now = now or dt.datetime.now(settings.tz)
    day = day or now.date()
    path = find_register(folders["reference"], settings)
    if path is None:
        stem = settings["register"]["file"]
        print(f"没有找到企业台账 {Path(folders['reference']) / stem}.xlsx（或 .xlsm .xls .ods）。"
              "可用 python -m pipeline template --register 生成空白台账，填好后放在该处。", file=sys.stderr)
        return 2
    with run_lock(folders["archive"]):
        ledger = Ledger.open(Path(folders["archive"]) / "ledger.sqlite")
        try:
            register = import_register(folders, ledger, settings, units, now)
            current = import_in_use(ledger, register.sha256, units_digest(folders["reference"]))
            before = previous_import(ledger, current)
            when = {i["id"]: i["imported_at"] for i in imports(ledger)}
            # an unreadable register is not one whose enterprises were all removed
            diff = changes(load_import(ledger, before), register) if before and register.usable else None
        finally:
            ledger.close()
    order = units.names
    lists = work_lists(register, day, settings, order, diff)
    district = settings["district"]["name"]
    out = Path(folders["outbox"]) / "register" / day.isoformat()
    out.mkdir(parents=True, exist_ok=True)
    book = out / f"{district}_企业台账工作清单_{day.isoformat()}.xlsx"
    errors = sum(f.severity == ERROR for f in register.findings)
    lead = [f"清单日期：{_date_text(day)}",
            f"企业台账：{register.file}（{when[current][:16].replace('T', ' ')} 导入；共 {register.rows} 行，"
            f"使用 {len(register.enterprises)} 家，{register.excluded} 行有错误暂不使用；问题 {len(register.findings)} 条，"
            "见“台账问题”页）",
            ("“变更”页：台账无法使用，没有与上一次导入比较。" if not register.usable else
             f"“变更”页：与 {when[before][:16].replace('T', ' ')} 导入的台账相比的变化。" if before
             else "“变更”页：这是第一次导入台账，没有可比较的上一次导入。"),
            "下表为各单位企业数和各清单的企业数（已关闭企业不计）。"]
    r, iv = settings["register"], Intervals.of(settings)
    notes = {k: v.format(months=r["expiry_warning_months"], revisit=r["revisit_months"], a=iv.a, b=iv.b, c=iv.c,
                         d=iv.d) for k, v in LIST_NOTES.items()}
    write_lists(book, f"{district}工贸企业安全生产标准化企业台账工作清单", lead,
                summary(register, day, lists, order), lists, notes)
    print(f"企业台账 {register.file}：共 {register.rows} 行，使用 {len(register.enterprises)} 家，"
          f"{register.excluded} 行有错误暂不使用，问题 {len(register.findings)} 条。")
    for f in register.findings[:20]:
        print(f"  [{'错误' if f.severity == ERROR else '提示'} {f.code}] {f.message}")
    if len(register.findings) > 20:
        print(f"  ……其余 {len(register.findings) - 20} 条见清单的“台账问题”页。")
    counts = "，".join(f"{k} {len(v)} {'个' if k == '评审单位' else '条' if k in ('变更', '台账问题') else '家'}"
                      for k, v in lists.items())
    print(f"{_date_text(day)}工作清单：{book}\n  {counts}")
    return 1 if errors else 0
