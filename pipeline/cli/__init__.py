"""`python -m pipeline COMMAND`: one function per command, the folder flags defined once.

Exit status: 0 all accepted / done, 1 some submission rejected (`verify`: differences found), 2 the
command could not run: bad usage, a problem in reference/ or with a folder or the ledger (refused
before anything was touched), or a fault midway (a full disk, a read-only folder), each said in Chinese.
"""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from pipeline.cli.parser import parser


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
