"""The token journal: rotated tokens are durable the moment they arrive.

A refresh token is single-use: once the token endpoint has answered, the old one is spent,
and the new one exists only in that answer. So before anything else is done with an answer,
its tokens are appended to this journal, beside the pool; only then is storage updated. A
crash, a full disk or another program's stale write between the two leaves the tokens here,
and the next run puts them where they belong (``codex auth repair``, or any live report).

Format: ``codex-auth-report-token-journal.ndjson`` in the folder of the storage file (mode
0600; the folder is 0700), one JSON object per line, appended with ``O_APPEND`` and fsynced
(the file, and the folder once per process so that a new file's name survives a crash)::

    {"v": 1, "at": 1764530000000, "spent": "<sha256 hex of the refresh token spent>",
     "accountId": "acct-..." | null, "access": "...", "refresh": "...", "idToken": "..." | null,
     "expires": 1765394000000 | null, "from": "refresh" | "lease", "check": "<16 hex>"}

* ``spent`` keys the entry: the hash of the refresh token these tokens replace (never that
  token itself). A stored record whose refresh token has this hash holds a spent token, and
  gets the entry's tokens.
* ``check`` is the first 16 hex digits of the SHA-256 of the line's other fields, serialised
  with sorted keys and no spaces. A line that does not parse or does not match (a line torn
  by a crash, a damaged disk block) is ignored, and dropped at the next compaction.
* A writer that finds the file not ending in a newline (a torn last line) starts its own line
  on a new one, so one torn line never swallows the next.

Entries are dropped (compaction, under the folder's lock: the file is rewritten and renamed)
only when no stored record holds their spent token any more, so storage has their token or a
newer one, and they are older than :data:`KEEP_SETTLED_MS`, which covers a slow
read-modify-write of another program that could still put the spent token back. Appending
and compaction exclude each other with an advisory lock (shared for appends and reserved room,
exclusive for compaction, which is skipped rather than waited for) on
``.codex-auth-report-journal.lock``.

Before a refresh spends a token, room for its answer is reserved (:meth:`Journal.reserve`): a
line of spaces, fsynced, that the entry later overwrites in place, so a full disk is found
before the token is spent, not after. Blank lines are skipped by readers and dropped at
compaction. The journal is opened only when it is a regular file of the user's with one
name, without following a link or blocking (:class:`JournalRefused` otherwise). Each
compaction also writes the journal's index (:mod:`pipeline.live.journal_index`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.live import atomic
from pipeline.live.locks import kind
from pipeline.live.pending import JOURNAL_NAME
from pipeline.output import fsync_dir
from pipeline.scrubbing import remember

LOCK_NAME = ".codex-auth-report-journal.lock"
# The spent hash as an entry's line names it (a quote inside a JSON string is escaped, so this
# matches only a member of the line's object).
_SPENT = re.compile(rb'"spent"\s*:\s*"([0-9a-f]{64})"')
KEEP_SETTLED_MS = 10 * 60 * 1000
VERSION = 1


def token_hash(token: str) -> str:
    """How the journal and the refresh lease name a refresh token: SHA-256, hex."""
    import hashlib  # loaded only when there is a token to key (a default report rarely has one)

    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


#: What to do about a refresh refused before its token is spent, said after what went wrong
#: (:func:`refused_line`): something not ours in place of the journal or a lock file of ours;
#: no room (or no permission) for the answer; a storage folder or file we cannot write.
MOVE_AWAY = "move it away and run again; no token is refreshed while it is there"
NO_ROOM = "free some space (or make the folder writable) and run again; no token was spent"
FIX_PERMISSIONS = "fix its permissions and run again; no token was spent"


def refused_line(what: str, todo: str) -> str:
    """The one wording of a refused refresh: what went wrong (naming the file), what to do."""
    return f"{what}: {todo}"


class JournalError(Exception):
    """The journal could not be written; the message names it and says why."""


@dataclass(frozen=True)
class Rotation:
    """Tokens that replace a spent refresh token."""

    spent: str  # token_hash of the refresh token spent
    access: str
    refresh: str
    expires: int | None
    id_token: str | None = None
    account_id: str | None = None
    at: int = 0
    source: str = "refresh"  # refresh | lease

    @property
    def next(self) -> str:
        """The hash of the refresh token these tokens bring (what a later entry would spend)."""
        return token_hash(self.refresh)

    def fields(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "at": self.at,
            "spent": self.spent,
            "accountId": self.account_id,
            "access": self.access,
            "refresh": self.refresh,
            "idToken": self.id_token,
            "expires": self.expires,
            "from": self.source,
        }


def _check(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    import hashlib

    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def encode(rotation: Rotation) -> bytes:
    fields = rotation.fields()
    return (json.dumps({**fields, "check": _check(fields)}, separators=(",", ":")) + "\n").encode("utf-8")


def decode(line: bytes) -> Rotation | None:
    """The entry on one line, or None when the line is torn, damaged or not ours."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply (100,000 ``[``)
        return None
    if not isinstance(data, dict):
        return None
    check = data.pop("check", None)
    if not isinstance(check, str) or check != _check(data) or data.get("v") != VERSION:
        return None
    spent, access, refresh = data.get("spent"), data.get("access"), data.get("refresh")
    if not (isinstance(spent, str) and len(spent) == 64 and isinstance(access, str) and access):
        return None
    remember(access, refresh)
    if not isinstance(refresh, str) or not refresh.strip():
        return None
    expires, at = data.get("expires"), data.get("at")
    id_token, account_id = data.get("idToken"), data.get("accountId")
    source = data.get("from")
    return Rotation(
        spent,
        access,
        refresh,
        expires if isinstance(expires, int) and not isinstance(expires, bool) else None,
        id_token if isinstance(id_token, str) and id_token else None,
        account_id if isinstance(account_id, str) and account_id else None,
        at if isinstance(at, int) and not isinstance(at, bool) else 0,
        source if isinstance(source, str) and source in ("refresh", "lease") else "refresh",
    )


