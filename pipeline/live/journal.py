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
and compaction exclude each other with an advisory lock (shared for appends, exclusive for
compaction) on ``.codex-auth-report-journal.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.live import atomic
from pipeline.live.pending import JOURNAL_NAME
from pipeline.output import fsync_dir
from pipeline.scrubbing import remember
from pipeline.storage.files import read_regular

LOCK_NAME = ".codex-auth-report-journal.lock"
KEEP_SETTLED_MS = 10 * 60 * 1000
VERSION = 1


def token_hash(token: str) -> str:
    """How the journal and the refresh lease name a refresh token: SHA-256, hex."""
    import hashlib  # loaded only when there is a token to key (a default report rarely has one)

    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


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
    except ValueError:
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


class Journal:
    """The journal of one storage folder. Thread-safe; several processes may append at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / JOURNAL_NAME
        self._guard = threading.Lock()
        self._folder_synced = False
        self._sync_lock = threading.Lock()
        self._written = 0  # lines this process has written
        self._synced = 0  # lines this process knows to be on disk

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        try:
            fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot lock the token journal in {self.folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def append(self, rotation: Rotation) -> None:
        """Make ``rotation`` durable: on disk (file and name fsynced) when this returns.

        Threads that append at the same moment share fsyncs (group commit): a thread whose
        line an fsync begun after its write already covers does not fsync again."""
        line = encode(rotation)
        try:
            with self._locked(exclusive=False):
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    size = os.fstat(fd).st_size
                    if size and _last_byte(self.path, size) != b"\n":
                        line = b"\n" + line  # a torn last line must not swallow ours
                    view = memoryview(line)
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
                            if not self._folder_synced:
                                fsync_dir(self.folder)
                                self._folder_synced = True
                            self._synced = max(self._synced, covered)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise JournalError(f"cannot write the token journal {self.path}: {exc.strerror or exc}") from None

    def read(self) -> Contents:
        """Every intact entry, oldest first (none when there is no journal)."""
        try:
            data = read_regular(self.path)
        except FileNotFoundError:
            return Contents([], 0)
        except OSError:
            return Contents([], 0)
        entries: list[Rotation] = []
        damaged = 0
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            entry = decode(raw)
            if entry is None:
                damaged += 1
            else:
                entries.append(entry)
        return Contents(entries, damaged)

    def compact(self, settled: Iterable[str], now_ms: int, keep_ms: int = KEEP_SETTLED_MS) -> int:
        """Drop the entries whose spent token no stored record holds (``settled``: their
        hashes) once they are older than ``keep_ms``, and every damaged line. Returns how many
        entries are left. Removes the journal when none is."""
        done = set(settled)
        with self._locked(exclusive=True):
            contents = self.read()
            keep = [e for e in contents.entries if not (e.spent in done and now_ms - e.at >= keep_ms)]
            if len(keep) == len(contents.entries) and not contents.damaged:
                return len(keep)
            try:
                if keep:
                    atomic.write_new(self.path, b"".join(encode(e) for e in keep))
                else:
                    os.unlink(self.path)
                    fsync_dir(self.folder)
            except (OSError, atomic.WriteError) as exc:
                raise JournalError(f"cannot compact the token journal {self.path}: {exc}") from None
            return len(keep)


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)


def latest(entries: Iterable[Rotation]) -> dict[str, Rotation]:
    """One entry per spent token (the latest; a token is spent once, so they agree)."""
    chosen: dict[str, Rotation] = {}
    for entry in entries:
        if entry.spent not in chosen or entry.at >= chosen[entry.spent].at:
            chosen[entry.spent] = entry
    return chosen
