"""Reading JSON files that may be missing, unreadable or damaged, and the recovery chain.

Nothing here writes: recovery means *reading* the newest good copy and saying where it
came from, never rewriting the user's files.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pipeline.errors import PERMISSION_DENIED, json_error_message
from pipeline.storage.paths import BACKUP_SUFFIXES, RESET_MARKER_SUFFIX, WAL_SUFFIX

T = TypeVar("T")


class Unreadable(Exception):
    """A file exists (or should) but yields no usable data; the message says why.

    ``where`` is the (line, column) of a JSON syntax error, so that :meth:`about` can name
    the place the way editors and compilers do: ``file:line:column: message``."""

    def __init__(self, message: str, *, missing: bool = False, where: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.missing = missing
        self.where = where

    def about(self, name: str) -> str:
        """The reason as a sentence about the file ``name``."""
        if self.where is not None:
            return f"{name}:{self.where[0]}:{self.where[1]}: {self}"
        return f"{name} {self}"


def read_json(path: Path) -> Any:
    """Parse a JSON file or raise :class:`Unreadable` with a short reason."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise Unreadable("file is missing", missing=True) from None
    except IsADirectoryError:
        raise Unreadable("is a folder, not a file") from None
    except PermissionError:
        raise Unreadable(f"cannot be read: {PERMISSION_DENIED}{_owner_hint(path)}") from None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise Unreadable("file is missing", missing=True) from None
        raise Unreadable(f"cannot be read ({exc.strerror or exc})") from None
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    """Parse JSON bytes (a UTF-8 byte-order mark allowed) or raise :class:`Unreadable`.

    orjson parses (about 5x faster on a large pool); whatever it refuses goes to the standard
    library's parser, which accepts what it always did (NaN) and words the error as before.
    One difference: an integer past 64 bits comes back as a float (no stored timestamp,
    index or count is anywhere near that)."""
    import orjson

    try:
        return orjson.loads(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw)
    except orjson.JSONDecodeError:
        pass
    import json

    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Unreadable("is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"invalid JSON: {json_error_message(exc)}", where=(exc.lineno, exc.colno)) from None


def _owner_hint(path: Path) -> str:
    """Whose file it is, when that explains the refusal: ``(owner uid 0, mode 0600; running as uid 1000)``."""
    try:
        info = path.stat()
    except OSError:
        return " (a folder on the way is not accessible)"
    mode = f"{info.st_mode & 0o7777:04o}"
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:
        return f" (mode {mode})"
    return f" (owner uid {info.st_uid}, mode {mode}; running as uid {geteuid()})"


def read_wal(path: Path) -> Any:
    """The content journalled in codex-multi-auth's ``.wal`` file, after its checksum check."""
    envelope = read_json(path)
    if not isinstance(envelope, dict) or envelope.get("version") != 1:
        raise Unreadable("is not a version 1 write-ahead log")
    content, checksum = envelope.get("content"), envelope.get("checksum")
    if not isinstance(content, str) or not isinstance(checksum, str):
        raise Unreadable("has no content or checksum")
    import hashlib  # only a write-ahead log has a checksum: no OpenSSL load for a plain read

    if hashlib.sha256(content.encode("utf-8")).hexdigest() != checksum.strip().lower():
        raise Unreadable("checksum does not match its content")
    import json

    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"holds invalid JSON ({json_error_message(exc)})") from None


def reset_marker(path: Path) -> Path:
    return path.with_name(path.name + RESET_MARKER_SUFFIX)


@dataclass(frozen=True)
class Candidate:
    path: Path
    reader: Callable[[Path], Any]


def recovery_candidates(path: Path, *, wal: bool) -> Iterator[Candidate]:
    """The copies codex-multi-auth would restore from, in its order: the WAL, ``.bak``,
    ``.bak.1``, ``.bak.2``, then other ``<name>.*`` artefacts sorted by name."""
    if wal:
        yield Candidate(path.with_name(path.name + WAL_SUFFIX), read_wal)
    known = {path.name + suffix for suffix in BACKUP_SUFFIXES}
    for suffix in BACKUP_SUFFIXES:
        yield Candidate(path.with_name(path.name + suffix), read_json)
    try:
        names = sorted(os.listdir(path.parent))
    except OSError:
        return
    prefix = path.name + "."
    for name in names:
        if not name.startswith(prefix) or name in known:
            continue
        rest = name[len(prefix) :]
        if ".cache" in name or name.endswith((".tmp", RESET_MARKER_SUFFIX, WAL_SUFFIX)) or ".rotate." in name:
            continue
        if rest and (path.parent / name).is_file():
            yield Candidate(path.parent / name, read_json)


@dataclass
class Outcome:
    """What reading one storage file (with recovery) came to."""

    state: str  # healthy | recovered | empty | missing | corrupt | intentional-reset
    data: Any = None
    recovered_from: Path | None = None
    details: str | None = None


def load_with_recovery(
    path: Path, normalize: Callable[[Any], T], *, wal: bool, is_empty: Callable[[T], bool]
) -> tuple[Outcome, T | None]:
    """Read ``path``; when it is missing or unreadable, read the first good recovery copy.

    ``normalize`` turns parsed JSON into the caller's form or raises :class:`Unreadable`
    (an unknown version, say). As codex-multi-auth does, a file that parses but cannot be
    normalised is reported as corrupt without falling back to a copy; a reset marker always
    means an intentionally empty pool.
    """
    if reset_marker(path).exists():
        return Outcome("intentional-reset", details=f"reset marker {reset_marker(path).name} is present"), None
    try:
        parsed = read_json(path)
    except Unreadable as primary_error:
        tried: list[str] = []
        for candidate in recovery_candidates(path, wal=wal):
            try:
                value = normalize(candidate.reader(candidate.path))
            except Unreadable as exc:
                if not exc.missing:
                    tried.append(exc.about(candidate.path.name))
                continue
            if is_empty(value):
                tried.append(f"{candidate.path.name} holds no accounts")
                continue
            why = f"{path.name} missing" if primary_error.missing else primary_error.about(path.name)
            return (
                Outcome(
                    "recovered",
                    recovered_from=candidate.path,
                    details=f"{why}; read {candidate.path.name} instead",
                ),
                value,
            )
        if primary_error.missing:
            extra = f" ({'; '.join(tried)})" if tried else ""
            folder_state = "" if path.parent.is_dir() else f" ({folder_problem(path.parent)})"
            return Outcome("missing", details=f"{path.name} not found{folder_state}{extra}"), None
        extra = f"; no usable backup ({'; '.join(tried)})" if tried else "; no backup or WAL to recover from"
        return Outcome("corrupt", details=f"{primary_error.about(path.name)}{extra}"), None
    try:
        value = normalize(parsed)
    except Unreadable as exc:
        return Outcome("corrupt", details=exc.about(path.name)), None
    return Outcome("empty" if is_empty(value) else "healthy"), value


def folder_problem(folder: Path) -> str:
    """Why ``folder`` cannot hold the pool: it does not exist, or it is a file."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder"
    return f"folder {folder} does not exist"
