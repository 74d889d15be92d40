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

STATUS_ZH = {"accepted": "接收", "rejected": "退回", "superseded": "已被替代", "duplicate": "重复"}


def folders(args) -> dict:
    return {k: Path(getattr(args, k)) for k in ("inbox", "archive", "outbox", "reference")}


def cmd_check(args) -> int:
    from .check import check_files
    from .ledger import Ledger
    from .reference import load_units
    from .settings import load_settings

    missing = [p for p in map(Path, args.files) if not p.exists()]
    if missing:
        print(f"找不到文件：{', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    paths = files_to_check(map(Path, args.files))
    if not paths:
        print(f"{', '.join(args.files)} 中没有报表文件（.xlsx .xlsm .xls .ods 或邮件 .eml）。", file=sys.stderr)
        return 2
    settings = load_settings(Path(args.reference))
    units = load_units(Path(args.reference))
    history = None
    ledger_path = Path(args.archive) / "ledger.sqlite"
    if ledger_path.exists():
        ledger = Ledger.open_readonly(ledger_path)
        history = ledger.previous_rows
    with tempfile.TemporaryDirectory() as scratch:
        results = check_files(expand_mail(paths, Path(scratch)), units, settings, history=history)
    for result in results:
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
        else:
            print(describe(result))
    return 0 if all(r.accepted for r in results) else 1


def files_to_check(given) -> list[Path]:
    """The files named, and the workbooks and saved e-mails in each folder named (not its
    subfolders; not lock files or system litter), in name order."""
    from .intake import wanted
    out = []
    for p in given:
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and wanted(q.name))
        else:
            out.append(p)
    return out


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
        print("级别        含义                      代码")
        for code, spec in CODES.items():
            level = "错误（退回）" if spec.severity == "error" else "提示（接收）"
            print(f"{level}  {spec.title}{'　' * max(0, 12 - len(spec.title))}  {code}")
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
    return run_quarterly(folders(args), args.period, force=args.force)


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


def cmd_fetch_mail(args) -> int:
    from .mailrun import run_fetch_mail
    return run_fetch_mail(folders(args))


def cmd_watch(args) -> int:
    from .watch import run_watch
    return run_watch(folders(args))


def cmd_remind(args) -> int:
    from .remind import run_remind
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    return run_remind(folders(args), args.period)


def cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(Path(args.dir))


def _width(text: str) -> int:
    """Columns a terminal gives `text`: a CJK character takes two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


class ChineseFormatter(argparse.HelpFormatter):
    """"用法：" for "usage:", and the help column lined up after Chinese metavars (argparse counts
    characters, a terminal columns)."""

    def __init__(self, prog, **kwargs):
        kwargs.setdefault("max_help_position", 30)
        super().__init__(prog, **kwargs)

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def add_argument(self, action):
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:      # commands are indented further: count them there
            widths = [_width(self._format_action_invocation(action)) + self._current_indent]
            for sub in self._iter_indented_subactions(action):
                widths.append(_width(self._format_action_invocation(sub)) + self._current_indent)
            self._action_max_length = max(self._action_max_length, *widths)

    def _format_action(self, action):
        text = super()._format_action(action)
        header = self._format_action_invocation(action)
        extra = _width(header) - len(header)
        at = text.find(header) + len(header)
        if extra > 0 and text[at:at + extra + 2] == " " * (extra + 2):
            text = text[:at] + text[at + extra:]
        return text


# argparse's own messages, as a clerk or an operator reads them.
ARGPARSE_ZH = (("the following arguments are required: ", "缺少必需的参数："),
               ("unrecognized arguments: ", "无法识别的参数："),
               ("expected one argument", "需要一个值"), ("ambiguous option: ", "选项有歧义："),
               ("could match", "可以是"), ("argument ", "参数 "), ("not allowed with argument", "不能与此参数同用"))


class ChineseParser(argparse.ArgumentParser):
    """argparse with its headings, its -h and its error messages in Chinese."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ChineseFormatter)
        with_help, parents = kwargs.pop("add_help", True), kwargs.pop("parents", [])
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title, self._optionals.title = "参数", "选项"
        if with_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")
        for parent in parents:      # after the titles: the parent's options join this 选项, not a second one
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def error(self, message):
        unknown = re.search(r"invalid choice: '([^']*)'", message)
        if unknown:
            message = f"没有“{unknown[1]}”这个命令，用 -h 查看可用的命令"
        for english, chinese in ARGPARSE_ZH:
            message = message.replace(english, chinese)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{message}\n")


PERIOD_HELP = {
    "monthly": "汇总的月份，写作 2016-09；不写则为刚结束的月份",
    "quarterly": "通报的季度，写作 2016Q3；不写则为刚结束的季度",
    "status": "查看的月份，写作 2016-09；不写则为刚结束的月份",
    "template": "报表所属的月份，写作 2016-10；不写则为下个月",
}


