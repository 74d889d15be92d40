"""What every command does first: its folders and reference/ checked, its period read."""
from __future__ import annotations

import re
import sys
from pathlib import Path


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
