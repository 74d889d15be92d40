"""`python -m pipeline COMMAND`: one function per command, the folder flags defined once.

Exit status: 0 all accepted / done, 1 some submission rejected, 2 bad usage.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STATUS_ZH = {"accepted": "接收", "rejected": "退回", "superseded": "已被替代", "duplicate": "重复", "held": "暂不计入"}


def folders(args) -> dict:
    return {k: Path(getattr(args, k)) for k in ("inbox", "archive", "outbox", "reference")}


def cmd_check(args) -> int:
    from . import outliers
    from .check import check_files
    from .ledger import Ledger
    from .reference import load_units
    from .settings import load_settings

    paths = [Path(p) for p in args.files]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"找不到文件：{', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    settings = load_settings(Path(args.reference))
    units = load_units(Path(args.reference))
    history, past = None, outliers.ceilings(settings)
    ledger_path = Path(args.archive) / "ledger.sqlite"
    if ledger_path.exists():
        ledger = Ledger.open_readonly(ledger_path)
        history, past = ledger.previous_rows, outliers.history(ledger, settings)
    with tempfile.TemporaryDirectory() as scratch:
        results = check_files(expand_mail(paths, Path(scratch)), units, settings, history=history, past=past)
    for result in results:
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
        else:
            print(describe(result))
    return 0 if all(r.accepted for r in results) else 1


def expand_mail(paths: list[Path], scratch: Path) -> list[tuple[Path, str]]:
    """Files to check as (path, name): a saved e-mail stands for its spreadsheet attachments, each
    checked under its own name (an e-mail without any is checked as itself, and refused)."""
    from .mail import is_mail, read_eml
    from .safety import safe_name
    out = []
    for p in paths:
        if not is_mail(p.name):
            out.append((p, p.name))
            continue
        attachments = read_eml(p.read_bytes()).attachments
        if not attachments:
            out.append((p, p.name))
        for k, a in enumerate(attachments):
            target = scratch / f"{len(out)}_{k}" / safe_name(a.name, fallback="附件.xlsx")
            target.parent.mkdir(parents=True)
            target.write_bytes(a.data)
            out.append((target, a.name))
    return out


def describe(result) -> str:
    """A file's verdict for a person, in Chinese."""
    lines = [f"文件：{result.file}"]
    for s in result.submissions:
        where = f"工作表“{s.sheet}”" if s.sheet else "整个文件"
        who = f"{s.unit or '（单位不明）'} {s.period or '（月份不明）'}"
        lines.append(f"  {where}：{who} —— {STATUS_ZH[s.status]}")
        for f in s.findings:
            mark = "错误" if f.severity == "error" else "提示"
            lines.append(f"    [{mark} {f.code}] {f.message}")
        if s.status == "accepted" and not s.findings:
            lines.append("    未发现问题。")
    return "\n".join(lines)


def cmd_docs(args) -> int:
    from .findings import catalogue_markdown
    from .settings import settings_markdown
    docs = ROOT / "docs"
    for name, text in (("findings.md", catalogue_markdown()), ("settings.md", settings_markdown()),
                       ("cli.md", cli_markdown())):
        (docs / name).write_text(text, encoding="utf-8")
    print(f"已更新 {docs}/findings.md、settings.md、cli.md")
    return 0


def cmd_codes(args) -> int:
    from .findings import CODES, catalogue_markdown
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
    else:
        for code, spec in CODES.items():
            print(f"{code:22} {spec.severity:8} {spec.title}")
    return 0


def cmd_settings(args) -> int:
    from .settings import load_settings, settings_markdown
    if args.markdown:
        sys.stdout.write(settings_markdown())
    else:
        print(json.dumps(load_settings(Path(args.reference)).values, ensure_ascii=False, indent=1))
    return 0


MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
QUARTER = re.compile(r"^\d{4}[Qq][1-4]$")
YEAR = re.compile(r"^\d{4}$")


def bad_period(given: str | None, pattern, example: str) -> bool:
    if given is None or pattern.match(given):
        return False
    print(f"期间“{given}”的写法不对，应为 {example}。", file=sys.stderr)
    return True


def cmd_monthly(args) -> int:
    from .monthly import run_monthly
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    return run_monthly(folders(args), args.period)


def cmd_quarterly(args) -> int:
    from .quarterly import run_quarterly
    if bad_period(args.period, QUARTER, "2016Q3"):
        return 2
    return run_quarterly(folders(args), args.period)


def cmd_close(args) -> int:
    from .closing import close_quarter
    if bad_period(args.quarter, QUARTER, "2016Q3"):
        return 2
    return close_quarter(folders(args), args.quarter.upper(), args.note or "")


