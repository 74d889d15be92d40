"""`make bench` works end to end: a small corpus generated, the real run timed against both
baselines, the report written beside the cache folder, and the runs' folders removed after."""
import ast
import importlib.util
import re
import subprocess
import sys
import time

import pytest

from conftest import ROOT

TARGETS = ["x naive per file >= 20", "per file <= 3x calamine floor", "40,000 files in <= 60 s",
           "40,000 files peak < 1024 MB", "linear in N", "both cores used while checking"]


@pytest.mark.slow
def test_bench_reports_every_target_and_leaves_only_its_corpora(tmp_path):
    cache = tmp_path / "cache"
    started = int(time.time())
    done = subprocess.run([sys.executable, "bench/bench.py", "--sizes", "30,60,90", "--naive", "2,4",
                           "--settle", "0", "--repeat", "1", "--cache", str(cache)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = (tmp_path / "last_report.txt").read_text(encoding="utf-8")
    assert report.strip() in done.stdout
    assert re.findall(r"^ +(\d+) +\d+\.\d\d ", report, re.M) == ["30", "60", "90"]
    floors = re.search(r"^floor .*: (\d\.\d+) ms/file \(the least of 2 passes, .*: (\d\.\d+), (\d\.\d+)\)$", report, re.M)
    assert floors and float(floors[1]) == min(float(floors[2]), float(floors[3]))   # one before the turn, one after
    number = r"(-?\d+\.\d\d)"
    ratio = re.search(rf"calamine floor +{number}x, the median of the turns' {number} "
                      rf"\(least margin over least floor: {number}x", report)
    assert ratio and ratio[1] == ratio[2] == ratio[3]   # one turn: its ratio is the least margin over the least floor
    naive = re.search(r"^naive .*: (\d+\.\d\d) ms/file \(\d+ files/s; the median of 3 pairs of passes, "
                      r"each size then the other: (\d+\.\d\d), (\d+\.\d\d), (\d+\.\d\d)\)$", report, re.M)
    assert naive and float(naive[1]) == sorted(float(naive[k]) for k in (2, 3, 4))[1]
    verdicts = report.split("\ntargets\n", 1)[1].splitlines()
    for target in TARGETS:
        assert any(re.match(rf"  (PASS|FAIL|n/a) +{re.escape(target)}", line) for line in verdicts), target
    statuses = ast.literal_eval(re.search(r"submissions: (\{.*?\});", report)[1])
    receipts = int(re.search(r"receipt files: (\d+)", report)[1])
    assert statuses["accepted"] > 0 and receipts >= sum(statuses.values())
    assert sorted(p.name for p in cache.iterdir()) == ["30", "60", "90", "cleaned-at", "runs.jsonl"]
    assert started <= float((cache / "cleaned-at").read_text()) <= time.time()   # when this run cleaned: the next waits
    assert len((cache / "runs.jsonl").read_text(encoding="utf-8").splitlines()) == 3


@pytest.fixture(scope="module")
def bench():
    """bench.py loaded from its path under its own name (not imported as `bench` from a changed sys.path)."""
    spec = importlib.util.spec_from_file_location("bench_script", ROOT / "bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_floor_ratio_of_a_turn_is_its_margin_over_the_lesser_floor_pass_beside_it(bench):
    tries = {10: [{"files": 10, "wall": 1.0}, {"files": 10, "wall": 1.2}],
             5: [{"files": 5, "wall": 0.1}, {"files": 5, "wall": 0.1}],
             20: [{"files": 20, "wall": 2.0}, {"files": 20, "wall": 2.0}]}
    floors = [0.05, 0.04, 0.08]   # before the first turn, between the two, after the second
    assert bench.turn_ratios(tries, floors) == pytest.approx([0.1 / 0.04, 0.08 / 0.04])
    assert bench.turn_ratios({20: tries[20]}, floors) == []


def test_the_naive_baseline_is_the_median_of_pairs_of_passes_taken_together(bench):
    pairs = [(1.6, 3.3), (1.9, 3.4), (1.6, 3.5)]   # the second pair's small pass caught a slow moment
    assert bench.pair_margins(pairs, (200, 400)) == pytest.approx([0.0085, 0.0075, 0.0095])


@pytest.mark.slow
def test_bench_mail_answers_every_message_on_real_servers(tmp_path):
    """`make bench-mail` end to end, small: the watcher answers each message, one fetch-mail takes in
    the waiting ones, and the report says so."""
    report = tmp_path / "mail.txt"
    done = subprocess.run([sys.executable, "bench/bench_mail.py", "--n", "3", "--interval", "0.2", "--waiting", "5",
                           "--report", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    text = report.read_text(encoding="utf-8")
    assert "answered 3/3;" in text
    assert "receipts 5, moved 5, left in INBOX 0, exit 0" in text
