"""`python -m pipeline COMMAND`: one function per command, the folder flags defined once.

Exit status: 0 all accepted / done, 1 some submission rejected (`verify`: differences found), 2 the
command could not run: bad usage, a problem in reference/ or with a folder or the ledger (refused
before anything was touched), or a fault midway (a full disk, a read-only folder), each said in Chinese.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

from pipeline.core.model import STATUS_WORDS
from pipeline.core.period import Month
from pipeline.core.settings import ROOT
from pipeline.core.text import display_width


def folders(args) -> dict:
    return {k: Path(getattr(args, k)) for k in ("inbox", "archive", "outbox", "reference")}


FOLDER_ZH = {"inbox": "收件箱", "archive": "存档", "outbox": "输出目录", "reference": "名录与设置目录"}


def prepared(args, need: tuple[str, ...], writable: tuple[str, ...] = (), check=None) -> tuple[dict, object, object]:
    """Before a command touches anything: the folders it reads exist (a mistyped folder is not an
    empty month), reference/ is valid (and `check(settings)` passes), and then the folders it writes
    can be written. Returns (folders, settings, units); raises SetupError, having changed nothing."""
    from pipeline.core.settings import SetupError, load_settings
    from pipeline.read.units import load_units
    from pipeline.store.files import cannot_write
    f = folders(args)
    problems = [f"{FOLDER_ZH[k]} {f[k]} 不存在{'（不是文件夹）' if f[k].exists() else ''}。请检查 --{k} 的路径"
                f"{'，或先建立这个文件夹' if k != 'reference' else ''}。" for k in need if not f[k].is_dir()]
    if problems:
        raise SetupError(*problems)
    settings, units = load_settings(f["reference"]), load_units(f["reference"])
    if check:
        check(settings)
    for k in writable:
        if not f[k].exists():
            continue   # made when written (the outbox of a first run)
        why = cannot_write(f[k])
        if why:
            problems.append(f"{FOLDER_ZH[k]} {f[k]} 不能写入（{why}）。收件箱中的文件都没有动；"
                            "请腾出磁盘空间或改正文件夹的权限后重新运行。")
    if problems:
        raise SetupError(*problems)
    return f, settings, units


def cmd_check(args) -> int:
    from pipeline.check import outliers
    from pipeline.check.check import check_files
    from pipeline.core.text import printable
    from pipeline.jobs.register import reconciler
    from pipeline.read.register import find_register, read_register
    from pipeline.store.ledger import Ledger

    missing = [p for p in map(Path, args.files) if not p.exists()]
    if missing:
        print(f"找不到文件：{printable(', '.join(map(str, missing)))}", file=sys.stderr)
        return 2
    paths = files_to_check(map(Path, args.files))
    if not paths:
        print(printable(f"{', '.join(args.files)} 中没有报表文件（.xlsx .xlsm .xls .ods 或邮件 .eml）。"), file=sys.stderr)
        return 2
    odd = [p for p in paths if not p.is_file()]
    if odd:
        print(f"不是普通文件（管道或设备），不能检查：{printable(', '.join(map(str, odd)))}", file=sys.stderr)
        return 2
    _, settings, units = prepared(args, ("reference",))
    history = past = None   # no ledger: no history to judge a month by
    archive = Path(args.archive)
    ledger_path = archive / "ledger.sqlite"
    if not archive.is_dir():
        print(f"存档 {archive} 不存在：不与上月累计数比较。", file=sys.stderr)
    elif ledger_path.exists():
        ledger = Ledger.open_readonly(ledger_path)
        history, past = ledger.previous_rows, outliers.history(ledger, settings)
    register = find_register(Path(args.reference), settings)   # read, not imported: check touches no folder
    reconcile = reconciler(read_register(register, units, settings)) if register else None
    with tempfile.TemporaryDirectory() as scratch:
        files = expand_mail(paths, Path(scratch), settings.limits)
        results = check_files(files, units, settings, history=history, reconcile=reconcile, past=past)
    for result in results:
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
        else:
            print(describe(result))
    return 0 if all(r.accepted for r in results) else 1


def files_to_check(given) -> list[Path]:
    """The files named, and the workbooks and saved e-mails in each folder named (not its
    subfolders; not lock files or system litter), in name order."""
    from pipeline.jobs.inbox import wanted
    out = []
    for p in given:
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and wanted(q.name))
        else:
            out.append(p)
    return out


def expand_mail(paths: list[Path], scratch: Path, limits: dict) -> list[tuple[Path, str]]:
    """Files to check as (path, name): a saved e-mail stands for its spreadsheet attachments, each
    checked under its own name (an e-mail without any is checked as itself, and refused)."""
    from pipeline.core.text import safe_name
    from pipeline.read.eml import is_mail, read_eml
    out = []
    for p in paths:
        if not is_mail(p.name):
            out.append((p.resolve() if p.is_symlink() else p, p.name))   # a link named on the command line is followed
            continue
        attachments = read_eml(p.read_bytes(), limits).attachments
        if not attachments:
            out.append((p, p.name))
        for k, a in enumerate(attachments):
            target = scratch / f"{len(out)}_{k}" / safe_name(a.name, fallback="附件.xlsx")
            target.parent.mkdir(parents=True)
            target.write_bytes(a.data)
            out.append((target, a.name))
    return out


def describe(result) -> str:
    """A file's verdict for a person, in Chinese: names and messages shown without control
    characters (a name in a file or an e-mail cannot move the cursor or forge a line)."""
    from pipeline.core.text import printable
    return "\n".join(map(printable, _describe(result)))


def _describe(result) -> list[str]:
    lines = [f"文件：{result.file}"]
    for s in result.submissions:
        where = f"工作表“{s.sheet}”" if s.sheet else "整个文件"
        who = f"{s.unit or '（单位不明）'} {s.period or '（月份不明）'}"
        lines.append(f"  {where}：{who} —— {STATUS_WORDS[s.status]}")
        for f in s.findings:
            mark = "错误" if f.severity == "error" else "提示"
            lines.append(f"    [{mark} {f.code}] {f.message}")
        if s.status == "accepted" and not s.findings:
            lines.append("    未发现问题。")
    return lines


def cmd_docs(args) -> int:
    from pipeline.core.findings import catalogue_markdown
    from pipeline.core.settings import settings_markdown
    docs = ROOT / "docs"
    for name, text in (("findings.md", catalogue_markdown()), ("settings.md", settings_markdown()),
                       ("cli.md", cli_markdown())):
        (docs / name).write_text(text, encoding="utf-8")
    print(f"已更新 {docs}/findings.md、settings.md、cli.md")
    return 0


def cmd_codes(args) -> int:
    from pipeline.core.findings import CODES, catalogue_markdown
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
    else:
        print("级别        含义                      代码")
        for code, spec in CODES.items():
            level = "错误（退回）" if spec.severity == "error" else "提示（接收）"
            print(f"{level}  {spec.title}{'　' * max(0, 12 - len(spec.title))}  {code}")
    return 0


def cmd_settings(args) -> int:
    from pipeline.core.settings import settings_markdown
    if args.markdown:
        sys.stdout.write(settings_markdown())
    else:
        _, settings, _ = prepared(args, ("reference",))
        print(json.dumps(settings.values, ensure_ascii=False, indent=1))
    return 0


MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
QUARTER = re.compile(r"([0-9]{4})[Qq][1-4]")
FIRST_YEAR = 2000   # no form of this kind is older; a later year than next year is a typing slip
YEAR = re.compile(r"([0-9]{4})")


def bad_period(given: str | None, pattern, example: str) -> bool:
    """Whether `--period` is not a period (a month `2016-09`, a quarter `2016Q3`) of a plausible year;
    says why on stderr. What the period may be for each command (a month not yet begun) is the
    command's to decide."""
    import datetime as dt
    import unicodedata
    if given is None:
        return False
    got = pattern.fullmatch(given)
    year = int(got[1]) if got else None
    if got and FIRST_YEAR <= year <= dt.date.today().year + 1:
        return False
    from pipeline.core.text import printable
    shown = printable(given)
    if got:
        why = f"年份 {year} 不在 {FIRST_YEAR}–{dt.date.today().year + 1} 年之间"
    elif unicodedata.normalize("NFKC", given) != given:
        why = "其中有全角字符，请用英文输入法输入"
    else:
        why = "写法不对"
    print(f"期间“{shown}”{why}，应写成如 {example}。", file=sys.stderr)
    return True