def cmd_reopen(args) -> int:
    from .closing import reopen_quarter
    if bad_period(args.quarter, QUARTER, "2016Q3"):
        return 2
    return reopen_quarter(folders(args), args.quarter.upper(), args.reason)


def cmd_annual(args) -> int:
    from .annual_run import run_annual
    if bad_period(args.year, YEAR, "2016"):
        return 2
    return run_annual(folders(args), int(args.year) if args.year else None)


def cmd_status(args) -> int:
    from .monthly import print_status
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    return print_status(folders(args), args.period)


def cmd_template(args) -> int:
    from .reference import load_units
    from .settings import load_settings
    from .template import make_templates
    ref = Path(args.reference)
    period = args.period or _next_month(load_settings(ref))
    out = Path(args.outbox) / "templates"
    paths = make_templates(load_units(ref).names_for(period), period, out, load_settings(ref))
    print(f"已生成 {len(paths)} 份 {period} 空白报表：{out / period}")
    return 0


def _next_month(settings) -> str:
    import datetime as dt
    now = dt.datetime.now(settings.tz)
    y, m = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{y:04d}-{m:02d}"


def cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(Path(args.dir))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipeline",
                                description="工贸企业安全生产标准化月度报表：检查、汇总、通报")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--inbox", default=str(ROOT / "inbox"), help="收件箱（待处理文件）")
    common.add_argument("--archive", default=str(ROOT / "archive"), help="存档（原件与台账）")
    common.add_argument("--outbox", default=str(ROOT / "outbox"), help="输出目录")
    common.add_argument("--reference", default=str(ROOT / "reference"), help="单位名录与设置")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", parents=[common], help="检查报表文件，不改动任何目录")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")
    c.set_defaults(func=cmd_check)

    for name, func, what in (("monthly", cmd_monthly, "月度汇总（先收取收件箱）"),
                             ("quarterly", cmd_quarterly, "季度通报与排名（先收取收件箱）"),
                             ("status", cmd_status, "报送情况")):
        c = sub.add_parser(name, parents=[common], help=what)
        c.add_argument("--period", help="2016-09 或 2016Q3；缺省为最近结束的月份（季度）")
        c.set_defaults(func=func)

    c = sub.add_parser("close", parents=[common], help="季度关账：通报发出后，该季度各月的数字不再变动")
    c.add_argument("quarter", metavar="QUARTER", help="如 2016Q3")
    c.add_argument("--note", help="备注（记入台账）")
    c.set_defaults(func=cmd_close)

    c = sub.add_parser("reopen", parents=[common], help="重新开账（须说明原因，记入台账）")
    c.add_argument("quarter", metavar="QUARTER", help="如 2016Q3")
    c.add_argument("--reason", help="重新开账的原因；不给时在终端询问")
    c.set_defaults(func=cmd_reopen)

    c = sub.add_parser("annual", parents=[common], help="年度综合排名、年度通报与年度排名表")
    c.add_argument("year", metavar="YEAR", nargs="?", help="如 2016；缺省为上一年")
    c.set_defaults(func=cmd_annual)

    c = sub.add_parser("template", parents=[common], help="为每个单位生成空白月报表")
    c.add_argument("--period", help="2016-10；缺省为下个月")
    c.set_defaults(func=cmd_template)

    c = sub.add_parser("demo", parents=[common], help="用内置样例跑一遍月度与季度流程")
    c.add_argument("--dir", default=str(ROOT / "demo"), help="演示用的目录")
    c.set_defaults(func=cmd_demo)

    c = sub.add_parser("docs", help="重新生成 docs/ 下的问题代码、设置和命令行文档")
    c.set_defaults(func=cmd_docs)

    for name, func in (("codes", cmd_codes), ("settings", cmd_settings)):
        c = sub.add_parser(name, parents=[common], help="问题代码一览" if name == "codes" else "设置一览")
        c.add_argument("--markdown", action="store_true")
        c.set_defaults(func=func)
    return p


def cli_markdown() -> str:
    """docs/cli.md: the help of every command, generated from this parser (at a fixed width)."""
    import os
    width, os.environ["COLUMNS"] = os.environ.get("COLUMNS"), "100"
    try:
        return _cli_markdown()
    finally:
        if width is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = width


def _cli_markdown() -> str:
    p = parser()
    out = ["# 命令行（python -m pipeline）", "", "由 `pipeline/cli.py` 生成（`make docs`），请勿手改。", "",
           "```", p.format_help().rstrip(), "```"]
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    for name, cmd in sub.choices.items():
        cmd.prog = f"python -m pipeline {name}"
        out += ["", f"## {name}", "", "```", cmd.format_help().rstrip(), "```"]
    return "\n".join(out).replace(str(ROOT) + "/", "") + "\n"


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)
