"""Reading JSON files that may be missing, unreadable or damaged, and the recovery chain.

Nothing here writes: recovery means *reading* the newest good copy and saying where it
came from, never rewriting the user's files.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pipeline.errors import PERMISSION_DENIED, json_error_message
from pipeline.plain import Frozen, Plain
from pipeline.storage.paths import (
    BACKUP_SUFFIXES,
    RESET_MARKER_SUFFIX,
    WAL_SUFFIX,
    StrPath,
    is_folder,
    is_regular,
    join,
    name,
    parent,
    present,
)

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


class NotRegular(OSError):
    """A path that is there but is not a regular file (a FIFO, a device, a socket)."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular(path: StrPath) -> bytes:
    """The bytes of ``path``, read only when it is a regular file (symbolic links followed):
    a FIFO or a device in its place would block the run or have side effects, so it is
    refused with :class:`NotRegular` (before opening, and checked again on the open file,
    which is opened non-blocking). Other failures raise the usual :class:`OSError`."""
    fd, size = _open_regular(path)
    try:
        # One read of the whole file into one buffer (not chunks joined: twice the file's size
        # at once); more reads only when the file grew meanwhile.
        chunks = [os.read(fd, size + 1)]
        while chunks[-1] and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def _open_regular(path: StrPath) -> tuple[int, int]:
    """An open descriptor of ``path`` and its size, when it is a regular file (see
    :func:`read_regular`)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegular(errno.EINVAL, f"is {_kind(mode)}, not a regular file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(errno.EINVAL, f"is {_kind(info.st_mode)}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


# The accounts array as codex-multi-auth writes it (JSON.stringify(storage, null, 2)): each
# account an object at an indent of 4, its members deeper. JSON strings hold no raw newline,
# so these byte sequences never occur inside a string.
_LIST_OPEN = b'\n  "accounts": [\n    {'
_ITEM_END = b"\n    }"
_NEXT_ITEM = b",\n    {"
_LIST_CLOSE = b"\n  ]"
_CHUNK = 1 << 22


def read_listed_json(path: StrPath, each: Callable[[Any], Any]) -> Any:
    """:func:`read_json` for a pool file, the accounts parsed one at a time as the file is
    read and each replaced by what ``each`` makes of it: the file's bytes and all its parsed
    objects are never in memory at once (a pool of 100,000 accounts is 200 MB of JSON). When
    the file is laid out otherwise, or orjson refuses a piece, the file is read again by
    :func:`read_json` and ``each`` applied to its accounts (those met before the layout
    turned out otherwise are handed to it again: ``each`` must not mind). The result is the
    same either way: pieces that each parse as an object, joined by commas, are the array
    they came from."""
    try:
        value = _read_listed(path, each)
    except (OSError, ValueError):
        value = None
    if value is not None:
        return value
    value = read_json(path)
    if isinstance(value, dict) and isinstance(value.get("accounts"), list):
        value["accounts"] = [each(item) for item in value["accounts"]]
    return value


def _read_listed(path: StrPath, each: Callable[[Any], Any]) -> Any:
    import orjson

    fd, _size = _open_regular(path)
    try:
        buf = os.read(fd, _CHUNK)
        start = buf.find(_LIST_OPEN)
        if start == -1 or buf.startswith(b"\xef\xbb\xbf"):
            return None
        head = buf[: start + len(_LIST_OPEN) - 1]  # up to the "[" and its newline
        position = start + len(_LIST_OPEN) - 1  # the first account's "{"
        items: list[Any] = []
        while True:
            end = buf.find(_ITEM_END, position)
            while end == -1 or len(buf) < end + len(_ITEM_END) + len(_NEXT_ITEM):
                more = os.read(fd, _CHUNK)
                if not more:
                    break
                buf = buf[position:] + more
                position = 0
                end = buf.find(_ITEM_END)
            if end == -1:
                return None
            stop = end + len(_ITEM_END)
            item = orjson.loads(memoryview(buf)[position:stop])
            if not isinstance(item, dict):
                return None
            items.append(each(item))
            if buf.startswith(_NEXT_ITEM, stop):
                position = stop + len(_NEXT_ITEM) - 1
                continue
            if not buf.startswith(_LIST_CLOSE, stop):
                return None
            tail = [buf[stop + len(_LIST_CLOSE) :]]
            while more := os.read(fd, _CHUNK):
                tail.append(more)
            break
    finally:
        os.close(fd)
    document = orjson.loads(head + b"]" + b"".join(tail))
    if not isinstance(document, dict) or document.get("accounts") != []:
        return None
    document["accounts"] = items
    return document


def parse_json(text: str) -> Any:
    """``json.loads`` whose every failure is :class:`ValueError` (too deep, too long a number
    included)."""
    import json

    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_json(path: StrPath) -> Any:
    """Parse a JSON file or raise :class:`Unreadable` with a short reason."""
    return decode_json(read_regular_json(path))


def read_regular_json(path: StrPath) -> bytes:
    """The bytes of a JSON file (:func:`read_regular`) or :class:`Unreadable` with a short
    reason; :func:`decode_json` parses them."""
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        raise Unreadable("file is missing", missing=True) from None
    except NotRegular as exc:
        raise Unreadable(exc.strerror or "is not a regular file") from None
    except PermissionError:
        raise Unreadable(f"cannot be read: {PERMISSION_DENIED}{_owner_hint(path)}") from None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise Unreadable("file is missing", missing=True) from None
        raise Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    return raw


def decode_json(raw: bytes) -> Any:
    """Parse JSON bytes (a UTF-8 byte-order mark allowed) or raise :class:`Unreadable`.

    orjson parses (about 5x faster on a large pool); whatever it refuses (NaN, lone
    surrogates, nesting past its limit, bad bytes) goes to the standard library's parser,
    which accepts what it always did and words the error. One difference: an integer past
    64 bits comes back from orjson as a float (the storage readers bound every number they
    use anyway)."""
    import orjson

    try:
        return orjson.loads(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw)
    except orjson.JSONDecodeError:
        pass
    import json

    try:
        text = raw.decode("utf-8-sig")
        value = parse_json(text)
        return _without_lone_surrogates(value) if re.search(_LONE_SURROGATE_ESCAPE, text) else value
    except UnicodeDecodeError:
        raise Unreadable("is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"invalid JSON: {json_error_message(exc)}", where=(exc.lineno, exc.colno)) from None
    except ValueError as exc:
        raise Unreadable(f"is not usable JSON ({_short(exc)})") from None


# JSON may escape half of a surrogate pair (codex-multi-auth, in JavaScript, can write one);
# Python keeps it as a lone surrogate, which no UTF-8 output can hold.
_LONE_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F]"  # compiled when first used: only the fallback parser needs it


def _without_lone_surrogates(value: Any) -> Any:
    """The value with every lone surrogate in its strings (keys included) made U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value


