"""Replacing a file that other processes write too, without losing their changes or ours.

codex-multi-auth saves its files by writing a temporary file and renaming it over the old
one, with no lock that crosses processes. So every write of ours is optimistic:

1. read the file (its identity: device, inode, size, mtime, and a hash of its bytes);
2. apply our change to what was read, write the result to a temporary file, fsync it;
3. just before the rename, check that the file on disk is still the one we read; if not,
   start again from what is there now (bounded: :data:`BUDGET_S`);
4. swap the temporary file and the target in one step (Linux ``renameat2`` with
   ``RENAME_EXCHANGE``), then look at what we displaced: when another writer slipped its file
   in between the check and the swap, that file is now under our temporary name; we swap
   back at once (microseconds later, so nobody reads a file without its change) and merge
   again from it. Where the exchange is not available (another system, a file system
   without it), a plain rename follows the check;
5. fsync the folder.

Our writers also serialise among themselves (threads and processes) with an advisory lock
(:mod:`pipeline.live.locks`), which the kernel drops when its owner dies; its file is removed
when the run ends, and by the next run after a crash. Temporary files
carry the writer's pid and start time in their name (:mod:`pipeline.live.processes`)
(``.<target>.codex-auth-report.<pid>.<start>.<random>.tmp``): the next write in that folder
removes those whose process is gone, since they may hold tokens.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.live.processes import alive as alive  # the names other modules know from here
from pipeline.live.processes import boot_id as boot_id
from pipeline.live.processes import me as me
from pipeline.live.processes import start_time as start_time
from pipeline.output import fsync_dir

LOCK_NAME = ".codex-auth-report.lock"
TEMP_MARK = "codex-auth-report"
SAFE_ATTEMPTS = 3
BUDGET_S = 5.0
_TEMP = re.compile(r"^\..+\." + re.escape(TEMP_MARK) + r"\.(\d+)\.(\d+|x)\.[0-9a-f]{8}\.tmp$")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

_thread_lock = threading.RLock()
_held = threading.local()


class WriteError(Exception):
    """A file could not be updated; the message names it and says why (never a token)."""


# --- leftovers ----------------------------------------------------------------------


def temp_name(target: Path) -> Path:
    pid, started = me()
    import secrets  # the modules below load only where a file is written (a default report writes none)

    return target.with_name(f".{target.name}.{TEMP_MARK}.{pid}.{started}.{secrets.token_hex(4)}.tmp")


def remove_dead_temps(folder: Path) -> int:
    """Delete our temporary files whose writer is gone (they may hold tokens); returns how many."""
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        match = _TEMP.match(name)
        if match is None or alive(int(match.group(1)), match.group(2)):
            continue
        try:
            os.unlink(folder / name)
            removed += 1
        except OSError:
            pass
    return removed


# --- our own writers take turns -------------------------------------------------------


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Serialise our writers: the threads of this process, and other codex-auth-report
    processes (an advisory lock on a small file in ``folder``, released by the kernel when
    its holder exits or dies). Re-entrant within a thread."""
    with _thread_lock:
        depth: dict[str, int] = getattr(_held, "depth", None) or {}
        _held.depth = depth
        key = str(folder)
        if depth.get(key):
            depth[key] += 1
            try:
                yield
            finally:
                depth[key] -= 1
            return
        from pipeline.live import locks

        try:
            fd = locks.acquire(folder / LOCK_NAME)
        except locks.LockError as exc:
            raise WriteError(str(exc)) from None
        try:
            depth[key] = 1
            try:
                yield
            finally:
                depth.pop(key, None)
        finally:
            os.close(fd)  # closing releases the lock


# --- reading with identity ------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A file as we read it: enough to tell whether it is still the same file."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    digest: str
    data: bytes


