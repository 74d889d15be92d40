#!/usr/bin/env python3
"""Runs `check` over the foreign corpus and reports what became of every file (issue 5's figures).

    .venv/bin/python tools/corpus_report.py [../shared/corpus/foreign]
"""
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.check.check import check_files  # noqa: E402
from pipeline.core.settings import load_settings  # noqa: E402
from pipeline.read.units import load_units  # noqa: E402


def peak_tree_rss(stop, out):
    me = psutil.Process()
    while not stop.is_set():
        try:
            total = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
        except psutil.Error:
            continue
        out[0] = max(out[0], total)
        time.sleep(0.02)


def main():
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpus" / "foreign"
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv"))
    ref = ROOT / "reference"
    stop, peak = threading.Event(), [0]
    watcher = threading.Thread(target=peak_tree_rss, args=(stop, peak), daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    results = check_files([(p, p.name) for p in files], load_units(ref), load_settings(ref))
    wall = time.perf_counter() - t0
    stop.set()
    verdicts, isolated = Counter(), Counter()
    for r in results:
        first = r.submissions[0]
        verdicts["accepted" if first.status == "accepted" else first.findings[0].code] += 1
        for f in first.findings:
            for word, what in (("无法解析", "native panic caught"), ("异常退出", "worker crashed"),
                               ("秒仍未完成", "timed out"), ("内存过多", "memory cap")):
                if word in f.message:
                    isolated[what] += 1
    print(f"files tried: {len(files)} in {wall:.1f} s ({wall / len(files) * 1000:.1f} ms/file)")
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in verdicts.most_common()))
    print("isolated failures: " + (", ".join(f"{k} {v}" for k, v in isolated.items()) or "none"))
    print(f"peak memory of the process tree: {peak[0] / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
