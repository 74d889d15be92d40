"""Run a parsing function over many files, each file isolated for real (docs/runs.md, Bad input).

Workers are long-lived processes; each caps its own address space with RLIMIT_AS, and the parent
enforces a per-file deadline by killing the worker. A worker that hangs, dies (segfault,
os._exit, Rust abort) or runs out of memory costs only the item it was on: the parent knows which,
because each worker answers a parcel's items in the order sent, and a parcel that fails as a whole
is tried again an item at a time. A fresh worker takes over and the run goes on. Items are
pipelined (`depth` in flight per worker) so the IPC cost per file stays a few tens of
microseconds; a function that works in steps has a parcel's items advance together (`_replies`).
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import resource
import select
import signal
import threading
import time
import types
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Self

REASONS = ("timeout", "memory", "crash", "panic")


@dataclass(frozen=True)
class Outcome:
    result: object = None
    reason: str | None = None   # None when fn returned; else one of REASONS
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def failed(reason: str, detail: str = "") -> Outcome:
    assert reason in REASONS, reason
    return Outcome(None, reason, detail)


def exit_with(pid: int) -> None:
    """End this worker process when the run's process `pid` ends, however it ends (kill -9 too): a
    worker started through the forkserver is not its child, and would otherwise wait for work for
    ever (with it the forkserver and the resource tracker, ~110 MB). A thread waits on a pidfd of
    the run (Linux 5.3), else looks every second."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):
        fd = None

    def watch():
        if fd is not None:
            select.select([fd], [], [])   # readable once the process has ended
        else:
            while True:
                time.sleep(1)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    continue
        os._exit(0)

    size = threading.stack_size(256 * 1024)   # a waiting thread: a small stack under the worker's memory cap
    try:
        threading.Thread(target=watch, name="exit-with-run", daemon=True).start()
    finally:
        threading.stack_size(size)


def _worker(conn, fn, memory_mb: int | None, run: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if run:
        exit_with(run)
    if memory_mb:
        limit = memory_mb * 2**20
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit if hard == resource.RLIM_INFINITY else min(hard, limit)))
    while True:
        try:
            parcel = conn.recv()
        except (EOFError, OSError):
            return
        if parcel is None:
            return
        replies, fatal = _replies(fn, parcel)
        try:
            conn.send(replies)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            conn.send([reply if _sendable(reply) else ("panic", None, "result cannot be sent back") for reply in replies])
        except MemoryError:
            os._exit(70)
        if fatal:  # a process that hit its memory cap may be left fragmented: start afresh
            return


def _replies(fn, parcel: list) -> tuple[list, bool]:
    """The replies to a parcel, in its order, and whether the worker hit its memory cap.

    `fn` may return a generator: its item is then worked in steps (each `yield` ends one), and the
    parcel's items advance together, a step of each in turn. That is how `extract.examine` has a
    parcel read, then parsed, then located… a stage at a time, the stage's code staying in the
    processor's caches (~10 % less CPU than one file after another).

    After a MemoryError only the replies finished in order are sent (with the "memory" one, if every
    item before it was finished): the parent tries the rest again alone."""
    replies: list = [None] * len(parcel)
    steps = {}
    for k, item in enumerate(parcel):
        try:
            got = fn(item)
        except MemoryError:
            return _finished(replies, k), True
        except BaseException as error:  # noqa: BLE001 -- pyo3's PanicException derives from BaseException
            replies[k] = _panic(error)
            continue
        if isinstance(got, types.GeneratorType):
            steps[k] = got
        else:
            replies[k] = (None, got, "")
    while steps:
        for k, step in list(steps.items()):
            try:
                next(step)
                continue
            except StopIteration as done:
                replies[k] = (None, done.value, "")
            except MemoryError:
                return _finished(replies, k), True
            except BaseException as error:  # noqa: BLE001
                replies[k] = _panic(error)
            del steps[k]
    return replies, False


def _finished(replies: list, failed_at: int) -> list:
    """The replies before the first unfinished one; the item that ran out of memory's own, if it comes next."""
    done = list(itertools.takewhile(lambda reply: reply is not None, replies))
    return done + [("memory", None, "MemoryError")] if len(done) == failed_at else done


def _panic(error: BaseException) -> tuple:
    return ("panic", None, f"{type(error).__name__}: {error}"[:500])


def _sendable(reply) -> bool:
    try:
        pickle.dumps(reply)
        return True
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return False


@dataclass
class _Slot:
    process: multiprocessing.Process
    conn: object
    in_flight: deque = field(default_factory=deque)   # parcels (lists of items), in the order sent
    started: float = 0.0                              # when the head of in_flight began
    killed: bool = False