@dataclass
class Contents:
    entries: list[Rotation]
    damaged: int  # lines that did not parse or check (a torn last line, a damaged block)
    padding: int = 0  # room reserved for an answer and never filled (a refresh that failed or was killed)
    refused: str | None = None  # why the journal is not read: it is not a regular file of the user's
    first_damaged: int = 0  # the number of the first damaged line (1 the first line), 0 for none

    def damage_note(self, path: Path) -> str | None:
        """One line naming the damaged lines (``journal:LINE``), or None."""
        if not self.damaged:
            return None
        more = f" (and {self.damaged - 1} more line{'s' if self.damaged != 2 else ''})" if self.damaged > 1 else ""
        return (
            f"{path}:{self.first_damaged}{more}: not an entry of the token journal (torn by a crash or damaged): "
            "nothing to do, it is left out and dropped at the next compaction"
        )


class JournalRefused(JournalError):
    """The journal's name leads to something that is not ours to write tokens into: a symbolic
    link, a FIFO, a device, a folder, a file of another user or one with other names (hard
    links). Nothing is refreshed while it is there."""


#: Room reserved in the journal before a refresh: a real answer's entry takes about 4 KB
#: (two JWTs and a refresh token); :meth:`Journal.reserve` takes more when the stored tokens
#: are larger.
RESERVE_BYTES = 16 * 1024


def room_for(creds: Mapping[str, Any]) -> int:
    """The room to reserve for a refresh answer: twice what the stored tokens take, and at
    least :data:`RESERVE_BYTES`."""
    stored = sum(len(v) for k, v in creds.items() if isinstance(v, str) and k in _TOKEN_FIELDS)
    return max(RESERVE_BYTES, 2 * stored + 2048)


_TOKEN_FIELDS = ("accessToken", "refreshToken", "idToken", "access_token", "refresh_token", "id_token")

_OPEN = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


def refusal(path: Path, st: os.stat_result) -> str | None:
    """Why the journal ``path`` (as ``st`` says it is) must not hold tokens, or None."""
    import stat

    if not stat.S_ISREG(st.st_mode):
        return f"the token journal {path} is {kind(st.st_mode)}, not a regular file"
    if st.st_uid != os.geteuid():
        return f"the token journal {path} belongs to another user (uid {st.st_uid})"
    if st.st_nlink > 1:
        return f"the token journal {path} has other names too ({st.st_nlink} hard links)"
    return None


