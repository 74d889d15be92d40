"""Where a received file is kept: `archive/files/YYYY-MM/<sha256[:16]>_<name>`.

Used by intake (e-mail attachments, and any file a worker could not archive) and by the check
workers, which archive each inbox file as they read it. Nothing here syncs: the caller syncs the
whole chunk once, then renames the temporary copies into place (`intake._commit`).
"""
from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
from pathlib import Path

from .safety import safe_name

_PARTS = itertools.count()


def folder_for(archive: Path, received_at: dt.datetime) -> Path:
    return archive / "files" / received_at.strftime("%Y-%m")


def put(folder: str, name: str, sha: str, size: int, source: str | None = None,
        data: bytes | None = None) -> tuple[str, str | None]:
    """Keep one file (`source`, a path, and/or its bytes `data`) in `folder`, which exists.
    A path on the archive's file system is hard-linked under its final name (no copy: one directory
    entry, atomic); anything else is written to a temporary name, to be renamed after the sync.
    Returns (final path, temporary path or None)."""
    target = os.path.join(folder, f"{sha[:16]}_{safe_name(name, fallback='file.bin')}")
    if source is not None:
        try:
            os.link(source, target)
            return target, None
        except OSError:
            pass   # there already (FileExistsError), or another file system, or links not allowed
    try:
        if os.stat(target).st_size == size:
            return target, None   # archived already (by an interrupted run, or the same bytes twice)
    except FileNotFoundError:
        pass
    tmp = os.path.join(folder, f".part-{os.getpid()}-{next(_PARTS)}")
    if data is not None:
        with open(tmp, "wb") as f:
            f.write(data)
    else:
        shutil.copyfile(source, tmp)
    return target, tmp
