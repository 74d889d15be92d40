"""`make bench`'s register part runs end to end on a small register and reports its target."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_register_bench_reports_the_target(tmp_path):
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "bench/register.py", "--n", "600", "--cache", str(cache)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = (tmp_path / "last_register_report.txt").read_text(encoding="utf-8")
    assert report.strip() in done.stdout
    assert re.search(r"^register +企业台账 enterprises\.xlsx：共 \d+ 行，使用 \d+ 家，10 行有错误暂不使用", report, re.M)
    assert re.search(r"^lists +证书到期 \d+ 家，回访到期 \d+ 家，分级监管 \d+ 家，.*变更 [1-9]\d* 条", report, re.M)
    assert re.search(r"^target +n/a +100,000 enterprises checked and all lists written in <= 30 s \(this run: 600\)$",
                     report, re.M)
    assert [p.name for p in cache.iterdir()] == ["register-600-v2"]   # the run's folders removed
