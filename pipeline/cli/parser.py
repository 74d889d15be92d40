"""The command line: argparse in Chinese, every command's arguments, and docs/cli.md made from them."""
from __future__ import annotations

import argparse
import re
import sys

from pipeline.cli.check import cmd_check
from pipeline.cli.commands import (
    cmd_annual,
    cmd_close,
    cmd_codes,
    cmd_demo,
    cmd_fetch_mail,
    cmd_monthly,
    cmd_quarterly,
    cmd_rebuild,
    cmd_register,
    cmd_remind,
    cmd_reopen,
    cmd_settings,
    cmd_status,
    cmd_template,
    cmd_verify,
    cmd_watch,
)
from pipeline.core.settings import ROOT
from pipeline.core.text import display_width


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
                       description="用内置样例跑一遍 2016 年全年：逐月汇总、季度通报、关账与更正、年度排名、企业台账工作清单")
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


def cmd_docs(args) -> int:
    from pipeline.core.findings import catalogue_markdown
    from pipeline.core.settings import settings_markdown
    docs = ROOT / "docs"
    for name, text in (("findings.md", catalogue_markdown()), ("settings.md", settings_markdown()),
                       ("cli.md", cli_markdown())):
        (docs / name).write_text(text, encoding="utf-8")
    print(f"已更新 {docs}/findings.md、settings.md、cli.md")
    return 0


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
    out = ["# 命令行（python -m pipeline）", "", "由 `pipeline/cli/parser.py` 生成（`make docs`），请勿手改。", "",
           "```", p.format_help().rstrip(), "```"]
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    listed = {a.dest for a in sub._choices_actions}
    for name, cmd in sub.choices.items():
        cmd.prog = f"python -m pipeline {name}"
        heading = f"## {name}" if name in listed else f"## {name}（开发用，不在工作人员的帮助中）"
        out += ["", heading, "", "```", cmd.format_help().rstrip(), "```"]
    return "\n".join(out).replace(str(ROOT) + "/", "") + "\n"
