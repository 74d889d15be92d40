"""`make bench`'s register part: a province's enterprise register (N = 100,000 enterprises in 2,000
townships) checked, imported into a fresh ledger and archive, and all its work lists written —
`python -m pipeline register` end to end, in this process, after an earlier version of the register
was imported (so 变更 lists what changed). Target: under 30 s.

    .venv/bin/python bench/register.py                 # N = 100,000
    .venv/bin/python bench/register.py --n 5000        # a national district's size

The register is made once per N (seeded, `pipeline.demo.registers`, one mistake of each kind), with
the same as staff had it two months before, and cached in bench/cache/register-<N>-v<VERSION>/; each
run gets a fresh archive and outbox, removed afterwards.
Prints the report and writes it to bench/last_register_report.txt (beside the cache folder).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT.parent)]

TARGET = 30.0          # seconds for 100,000 enterprises
UNITS = 2000           # townships of a province
VERSION = 2            # bump when the register made for the bench changes
DAY = dt.date(2016, 9, 30)
EARLIER = dt.date(2016, 7, 31)   # the register imported before, as staff had it then: the lists' 变更


def make_register(n: int, cache: Path) -> Path:
    """bench/cache/register-<n>/reference: units.csv for UNITS townships, settings.toml, and a register
    of about n enterprises."""
    from pipeline.demo.registers import as_known, district_register, with_mistakes, write_register
    home = cache / f"register-{n}-v{VERSION}"
    reference = home / "reference"
    if (reference / "enterprises.xlsx").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    reference.mkdir(parents=True)
    shutil.copyfile(ROOT.parent / "reference" / "settings.toml", reference / "settings.toml")
    units = [f"第{k:04d}街道" for k in range(1, UNITS + 1)]
    base = max(1, round(n / UNITS / 1.5))   # district_register adds half as many smaller firms
    with open(reference / "units.csv", "w", encoding="utf-8-sig") as f:
        f.write("单位,别名,规模以上企业数,起始,截止\n")
        f.writelines(f"{u},{u}办事处,{base},,\n" for u in units)
    t0 = time.perf_counter()
    truth, visits = district_register(units, dict.fromkeys(units, base), seed=VERSION)
    enterprises, revisits = with_mistakes(*as_known(truth, visits, EARLIER))
    write_register(home / "earlier.xlsx", enterprises, revisits)
    enterprises, revisits = with_mistakes(truth, visits)
    write_register(reference / "enterprises.xlsx", enterprises, revisits)
    print(f"made a register of {len(enterprises):,} enterprises and {len(revisits):,} revisits, and the same "
          f"as known on {EARLIER}, in {time.perf_counter() - t0:.1f} s: {reference / 'enterprises.xlsx'}", flush=True)
    return home


def timed(module, name: str, times: dict):
    """Wrap module.name so that its time adds to times[name]."""
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - t0
    setattr(module, name, wrapper)


def run(home: Path) -> dict:
    from pipeline.jobs import register as register_run
    times: dict[str, float] = {}
    for name in ("read_register", "record_import", "changes", "work_lists", "write_lists"):
        timed(register_run, name, times)
    work = home.parent / f"register-run-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    folders = {"inbox": work / "inbox", "archive": work / "archive", "outbox": work / "outbox",
               "reference": home / "reference"}
    out = io.StringIO()
    try:
        # the earlier register imported first (not timed), so that the run lists what changed since
        before = dict(folders, reference=work / "reference")
        before["reference"].mkdir(parents=True)
        for name in ("units.csv", "settings.toml"):
            shutil.copyfile(home / "reference" / name, before["reference"] / name)
        shutil.copyfile(home / "earlier.xlsx", before["reference"] / "enterprises.xlsx")
        with contextlib.redirect_stdout(io.StringIO()):
            register_run.run_register(before, EARLIER)
        times.clear()
        with contextlib.redirect_stdout(out):
            t0 = time.perf_counter()
            rc = register_run.run_register(folders, DAY)
            wall = time.perf_counter() - t0
        book = next((work / "outbox" / "register" / DAY.isoformat()).glob("*.xlsx"))
        return {"wall": wall, "rc": rc, "stages": times, "printed": out.getvalue(), "size": book.stat().st_size}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="enterprises (default 100,000)")
    p.add_argument("--cache", default=str(ROOT / "cache"), help="where the register is kept")
    args = p.parse_args()
    cache = Path(args.cache)
    home = make_register(args.n, cache)
    got = run(home)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = got["printed"].splitlines()
    counts = lines[-1].strip() if lines else ""
    verdict = ("PASS" if got["wall"] <= TARGET else "FAIL") if args.n >= 100_000 else "n/a "
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in got["stages"].items())
    text = "\n".join([
        f"register bench  {time.strftime('%Y-%m-%d %H:%M')}  load {os.getloadavg()[0]:.2f}  cores {os.cpu_count()}",
        f"register        {lines[0] if lines else ''}",
        f"lists           {counts}",
        f"wall            {got['wall']:.2f} s  (exit {got['rc']}: the register has errors on purpose)",
        f"stages          {stages}",
        f"workbook        {got['size'] / 1e6:.1f} MB",
        f"peak memory     {peak:.0f} MB (this process)",
        f"target          {verdict}  100,000 enterprises checked and all lists written in <= {TARGET:.0f} s"
        + ("" if args.n >= 100_000 else f" (this run: {args.n:,})")])
    print(text)
    (cache.parent / "last_register_report.txt").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
