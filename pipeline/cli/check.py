"""`check`: files checked against reference/ and the ledger's history, touching no folder; each verdict printed."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from pipeline.cli.common import prepared
from pipeline.core.model import STATUS_WORDS


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
