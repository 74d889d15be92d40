"""One run at a time on an archive, and the points where the crash tests kill a run."""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
from pathlib import Path


@contextlib.contextmanager
def run_lock(archive: Path):
    """One run at a time per archive: a second run waits, and says why."""
    archive.mkdir(parents=True, exist_ok=True)
    with open(archive / ".run.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("另一个任务正在使用同一存档目录，等待其完成……", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def crash_point(name: str):
    """Fault injection for the crash tests: PIPELINE_CRASH_AT=name kills the run here, as a power
    cut would (SIGKILL: no cleanup, no finally)."""
    if os.environ.get("PIPELINE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
