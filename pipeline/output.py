"""Writing the report to a file so that it appears whole or not at all (``--out``)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from pipeline.errors import OutputError


def replace_atomically(target: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to a temporary file in the target's folder, fsync it, rename it over
    the target and fsync the folder. A reader never sees half a file; on failure the old
    file (if any) is untouched, the temporary file is removed and the OSError propagates."""
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> Path:
    """``--out``: the report appears whole or not at all, with a clear error when it cannot."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: folder {folder} does not exist (create it first: mkdir -p {folder})")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder")
    try:
        replace_atomically(target, data, mode)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_why(exc, folder)}") from None
    return target


def _why(exc: OSError, folder: Path) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied in {folder} (check with: ls -ld {folder})"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return f"{folder} is on a read-only file system"
    return exc.strerror or str(exc)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
