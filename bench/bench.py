"""`make bench [N=40000]`: the monthly run end to end against a naive pandas baseline and the
calamine floor, per file at the margin (time at two sizes, difference over the difference in
files, so start-up cancels out). Prints a report and writes it to bench/last_report.txt (beside
the cache folder, `--cache`).

    .venv/bin/python bench/bench.py                         # N = 2,000 (and 1,000 for the margin)
    .venv/bin/python bench/bench.py --n 40000               # the scale run
    .venv/bin/python bench/bench.py --sizes 2000,10000,40000   # linearity in N
    .venv/bin/python bench/bench.py --n 10000 --profile 2000   # + cProfile of one run: bench/cache/profile.txt

The real run calls `pipeline.jobs.monthly.run_monthly` in this process on a fresh archive and outbox,
with the cached workbooks hard-linked into a fresh inbox (intake removes inbox files; the links
leave the cache intact). Stage times come from timers patched onto the pipeline's functions.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT.parent), str(ROOT)]

# The sandbox's forkserver imports this file as its main module: keep what it runs here light, as
# `python -m pipeline` would (nothing heavy preloaded in the workers).
if __name__ == "__main__":
    import corpus
    import stages

TARGETS = {"naive_ratio": 20.0, "floor_ratio": 3.0, "wall_40k": 60.0, "memory_mb": 1024.0, "linear": 1.5,
           "cores": 1.5}
MB = 2**20


# --- the three things measured -------------------------------------------------------------

RUNS: list[Path] = []   # removed only at the very end: right after a big delete, creating files is slow here


def real_run(home: Path, files: list[Path] | None = None, profile: Path | None = None) -> dict:
    """One monthly run over the cached corpus at `home`, on a fresh archive and outbox."""
    from pipeline.jobs.monthly import run_monthly

    files = corpus.files_of(home) if files is None else files
    run = corpus.CACHE / f"run-{os.getpid()}-{len(RUNS)}"
    RUNS.append(run)
    shutil.rmtree(run, ignore_errors=True)
    inbox = run / "inbox"
    inbox.mkdir(parents=True)
    for p in files:
        os.link(p, inbox / p.name)
    folders = {"inbox": inbox, "archive": run / "archive", "outbox": run / "outbox",
               "reference": home / "reference"}
    stages.reset()
    out = io.StringIO()
    with stages.Monitor() as monitor, contextlib.redirect_stdout(out):
        t0 = time.perf_counter()
        if profile:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        rc = run_monthly(folders, corpus.PERIOD)
        if profile:
            prof.disable()
            _write_profile(prof, profile)
        wall = time.perf_counter() - t0
    manifest = json.loads((run / "outbox" / corpus.PERIOD / "manifest.json").read_text(encoding="utf-8"))
    statuses: dict[str, int] = {}
    for s in manifest["submissions"]:
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    left = sum(1 for _ in inbox.iterdir())
    receipts = sum(1 for _ in (run / "outbox" / corpus.PERIOD / "回执").iterdir())
    assert rc == (1 if statuses.get("rejected") else 0) and left == 0, (rc, left, out.getvalue()[-2000:])
    return {"files": len(files), "wall": wall, "cpu": monitor.cpu, "rss": monitor.peak_rss, "pss": monitor.peak_pss,
            "processes": monitor.peak_processes, "seconds": dict(stages.SECONDS), "calls": dict(stages.CALLS),
            "stage_cpu": dict(stages.CPU), "load": os.getloadavg()[0], "statuses": statuses, "missing": len(manifest["missing"]),
            "receipts": receipts}


def _write_profile(prof, path: Path) -> None:
    import pstats

    prof.dump_stats(path.with_suffix(".prof"))          # for snakeviz or pstats
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("cumulative").print_stats(r"pipeline/", 60)   # the pipeline's own functions
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(45)
    stats.sort_stats("cumulative").print_stats(60)
    path.write_text(text.getvalue(), encoding="utf-8")


def floor(files: list[Path]) -> float:
    """Seconds per file to open each workbook with calamine and read every sheet, one core."""
    import python_calamine

    t0 = time.perf_counter()
    for p in files:
        book = python_calamine.CalamineWorkbook.from_path(str(p))
        for i in range(len(book.sheet_names)):
            book.get_sheet_by_index(i).to_python()
        book.close()
    return (time.perf_counter() - t0) / len(files)


def naive(files: list[Path]) -> float:
    """What a first attempt would do: per file read_excel (openpyxl) and a pandera validation,
    then concat and sum. Returns seconds for all `files`."""
    import pandas as pd
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    schema = pa.DataFrameSchema({"value": pa.Column(float, pa.Check.ge(0), nullable=True)})
    t0 = time.perf_counter()
    frames = []
    for p in files:
        sheet = pd.read_excel(p, engine="openpyxl", header=None)
        numbers = sheet.apply(pd.to_numeric, errors="coerce").stack()
        frame = numbers.astype("float64").rename("value").reset_index(drop=True).to_frame()
        with contextlib.suppress(SchemaErrors):
            schema.validate(frame, lazy=True)
        frames.append(frame)
    pd.concat(frames, ignore_index=True)["value"].sum()
    return time.perf_counter() - t0


# --- the report ----------------------------------------------------------------------------

def least(tries: list[dict]) -> dict:
    """The run of the least wall time among runs of one size, with the most memory any of them took."""
    best = min(tries, key=lambda r: r["wall"])
    return best | {"rss": max(r["rss"] for r in tries), "pss": max(r["pss"] for r in tries),
                   "walls": [r["wall"] for r in tries]}


def margin(a: dict, b: dict) -> float:
    """Seconds per file between two runs of different sizes."""
    return (b["wall"] - a["wall"]) / (b["files"] - a["files"])


def projected(runs: list[dict], n: int) -> float | None:
    """Wall time at n by a power law through the last two runs (at least linear)."""
    if len(runs) < 2:
        return None
    import math
    a, b = runs[-2], runs[-1]
    k = max(1.0, math.log(b["wall"] / a["wall"]) / math.log(b["files"] / a["files"]))
    return b["wall"] * (n / b["files"]) ** k


def verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else "PASS" if ok else "FAIL"


NAIVE_PAIRS = 3


def pair_margins(pairs: list[tuple[float, float]], sizes: tuple[int, int]) -> list[float]:
    """Seconds a file of the naive baseline, from each pair of passes (the smaller size, then the
    larger, one after the other): a difference of two timings taken at the same moment. Its median is
    the baseline; the least of each size taken apart once gave 6.0 ms where pairs give 8.2–10.0."""
    return [(large - small) / (sizes[1] - sizes[0]) for small, large in pairs]


def turn_ratios(tries: dict[int, list[dict]], floors: list[float]) -> list[float]:
    """Each turn's margin between the two largest sizes over the floor measured beside it (the lesser
    of the passes just before and just after the turn): the host's speed drifts by a third within
    minutes, so a ratio is taken between measurements made at the same time."""
    if len(tries) < 2:
        return []
    a, b = sorted(tries)[-2:]
    return [margin(ra, rb) / min(floors[k], floors[k + 1]) for k, (ra, rb) in enumerate(zip(tries[a], tries[b]))]


def report(runs: list[dict], naive_margins: list[float], naive_sizes: tuple[int, int], floors: list[float],
           floor_n: int, generated: dict, ratios: list[float] = ()) -> str:
    floor_s, naive_s = min(floors), statistics.median(naive_margins)
    lines = []
    add = lines.append
    load = os.getloadavg()
    add(f"bench {time.strftime('%Y-%m-%d %H:%M:%S')}  {platform.node()}  cores={os.cpu_count()}  "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  python {platform.python_version()}")
    add(f"corpus mix (N={max(generated)}): " + ", ".join(f"{k} {v}" for k, v in
                                                         sorted(generated[max(generated)].items(), key=lambda kv: -kv[1])))
    add("")
    add(f"floor   calamine open + to_python of every sheet, 1 core, {floor_n} files: {floor_s * 1e3:.3f} ms/file "
        f"(the least of {len(floors)} passes, one before each turn of runs and one after: "
        + ", ".join(f"{f * 1e3:.3f}" for f in floors) + ")")
    add(f"naive   read_excel(openpyxl) + pandera per file, concat, sum: marginal over {naive_sizes[0]}->{naive_sizes[1]} "
        f"files: {naive_s * 1e3:.2f} ms/file ({1 / naive_s:.0f} files/s; the median of {len(naive_margins)} pairs of "
        "passes, each size then the other: " + ", ".join(f"{m * 1e3:.2f}" for m in naive_margins) + ")")
    add("")
    head = (f"{'N':>7} {'wall s':>8} {'ms/file':>8} {'files/s':>8} {'x naive':>8} {'x floor':>8} "
            f"{'peak MB':>8} {'PSS MB':>7} {'cores':>5} | {'archive':>7} {'read':>7} {'validate':>8} "
            f"{'ledger':>7} {'outputs':>7} {'other':>6}")
    add(head)
    add("-" * len(head))
    rows = []
    for k, r in enumerate(runs):
        s = r["seconds"]
        m = margin(runs[k - 1], r) if k else None
        read = s.get("check", 0)
        other = r["wall"] - s.get("check", 0) - s.get("outputs", 0)   # archive and ledger overlap the check
        rows.append((r, m))
        per = f"{m * 1e3:8.3f} {1 / m:8.0f} {naive_s / m:8.1f} {m / floor_s:8.2f}" if m else \
            f"{'(' + format(r['wall'] / r['files'] * 1e3, '.3f') + ')':>8} {'':>8} {'':>8} {'':>8}"
        add(f"{r['files']:>7} {r['wall']:8.2f} {per} {r['rss'] / MB:8.0f} {r['pss'] / MB:7.0f} "
            f"{r['cpu'] / r['wall']:5.2f} | {s.get('archive', 0):7.2f} {read:7.2f} {s.get('validate', 0):8.2f} "
            f"{s.get('ledger', 0):7.2f} {s.get('outputs', 0):7.2f} {other:6.2f}")
    add("wall s: the least of each size's runs (" + "; ".join(
        f"N={r['files']}: " + ", ".join(f"{w:.2f}" for w in r.get("walls", [r["wall"]])) for r in runs)
        + "), taken in turn; peak MB the most of them.")
    add("load average (1 min) at the end of each run: " + ", ".join(f"N={r['files']}: {r['load']:.2f}" for r in runs))
    add("ms/file, files/s, x naive, x floor: marginal against the size above (in brackets: wall/N for the "
        "first size); x floor over the least floor pass. The floor target instead takes each turn's margin between "
        "the two largest sizes over the lesser of the floor passes just before and after that turn, and the median "
        "of the turns: the host's speed drifts by a third within minutes, and a short floor pass and a long run "
        "rarely catch the same moment.")
    add("peak MB: sum of RSS over the process tree (parent, forkserver, workers), sampled every 50 ms from a separate process; "
        "PSS MB the same counting shared pages once. cores: CPU seconds of the tree / wall.")
    add("read: the stream of checking (examine_chunks: the workers archiving, sniffing, reading with calamine, "
        "locating the form, finding unit and period; the parent feeding them and collecting). On the writer thread "
        "meanwhile, a chunk behind: validate (pandera and the 合计 check, within conclude), ledger (Ledger.record), "
        "archive (syncing each chunk's archived files). outputs: write_monthly; other: wall minus read and outputs "
        "(start-up, the inbox scan, the last chunks' recording).")
    add("")
    last = runs[-1]
    add(f"stage detail at N={last['files']} (seconds; calls):")
    for name in sorted(last["seconds"], key=lambda n: (n.split(".")[0], n)):
        cpu = last["stage_cpu"].get(name)
        add(f"  {name:<24} {last['seconds'][name]:8.2f} s {last['calls'][name]:>8}"
            + (f"   cores {cpu / last['seconds'][name]:.2f}" if cpu and last['seconds'][name] > 0.05 else ""))
    add(f"  submissions: {last['statuses']}; units missing: {last['missing']}; receipt files: {last['receipts']}; "
        f"peak processes: {last['processes']}")
    add(f"  ru_maxrss: self {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
        f"largest reaped child {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    add("")

    m_last = rows[-1][1]
    add("targets")
    r40 = next((r for r in runs if r.get("n") == 40_000), None)
    if r40 is None and m_last:
        estimate = last["wall"] + m_last * (40_000 - last["files"])
        add(f"  (40,000 not run: extrapolated wall {estimate:.1f} s from N={last['files']} and its margin)")
    checks = [
        (f"x naive per file >= {TARGETS['naive_ratio']:g}", m_last and naive_s / m_last >= TARGETS["naive_ratio"],
         m_last and f"{naive_s / m_last:.1f}x"),
        (f"per file <= {TARGETS['floor_ratio']:g}x calamine floor",
         ratios and statistics.median(ratios) <= TARGETS["floor_ratio"],
         ratios and f"{statistics.median(ratios):.2f}x, the median of the turns' "
         + ", ".join(f"{x:.2f}" for x in ratios) + f" (least margin over least floor: {m_last / floor_s:.2f}x, "
         f"{m_last * 1e3:.3f} vs {floor_s * 1e3:.3f} ms)"),
        (f"40,000 files in <= {TARGETS['wall_40k']:g} s", r40 and r40["wall"] <= TARGETS["wall_40k"],
         r40 and f"{r40['wall']:.1f} s"),
        (f"40,000 files peak < {TARGETS['memory_mb']:g} MB", r40 and r40["rss"] / MB < TARGETS["memory_mb"],
         r40 and f"{r40['rss'] / MB:.0f} MB RSS sum, {r40['pss'] / MB:.0f} MB PSS"),
    ]
    margins = [m for _r, m in rows if m]
    if len(margins) >= 2:
        worst = max(margins) / min(margins)
        checks.append((f"linear in N: margins within {TARGETS['linear']:g}x", worst <= TARGETS["linear"],
                       " / ".join(f"{m * 1e3:.3f}" for m in margins) + f" ms/file ({worst:.2f}x)"))
    else:
        checks.append(("linear in N (needs 3 sizes)", None, ""))
    check_cpu = last["stage_cpu"].get("check")
    if check_cpu:
        cores = check_cpu / last["seconds"]["check"]
        checks.append((f"both cores used while checking (>= {TARGETS['cores']:g})", cores >= TARGETS["cores"],
                       f"{cores:.2f} cores in check, {last['cpu'] / last['wall']:.2f} over the whole run"))
    for name, ok, detail in checks:
        add(f"  {verdict(None if ok is None else bool(ok))}  {name:<42} {detail or ''}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--n", type=int, default=2000, help="workbooks (the margin is taken against N/2)")
    ap.add_argument("--sizes", help="comma-separated sizes, e.g. 2000,10000,40000 (overrides --n)")
    ap.add_argument("--naive", default="200,400", help="the two sizes of the naive baseline")
    ap.add_argument("--profile", type=int, metavar="N", help="also cProfile one run at N: bench/cache/profile.txt")
    ap.add_argument("--settle", type=float, default=420,
                    help="seconds to wait at most for the disk to settle after a large deletion")
    ap.add_argument("--budget", type=float, default=1800,
                    help="skip a size whose run is projected (power law of the sizes before) to take longer")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each size, the sizes taken in turn; each size's wall is the least (as for the "
                         "baselines), its peak memory the most")
    ap.add_argument("--cache", type=Path, default=corpus.CACHE,
                    help="folder of the corpora and the runs (default bench/cache); the report goes beside it")
    args = ap.parse_args(argv)
    corpus.CACHE = args.cache
    sizes = sorted({int(s) for s in args.sizes.split(",")}) if args.sizes else [max(1, args.n // 2), args.n]
    naive_sizes = tuple(int(s) for s in args.naive.split(","))

    import pipeline.jobs.monthly  # noqa: F401 - imported before timing: start-up is not the subject
    homes = {}
    for n in sizes:
        homes[n] = corpus.corpus(n, log=lambda s: print(s, flush=True))
    generated = {n: json.loads((h / "corpus.json").read_text())["mix"] for n, h in homes.items()}
    disk = settled_disk(args.settle)
    stages.install()
    warm = corpus.files_of(homes[sizes[0]])[:40]
    real_run(homes[sizes[0]], warm)              # imports, forkserver, first-use caches

    big = corpus.files_of(homes[sizes[-1]])
    floors = []   # a pass before each turn and one after the last: the floor is the least (noise only adds)

    runs, skipped, tries = [], [], {}
    for turn in range(max(1, args.repeat)):   # the sizes in turn: a host that slows for a while slows each alike
        floors.append(floor(big))
        for n in sizes:
            if turn and n not in tries:   # skipped on the first turn
                continue
            guess = None if turn else projected(runs, n)
            if guess and guess > args.budget:
                print(f"real run N={n}: skipped, projected {guess:.0f} s > budget {args.budget:.0f} s", flush=True)
                skipped.append((n, guess))
                continue
            print(f"real run N={n} ({turn + 1} of {args.repeat}) ...", flush=True)
            run = real_run(homes[n]) | {"n": n}
            tries.setdefault(n, []).append(run)
            if not turn:
                runs.append(run)
            print(f"  {run['wall']:.2f} s", flush=True)
            with open(corpus.CACHE / "runs.jsonl", "a", encoding="utf-8") as f:   # kept if a later step fails
                f.write(json.dumps(run | {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "load": os.getloadavg()},
                                   ensure_ascii=False) + "\n")
    runs = [least(tries[r["n"]]) for r in runs]

    floors.append(floor(big))
    books = [p for p in big if p.suffix in (".xlsx", ".xlsm")]
    print("naive baseline ...", flush=True)
    naive(books[:naive_sizes[0]])   # openpyxl's and pandera's first use
    pairs = [tuple(naive(books[:k]) for k in naive_sizes) for _ in range(NAIVE_PAIRS)]

    text = report(runs, pair_margins(pairs, naive_sizes), naive_sizes, floors, len(big), generated,
                  turn_ratios(tries, floors))
    text = text.replace("\n\n", f"\ndisk    creating a small file before the runs: {disk * 1e6:.0f} µs\n\n", 1)
    for n, guess in skipped:
        text += f"\n  NOT RUN N={n}: projected {guess:.0f} s (power law through the sizes run) > --budget"
    print()
    print(text)
    (corpus.CACHE.parent / "last_report.txt").write_text(text + "\n", encoding="utf-8")
    if args.profile:
        stages.uninstall()
        path = corpus.CACHE / "profile.txt"
        real_run(corpus.corpus(args.profile), profile=path)
        print(f"\nprofile of one run at N={args.profile}: {path}")
    return 0


def creation_cost(files: int = 500) -> float:
    """Seconds to create one small file in the benchmark's folder (the outputs create ~41,000). The
    probe's files are removed with the runs, at the end: deleting them now would slow the disk again."""
    probe = corpus.CACHE / f"probe-{os.getpid()}-{len(RUNS)}"
    RUNS.append(probe)
    probe.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for k in range(files):
        (probe / f"回执_{k:05d}.txt").write_bytes(b"x" * 1500)
    return (time.perf_counter() - t0) / files


