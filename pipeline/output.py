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
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from pipeline.errors import OutputError

if TYPE_CHECKING:  # pathlib loads only where a file is written (stdout needs none)
    from pathlib import Path

Data = bytes | Iterable[bytes]  # one output: its bytes, or its pieces in order


def pieces(data: Data) -> Iterable[bytes]:
    return (data,) if isinstance(data, bytes) else data


def replace_atomically(target: Path, data: Data, mode: int = 0o600) -> None:
    """Write ``data`` (its pieces one after the other) to a temporary file in the target's
    folder, fsync it, rename it over the target and fsync the folder. A reader never sees
    half a file; on failure (a piece that cannot be made included) the old file (if any) is
    untouched, the temporary file is removed and the exception propagates."""
    from pathlib import Path

    folder = target.parent if str(target.parent) else Path(".")
    import tempfile  # only --out writes a file; every stage writes its stream through here

    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        try:
            os.fchmod(fd, mode)
            for piece in pieces(data):
                _write_all(fd, piece)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_dir(folder)


def write_out(out_path: str | None, data: Data, mode: int = 0o600) -> None:
    """The report on stdout (``None`` or ``-``) or into ``--out`` (see the module's rules)."""
    if out_path is None or out_path == "-":
        write_stream(sys.stdout.buffer, data)
        return
    write_atomic(out_path, data, mode)


def write_stream(stream: IO[bytes], data: Data) -> None:
    """Write all of ``data`` (its pieces one after the other) and flush. A reader that went away is :class:`BrokenPipeError`
    (the CLI exits quietly); any other refusal (``> /dev/full``) is :class:`OutputError`
    naming the stream."""
    try:
        for piece in pieces(data):
            write_fully(stream, piece)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise refused(stream, exc) from None


def write_fully(stream: IO[bytes], data: bytes | memoryview) -> None:
    """``stream.write`` until every byte is taken. A buffered stream returns a short count,
    not an error, when its pipe's reader goes away after part of a large write (65,536 bytes
    taken and no exception); writing the rest raises the :class:`BrokenPipeError` it hid."""
    view = memoryview(data)
    while view:
        taken: int | None = stream.write(view)
        if taken is None:  # a non-blocking raw stream that took nothing: try again
            continue
        if taken >= len(view):
            return
        view = view[taken:]


class AtomicStream:
    """A stage's ``-o FILE``: records go to a private temporary file in the target's folder
    (mode 0600 from its creation), which :meth:`commit` renames over the target once the
    stage has written everything; a stage that fails leaves the target as it was
    (:meth:`discard`). A FIFO, a device or a /dev, /proc name is written into as it is."""

    def __init__(self, path: str) -> None:
        from pathlib import Path

        self.name = path
        self._given = Path(path)
        self._fd: int | None = None
        self._temp: str | None = None
        self._target: Path | None = None
        self._committed = False

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        given = self._given
        target, replace = where_to_write(given)
        if not replace:
            try:
                self._fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
            except OSError as exc:
                raise OutputError(f"cannot write {given}: {_why(exc, target.parent)}") from None
            return self._fd
        folder = target.parent
        import tempfile

        try:
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot write {given}: {_why(exc, folder)}") from None
        self._fd, self._temp, self._target = fd, temp, target
        try:
            os.fchmod(fd, 0o600)
        except OSError:
            pass  # mkstemp made it 0600 already
        return fd

    def write(self, data: bytes | memoryview) -> int:
        fd = self._open()
        try:
            _write_all(fd, bytes(data))
        except OSError as exc:
            raise OutputError(f"cannot write {self._given}: {_why(exc, self._given.parent)}") from None
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here (each write reaches the file)."""

    def isatty(self) -> bool:
        return False

    def commit(self) -> None:
        """Everything is written: make the file whole on disk and put it in place."""
        fd = self._open()
        self._committed = True
        if self._temp is None or self._target is None:
            os.close(fd)
            self._fd = None
            return
        try:
            os.fsync(fd)
            os.close(fd)
            self._fd = None
            os.replace(self._temp, self._target)
        except OSError as exc:
            self._committed = False
            self.discard()
            raise OutputError(f"cannot write {self._given}: {_why(exc, self._target.parent)}") from None
        self._temp = None
        fsync_dir(self._target.parent)

    def discard(self) -> None:
        """The stage did not finish: close and remove the temporary file (the target is untouched)."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        if self._temp is not None and not self._committed:
            try:
                os.unlink(self._temp)
            except OSError:
                pass
            self._temp = None


def refused(stream: IO[bytes], exc: OSError) -> OutputError:
    """The one-line error for a stream that refused bytes, naming it (stdout by its name)."""
    name = getattr(stream, "name", "-")
    if name in ("-", "<stdout>") or stream is sys.stdout.buffer:
        from pipeline.terminal import stdout_failed

        return stdout_failed(exc)
    return OutputError(f"cannot write to {name}: {os.strerror(exc.errno) if exc.errno else exc}")


def write_atomic(path: str | os.PathLike[str], data: Data, mode: int = 0o600) -> Path:
    """``--out``: into a stream-like file as it is, else whole or not at all, with a clear
    error when it cannot. Returns the path written (a link's target for a link)."""
    from pathlib import Path

    given = Path(path)
    target, replace = where_to_write(given)
    if not replace:
        _write_into(target, data)
        return target
    try:
        replace_atomically(target, data, mode)
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {_why(exc, target.parent)}") from None
    return target


def where_to_write(given: Path) -> tuple[Path, bool]:
    """The path to write for ``given`` and whether it is replaced whole (a regular file or a
    new one, in a folder that exists) rather than written into (a FIFO, a device, /dev)."""
    from pathlib import Path

    if _is_special_name(given):
        return given, False
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
        return target, False
    if found is not None and not stat.S_ISREG(found):
        raise OutputError(f"cannot write {given}: it is neither a file, a FIFO nor a device")
    folder = target.parent if str(target.parent) else Path(".")
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {given}: folder {folder} does not exist (create it first: mkdir -p {folder})")
    return Path(folder) / target.name, True


def _is_special_name(path: Path) -> bool:
    text = os.path.abspath(path)
    return text.startswith(("/dev/", "/proc/"))


def _final_target(path: Path) -> Path:
    """Follow symbolic links (a chain of them, relative ones included) to the final name;
    a dangling link gives the name it points to, so the file is created there."""
    from pathlib import Path

    try:
        return Path(os.path.realpath(path, strict=False))
    except (OSError, ValueError):
        return path


def _write_into(path: Path, data: Data) -> None:
    """Write into an existing FIFO, device or /dev, /proc name as it is: no temporary file,
    no rename, no creation."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_why(exc, path.parent)}") from None
    try:
        for piece in pieces(data):
            _write_all(fd, piece)
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
