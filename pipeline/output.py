"""Where the report goes: stdout, or ``--out PATH``.

``--out`` writes *through* what the path names, and replaces only regular files:

- ``-`` is stdout;
- a path under ``/dev/`` or ``/proc/`` (``/dev/stdout``, ``/dev/stderr``, ``/proc/self/fd/3``)
  and a FIFO or a character or block device anywhere is opened and written into as it is;
- a symbolic link is followed to its final target, and that target is written as below, in
  its own folder (the link stays a link);
- a regular file (or a new one) is written whole or not at all: a temporary file in the same
  folder, fsync, rename over the target, fsync of the folder; mode 0600 unless ``--out-mode``.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path
from typing import IO

from pipeline.errors import OutputError


def replace_atomically(target: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to a temporary file in the target's folder, fsync it, rename it over
    the target and fsync the folder. A reader never sees half a file; on failure the old
    file (if any) is untouched, the temporary file is removed and the OSError propagates."""
    folder = target.parent if str(target.parent) else Path(".")
    import tempfile  # only --out writes a file; every stage writes its stream through here

    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
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
    fsync_dir(folder)


def write_out(out_path: str | None, data: bytes, mode: int = 0o600) -> None:
    """The report on stdout (``None`` or ``-``) or into ``--out`` (see the module's rules)."""
    if out_path is None or out_path == "-":
        write_stream(sys.stdout.buffer, data)
        return
    write_atomic(out_path, data, mode)


def write_stream(stream: IO[bytes], data: bytes) -> None:
    """Write and flush. A reader that went away is :class:`BrokenPipeError` (the CLI exits
    quietly); any other refusal (``> /dev/full``) is :class:`OutputError` naming the stream."""
    try:
        stream.write(data)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise refused(stream, exc) from None


def refused(stream: IO[bytes], exc: OSError) -> OutputError:
    """The one-line error for a stream that refused bytes, naming it (stdout by its name)."""
    name = getattr(stream, "name", "-")
    if name in ("-", "<stdout>") or stream is sys.stdout.buffer:
        from pipeline.terminal import stdout_failed

        return stdout_failed(exc)
    return OutputError(f"cannot write to {name}: {os.strerror(exc.errno) if exc.errno else exc}")


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> Path:
    """``--out``: into a stream-like file as it is, else whole or not at all, with a clear
    error when it cannot. Returns the path written (a link's target for a link)."""
    given = Path(path)
    if _is_special_name(given):
        _write_into(given, data)
        return given
    target = _final_target(given)
    try:
        found = os.stat(target).st_mode
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {_why(exc, target.parent)}") from None
    if found is not None and stat.S_ISDIR(found):
        raise OutputError(f"cannot write {given}: it is a folder")
    if found is not None and (stat.S_ISFIFO(found) or stat.S_ISCHR(found) or stat.S_ISBLK(found)):
        _write_into(target, data)
        return target
    if found is not None and not stat.S_ISREG(found):
        raise OutputError(f"cannot write {given}: it is neither a file, a FIFO nor a device")
    folder = target.parent if str(target.parent) else Path(".")
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {given}: folder {folder} does not exist (create it first: mkdir -p {folder})")
    try:
        replace_atomically(target, data, mode)
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {_why(exc, folder)}") from None
    return target


def _is_special_name(path: Path) -> bool:
    text = os.path.abspath(path)
    return text.startswith(("/dev/", "/proc/"))


def _final_target(path: Path) -> Path:
    """Follow symbolic links (a chain of them, relative ones included) to the final name;
    a dangling link gives the name it points to, so the file is created there."""
    try:
        return Path(os.path.realpath(path, strict=False))
    except (OSError, ValueError):
        return path


def _write_into(path: Path, data: bytes) -> None:
    """Write into an existing FIFO, device or /dev, /proc name as it is: no temporary file,
    no rename, no creation."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_why(exc, path.parent)}") from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_why(exc, path.parent)}") from None
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _why(exc: OSError, folder: Path) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied in {folder} (check with: ls -ld {folder})"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return f"{folder} is on a read-only file system"
    if exc.errno == errno.ENOENT:
        return "it does not exist"
    if exc.errno == errno.EPIPE:
        return "the reader went away"
    return os.strerror(exc.errno) if exc.errno else type(exc).__name__


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: a folder that cannot be opened or
    synced is left as it is)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