CLEANED = "cleaned-at"   # in the cache folder: when a bench last removed its runs
RECENT = 360             # s: ext4 looks past inodes freed this recently (60 s, 300 more while their table is dirty)


def settled_disk(budget: float, slow: float = 150e-6) -> float:
    """Wait (up to `budget` s) until creating a file is back to normal: on this disk it costs several
    times more for minutes after a large deletion (a benchmark's runs, say), which would be measured
    as the pipeline's outputs. First, RECENT s after the last bench removed its runs: to make a file,
    ext4 looks for a free inode past every one freed that recently (`recently_deleted`), and a
    file cost 180–590 µs of kernel time, nearly all of it in that search, minutes after a bench's
    cleanup, while a 500-file probe still said 60 µs. Then two probes in a row, 20 s apart: after a
    bench had deleted its runs, one fast probe was followed by runs whose receipts took 15 s instead
    of 11. Returns the last cost measured."""
    deadline, fast = time.monotonic() + budget, 0
    try:
        since = time.time() - float((corpus.CACHE / CLEANED).read_text())
    except (OSError, ValueError):
        since = RECENT
    if since < RECENT and budget > 0:
        print(f"the last bench removed its runs {since:.0f} s ago: waiting {min(RECENT - since, budget):.0f} s",
              flush=True)
        time.sleep(min(RECENT - since, budget))
    while True:
        cost = creation_cost()
        fast = fast + 1 if cost <= slow else 0
        if fast == 2 or time.monotonic() >= deadline:
            return cost
        if cost > slow:
            print(f"disk busy: {cost * 1e6:.0f} µs to create a file; waiting", flush=True)
        time.sleep(20)


def clean_up():
    for run in RUNS:
        shutil.rmtree(run, ignore_errors=True)
    if RUNS:
        with contextlib.suppress(OSError):
            (corpus.CACHE / CLEANED).write_text(f"{int(time.time())}\n", encoding="utf-8")   # never ahead of now


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        clean_up()
