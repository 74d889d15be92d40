"""Worker side of `check`: read every sheet of one file and draft the forms found.

Runs in the sandbox's worker processes, so it imports nothing heavy (no pandas) and touches no folder.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import python_calamine

from .draft import Draft, draft
from .findings import Finding
from .locate import locate
from .read import TooManyCells, read_grids
from .sniff import sniff


@dataclass(frozen=True)
class Failed:
    code: str
    detail: str = ""
    limit: str = ""


_UNREADABLE_ERRORS = (python_calamine.CalamineError, python_calamine.XmlError, python_calamine.ZipError,
                      python_calamine.WorksheetNotFound, OSError, UnicodeError, EOFError)


def extract(path: str, kind: str | None, max_cells: int) -> list[Draft] | Failed:
    """Read every sheet of one file and draft the forms found. No folder is touched."""
    try:
        grids = read_grids(path, max_cells)
    except python_calamine.PasswordError:
        return Failed("ENCRYPTED")
    except TooManyCells as err:
        return Failed("TOO_LARGE", f"共有约 {err.cells:,} 个单元格", f"{max_cells:,} 个单元格")
    except _UNREADABLE_ERRORS as err:
        return Failed("UNREADABLE", _reason(err))
    drafts = []
    for grid in grids:
        table = locate(grid)
        if table is not None:
            drafts.append(draft(table, path, kind))
    return drafts


@dataclass(frozen=True)
class Examined:
    """What a worker learned about one file: its hash and kind, and either why it was refused
    before parsing (`refused`), or what parsing found (`got`)."""
    sha256: str
    kind: str | None
    strict_ooxml: bool
    refused: Finding | None
    got: list[Draft] | Failed | None


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def examine(item: tuple) -> Examined:
    """Worker side of `check`, all the per-file work: hash, sniff (limits before parsing), parse."""
    _, path, name, limits = item
    sha = sha256_of(path)
    sniffed = sniff(path, name, limits)
    if sniffed.finding is not None:
        return Examined(sha, sniffed.kind, sniffed.strict_ooxml, sniffed.finding, None)
    got = extract(path, sniffed.kind, int(limits["cells"]))
    return Examined(sha, sniffed.kind, sniffed.strict_ooxml, None, got)


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"读取出错：{text[:120]}"
