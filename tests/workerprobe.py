"""Run as a script by test_architecture: a check worker started as `python -m pipeline` starts it
(the CLI imported first), asked after checking the file given which heavy libraries it holds."""
from __future__ import annotations

import functools
import json
import sys
import types
from pathlib import Path

import pipeline.cli  # noqa: F401 -- what `python -m pipeline` has loaded when it starts the workers

HEAVY = ("pandas", "numpy", "openpyxl", "pandera", "xlsxwriter", "matplotlib")


def probe(fn, item):
    """`fn(item)` run to its end, and the heavy modules this worker has loaded by then."""
    got = fn(item)
    if isinstance(got, types.GeneratorType):
        try:
            while True:
                next(got)
        except StopIteration as done:
            got = done.value
    return got, sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)


def main(path: str) -> None:
    from pipeline.check.check import checking_pool, conclude, examine_chunks
    from pipeline.core.settings import ROOT, load_settings
    from pipeline.read.units import load_units
    settings, units = load_settings(ROOT / "reference"), load_units(ROOT / "reference")
    pool = checking_pool(units, settings)
    pool.fn = functools.partial(probe, pool.fn)
    with pool:
        [(examined, heavy)] = next(examine_chunks([[(path, Path(path).name, None, None)]], settings, pool))
    result = conclude([(Path(path), Path(path).name)], [examined])[0]
    print(json.dumps([result.submissions[0].status, heavy]))


if __name__ == "__main__":
    main(sys.argv[1])
