"""Measure the real monthly run from outside: stage timers patched onto the pipeline's own
functions (no pipeline code changes), and a sampler for the memory and CPU of the process tree.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import sampler

import pipeline.check.check
import pipeline.jobs.intake
import pipeline.jobs.monthly
from pipeline.store.ledger import Ledger

SECONDS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
CPU: dict[str, float] = {}          # stage -> CPU seconds of the whole process tree (top-level stages)
MONITOR: list = []                  # the running Monitor, if any

# (module or class, attribute, stage name). Names with a dot are parts of the stage before the dot.
PATCHES = (
    (pipeline.jobs.monthly, "intake_run", "intake"),
    (pipeline.jobs.intake, "commit", "archive"),
    (pipeline.jobs.intake, "examine_chunks", "check"),
    (pipeline.jobs.intake, "conclude", "ledger.conclude"),
    (pipeline.check.check, "validate", "validate"),
    (Ledger, "previous_rows", "check.history"),
    (Ledger, "files_by_sha", "intake.lookups"),
    (Ledger, "record", "ledger"),
    (Ledger, "mark_removed", "intake.remove"),
    (pipeline.jobs.monthly, "write_monthly", "outputs"),
    (Ledger, "period_submissions", "outputs.ledger_reads"),
    (Ledger, "counted", "outputs.ledger_reads"),
    (pipeline.jobs.monthly, "district_rows", "outputs.totals"),
    (pipeline.jobs.monthly, "write_form", "outputs.form"),
    (pipeline.jobs.monthly, "write_status_book", "outputs.status_book"),
    (pipeline.jobs.monthly, "write_receipts", "outputs.receipts"),
)
WITH_CPU = {"intake", "check"}   # each measure polls the tree; the receipt pool's workers are gone before outputs end


@contextlib.contextmanager
def _measured(name: str, cpu: bool):
    c0 = MONITOR[0].cpu_now() if cpu and MONITOR else None
    t0 = time.perf_counter()
    try:
        yield
    finally:
        SECONDS[name] += time.perf_counter() - t0
        CALLS[name] += 1
        if c0 is not None:
            CPU[name] = CPU.get(name, 0.0) + MONITOR[0].cpu_now() - c0


def _timed(name: str, fn):
    cpu = name in WITH_CPU
    if inspect.isgeneratorfunction(fn):   # a stream's stage: from its first item asked for to its last
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _measured(name, cpu):
                yield from fn(*args, **kwargs)
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _measured(name, cpu):
                return fn(*args, **kwargs)
    wrapper.__bench_original__ = fn
    return wrapper


def install() -> None:
    for owner, attr, name in PATCHES:
        current = getattr(owner, attr)
        if not hasattr(current, "__bench_original__"):
            setattr(owner, attr, _timed(name, current))


def uninstall() -> None:
    for owner, attr, _name in PATCHES:
        current = getattr(owner, attr)
        if hasattr(current, "__bench_original__"):
            setattr(owner, attr, current.__bench_original__)


def reset() -> None:
    SECONDS.clear()
    CALLS.clear()
    CPU.clear()


class Monitor:
    """The resident memory of this process and all its descendants (the sandbox's forkserver and
    workers), summed and sampled every `interval` s by a separate process (`sampler.py`: a sampling
    thread in this process would compete with the run for the interpreter lock), and their CPU time."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.me = os.getpid()
        self.peak_rss = self.peak_pss = self.peak_processes = 0
        self._sampler = None
        self._cpu_seen: dict[str, float] = {}   # "pid:start" -> CPU s, last seen
        self._cpu_base = dict(self._children_cpu())
        self._me_base = self._own_cpu()

    def _own_cpu(self) -> float:
        return sampler.stat(self.me)[1]

    def _children_cpu(self):
        skip = self._sampler.pid if self._sampler else None
        for p in sampler.descendants(self.me):
            if p == skip:
                continue
            try:
                key, seconds, _rss = sampler.stat(p)
            except (OSError, ValueError, IndexError):
                continue
            yield key, seconds

    def cpu_now(self) -> float:
        """CPU seconds used by the tree since the monitor started (workers seen at least once)."""
        for key, seconds in self._children_cpu():
            self._cpu_seen[key] = max(seconds, self._cpu_seen.get(key, 0.0))
        children = sum(v - self._cpu_base.get(k, 0.0) for k, v in self._cpu_seen.items())
        return self._own_cpu() - self._me_base + children

    def __enter__(self) -> Monitor:
        self._sampler = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("sampler.py")), str(os.getpid()), str(self.interval)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        MONITOR[:] = [self]
        return self

    def __exit__(self, *exc) -> None:
        MONITOR.clear()
        out, _ = self._sampler.communicate()   # closes its stdin: it answers and stops
        got = json.loads(out)
        self.peak_rss, self.peak_pss, self.peak_processes = got["rss"], got["pss"], got["processes"]
        for key, seconds in got["cpu"].items():
            if not key.startswith(f"{self.me}:"):
                self._cpu_seen[key] = max(seconds, self._cpu_seen.get(key, 0.0))
        self.cpu = self.cpu_now()
