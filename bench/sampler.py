"""Sample the memory and CPU of a process tree from outside it: `python sampler.py PID INTERVAL`.

Runs as its own process so that sampling never takes a turn of the measured process's interpreter
lock (a sampling thread inside it slowed the run it measured). Polls until its stdin closes, then
prints one JSON object: peak RSS sum, peak PSS sum (every tenth poll), peak process count, and the
CPU seconds of every process of the tree as last seen ({"pid:create_time": seconds}).
"""
from __future__ import annotations

import json
import os
import select
import sys

import psutil


def main() -> None:
    root, interval = psutil.Process(int(sys.argv[1])), float(sys.argv[2])
    me = os.getpid()
    peak_rss = peak_pss = peak_n = 0
    cpu: dict[str, float] = {}
    k = 0
    while True:
        pss = k % 10 == 0
        rss_sum = pss_sum = n = 0
        for p in [root] + root.children(recursive=True):
            if p.pid == me:
                continue
            try:
                rss_sum += p.memory_info().rss
                if pss:
                    pss_sum += p.memory_full_info().pss
                t = p.cpu_times()
                cpu[f"{p.pid}:{p.create_time()}"] = t.user + t.system
                n += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        peak_rss, peak_pss, peak_n = max(peak_rss, rss_sum), max(peak_pss, pss_sum), max(peak_n, n)
        k += 1
        if select.select([sys.stdin], [], [], interval)[0] and not sys.stdin.buffer.read1(1):
            break    # stdin closed: the run is over
    json.dump({"rss": peak_rss, "pss": peak_pss, "processes": peak_n, "cpu": cpu}, sys.stdout)


if __name__ == "__main__":
    main()
