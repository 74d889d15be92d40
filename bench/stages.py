"""Measure the real monthly run from outside: stage timers patched onto the pipeline's own
functions (no pipeline code changes), and a sampler for the memory and CPU of the process tree.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict

import psutil

import pipeline.check
import pipeline.intake
import pipeline.monthly
from pipeline.ledger import Ledger

SECONDS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
CPU: dict[str, float] = {}          # stage -> CPU seconds of the whole process tree (top-level stages)
MONITOR: list = []                  # the running Monitor, if any

# (module or class, attribute, stage name). Names with a dot are parts of the stage before the dot.
PATCHES = (
    (pipeline.monthly, "intake_run", "intake"),
    (pipeline.intake, "archived", "archive"),
    (pipeline.intake, "check_files", "check"),
    (pipeline.check, "validate", "validate"),
    (Ledger, "previous_rows", "check.history"),
    (Ledger, "files_by_sha", "intake.lookups"),
    (Ledger, "record", "ledger"),
    (Ledger, "mark_removed", "intake.remove"),
    (pipeline.monthly, "write_monthly", "outputs"),
    (Ledger, "period_submissions", "outputs.ledger_reads"),
    (Ledger, "counted", "outputs.ledger_reads"),
    (pipeline.monthly, "district_rows", "outputs.totals"),
    (pipeline.monthly, "write_form", "outputs.form"),
    (pipeline.monthly, "write_status_book", "outputs.status_book"),
    (pipeline.monthly, "write_receipts", "outputs.receipts"),
)
WITH_CPU = {"intake", "archive", "check", "validate", "ledger", "outputs"}


def _timed(name: str, fn):
    cpu = name in WITH_CPU

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        c0 = MONITOR[0].cpu_now() if cpu and MONITOR else None
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SECONDS[name] += time.perf_counter() - t0
            CALLS[name] += 1
            if c0 is not None:
                CPU[name] = CPU.get(name, 0.0) + MONITOR[0].cpu_now() - c0
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


class Monitor(threading.Thread):
    """Samples the resident memory of this process and all its descendants (the sandbox's
    forkserver and workers) every `interval` s; keeps the peak of their sum, and their CPU time."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval = interval
        self.me = psutil.Process()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._cpu_seen: dict[tuple[int, float], float] = {}   # (pid, create_time) -> CPU s, last seen
        self._cpu_base: dict[tuple[int, float], float] = {}
        for p in self.me.children(recursive=True):
            with_cpu = self._cpu(p)
            if with_cpu is not None:
                self._cpu_base[with_cpu[0]] = with_cpu[1]
        self._me_base = sum(self.me.cpu_times()[:2])

    @staticmethod
    def _cpu(p):
        try:
            t = p.cpu_times()
            return (p.pid, p.create_time()), t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def _poll(self, pss: bool) -> None:
        rss, pss_total, n = self.me.memory_info().rss, 0, 1
        if pss:
            pss_total = self.me.memory_full_info().pss
        for p in self.me.children(recursive=True):
            try:
                rss += p.memory_info().rss
                if pss:
                    pss_total += p.memory_full_info().pss
                n += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            got = self._cpu(p)
            if got is not None:
                with self._lock:
                    self._cpu_seen[got[0]] = got[1]
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss_total)
        self.peak_processes = max(self.peak_processes, n)

    def cpu_now(self) -> float:
        """CPU seconds used by the tree since the monitor started (workers seen at least once)."""
        self._poll(pss=False)
        with self._lock:
            children = sum(v - self._cpu_base.get(k, 0.0) for k, v in self._cpu_seen.items())
        return sum(self.me.cpu_times()[:2]) - self._me_base + children

    def run(self) -> None:
        k = 0
        while not self._done.is_set():
            self._poll(pss=k % 10 == 0)
            k += 1
            self._done.wait(self.interval)

    def __enter__(self) -> Monitor:
        MONITOR[:] = [self]
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self.join()
        self._poll(pss=True)
        MONITOR.clear()