def _short(exc: ValueError) -> str:
    text = str(exc)
    return "nested too deeply" if "nested" in text else "a number too long" if "digits" in text else "bad value"


def _owner_hint(path: StrPath) -> str:
    """Whose file it is, when that explains the refusal: ``(owner uid 0, mode 0600; running as uid 1000)``."""
    try:
        info = os.stat(path)
    except OSError:
        return " (a folder on the way is not accessible)"
    mode = f"{info.st_mode & 0o7777:04o}"
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:
        return f" (mode {mode})"
    return f" (owner uid {info.st_uid}, mode {mode}; running as uid {geteuid()})"


def read_wal(path: StrPath) -> Any:
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
        value = parse_json(content)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"holds invalid JSON ({json_error_message(exc)})") from None
    except ValueError as exc:
        raise Unreadable(f"holds unusable JSON ({_short(exc)})") from None
    return _without_lone_surrogates(value) if re.search(_LONE_SURROGATE_ESCAPE, content) else value


def reset_marker(path: str) -> str:
    return path + RESET_MARKER_SUFFIX


class Candidate(Frozen):
    __slots__ = ("path", "reader")
    path: str
    reader: Callable[[str], Any]

    def __init__(self, path: str, reader: Callable[[str], Any]) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "reader", reader)


def recovery_candidates(path: str, *, wal: bool) -> Iterator[Candidate]:
    """The copies codex-multi-auth would restore from, in its order: the WAL, ``.bak``,
    ``.bak.1``, ``.bak.2``, then other ``<name>.*`` artefacts sorted by name."""
    if wal:
        yield Candidate(path + WAL_SUFFIX, read_wal)
    base, folder = name(path), parent(path)
    known = {base + suffix for suffix in BACKUP_SUFFIXES}
    for suffix in BACKUP_SUFFIXES:
        yield Candidate(path + suffix, read_json)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    prefix = base + "."
    for other in names:
        if not other.startswith(prefix) or other in known:
            continue
        rest = other[len(prefix) :]
        if ".cache" in other or other.endswith((".tmp", RESET_MARKER_SUFFIX, WAL_SUFFIX)) or ".rotate." in other:
            continue
        if rest and is_regular(join(folder, other)):
            yield Candidate(join(folder, other), read_json)


