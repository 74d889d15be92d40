"""Synthetic monthly workbooks for the benchmark: N units, one month, realistic variety, cached.

`corpus(n)` returns bench/cache/<n>/ holding `inbox/` (the workbooks, modification times set to
when each was "received") and `reference/` (units.csv for the N units, settings.toml copied from
the repository). Generated once per N and generator version; later runs reuse it.

The mix, per file (seeded, so the same N gives the same bytes):
- 85 % the fast-path variants (canonical, offset), as most clerks fill in the template as issued;
- ~11 % the other clerk variants of docs/form.md §2 (spaced labels, text numbers, .xls, multi-sheet...);
- ~3 % broken so that they are rejected (a wrong 合计, text in a count cell);
- ~1 % a second, corrected file from a unit that already sent one (supersedes), ~0.5 % the same
  bytes sent twice (DUPLICATE_FILE), ~5 % received after the deadline.
"""
from __future__ import annotations

import csv
import json
import multiprocessing
import os
import random
import shutil
import time
from pathlib import Path

from pipeline.core.model import INDUSTRIES, LEVELS
from pipeline.demo import samples, variants, writers
from pipeline.demo.sheet import Formula

VERSION = 4                     # bump when the mix or the layout of the cache changes
PERIOD = "2016-09"
ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
CACHE = ROOT / "cache"   # the corpora, and the bench's runs (bench.py --cache)
SEED = 20160930

# Other clerk variants and their weights among the non-fast-path files.
OTHERS = {"spaced_labels": 10, "text_numbers": 10, "industry_suffix": 8, "shuffled_rows": 8,
          "total_values": 6, "unit_in_title": 5, "alias_unit": 8, "footer": 8, "instructions_sheet": 8,
          "period_dash": 5, "period_fen": 5, "split_header": 4, "no_unit_in_sheet": 4, "xlsm": 3,
          "xls": 12, "multi_month": 3, "ods": 1}
ON_TIME = time.mktime((2016, 9, 20, 9, 0, 0, 0, 0, -1))   # received times spread from here (local)
DEADLINE = time.mktime((2016, 9, 30, 23, 59, 59, 0, 0, -1))


def unit_name(i: int) -> str:
    return f"第{i + 1:05d}街道"


def _rows(rng: random.Random) -> dict:
    rows = {}
    for industry in INDUSTRIES:
        for level in LEVELS:
            cumulative = rng.randint(1, 6) if rng.random() < 0.5 else 0
            new = rng.randint(1, min(cumulative, 2)) if cumulative and rng.random() < 0.3 else 0
            reviewing = rng.randint(1, 3) if rng.random() < 0.35 else 0
            rows[(industry, level)] = (new, cumulative, reviewing)
    return rows


def plan(n: int) -> list[dict]:
    """What each of the n files is: unit, variant, fault, received time, file name."""
    rng = random.Random(SEED + n)
    out = []
    for i in range(n):
        r = rng.random()
        unit, note = unit_name(i), ""
        if r < 0.01 and i > 10:
            unit, note = unit_name(rng.randrange(i)), f"（更正{i}）"    # a corrected resubmission
        kind = "dup" if 0.01 <= r < 0.015 and i > 0 else "new"
        u = rng.random()
        fault = "total" if u < 0.015 else "text" if u < 0.03 else None
        v = rng.random()
        if fault or v < 0.60:
            variant = "canonical"
        elif v < 0.85:
            variant = "offset"
        else:
            variant = rng.choices(list(OTHERS), weights=list(OTHERS.values()))[0]
        late = rng.random() < 0.05
        when = (DEADLINE + rng.uniform(3600, 5 * 86400)) if late else ON_TIME + 10 * 86400 * i / max(n, 1)
        name = f"{unit}{note}_2016年9月安全生产标准化月报{samples.SUFFIX.get(variant, '.xlsx')}"
        out.append({"i": i, "unit": unit, "variant": variant, "fault": fault, "kind": kind,
                    "mtime": when, "name": f"{i:05d}_{name}" if kind == "dup" else name})
    return out


def _break(grids: list, fault: str, rng: random.Random) -> None:
    """A wrong 合计 (its stored result off by one) or a word typed into a count cell."""
    g = grids[-1]
    if fault == "total":
        at = rng.choice([rc for rc, v in g.cells.items() if isinstance(v, Formula)])
        g.cells[at] = Formula(g.cells[at].text, (g.cells[at].cached or 0) + 1)
    else:
        at = rng.choice([rc for rc, v in g.cells.items() if isinstance(v, int) and not isinstance(v, bool)])
        g.cells[at] = rng.choice(["若干", "待核实", "3家左右"])


def _write(job: tuple) -> tuple[int, str]:
    inbox, spec = job
    rng = random.Random(SEED * 7 + spec["i"])
    rows = _rows(rng)
    path = inbox / spec["name"]
    if spec["fault"]:
        grids = variants.workbook_grids(spec["unit"], PERIOD, rows, spec["variant"])
        _break(grids, spec["fault"], rng)
        writers.write_xlsx(path, grids)
    else:
        path = samples.write_sample(path, spec["unit"], PERIOD, rows, spec["variant"])
    os.utime(path, (spec["mtime"], spec["mtime"]))
    return spec["i"], path.name


def _write_units(path: Path, n: int) -> None:
    rng = random.Random(SEED - n)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位", "别名", "规模以上企业数", "起始", "截止"])
        for i in range(n):
            name = unit_name(i)
            w.writerow([name, f"{name}办事处;{name[:-2]}办事处", rng.randint(5, 80), "", ""])


def corpus(n: int, log=print) -> Path:
    """CACHE/<n>/ (bench/cache/<n>/) with inbox/ and reference/, generated unless already there."""
    home = CACHE / str(n)
    stamp = home / "corpus.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("version") == VERSION:
        return home
    if home.exists():
        shutil.rmtree(home)
    inbox, reference = home / "inbox", home / "reference"
    inbox.mkdir(parents=True)
    reference.mkdir()
    _write_units(reference / "units.csv", n)
    shutil.copy(REPO / "reference" / "settings.toml", reference / "settings.toml")
    specs = plan(n)
    fresh = [s for s in specs if s["kind"] == "new"]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
        written = dict(pool.imap_unordered(_write, [(inbox, s) for s in fresh], chunksize=64))
    for s in specs:                       # the same bytes again, under another name
        if s["kind"] == "dup":
            source = next(t for t in reversed(specs[: s["i"]]) if t["kind"] == "new")
            target = inbox / (f"{s['i']:05d}_" + written[source["i"]])
            shutil.copyfile(inbox / written[source["i"]], target)
            os.utime(target, (s["mtime"], s["mtime"]))
    mix: dict[str, int] = {}
    for s in specs:
        key = s["fault"] and f"broken:{s['fault']}" or (s["kind"] == "dup" and "duplicate") or s["variant"]
        mix[key] = mix.get(key, 0) + 1
    stamp.write_text(json.dumps({"version": VERSION, "n": n, "files": len(specs), "mix": mix,
                                 "seconds": round(time.perf_counter() - started, 1)}, ensure_ascii=False))
    log(f"generated {n} workbooks in {time.perf_counter() - started:.1f} s -> {home}")
    return home


def files_of(home: Path) -> list[Path]:
    return sorted((home / "inbox").iterdir())
