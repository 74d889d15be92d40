"""`make demo-mail`: the mailbox at work, on this machine, with nothing to set up.

Starts the test servers of tests/mailservers.py on loopback (Dovecot for IMAP over TLS, aiosmtpd
for SMTP with STARTTLS and AUTH, both with certificates of a throw-away CA), points a scratch copy of
reference/ at them, and runs `python -m pipeline watch`. A clerk of 侯寨乡 then mails this month's
form with a wrong 合计, and then the corrected one: each receipt is shown as the clerk gets it, and
kept in demo-mail/回执邮件/ (the mail's source as .eml, and its attachment).

    .venv/bin/python tools/demo_mail.py [--dir demo-mail]
"""
from __future__ import annotations

import argparse
import datetime as dt
import email
import shutil
import signal
import subprocess
import sys
import threading
import time
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pipeline.core.model import INDUSTRIES  # noqa: E402
from pipeline.demo.samples import write_sample  # noqa: E402
from pipeline.demo.year import _corrupt_total  # noqa: E402

from mailservers import mail_servers, mail_settings, with_mail  # noqa: E402

UNIT, CLERK = "侯寨乡", "hz@houzhai.example"


def _form(folder: Path, period: str, wrong: bool) -> bytes:
    rows = {(ind, lvl): ((i + lvl) % 2, (i + lvl) % 3 + i % 4 + 1, (i * lvl) % 2)
            for i, ind in enumerate(INDUSTRIES) for lvl in (1, 2, 3)}
    path = write_sample(folder / f"{UNIT}_{'初报' if wrong else '更正'}.xlsx", UNIT, period, rows, "total_values")
    if wrong:   # the clerk typed the first 合计 by hand, one too many
        _corrupt_total(path)
    return path.read_bytes()


def _clerk_mail(subject: str, form: bytes, mid: str, month: str) -> bytes:
    msg = email.message.EmailMessage()
    msg["From"] = f"侯寨乡安监办 <{CLERK}>"
    msg["To"] = "baobiao@erqi.example"
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg.set_content(f"区安监局：附件是侯寨乡{month}工贸企业安全生产标准化月度报表，请查收。")
    msg.add_attachment(form, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       filename=("gbk", "", f"{UNIT}{month}报表.xlsx"))
    return bytes(msg)


def _show(n: int, envelope, waited: float, out: Path) -> None:
    got = email.message_from_bytes(envelope.content, policy=policy.default)
    (out / f"回执{n}.eml").write_bytes(envelope.content)
    print(f"\n—— 回执邮件到达 SMTP 服务器，距邮件进入邮箱 {waited:.2f} 秒；原文存为 {out / f'回执{n}.eml'}")
    for key in ("From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"):
        print(f"  {key}: {got[key]}")
    print("  ──── 正文 ────")
    for line in got.get_body(("plain",)).get_content().splitlines():
        print(f"  {line}")
    for part in got.iter_attachments():
        (out / part.get_filename()).write_bytes(part.get_content())
        print(f"  ──── 附件：{part.get_filename()}（{len(part.get_content()):,} 字节，已存入 {out}）")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default=str(ROOT / "demo-mail"))
    base = Path(p.parse_args().dir)
    if base.exists():
        shutil.rmtree(base)
    (base / "reference").mkdir(parents=True)
    out = base / "回执邮件"
    out.mkdir()
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))   # this month's form, sent in time
    period, month = f"{now:%Y-%m}", f"{now.year}年{now.month}月"
    with mail_servers(base) as (ca, imap, smtp):
        print(f"测试邮件服务器已启动：IMAPS 127.0.0.1:{imap.port}（Dovecot），SMTP 127.0.0.1:{smtp.port}（STARTTLS + AUTH）")
        units = (ROOT / "reference" / "units.csv").read_text(encoding="utf-8-sig").splitlines()
        units = [units[0] + ",邮箱"] + [line + (f",{CLERK}" if line.startswith(UNIT + ",") else ",") for line in units[1:]]
        (base / "reference" / "units.csv").write_text("\ufeff" + "\n".join(units) + "\n", encoding="utf-8")
        (base / "reference" / "settings.toml").write_text(
            with_mail((ROOT / "reference" / "settings.toml").read_text(encoding="utf-8"), mail_settings(base, ca, imap, smtp)),
            encoding="utf-8")
        flags = [f"--{k}={base / k}" for k in ("inbox", "archive", "outbox", "reference")]
        print(f"设置：{base / 'reference' / 'settings.toml'} 的 [mail] 一节；监视进程启动：python -m pipeline watch")
        watcher = subprocess.Popen([sys.executable, "-m", "pipeline", "watch", *flags], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        connected = threading.Event()
        threading.Thread(target=_echo, args=(watcher, connected), daemon=True).start()
        try:
            if not connected.wait(60):
                raise SystemExit("监视进程没有连上邮箱")
            for n, wrong in enumerate((True, False), 1):
                subject = f"{UNIT}{month}报表" + ("" if wrong else "（更正）")
                print(f"\n—— 填报人 {CLERK} 发来“{subject}”" + ("（合计填错了一格）" if wrong else "（改正后）"))
                before = len(smtp.messages)
                start = time.time()
                imap.append(_clerk_mail(subject, _form(base, period, wrong), f"<demo{n}@houzhai.example>", month))
                while len(smtp.messages) == before:
                    time.sleep(0.02)
                _show(n, smtp.messages[-1], smtp.messages[-1].arrived - start, out)
                time.sleep(1.5)   # the watcher writes the month's outputs once the mailbox is quiet
        finally:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(30)
        print(f"\n收件箱已清空：INBOX {imap.count('INBOX')} 封，“已收取” {imap.count('已收取')} 封。")
        subprocess.run([sys.executable, "-m", "pipeline", "status", "--period", period, *flags], cwd=ROOT)
    print(f"\n演示完成。存档与台账：{base / 'archive'}；月度输出：{base / 'outbox' / period}；回执邮件：{out}")
    return 0


def _echo(watcher: subprocess.Popen, connected: threading.Event) -> None:
    """The watcher's log, indented, as it comes; `connected` set once it is in the mailbox."""
    for line in watcher.stdout:
        print(f"    [watch] {line.rstrip()}", flush=True)
        if "已连接邮箱" in line:
            connected.set()


if __name__ == "__main__":
    sys.exit(main())
