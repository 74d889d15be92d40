"""Worker side of `check`: read every sheet of one file and draft the forms found.

Runs in the sandbox's worker processes, so it imports nothing heavy (no pandas) and touches no folder.
"""
from __future__ import annotations

from dataclasses import dataclass

import python_calamine

from .draft import Draft, draft
from .locate import locate
from .read import TooManyCells, read_grids


@dataclass(frozen=True)
class Failed:
    code: str
    detail: str = ""
    limit: str = ""


_UNREADABLE_ERRORS = (python_calamine.CalamineError, python_calamine.XmlError, python_calamine.ZipError,
                      python_calamine.WorksheetNotFound, OSError, UnicodeError, EOFError)


def extract(item: tuple) -> list[Draft] | Failed:
    """Worker side: read every sheet of one file and draft the forms found. No folder is touched."""
    _, path, kind, max_cells = item
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


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"读取出错：{text[:120]}"