def cmd_monthly(args) -> int:
    from pipeline.jobs.monthly import run_monthly
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    f, settings, units = prepared(args, ("inbox", "archive", "reference"), ("archive", "outbox"))
    return run_monthly(f, args.period, settings=settings, units=units)


def cmd_quarterly(args) -> int:
    from pipeline.core.settings import doc_number_of
    from pipeline.jobs.quarterly import early_reasons, last_quarter, run_quarterly
    if bad_period(args.period, QUARTER, "2016Q3"):
        return 2

    def number_given(s):   # a 文号 is asked for before anything is touched (a draft may leave it blank)
        quarter = (args.period or last_quarter(s)).upper()
        if not early_reasons(quarter, s, dt.datetime.now(s.tz)):
            doc_number_of(s, quarter, Path(args.reference))
    f, settings, units = prepared(args, ("inbox", "archive", "reference"), ("archive", "outbox"), number_given)
    return run_quarterly(f, args.period, force=args.force, settings=settings, units=units)


def cmd_close(args) -> int:
    from pipeline.jobs.closing import close_quarter
    if bad_period(args.quarter, QUARTER, "2016Q3"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive",))
    return close_quarter(f, args.quarter.upper(), args.note or "")


def cmd_reopen(args) -> int:
    from pipeline.jobs.closing import reopen_quarter
    if bad_period(args.quarter, QUARTER, "2016Q3"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive",))
    return reopen_quarter(f, args.quarter.upper(), args.reason)


def cmd_annual(args) -> int:
    from pipeline.jobs.annual import run_annual
    if bad_period(args.year, YEAR, "2016"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive", "outbox"))
    return run_annual(f, int(args.year) if args.year else None)


def cmd_status(args) -> int:
    from pipeline.jobs.monthly import print_status
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    f, settings, units = prepared(args, ("archive", "reference"))
    return print_status(f, args.period, settings=settings, units=units)


def cmd_template(args) -> int:
    from pipeline.outputs.template import make_templates
    if bad_period(args.period, MONTH, "2016-10"):
        return 2
    if args.register:
        return _register_template(args)
    f, settings, units = prepared(args, ("reference",), ("outbox",))
    period = args.period or _next_month(settings)
    out = f["outbox"] / "templates"
    paths = make_templates(units.names_for(period), period, out, settings)
    print(f"已生成 {len(paths)} 份 {period} 空白报表：{out / period}")
    return 0


def cmd_verify(args) -> int:
    from pipeline.jobs.verify import verify
    f, settings, units = prepared(args, ("archive", "reference"))
    return verify(f, settings, units)


def cmd_rebuild(args) -> int:
    from pipeline.jobs.verify import rebuild_ledger
    f, settings, units = prepared(args, ("archive", "reference"), ("archive",))
    return rebuild_ledger(f, settings, units)


def _register_template(args) -> int:
    from pipeline.outputs.register_template import FILE_NAME, write_register_template
    f, settings, units = prepared(args, ("reference",), ("outbox",))
    out = f["outbox"] / "templates"
    out.mkdir(parents=True, exist_ok=True)
    path = write_register_template(out / FILE_NAME, units.names, settings["district"]["bureau"])
    print(f"已生成空白企业台账：{path}\n填好后另存为 {f['reference'] / settings['register']['file']}.xlsx。")
    return 0


def cmd_register(args) -> int:
    import datetime as dt

    from pipeline.jobs.register import run_register
    day = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            print(f"日期“{args.date}”的写法不对，应为 2016-09-30。", file=sys.stderr)
            return 2
    f, _, _ = prepared(args, ("archive", "reference"), ("archive", "outbox"))
    return run_register(f, day)


def _next_month(settings) -> str:
    import datetime as dt
    return Month.at(dt.datetime.now(settings.tz)).next


def cmd_fetch_mail(args) -> int:
    from pipeline.jobs.mail.mailrun import run_fetch_mail
    f, _, _ = prepared(args, ("inbox", "archive", "reference"), ("inbox", "archive", "outbox"))
    return run_fetch_mail(f)


def cmd_watch(args) -> int:
    from pipeline.jobs.mail.watch import run_watch
    f, _, _ = prepared(args, ("inbox", "archive", "reference"), ("inbox", "archive", "outbox"))
    return run_watch(f)


def cmd_remind(args) -> int:
    from pipeline.jobs.mail.remind import run_remind
    if bad_period(args.period, MONTH, "2016-09"):
        return 2
    f, _, _ = prepared(args, ("archive", "reference"))
    return run_remind(f, args.period)


def cmd_demo(args) -> int:
    try:   # the sample workbooks' writers are an extra: the product never needs them
        import odf  # noqa: F401
        import xlwt  # noqa: F401
    except ImportError:
        print("演示需要生成样例报表的软件包：请运行 make demo，或 pip install -e '.[demo]'。", file=sys.stderr)
        return 2
    from pipeline.demo.year import run_demo
    return run_demo(Path(args.dir))


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
            widths = [display_width(self._format_action_invocation(action)) + self._current_indent]
            for sub in self._iter_indented_subactions(action):
                widths.append(display_width(self._format_action_invocation(sub)) + self._current_indent)
            self._action_max_length = max(self._action_max_length, *widths)

    def _format_action(self, action):
        text = super()._format_action(action)
        header = self._format_action_invocation(action)
        extra = display_width(header) - len(header)
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

    c = sub.add_parser("close", parents=[common], help="季度关账：通报印发后，该季度各月的数字不再变动",
                       description="季度关账：通报印发后，该季度各月的数字不再变动；之后收到的报表照常存档、回执，重新开账前不计入")
    c.add_argument("quarter", metavar="季度", help="写作 2016Q3")
    c.add_argument("--note", metavar="备注", help="备注（记入台账）")
    c.set_defaults(func=cmd_close)

    c = sub.add_parser("reopen", parents=[common], help="重新开账（须说明原因，记入台账）",
                       description="重新开账：关账后收到的报表从此计入（须说明原因，记入台账）")
    c.add_argument("quarter", metavar="季度", help="写作 2016Q3")
    c.add_argument("--reason", metavar="原因", help="重新开账的原因；不写则在终端询问")
    c.set_defaults(func=cmd_reopen)

    c = sub.add_parser("annual", parents=[common], help="年度综合排名、年度通报与年度排名表",
                       description="年度综合排名、年度通报与年度排名表（outbox/<年份>/）")
    c.add_argument("year", metavar="年份", nargs="?", help="写作 2016；不写则为上一年")
    c.set_defaults(func=cmd_annual)

    c = sub.add_parser("template", parents=[common], help="为每个单位生成空白月报表", description="为每个单位生成空白月报表")
    c.add_argument("--period", metavar="月份", help=PERIOD_HELP["template"])
    c.add_argument("--register", action="store_true", help="改为生成带下拉列表的空白企业台账")
    c.set_defaults(func=cmd_template)

    c = sub.add_parser("register", parents=[common], help="检查并存档企业台账，生成工作清单（证书到期、回访、分级监管等）",
                       description="检查并存档企业台账，生成工作清单（证书到期、回访、分级监管等）")
    c.add_argument("--date", metavar="日期", help="清单日期，写作 2016-09-30；不写则为今天")
    c.set_defaults(func=cmd_register)

    c = sub.add_parser("verify", parents=[common], help="核对存档与台账：每个文件都在、哈希相符、数字与重新读取的相同",
                       description="核对存档与台账：每个文件都在、哈希相符、数字与重新读取的相同")
    c.set_defaults(func=cmd_verify)

    c = sub.add_parser("rebuild-ledger", parents=[common], help="只根据存档重建台账（原台账改名保留）",
                       description="只根据存档重建台账（原台账改名保留）")
    c.set_defaults(func=cmd_rebuild)

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
    from pipeline.core.settings import SetupError
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except SetupError as error:
        from pipeline.core.text import printable
        count = "" if len(error.lines) == 1 else f"（{len(error.lines)} 处问题）"
        print(f"无法运行，没有改动任何文件{count}：", file=sys.stderr)
        for line in error.lines:
            print(f"  {printable(line)}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError) and _fault(error):
            return _interrupted(_fault(error))
        text = str(error)
        if "malformed" not in text and "not a database" not in text:
            raise
        from pipeline.core.text import printable
        from pipeline.store.schema import damaged
        ledger = Path(getattr(args, "archive", "archive")) / "ledger.sqlite"
        print(printable("运行中断，已登记的都在存档中，不会丢失：" + damaged(ledger, error)), file=sys.stderr)
        return 2
    except OSError as error:
        reason = _fault(error)
        if reason is None:
            raise
        return _interrupted(reason)


def _interrupted(reason: str) -> int:
    from pipeline.core.text import printable
    print(printable(f"运行中断：{reason}。没有登记的文件仍在收件箱中，已登记的都在存档中，不会丢失；各期输出仍是上一套"
                    "完整的。请腾出磁盘空间或改正文件夹权限后重新运行，会从中断处接着做。"), file=sys.stderr)
    return 2


def _fault(error: Exception) -> str | None:
    """A fault of the machine a run cannot go on from (a full disk, a read-only folder), in a few
    words with where it happened; None for anything else (a bug: its traceback is wanted)."""
    from pipeline.store.files import WHY, why
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        if "disk is full" in text or "disk I/O error" in text:
            return "磁盘已满或无法写入（台账）"
        if "readonly" in text:
            return "台账所在的文件夹只读"
        return None
    if error.errno not in WHY:
        return None
    return f"{why(error)}（{error.filename}）" if error.filename else why(error)