def read_seen(path: Path) -> Seen | None:
    """The file and its identity, or None when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WriteError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not _is_regular(st.st_mode):
            raise WriteError(f"{path} is not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    except OSError as exc:
        raise WriteError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    import hashlib

    return Seen(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest(), data)


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def same(seen: Seen | None, now: Seen | None) -> bool:
    if seen is None or now is None:
        return seen is None and now is None
    return (seen.dev, seen.ino, seen.size, seen.mtime_ns, seen.digest) == (
        now.dev,
        now.ino,
        now.size,
        now.mtime_ns,
        now.digest,
    )


# --- writing --------------------------------------------------------------------------


def write_temp(target: Path, data: bytes, mode: int = 0o600, *, sync: bool = True) -> Path:
    """A new temporary file beside ``target`` holding ``data`` (fsynced unless ``sync`` is
    False: for files whose loss in a power cut costs nothing); its path."""
    temp, fd = _temp_file(target, data, mode, sync=sync)
    os.close(fd)
    return temp


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_libc: Any = None
_no_exchange = False
_STAT_IDS = sys.platform.startswith("linux") and os.uname().machine in ("x86_64", "aarch64")


def _lib() -> Any:
    """libc, called with the GIL held (``PyDLL``): the swap and the look at what it displaced
    run back to back, with no other thread of ours in between (see :func:`swap`)."""
    global _libc, _no_exchange
    if _libc is None:
        import ctypes

        try:
            _libc = ctypes.PyDLL(None, use_errno=True)
            _libc.renameat2  # noqa: B018 - glibc >= 2.28
        except (OSError, AttributeError):
            _no_exchange = True
            _libc = False
    return _libc


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False when this system or file system cannot."""
    if _no_exchange or not sys.platform.startswith("linux") or not _lib():
        return False
    import ctypes

    result = _lib().renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # this file system cannot; the caller renames
    raise OSError(code, os.strerror(code), str(second))


def _ids(path: Path) -> tuple[int, int, int, int] | None:
    """(device, inode, size, mtime in ns) of ``path``; on 64-bit Linux without letting go of
    the GIL. Size and mtime matter as much as the inode: once a file is replaced its inode is
    free, and another writer's next file may get the same number."""
    if _STAT_IDS and _lib() and hasattr(_lib(), "stat"):
        import ctypes
        import struct

        # struct stat on x86_64 and aarch64: st_dev at 0, st_ino at 8, st_size at 48,
        # st_mtim (seconds, nanoseconds) at 88.
        buffer = ctypes.create_string_buffer(256)
        if _lib().stat(os.fsencode(path), buffer) != 0:
            return None
        dev, ino = struct.unpack_from("QQ", buffer, 0)
        (size,) = struct.unpack_from("q", buffer, 48)
        sec, nsec = struct.unpack_from("qq", buffer, 88)
        return int(dev), int(ino), int(size), int(sec) * 1_000_000_000 + int(nsec)
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def swap(temp: Path, target: Path, expected: tuple[int, int, int, int]) -> str:
    """Swap ``temp`` in for ``target``: ``done`` (what we displaced is the file we merged with,
    now under ``temp``), ``slipped`` (another writer's file had come in after our check: it was
    swapped straight back, and ``temp`` is ours again), or ``unsupported``. The three steps
    run back to back, so another writer has microseconds, not a thread switch, to read a file
    without its change."""
    if not exchange(temp, target):
        return "unsupported"
    displaced = _ids(temp)
    if displaced is None or displaced == expected:
        return "done"
    return "slipped" if exchange(temp, target) else "done"


def write_new(target: Path, data: bytes, mode: int = 0o600, *, sync: bool = True) -> None:
    """Replace ``target`` with ``data`` atomically, for files only we write (lease results,
    the journal when it is compacted): temporary file, fsync, rename, fsync the folder
    (``sync`` False: no fsync, for a courtesy file whose content the journal also has)."""
    temp = write_temp(target, data, mode, sync=sync)
    try:
        os.replace(temp, target)
    except OSError as exc:
        _unlink(temp)
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    if sync:
        fsync_dir(target.parent)


