"""Where files are kept: a received file in `archive/files/YYYY-MM/<sha256[:16]>_<name>`, and the
outputs written whole or not at all (`atomic`).

`put` is used by intake (e-mail attachments, and any file a worker could not archive) and by the
check workers, which archive each inbox file as they read it. It does not sync: the caller syncs the
whole chunk once, then renames the temporary copies into place (`intake._commit`).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import re
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


def atomic(path: Path, write, sync: bool = False) -> Path:
    """Write `path` through `write(tmp)`, a temporary file in the same folder renamed over `path`
    once whole: a reader never sees half a file, and a failed write leaves the old file as it was.

    Not synced unless `sync`: every output can be made again from the archive and the ledger, and
    the period's manifest, written and synced last, says the set is complete. A run killed mid-write
    leaves its temporary file behind; the next run sweeps it (`sweep`)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem[:60]}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(str(tmp))
        if sync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_bytes(path: Path, data: bytes, sync: bool = False) -> Path:
    """`data` written to `path` through `atomic`."""
    return atomic(path, lambda tmp: Path(tmp).write_bytes(data), sync)


_TEMPORARY = re.compile(r"\..*\.\d+\.tmp(\.[^.]*)?")   # what `atomic` names its temporary files


def sweep(folder: Path) -> None:
    """Remove the temporary files a killed run left in `folder` (called under the run lock, so no
    other run is writing there)."""
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if _TEMPORARY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
