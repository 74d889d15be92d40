"""Pool: a file that hangs, eats memory, crashes or panics costs only itself; the rest go on."""
from __future__ import annotations

import ctypes
import os
import time

import pytest

from pipeline.check.sandbox import Pool


class PanicException(BaseException):  # what pyo3 raises from a Rust panic (python-calamine)
    pass


def parse(item):
    if item == "hang":
        time.sleep(3600)
    if item == "memory":
        return len(bytearray(10 * 2**30))
    if item == "exit":
        os._exit(3)
    if item == "segfault":
        ctypes.string_at(0)
    if item == "panic":
        raise PanicException("called `Option::unwrap()` on a `None` value")
    if item == "error":
        raise ValueError("our own bug")
    return item.upper() if isinstance(item, str) else item


STEPS_SEEN: list = []   # in the worker: every (item, stage) in the order worked


def parse_in_steps(item):
    """`parse` in three stages, the bad items failing in the second: a generator, as extract.examine is."""
    for stage in range(3):
        STEPS_SEEN.append((item, stage))
        if stage == 1 and item not in ("a", "b", "c", "d"):
            parse(item)
        yield
    return item.upper(), list(STEPS_SEEN)


def outcomes(items, fn=parse, **options):
    with Pool(fn, workers=2, seconds_per_file=2, memory_mb=512, **options) as pool:
        return {item: (o.reason, o.result) for item, o in pool.map(items)}


def test_each_bad_file_costs_only_itself():
    items = ["a", "hang", "b", "memory", "c", "exit", "d", "segfault", "e", "panic", "f", "error", "g"]
    got = outcomes(items)
    assert got == {
        "a": (None, "A"), "b": (None, "B"), "c": (None, "C"), "d": (None, "D"), "e": (None, "E"),
        "f": (None, "F"), "g": (None, "G"),
        "hang": ("timeout", None), "memory": ("memory", None), "exit": ("crash", None),
        "segfault": ("crash", None), "panic": ("panic", None), "error": ("panic", None),
    }


def test_in_parcels_each_bad_file_still_costs_only_itself():
    items = ["a", "hang", "b", "memory", "c", "exit", "d", "segfault", "e", "panic", "f", "error", "g"]
    got = outcomes(items, batch=4)
    assert got == {
        "a": (None, "A"), "b": (None, "B"), "c": (None, "C"), "d": (None, "D"), "e": (None, "E"),
        "f": (None, "F"), "g": (None, "G"),
        "hang": ("timeout", None), "memory": ("memory", None), "exit": ("crash", None),
        "segfault": ("crash", None), "panic": ("panic", None), "error": ("panic", None),
    }


def test_a_parcel_worked_in_steps_goes_a_stage_at_a_time():
    with Pool(parse_in_steps, workers=1, seconds_per_file=5, batch=3) as pool:
        got = {item: o.result for item, o in pool.map(["a", "b", "c"])}
    assert [r[0] for r in got.values()] == ["A", "B", "C"]
    assert got["c"][1] == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2)]


@pytest.mark.parametrize("bad", ["hang", "memory", "exit", "segfault", "panic", "error"])
def test_in_steps_a_bad_file_still_costs_only_itself(bad):
    """Failing halfway, with the files before and after it in the parcel halfway too."""
    got = outcomes(["a", "b", bad, "c", "d"], fn=parse_in_steps, batch=5)
    assert {item: (reason, result and result[0]) for item, (reason, result) in got.items()} == {
        "a": (None, "A"), "b": (None, "B"), "c": (None, "C"), "d": (None, "D"),
        bad: ({"hang": "timeout", "exit": "crash", "segfault": "crash", "error": "panic"}.get(bad, bad), None)}


def test_failure_details_say_what_happened():
    with Pool(parse, workers=1, seconds_per_file=1, memory_mb=512) as pool:
        details = {item: o.detail for item, o in pool.map(["segfault", "exit", "panic", "hang"])}
    assert "SIGSEGV" in details["segfault"]
    assert "3" in details["exit"]
    assert details["panic"].startswith("PanicException: called `Option::unwrap()`")
    assert "1 秒" in details["hang"]


@pytest.mark.parametrize("context,batch", [("fork", 1), ("forkserver", 1), ("spawn", 1), ("forkserver", 8)])
def test_every_item_exactly_once_in_any_start_method(context, batch):
    items = list(range(500)) + ["exit", "panic"] + list(range(500, 1000))
    with Pool(parse, workers=2, seconds_per_file=5, context=context, depth=3, batch=batch) as pool:
        seen = [item for item, _outcome in pool.map(items)]
    assert sorted(map(str, seen)) == sorted(map(str, items))


def slow_pid(_item):
    time.sleep(0.2)
    return os.getpid()


def test_a_short_run_is_shared_evenly_between_the_workers():
    """Six parcels for two workers that take four each: three go to each, not four to the first."""
    with Pool(slow_pid, workers=2, seconds_per_file=5, depth=4, batch=1) as pool:
        pids = [outcome.result for _item, outcome in pool.map(range(6))]
    assert sorted(pids.count(pid) for pid in set(pids)) == [3, 3]


def test_stopping_early_leaves_the_pool_usable():
    with Pool(parse, workers=2, seconds_per_file=5) as pool:
        for _ in zip(range(3), pool.map(range(100))):
            pass
        assert sorted(item for item, _ in pool.map(range(10))) == list(range(10))


def test_a_pool_started_twice_keeps_its_workers():
    pool = Pool(parse, workers=2, seconds_per_file=5)
    pool.__enter__()
    first = [slot.process.pid for slot in pool._slots]
    with pool:
        assert [slot.process.pid for slot in pool._slots] == first
        assert sorted(item for item, _ in pool.map(range(4))) == [0, 1, 2, 3]
    assert not pool._slots

