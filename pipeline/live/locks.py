"""Advisory lock files that never outlive the run that needs them.

Every lock of ours is an ``flock`` on a small file (the kernel drops it when its holder exits
or dies). A lock file may be removed by whoever holds it exclusively, so every taker checks,
once it holds the lock, that the name still leads to the file it locked, and starts again
when it does not (else a taker that opened the file just before it was removed would hold a
lock on a nameless file while the next one locks a new file of the same name). That makes
removing lock files safe at any moment: :func:`remove_if_free` removes one that nobody holds,
which is how a run tidies its own lock files away when it ends, and the next run those of a
run that was killed.

Lock files are opened without following a symbolic link and without blocking, and must be
regular files of the user's: anything else in their place is refused (:class:`LockError`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

#: Our lock on spending one refresh token (:class:`pipeline.live.tokens.SpendLock`):
#: ``.codex-auth-report-refresh.<sha256 of the token>.lock``.
SPEND_LOCK_PREFIX = ".codex-auth-report-refresh."
SPEND_LOCK_SUFFIX = ".lock"
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


class LockError(Exception):
    """A lock file could not be opened or is not ours; the message names it and says why."""


class LockBusy(Exception):
    """Another process held the lock longer than we wait."""


def _refusal(path: Path, st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link, not a lock file of ours"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if st.st_uid != os.geteuid():
        return f"{path} belongs to another user (uid {st.st_uid})"
    return None


def _open(path: Path) -> int:
    try:
        why = _refusal(path, os.lstat(path))  # before opening: a FIFO or a device is never opened
    except FileNotFoundError:
        why = None
    except OSError as exc:
        raise LockError(f"cannot lock {path}: {exc.strerror or exc}") from None
    if why:
        raise LockError(why)
    try:
        fd = os.open(path, _FLAGS, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError(f"{path} is a symbolic link, not a lock file of ours") from None
        raise LockError(f"cannot lock {path}: {exc.strerror or exc}") from None
    try:
        why = _refusal(path, os.fstat(fd))
        if why:
            raise LockError(why)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _same(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def acquire(path: Path, *, shared: bool = False, wait_s: float | None = None, poll_s: float = 0.01) -> int:
    """Take the lock on ``path`` (created 0600 when missing); its descriptor, which holds the
    lock until it is closed. ``wait_s``: give up after that many seconds (:class:`LockBusy`);
    None waits as long as it takes. Raises :class:`LockError` when the file cannot be opened
    or is not a regular file of the user's."""
    kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    deadline = None if wait_s is None else time.monotonic() + wait_s
    while True:
        fd = _open(path)
        try:
            if deadline is None:
                fcntl.flock(fd, kind)
            else:
                while True:
                    try:
                        fcntl.flock(fd, kind | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise LockBusy(f"another process has held {path.name} for too long") from None
                        time.sleep(poll_s)
            if _same(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # removed (or replaced) while we waited: lock what the name leads to now


def release(fd: int, path: Path | None = None) -> None:
    """Let go of the lock; with ``path``, remove the lock file first (we hold it, so nobody
    else does: a taker waiting on it sees the name gone and starts again)."""
    try:
        if path is not None and _same(fd, path):
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def held(path: Path, *, shared: bool = False, wait_s: float | None = None) -> Iterator[int]:
    fd = acquire(path, shared=shared, wait_s=wait_s)
    try:
        yield fd
    finally:
        release(fd)


def remove_if_free(path: Path) -> bool:
    """Remove the lock file ``path`` when it is a regular file of ours that nobody holds; True
    when it was removed. Never blocks, never creates."""
    try:
        if _refusal(path, os.lstat(path)):
            return False
        fd = os.open(path, (_FLAGS & ~os.O_CREAT), 0o600)
    except OSError:
        return False
    try:
        if _refusal(path, os.fstat(fd)):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held by someone
        if not _same(fd, path):
            return False
        try:
            os.unlink(path)
        except OSError:
            return False
        return True
    finally:
        os.close(fd)
