"""`make bench-mail`: how fast the mailbox is answered, against the test servers on loopback.

1. Latency: `python -m pipeline watch` running, N messages (default 100, one unit's form each) put
   into the mailbox with IMAP APPEND one every `--interval` seconds; for each, the time from the
   APPEND to its receipt arriving at the SMTP server (p50, p95, max). Goal: p95 under 5 s.
2. Throughput: W messages (default 1,000) waiting in the mailbox, then one `python -m pipeline
   fetch-mail`: every message fetched, archived, checked, recorded, answered and moved. Goal:
   under 60 s.
The servers are those of the tests (tests/mailservers.py): Dovecot over TLS, aiosmtpd with STARTTLS
and AUTH. The report is printed and written to bench/last_mail_report.txt.

    .venv/bin/python bench/bench_mail.py [--n 100] [--interval 1.0] [--waiting 1000] [--report PATH]
"""
from __future__ import annotations

import argparse
import email
import imaplib
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pipeline.demo.samples import rows_with_history, write_sample  # noqa: E402

from mailservers import mail_servers, mail_settings, with_mail  # noqa: E402

UNITS = [line.split(",")[0] for line in (ROOT / "reference" / "units.csv").read_text(encoding="utf-8-sig").splitlines()[1:]]


def forms(scratch: Path, n: int, seed: int) -> list[tuple[str, str, bytes]]:
    """n forms, (unit, period, bytes): each unit's months in turn, their numbers following on."""
    rng = random.Random(seed)
    months = [f"{y}-{m:02d}" for y in range(2010, 2017) for m in range(1, 13)][: -(-n // len(UNITS))]
    history = {u: rows_with_history(rng, u, months) for u in UNITS}
    out = []
    for period in months:
        for unit in UNITS:
            if len(out) == n:
                return out
            path = write_sample(scratch / f"{unit}_{period}.xlsx", unit, period, history[unit][period], "canonical")
            out.append((unit, period, path.read_bytes()))
    return out


def message(unit: str, period: str, data: bytes, k: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{unit} <clerk{k}@example.cn>"
    msg["To"] = "ajj@erqi.example"
    msg["Subject"] = f"{unit}{period}报表"
    msg["Message-ID"] = f"<bench{k}@example.cn>"
    msg.set_content("附件是本月报表。")
    msg.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       filename=("gbk", "", f"{unit}{period}报表.xlsx"))
    return bytes(msg)


def site(base: Path, ca, imap, smtp) -> list[str]:
    """A reference pointing at the servers; the folder flags."""
    ref = base / "reference"
    ref.mkdir(parents=True)
    shutil.copy(ROOT / "reference" / "units.csv", ref)
    (ref / "settings.toml").write_text(with_mail((ROOT / "reference" / "settings.toml").read_text(encoding="utf-8"),
                                                 mail_settings(base, ca, imap, smtp, retry_seconds=1)), encoding="utf-8")
    for k in ("inbox", "archive", "outbox"):    # as staff would have them: the commands make no folder
        (base / k).mkdir()
    return [f"--{k}={base / k}" for k in ("inbox", "archive", "outbox", "reference")]


def arrived(smtp) -> dict[str, float]:
    """In-Reply-To -> when its receipt reached the SMTP server."""
    out = {}
    for e in smtp.messages:
        got = email.message_from_bytes(e.content, policy=policy.default)
        out.setdefault(str(got["In-Reply-To"]), e.arrived)
    return out


def latency(base: Path, servers, n: int, interval: float, seed: int) -> dict:
    ca, imap, smtp = servers
    flags = site(base, ca, imap, smtp)
    sent = [message(u, p, d, k) for k, (u, p, d) in enumerate(forms(base, n, seed))]
    log = base / "watch.log"
    with open(log, "w") as out:
        watcher = subprocess.Popen([sys.executable, "-m", "pipeline", "watch", *flags], cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        while "已连接邮箱" not in log.read_text():
            if watcher.poll() is not None:
                raise SystemExit(f"watch stopped before it connected:\n{log.read_text()}")
            time.sleep(0.1)
        started = {}
        with imap.client() as client:   # one session for the APPENDs, as a mail server delivering
            for k, data in enumerate(sent):
                started[f"<bench{k}@example.cn>"] = time.time()
                client.append('"INBOX"', None, imaplib.Time2Internaldate(time.time()), data)
                time.sleep(interval)
        end = time.time() + 120
        while len(arrived(smtp)) < n and time.time() < end:
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(60)
    got = arrived(smtp)
    waits = sorted(got[m] - t for m, t in started.items() if m in got)
    return {"n": n, "answered": len(waits), "interval": interval, "p50": statistics.median(waits),
            "p95": waits[max(0, round(0.95 * len(waits)) - 1)], "max": waits[-1]}


def throughput(base: Path, servers, waiting: int, seed: int) -> dict:
    ca, imap, smtp = servers
    flags = site(base, ca, imap, smtp)
    before, moved_before = len(smtp.messages), imap.count("已收取")
    sent = [message(u, p, d, 100_000 + k) for k, (u, p, d) in enumerate(forms(base, waiting, seed + 1))]
    t = time.time()
    with imap.client() as client:
        for data in sent:
            client.append('"INBOX"', None, None, data)
    appended = time.time() - t
    t = time.time()
    run = subprocess.run([sys.executable, "-m", "pipeline", "fetch-mail", *flags], cwd=ROOT, capture_output=True,
                         text=True)
    took = time.time() - t
    return {"waiting": waiting, "append_s": appended, "fetch_mail_s": took, "exit": run.returncode,
            "receipts": len(smtp.messages) - before, "left_in_inbox": imap.count("INBOX"),
            "moved": imap.count("已收取") - moved_before, "output": run.stdout.strip().splitlines()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--waiting", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2016)
    p.add_argument("--report", type=Path, default=ROOT / "bench" / "last_mail_report.txt")
    args = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    try:
        with mail_servers(scratch) as servers:
            lat = latency(scratch / "latency", servers, args.n, args.interval, args.seed)
            big = throughput(scratch / "waiting", servers, args.waiting, args.seed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lines = [
        f"bench-mail {time.strftime('%Y-%m-%d %H:%M %Z')}  {platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores",
        f"latency, APPEND to receipt at the SMTP server, watch running, {lat['n']} messages one every "
        f"{lat['interval']:g} s: answered {lat['answered']}/{lat['n']}; p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, "
        f"max {lat['max']:.2f} s (goal p95 < 5 s: {'ok' if lat['p95'] < 5 else 'MISSED'})",
        f"throughput, {big['waiting']} messages waiting, one fetch-mail: {big['fetch_mail_s']:.1f} s "
        f"(goal < 60 s: {'ok' if big['fetch_mail_s'] < 60 else 'MISSED'}); receipts {big['receipts']}, moved {big['moved']}, "
        f"left in INBOX {big['left_in_inbox']}, exit {big['exit']} (APPEND of the {big['waiting']}: {big['append_s']:.1f} s)",
        "fetch-mail said: " + " / ".join(big["output"]),
    ]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    args.report.write_text(report, encoding="utf-8")
    ok = lat["p95"] < 5 and big["fetch_mail_s"] < 60 and lat["answered"] == lat["n"] and big["receipts"] == big["waiting"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