class Reservation:
    """Room for one answer's entry, reserved in the journal before a refresh spends a token
    (:meth:`Journal.reserve`): a line of spaces, fsynced, that :meth:`fill` overwrites in
    place, so writing the entry needs no new space. Holds the journal's shared lock, so no
    compaction moves the file away meanwhile."""

    def __init__(self, journal: Journal, lock_fd: int, fd: int, offset: int, size: int) -> None:
        self.journal, self._lock_fd, self._fd = journal, lock_fd, fd
        self.offset, self.size = offset, size
        self.filled = False

    def fill(self, rotation: Rotation) -> None:
        """Make ``rotation`` durable in the reserved room (fsynced when this returns); an entry
        larger than the room (an answer far larger than real ones) is appended instead."""
        line = encode(rotation)
        body = line[:-1]  # the reserved line keeps its own newline, after the spaces
        if len(body) > self.size - 1:
            self.journal.append(rotation)
            self.filled = True
            return
        try:
            view, at = memoryview(body), self.offset
            while view:
                written = os.pwrite(self._fd, view, at)
                view, at = view[written:], at + written
            os.fsync(self._fd)
        except OSError as exc:
            raise JournalError(f"cannot write the token journal {self.journal.path}: {exc.strerror or exc}") from None
        self.filled = True

    def close(self) -> None:
        try:
            os.close(self._fd)
        finally:
            os.close(self._lock_fd)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Journal:
    """The journal of one storage folder. Thread-safe; several processes may append at once."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / JOURNAL_NAME
        self._guard = threading.Lock()
        self._folder_synced = False
        self._sync_lock = threading.Lock()
        self._written = 0  # lines this process has written
        self._synced = 0  # lines this process knows to be on disk

    def _lock(self, exclusive: bool, wait_s: float | None = None) -> int:
        from pipeline.live import locks

        try:
            return locks.acquire(self.folder / LOCK_NAME, shared=not exclusive, wait_s=wait_s)
        except locks.LockError as exc:
            raise JournalError(f"cannot lock the token journal in {self.folder}: {exc}") from None

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        fd = self._lock(exclusive)
        try:
            yield
        finally:
            os.close(fd)

    def refused(self) -> str | None:
        """Why the journal is not ours (see :class:`JournalRefused`), or None (a missing
        journal is fine: it is created when needed)."""
        try:
            return refusal(self.path, os.lstat(self.path))
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot read the token journal {self.path}: {exc.strerror or exc}"

    def _open(self, flags: int) -> int:
        """The journal opened without following a link or blocking, checked before and after
        opening to be a regular file of the user's with one name, and made 0600 (through the
        open file, never through a name)."""
        why = self.refused()
        if why:
            raise JournalRefused(why)
        try:
            fd = os.open(self.path, flags | _OPEN, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise JournalRefused(f"the token journal {self.path} is a symbolic link, not a regular file") from None
            raise
        try:
            st = os.fstat(fd)
            why = refusal(self.path, st)
            if why:
                raise JournalRefused(why)
            if st.st_mode & 0o7777 != 0o600:
                os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _append_fd(self) -> tuple[int, bytes]:
        """The journal open for appending, and what a new line must start with (a newline when
        the file ends in a torn line, so that line never swallows ours)."""
        fd = self._open(os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            lead = b"\n" if size and os.pread(fd, 1, size - 1) != b"\n" else b""
        except BaseException:
            os.close(fd)
            raise
        return fd, lead

    def _sync_folder(self) -> None:
        if not self._folder_synced:
            fsync_dir(self.folder)
            self._folder_synced = True

    def append(self, rotation: Rotation) -> None:
        """Make ``rotation`` durable: on disk (file and name fsynced) when this returns.

        Threads that append at the same moment share fsyncs (group commit): a thread whose
        line an fsync begun after its write already covers does not fsync again."""
        line = encode(rotation)
        try:
            with self._locked(exclusive=False):
                fd, lead = self._append_fd()
                try:
                    view = memoryview(lead + line)
                    while view:
                        view = view[os.write(fd, view) :]
                    with self._guard:
                        self._written += 1
                        mine = self._written
                    with self._sync_lock:
                        if self._synced < mine:
                            with self._guard:
                                covered = self._written
                            os.fsync(fd)  # the file's data, whoever's descriptor wrote it
                            self._sync_folder()
                            self._synced = max(self._synced, covered)
                finally:
                    os.close(fd)
        except JournalRefused:
            raise
        except OSError as exc:
            raise JournalError(f"cannot write the token journal {self.path}: {exc.strerror or exc}") from None

    def reserve(self, size: int = RESERVE_BYTES) -> Reservation:
        """Room for one entry of up to ``size`` bytes, on disk before this returns (see
        :class:`Reservation`). Raises :class:`JournalRefused` when the journal is not ours and
        :class:`JournalError` when the room cannot be had (a full disk, a file-size limit, no
        permission): then no token may be spent."""
        lock_fd = self._lock(exclusive=False)
        fd = -1
        try:
            fd, lead = self._append_fd()
            placeholder = lead + b" " * (size - 1) + b"\n"
            view = memoryview(placeholder)
            while view:
                view = view[os.write(fd, view) :]
            end = os.lseek(fd, 0, os.SEEK_CUR)  # O_APPEND: just past what this write put at the end
            os.fsync(fd)
            self._sync_folder()
            import fcntl

            # pwrite on a descriptor opened O_APPEND appends on Linux: fill in place without it
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_APPEND)
            return Reservation(self, lock_fd, fd, end - size, size)
        except BaseException as exc:
            if fd >= 0:
                os.close(fd)
            os.close(lock_fd)
            if isinstance(exc, OSError):
                raise JournalError(
                    f"no room for rotated tokens in the token journal {self.path}: {exc.strerror or exc}"
                ) from None
            raise

    def read(self, wanted: Callable[[str], bool] | None = None) -> Contents:
        """Every intact entry, oldest first (none when there is no journal, or when it is not
        ours: then ``refused`` says why). ``wanted``: only the entries whose spent hash it
        accepts are decoded; a line that names no spent hash it accepts is skipped unread (a
        large journal costs one pass over its bytes, not a decoding of every entry)."""
        try:
            fd = self._open(os.O_RDONLY)
        except FileNotFoundError:
            return Contents([], 0)
        except JournalRefused as exc:
            return Contents([], 0, refused=str(exc))
        except OSError as exc:
            return Contents([], 0, refused=f"cannot read the token journal {self.path}: {exc.strerror or exc}")
        try:
            chunks = [os.read(fd, os.fstat(fd).st_size + 1)]  # one buffer, not chunks joined
            while chunks[-1] and (chunk := os.read(fd, 1 << 20)):
                chunks.append(chunk)
        except OSError as exc:
            return Contents([], 0, refused=f"cannot read the token journal {self.path}: {exc.strerror or exc}")
        finally:
            os.close(fd)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        del chunks
        entries: list[Rotation] = []
        damaged = padding = first = 0
        start = 0
        number = 0
        while start <= len(data):  # line by line, as split(b"\n") cuts it, one line at a time
            stop = data.find(b"\n", start)
            stop = len(data) if stop == -1 else stop
            raw = data[start:stop]
            start = stop + 1
            number += 1
            if not raw.strip():
                padding += 1 if raw else 0
                continue
            if wanted is not None:
                named = _SPENT.findall(raw)
                if named and not any(wanted(found.decode("ascii")) for found in named):
                    continue
            entry = decode(raw)
            if entry is None:
                damaged += 1
                first = first or number
            else:
                entries.append(entry)
        return Contents(entries, damaged, padding, first_damaged=first)

    def compact(self, settled: Iterable[str], now_ms: int, keep_ms: int = KEEP_SETTLED_MS) -> int:
        """Drop the entries whose spent token no stored record holds (``settled``: their
        hashes) once they are older than ``keep_ms``, every damaged line and the reserved room
        nobody fills any more. Returns how many entries are left. Removes the journal when none
        is. Skipped (the journal stays as it is) while another refresh holds room in it."""
        from pipeline.live import journal_index, locks

        done = set(settled)
        try:
            lock_fd = self._lock(exclusive=True, wait_s=0)
        except locks.LockBusy:
            return -1
        try:
            contents = self.read()
            if contents.refused:
                raise JournalError(contents.refused)
            keep = [e for e in contents.entries if not (e.spent in done and now_ms - e.at >= keep_ms)]
            same = len(keep) == len(contents.entries) and not contents.damaged and not contents.padding
            try:
                if not same and keep:
                    atomic.write_new(self.path, b"".join(encode(e) for e in keep))
                elif not same:
                    os.unlink(self.path)
                    fsync_dir(self.folder)
            except (OSError, atomic.WriteError) as exc:
                raise JournalError(f"cannot compact the token journal {self.path}: {exc}") from None
            if not same or journal_index.lookup(self.folder, set()) is None:  # under the lock: no writer
                journal_index.write(
                    self.folder, [k for k, r in latest(keep).items() if r.next != r.spent] if keep else None
                )
            return len(keep)
        finally:
            os.close(lock_fd)


def latest(entries: Iterable[Rotation]) -> dict[str, Rotation]:
    """One entry per spent token (the latest; a token is spent once, so they agree)."""
    chosen: dict[str, Rotation] = {}
    for entry in entries:
        if entry.spent not in chosen or entry.at >= chosen[entry.spent].at:
            chosen[entry.spent] = entry
    return chosen