class Pool:
    def __init__(self, fn, workers: int | None = None, seconds_per_file: float = 20, memory_mb: int | None = 1024,
                 context: str = "forkserver", depth: int = 2, batch: int = 1):
        """`batch` items go to a worker in one message (fewer messages for many small items). When a
        parcel of several fails (the worker died, or the parcel overran the per-item deadline), each
        of its items is tried again alone, so the failure lands on the item that caused it."""
        self.fn, self.seconds, self.memory_mb, self.depth, self.batch = fn, seconds_per_file, memory_mb, depth, batch
        self.workers = workers or os.cpu_count() or 1
        self._context = multiprocessing.get_context(context)
        self._slots: list[_Slot] = []

    def __enter__(self) -> Self:
        if not self._slots:   # started already (in the background, say): keep those workers
            self._slots = [self._start() for _ in range(self.workers)]
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []

    def _start(self) -> _Slot:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(child, self.fn, self.memory_mb, os.getpid()), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def _replace(self, slot: _Slot) -> _Slot:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.conn.close()
        fresh = self._start()
        self._slots[self._slots.index(slot)] = fresh
        return fresh

    def map(self, items):
        """Yield (item, Outcome) for every item exactly once, in the order they finish."""
        if not self._slots:
            self.__enter__()
        source, retry = iter(items), deque()   # retry: items to try again, each alone
        try:
            while True:
                self._send(source, retry)
                busy = [s for s in self._slots if s.in_flight]
                if not busy:
                    return
                now = time.monotonic()
                timeout = max(0.0, min(s.started + self.seconds for s in busy) - now)
                ready = wait([s.conn for s in busy], timeout)
                for slot in busy:
                    if slot.conn in ready:
                        yield from self._receive(slot, retry)
                now = time.monotonic()
                for slot in [s for s in self._slots if s.in_flight and now - s.started > self.seconds]:
                    parcel = slot.in_flight.popleft()
                    self._requeue(slot, retry)
                    self._replace(slot)
                    if len(parcel) > 1:
                        retry.extendleft(reversed(parcel))
                    else:
                        yield parcel[0], failed("timeout", f"超过 {self.seconds:g} 秒")
        finally:
            for slot in [s for s in self._slots if s.in_flight]:  # abandoned mid-way: drop stale work
                self._replace(slot)

    def _send(self, source, retry: deque):
        """Top up each worker to `depth` parcels, a parcel to each in turn: a short run is shared
        evenly (filling one worker first gave it 64 of a 100-file run's files, the other 36)."""
        dead: list[_Slot] = []
        for _ in range(self.depth):
            for slot in list(self._slots):
                if len(slot.in_flight) >= self.depth or any(slot is d for d in dead):
                    continue
                parcel = [retry.popleft()] if retry else list(itertools.islice(source, self.batch))
                if not parcel:
                    return
                if not slot.in_flight:
                    slot.started = time.monotonic()
                slot.in_flight.append(parcel)
                try:
                    slot.conn.send(parcel)
                except OSError:  # the worker died: its end-of-file is read below
                    dead.append(slot)

    @staticmethod
    def _requeue(slot: _Slot, retry: deque):
        """The parcels sent after the head, never started: each item to be tried again alone."""
        waiting = [item for parcel in slot.in_flight for item in parcel]
        retry.extendleft(reversed(waiting))
        slot.in_flight.clear()

    def _receive(self, slot: _Slot, retry: deque):
        try:
            replies = slot.conn.recv()
        except (EOFError, OSError):
            slot.process.join(5)
            if slot.in_flight:
                parcel = slot.in_flight.popleft()
                self._requeue(slot, retry)
                if len(parcel) > 1:
                    retry.extendleft(reversed(parcel))
                else:
                    yield parcel[0], _death(slot.process.exitcode)
            self._replace(slot)
            return
        parcel = slot.in_flight.popleft()
        slot.started = time.monotonic()
        for item, (reason, result, detail) in zip(parcel, replies):
            yield item, Outcome(result, reason, detail)
        if len(replies) < len(parcel) or any(reason == "memory" for reason, _, _ in replies):
            retry.extendleft(reversed(parcel[len(replies):]))   # the worker left after a MemoryError
            self._requeue(slot, retry)
            self._replace(slot)


def _death(exitcode: int | None) -> Outcome:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else str(-exitcode)
        if -exitcode == signal.SIGKILL:  # not ours (ours are timeouts): the kernel's OOM killer
            return failed("memory", f"进程被 {name} 结束（可能内存不足）")
        if -exitcode == signal.SIGABRT:  # Rust aborts when an allocation fails
            return failed("crash", f"进程异常终止（{name}，可能内存不足）")
        return failed("crash", f"进程异常终止（{name}）")
    return failed("crash", f"进程意外退出（退出码 {exitcode}）")


