"""Advisory lock files that never outlive the run that needs them.

Every lock of ours is an ``flock`` on a small file (the kernel drops it when its holder exits
or dies). A lock file may be removed by whoever holds it exclusively, so every taker checks,
once it holds the lock, that the name still leads to the file it locked, and starts again
when it does not (else a taker that opened the file just before it was removed would hold a
lock on a nameless file while the next one locks a new file of the same name). That makes
removing lock files safe at any moment: :func:`remove_if_free` removes one that nobody holds,
which is how a run tidies its own lock files away when it ends, and the next run those of a
run that was killed.

Lock files are opened without following a symbolic link and without blocking, in a folder
of the user's, and must be regular files of the user's: anything else in their place, or a
folder of another user (directly, or through a symbolic link), is refused
(:class:`LockError`). :func:`check` asks the same without taking anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: Our lock on spending one refresh token (:class:`SpendLock`):
#: ``.codex-auth-report-refresh.<sha256 of the token>.lock``.
SPEND_LOCK_PREFIX = ".codex-auth-report-refresh."
SPEND_LOCK_SUFFIX = ".lock"
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


class LockError(Exception):
    """A lock file could not be opened or is not ours; the message names it and says why.
    ``foreign``: something not ours is in its place (else the system refused: no room, no
    permission)."""

    def __init__(self, message: str, foreign: bool = True) -> None:
        super().__init__(message)
        self.foreign = foreign


class LockBusy(Exception):
    """Another process held the lock longer than we wait."""


def kind(mode: int) -> str:
    """What a file of this mode is, in words (for a refusal)."""
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _refusal(path: Path, st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"the lock file {path} is {kind(st.st_mode)}, not a regular file"
    if st.st_uid != os.geteuid():
        return f"the lock file {path} belongs to another user (uid {st.st_uid})"
    return None


def _folder_refusal(folder: Path, st: os.stat_result) -> str | None:
    if not stat.S_ISDIR(st.st_mode):
        return f"the folder {folder} of our lock files is {kind(st.st_mode)}, not a folder"
    if st.st_uid != os.geteuid():
        return f"the folder {folder} of our lock files belongs to another user (uid {st.st_uid})"
    return None


def _open_folder(folder: Path) -> int:
    """The lock's folder, opened: a folder of the user's. A symbolic link to it is followed
    only when the link is the user's too (never one to somewhere else that another user
    owns, such as a shared temporary folder)."""
    try:
        link = os.lstat(folder)
    except OSError as exc:
        raise LockError(f"cannot lock in {folder}: {exc.strerror or exc}", foreign=False) from None
    if stat.S_ISLNK(link.st_mode) and link.st_uid != os.geteuid():
        raise LockError(f"the folder {folder} of our lock files is a symbolic link of another user (uid {link.st_uid})")
    if not stat.S_ISLNK(link.st_mode):
        why = _folder_refusal(folder, link)  # before opening: a FIFO in its place is never opened
        if why:
            raise LockError(why)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NONBLOCK)
    except NotADirectoryError:
        raise LockError(f"the folder {folder} of our lock files leads to something that is not a folder") from None
    except OSError as exc:
        raise LockError(f"cannot lock in {folder}: {exc.strerror or exc}", foreign=False) from None
    return _kept(fd, lambda st: _folder_refusal(folder, st))


def _kept(fd: int, refuse: Callable[[os.stat_result], str | None]) -> int:
    """``fd`` when ``refuse`` finds nothing wrong with what it is open on (``fstat``); else
    it is closed and :class:`LockError` says why."""
    try:
        why = refuse(os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    if why:
        os.close(fd)
        raise LockError(why)
    return fd


def _open(path: Path, flags: int = _FLAGS) -> int:
    """The lock file, opened (created 0600 when ``flags`` say so) in its folder's open
    descriptor, checked before and after opening; :class:`LockError` when it is not ours."""
    folder = _open_folder(path.parent)
    try:
        try:
            why = _refusal(path, os.stat(path.name, dir_fd=folder, follow_symlinks=False))
        except FileNotFoundError:
            why = None
        except OSError as exc:
            raise LockError(f"cannot lock {path}: {exc.strerror or exc}", foreign=False) from None
        if why:
            raise LockError(why)  # before opening: a FIFO or a device is never opened
        try:
            fd = os.open(path.name, flags, 0o600, dir_fd=folder)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LockError(f"the lock file {path} is a symbolic link, not a regular file") from None
            if exc.errno == errno.ENOENT and not flags & os.O_CREAT:
                raise
            raise LockError(f"cannot lock {path}: {exc.strerror or exc}", foreign=False) from None
    finally:
        os.close(folder)
    return _kept(fd, lambda st: _refusal(path, st))


def check(path: Path) -> LockError | None:
    """Why the lock ``path`` could not be taken (its folder or the file in its place is not
    the user's, or not what a lock needs), or None; creates nothing, opens no FIFO, never
    blocks. A lock file or a folder that is not there yet is fine: it is made when needed.
    Asked before a refresh spends a token, since a lock refused after it would leave the
    successor outside storage."""
    if not os.path.lexists(path.parent):
        return None
    try:
        fd = _open(path, _FLAGS & ~os.O_CREAT)
    except FileNotFoundError:
        return None
    except LockError as exc:
        return exc
    os.close(fd)
    return None


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
        fd = _open(path, _FLAGS & ~os.O_CREAT)
    except (OSError, LockError):
        return False
    try:
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


_MARK = b"spending\n"


class SpendLock:
    """Our own cross-process lock on spending one refresh token: an ``flock`` on
    ``.codex-auth-report-refresh.<sha256 of the token>.lock`` in every folder that holds a
    storage file of the pool (:mod:`pipeline.live.locks`), whatever codex-multi-auth's lease
    setting, and for a Codex CLI login too. Held from the re-read of the stored token until its
    successor is in the journal and in storage. Its holder writes a mark into it; a clean
    release removes the file, so a mark found by the next holder means the last one did not
    finish (killed, or storage refused its tokens) and the journal must be read."""

    def __init__(self, folders: list[Path], digest: str, deadline: float) -> None:
        self.paths = [folder / f"{SPEND_LOCK_PREFIX}{digest}{SPEND_LOCK_SUFFIX}" for folder in folders]
        self.deadline = deadline
        self.fds: list[int] = []
        self.unfinished = False
        self.settled = True  # False: keep the file and its mark (a token waits in the journal)

    def left_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def __enter__(self) -> SpendLock:
        try:
            for path in self.paths:
                fd = acquire(path, wait_s=self.left_s())
                self.fds.append(fd)
                if os.fstat(fd).st_size:
                    self.unfinished = True
            for fd in self.fds:
                os.pwrite(fd, _MARK, 0)
        except OSError as exc:
            self._release(keep=self.unfinished)
            where = self.paths[len(self.fds) - 1 if self.fds else 0]
            raise LockError(f"cannot lock {where}: {exc.strerror}", foreign=False) from None
        except BaseException:
            self._release(keep=self.unfinished)
            raise
        return self

    def _release(self, keep: bool) -> None:
        for path, fd in zip(self.paths, self.fds, strict=False):
            release(fd, None if keep else path)
        self.fds = []

    def __exit__(self, kind: object, *rest: object) -> None:
        # An unexpected error mid-way keeps the mark: the next holder reads the journal.
        self._release(keep=not self.settled or kind is not None)