def parser() -> argparse.ArgumentParser:
    p = ChineseParser(prog="python -m pipeline", description="工贸企业安全生产标准化月度报表：检查、汇总、通报。"
                      "退出码：0 全部接收，1 有报表被退回，2 用法错误。")
    common = ChineseParser(add_help=False)
    common.add_argument("--inbox", default=str(ROOT / "inbox"), metavar="目录", help="收件箱（待处理文件）")
    common.add_argument("--archive", default=str(ROOT / "archive"), metavar="目录", help="存档（原件与台账）")
    common.add_argument("--outbox", default=str(ROOT / "outbox"), metavar="目录", help="输出目录")
    common.add_argument("--reference", default=str(ROOT / "reference"), metavar="目录", help="单位名录与设置")
    sub = p.add_subparsers(dest="command", required=True, title="命令", metavar="命令", parser_class=ChineseParser)

    c = sub.add_parser("check", parents=[common], help="检查报表文件，不改动任何目录",
                       description="检查报表文件（或文件夹中的全部报表、另存的邮件），说明每个问题在哪个单元格、怎样改。")
    c.add_argument("files", nargs="+", metavar="文件或文件夹")
    c.add_argument("--json", action="store_true", help="每个文件输出一行 JSON（供程序读取）")
    c.set_defaults(func=cmd_check)

    for name, func, what in (("monthly", cmd_monthly, "月度汇总（先收取收件箱）"),
                             ("quarterly", cmd_quarterly, "季度通报与排名（先收取收件箱）"),
                             ("status", cmd_status, "报送情况：各单位按时、迟报、退回、未报，收件箱中待处理的文件")):
        c = sub.add_parser(name, parents=[common], help=what, description=what)
        c.add_argument("--period", metavar="期间", help=PERIOD_HELP[name])
        if name == "quarterly":
            c.add_argument("--force", action="store_true",
                           help="季度未结束、没有年度目标或没有被计入的报表时也生成通报（标明“草稿”，不得印发）")
        c.set_defaults(func=func)

    c = sub.add_parser("fetch-mail", parents=[common], help="从邮箱收取报表邮件，登记并发回回执",
                       description="从邮箱收取报表邮件（连同收件箱中的文件），登记并发回回执")
    c.set_defaults(func=cmd_fetch_mail)

    c = sub.add_parser("watch", parents=[common], help="持续监视邮箱和收件箱，随到随收、随即回执（Ctrl-C 或 SIGTERM 结束）",
                       description="持续监视邮箱和收件箱，随到随收、随即回执（Ctrl-C 或 SIGTERM 结束）")
    c.set_defaults(func=cmd_watch)

    c = sub.add_parser("remind", parents=[common], help="提醒尚未报送的单位（有登记邮箱的发邮件）",
                       description="提醒尚未报送的单位（有登记邮箱的发邮件）")
    c.add_argument("--period", metavar="月份", help="2016-09；缺省为本月")
    c.set_defaults(func=cmd_remind)

    c = sub.add_parser("template", parents=[common], help="为每个单位生成空白月报表", description="为每个单位生成空白月报表")
    c.add_argument("--period", metavar="月份", help=PERIOD_HELP["template"])
    c.set_defaults(func=cmd_template)

    c = sub.add_parser("demo", parents=[common], help="用内置样例跑一遍月度与季度流程",
                       description="用内置样例跑一遍 2016 年第三季度的月度与季度流程")
    c.add_argument("--dir", default=str(ROOT / "demo"), metavar="目录", help="演示用的目录")
    c.set_defaults(func=cmd_demo)

    for name, func, what in (("codes", cmd_codes, "问题代码一览"), ("settings", cmd_settings, "设置一览")):
        c = sub.add_parser(name, parents=[common], help=what, description=what)
        c.add_argument("--markdown", action="store_true", help=argparse.SUPPRESS)   # for `make docs`
        c.set_defaults(func=func)

    # For developers (`make docs`): not listed in the staff's help (a subcommand given no help is not).
    c = sub.add_parser("docs", description="重新生成 docs/ 下的问题代码、设置和命令行文档（开发用）")
    c.set_defaults(func=cmd_docs)
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
    listed = {a.dest for a in sub._choices_actions}
    for name, cmd in sub.choices.items():
        cmd.prog = f"python -m pipeline {name}"
        heading = f"## {name}" if name in listed else f"## {name}（开发用，不在工作人员的帮助中）"
        out += ["", heading, "", "```", cmd.format_help().rstrip(), "```"]
    return "\n".join(out).replace(str(ROOT) + "/", "") + "\n"


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)
