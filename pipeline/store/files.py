"""Where files are kept: a received file in `archive/files/YYYY-MM/<sha256[:16]>_<name>`, and the
outputs written whole or not at all (`atomic`).

`put` is used by intake (e-mail attachments, and any file a worker could not archive) and by the
check workers, which archive each inbox file as they read it. It does not sync: the caller syncs the
whole chunk once, then renames the temporary copies into place (`inbox.commit`).
"""
from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import itertools
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from pipeline.core.text import safe_name

_PARTS = itertools.count()


def folder_for(archive: Path, received_at: dt.datetime) -> Path:
    return archive / "files" / received_at.strftime("%Y-%m")


class NotRegular(OSError):
    """Not a regular file (a symlink, FIFO, device, socket or folder): never read, never archived."""


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """An open descriptor of the regular file at `path`, and its stat. A symlink is not followed,
    and opening a FIFO or a device neither blocks nor reads it (NotRegular): the run goes on."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):   # a symlink; a socket; a folder
            raise NotRegular(error.errno, "不是普通文件", path) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegular(errno.EINVAL, "不是普通文件", path)
    return fd, st


def part_folder(archive: Path) -> Path:
    """Where copies wait for their sync before being renamed into place: one folder, emptied at
    the start of each run (`sweep_parts`), so a killed run leaves nothing in the archive's months."""
    return archive / ".part"


def sweep_parts(archive: Path) -> None:
    """Remove the copies a killed run left half-made; called under the run lock."""
    folder = part_folder(archive)
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
    folder.mkdir(parents=True, exist_ok=True)


def put(folder: str, name: str, sha: str, size: int, source: str | None = None,
        data: bytes | None = None, fd: int | None = None, inode: tuple[int, int] | None = None) -> tuple[str, str | None]:
    """Keep one file in `folder` (archive/files/YYYY-MM, which exists): its bytes `data`, or read
    from the open descriptor `fd`, or from `source`, a path of a regular file. A `source` on the
    archive's file system is hard-linked under its final name (no copy: one directory entry, atomic),
    never following a symlink, and kept only if the link is to `inode` (the (device, inode) of the
    file read, when given: the path cannot have been swapped since); anything else is written to a
    temporary name in `part_folder`, to be renamed after the sync. Returns (final path, temporary
    path or None)."""
    target = os.path.join(folder, f"{sha[:16]}_{safe_name(name, fallback='file.bin')}")
    if source is not None and inode is not None:
        try:
            os.link(source, target, follow_symlinks=False)
            st = os.lstat(target)
            if (st.st_dev, st.st_ino) == inode:
                return target, None
            os.unlink(target)   # not the file that was read (swapped meanwhile): copy its bytes instead
        except OSError:
            pass   # there already (FileExistsError), or another file system, or links not allowed
    try:
        if os.lstat(target).st_size == size:
            return target, None   # archived already (by an interrupted run, or the same bytes twice)
    except FileNotFoundError:
        pass
    tmp = os.path.join(folder.rsplit(os.sep, 2)[0], ".part", f"{os.getpid()}-{next(_PARTS)}")
    if data is not None:
        with open(tmp, "wb") as f:
            f.write(data)
    elif fd is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        with open(tmp, "wb") as f, open(fd, "rb", closefd=False) as src:
            shutil.copyfileobj(src, f, 1 << 20)
    else:
        source_fd, _st = open_regular(source)
        with open(tmp, "wb") as f, open(source_fd, "rb") as src:
            shutil.copyfileobj(src, f, 1 << 20)
    return target, tmp


def fsync_path(path) -> None:
    """A file's data, or a folder's entries, on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
            fsync_path(tmp)
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


WHY = {errno.ENOSPC: "磁盘已满", errno.EDQUOT: "磁盘配额已满", errno.EROFS: "只读文件系统",
       errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限"}


def why(error: OSError) -> str:
    """An operating-system error in a few Chinese words: 磁盘已满, 只读文件系统 …"""
    return WHY.get(error.errno, error.strerror or type(error).__name__)


def cannot_write(folder: Path) -> str | None:
    """Why nothing can be written in `folder` (a full disk, a read-only file system, no permission),
    tried by writing and syncing a small file there; None when it can be."""
    try:
        fd, name = tempfile.mkstemp(prefix=".write-test-", dir=folder)
    except OSError as error:
        return why(error)
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    except OSError as error:
        return why(error)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
    return None


# --- a period's outputs as one set ------------------------------------------------------------

def staging(out: Path) -> Path:
    """A fresh folder beside `out` (outbox/2016-09) in which a run writes the period's whole set."""
    new = out.with_name(f".{out.name}.new-{os.getpid()}")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    return new


def sweep_sets(out: Path) -> None:
    """What a killed run left beside `out`: a half-written set (removed), and a previous set moved
    aside but not yet replaced (put back). Called under the run lock."""
    with contextlib.suppress(FileNotFoundError), os.scandir(out.parent) as entries:
        left = [e.path for e in entries if e.name.startswith(f".{out.name}.") and e.is_dir(follow_symlinks=False)]
    for path in sorted(left, key=lambda p: ".old-" not in p):   # a set to put back first
        if ".old-" in path and not out.exists():
            os.rename(path, out)
        else:
            shutil.rmtree(path, ignore_errors=True)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def publish(new: Path, out: Path, listed: set[str]) -> None:
    """Put the complete set written in `new` in place of `out` at once: a reader (and a run that
    fails midway: a full disk, a read-only folder) sees the previous set whole or the new one whole,
    never a mix. Files staff put in `out` themselves (not `listed` in its manifest as outputs, not
    temporary) are moved into the new set first, so nothing but the old outputs goes."""
    if out.exists():
        for folder in (Path(), Path("回执")):
            with contextlib.suppress(FileNotFoundError), os.scandir(out / folder) as entries:
                for e in entries:
                    rel = (folder / e.name).as_posix()
                    if rel in listed or rel == "回执" or _TEMPORARY.fullmatch(e.name) or (new / rel).exists():
                        continue
                    (new / folder).mkdir(exist_ok=True)
                    os.rename(e.path, new / rel)
        if _exchange(new, out):
            shutil.rmtree(new)   # the previous set, now at `new`
            return
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
        os.rename(new, out)
        shutil.rmtree(old)
        return
    os.rename(new, out)


def listed_outputs(manifest: dict) -> set[str]:
    """The outputs a period's manifest lists, as paths relative to its folder, and the manifest."""
    out = {"manifest.json"}
    for value in manifest.get("files", {}).values():
        out.update(value if isinstance(value, list) else [value])
    return out


def sync_filesystem(path: Path):
    """One sync for a whole batch: syncfs(2) on the archive's file system, else sync(2)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