def unchanged(path: Path, expected: Seen | None) -> bool:
    """Whether ``path`` is still the file we read: identity first (cheap), then the bytes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return expected is None
    except OSError:
        return False
    if expected is None or (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != (
        expected.dev,
        expected.ino,
        expected.size,
        expected.mtime_ns,
    ):
        return False
    return same(expected, read_seen(path))


def update(
    path: Path,
    change: Callable[[bytes | None], bytes | None],
    *,
    mode: int = 0o600,
    rescue: Callable[[bytes, bytes, bytes | None], bytes] | None = None,
) -> bool:
    """Apply ``change`` to the bytes of ``path`` (None when it does not exist) and write what it
    returns, keeping every change another process makes meanwhile (see the module docstring).
    ``change`` may run more than once, each time on the file as it is then, and returns None
    when there is nothing to write. True when the file was written.

    The first :data:`SAFE_ATTEMPTS` attempts fsync the temporary file before the check. A
    file that keeps changing faster than that (another program saving in a tight loop) gets
    attempts with a shorter window: the fsync follows the swap instead, and the displaced
    old file is kept until it is done. Attempts go on, with a small random pause, for
    :data:`BUDGET_S` seconds, then the write fails loudly (the token journal keeps tokens).

    ``rescue(new, theirs, ours)``: when another writer's file came in between our check and
    our swap, ours was in place for a moment, and that writer may have read it and saved its
    next file on top of it, without what it had added. Each later attempt hands what we are
    about to write, the other writer's file (``theirs``) and the file we had merged with
    (``ours``) to ``rescue``, which puts back what ``theirs`` added and ``new`` lacks."""
    folder = path.parent
    with locked(folder):
        remove_dead_temps(folder)
        expected = read_seen(path)
        base = expected.data if expected is not None else None
        pending: Path | None = None  # another writer's file we displaced and must merge
        witnessed: list[tuple[bytes, bytes | None]] = []  # (their file, ours) whenever ours stood in theirs' place
        deadline = time.monotonic() + BUDGET_S
        attempt = 0
        try:
            while True:
                attempt += 1
                new = change(base)
                if new is None:
                    if pending is None:
                        return False
                    new = base if base is not None else b""  # put the other writer's file back
                elif rescue is not None:
                    for theirs, ours in witnessed:
                        new = rescue(new, theirs, ours)
                safe = attempt <= SAFE_ATTEMPTS
                temp, fd = _temp_file(path, new, mode, sync=safe)
                try:
                    if not unchanged(path, expected):
                        os.close(fd)
                        _unlink(temp)
                        if time.monotonic() > deadline:
                            raise WriteError(f"{path} kept changing while we wrote it ({attempt} attempts)")
                        import random

                        time.sleep(random.uniform(0, 0.002))
                        expected = read_seen(path)  # changed since we read it: merge again
                        base = expected.data if expected is not None else None
                        continue
                    if expected is None:
                        try:
                            os.link(temp, path)  # fails when someone created it meanwhile
                        except FileExistsError:
                            os.close(fd)
                            _unlink(temp)
                            expected = read_seen(path)
                            base = expected.data if expected is not None else None
                            continue
                        _finish(fd, safe)
                        _unlink(temp)
                        fsync_dir(folder)
                        return True
                    outcome = swap(temp, path, (expected.dev, expected.ino, expected.size, expected.mtime_ns))
                    if outcome == "unsupported":
                        os.replace(temp, path)
                        _finish(fd, safe)
                        fsync_dir(folder)
                        return True
                    if outcome == "slipped":
                        # Another writer's file came in between the check and the swap: it is
                        # back in place; merge with it.
                        os.close(fd)
                        _unlink(temp)
                        fsync_dir(folder)
                        expected = read_seen(path)
                        if expected is not None:
                            witnessed.append((expected.data, base))  # theirs, and what ours was made from
                        base = expected.data if expected is not None else None
                        continue
                    _finish(fd, safe)
                except OSError as exc:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                    _unlink(temp)
                    raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
                # ``temp`` now names what we displaced: the file we merged with, or another
                # writer's, which slipped in after the check.
                displaced = read_seen(temp)
                fsync_dir(folder)
                if pending is not None:
                    _unlink(pending)
                    pending = None
                if displaced is None or same(expected, displaced):
                    _unlink(temp)
                    return True
                pending = temp
                witnessed.append((displaced.data, base))
                base = displaced.data
                expected = read_seen(path)  # ours, unless yet another writer came
        finally:
            if pending is not None:
                # We stop with another writer's file displaced: theirs goes back (our change
                # is in the token journal, theirs is nowhere else).
                try:
                    os.replace(pending, path)
                except OSError:
                    _unlink(pending)


def _temp_file(target: Path, data: bytes, mode: int, *, sync: bool) -> tuple[Path, int]:
    """A temporary file beside ``target`` with ``data``, still open (fsynced when ``sync``)."""
    temp = temp_name(target)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _unlink(temp)
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    return temp, fd


def _finish(fd: int, synced: bool) -> None:
    """Close the new file; fsync it first when that was not done before the swap."""
    try:
        if not synced:
            os.fsync(fd)
    finally:
        os.close(fd)


def prove_room(target: Path, extra: int) -> str | None:
    """Why a new copy of ``target`` (its size now and ``extra`` bytes more) could not be written
    beside it at this moment (no permission, a full disk, a file-size limit), or None when it
    could: a temporary file of that size is written and removed again."""
    try:
        size = os.stat(target).st_size
    except FileNotFoundError:
        size = 0
    except OSError as exc:
        return f"cannot read {target}: {exc.strerror or exc}"
    temp = temp_name(target)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        return f"cannot write in {target.parent}: {exc.strerror or exc}"
    try:
        try:
            os.posix_fallocate(fd, 0, size + extra)  # blocks, not bytes: cheap for a large file
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
            left = size + extra  # a file system that cannot allocate ahead: write it
            block = bytes(min(left, 1 << 16))
            while left > 0:
                left -= os.write(fd, block[: min(left, len(block))])
    except OSError as exc:
        return f"no room to write {target}: {exc.strerror or exc}"
    finally:
        os.close(fd)
        _unlink(temp)
    return None