class Outcome(Plain):
    """What reading one storage file (with recovery) came to."""

    __slots__ = ("data", "details", "recovered_from", "state")

    def __init__(
        self, state: str, data: Any = None, recovered_from: str | None = None, details: str | None = None
    ) -> None:
        self.state = state  # healthy | recovered | empty | missing | corrupt | intentional-reset
        self.data = data
        self.recovered_from = recovered_from
        self.details = details


def load_with_recovery(
    given: StrPath,
    normalize: Callable[[Any], T],
    *,
    wal: bool,
    is_empty: Callable[[T], bool],
    reader: Callable[[str], Any] = read_json,
) -> tuple[Outcome, T | None]:
    """Read ``path``; when it is missing or unreadable, read the first good recovery copy.

    ``normalize`` turns parsed JSON into the caller's form or raises :class:`Unreadable`
    (an unknown version, say). As codex-multi-auth does, a file that parses but cannot be
    normalised is reported as corrupt without falling back to a copy; a reset marker always
    means an intentionally empty pool. ``reader`` reads ``path`` itself (the copies are read
    as they always are).
    """
    path = os.fspath(given)
    if present(reset_marker(path)):
        return Outcome("intentional-reset", details=f"reset marker {name(reset_marker(path))} is present"), None
    try:
        parsed = reader(path)
    except Unreadable as primary_error:
        tried: list[str] = []
        same = 0  # copies failing for the primary's own reason (a folder closed to us, say)
        for candidate in recovery_candidates(path, wal=wal):
            try:
                value = normalize(candidate.reader(candidate.path))
            except Unreadable as exc:
                if str(exc) == str(primary_error) and not exc.missing:
                    same += 1
                elif not exc.missing:
                    tried.append(exc.about(name(candidate.path)))
                continue
            if is_empty(value):
                tried.append(f"{name(candidate.path)} holds no accounts")
                continue
            why = f"{name(path)} missing" if primary_error.missing else primary_error.about(name(path))
            return (
                Outcome(
                    "recovered",
                    recovered_from=candidate.path,
                    details=f"{why}; read {name(candidate.path)} instead",
                ),
                value,
            )
        if same:
            tried.append(f"{same} recovery cop{'y' if same == 1 else 'ies'} the same")
        if primary_error.missing:
            extra = f" ({'; '.join(tried)})" if tried else ""
            folder_state = "" if is_folder(parent(path)) else f" ({folder_problem(parent(path))})"
            return Outcome("missing", details=f"{name(path)} not found{folder_state}{extra}"), None
        extra = f"; no usable backup ({'; '.join(tried)})" if tried else "; no backup or WAL to recover from"
        return Outcome("corrupt", details=f"{primary_error.about(name(path))}{extra}"), None
    try:
        value = normalize(parsed)
    except Unreadable as exc:
        return Outcome("corrupt", details=exc.about(name(path))), None
    return Outcome("empty" if is_empty(value) else "healthy"), value


def folder_problem(folder: StrPath) -> str:
    """Why ``folder`` cannot hold the pool: it does not exist, or it is a file."""
    if present(folder) and not is_folder(folder):
        return f"{folder} is a file, not a folder"
    return f"folder {folder} does not exist"
