"""The token journal's index: what a default report needs of a large journal, in a small file.

Each compaction (:meth:`pipeline.live.journal.Journal.compact`, under the journal's exclusive
lock, so no append or reserved room is under way) writes
``codex-auth-report-token-journal.index`` beside the journal (0600, replaced atomically and
fsynced, no token in it)::

    codex-auth-report token journal index 1 DEV INODE SIZE MTIME_NS CTIME_NS TAIL_SHA256 COUNT\\n
    COUNT spent hashes, 32 raw bytes each, sorted

The header is the journal's identity at that moment, the SHA-256 of its last 4 KiB included.
A default report's warning (:func:`pipeline.live.recovery.pending_note`) reads the index
instead of the journal (:func:`lookup`) only while the journal is still exactly that file: an
append or reserved room changes its size, a compaction its inode, anything else its ctime or
tail, and then the warning reads the journal itself, as it always did. The index is never the
only copy of anything: a missing or damaged one costs a pass over the journal, never a wrong
count.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from pipeline.live import atomic
from pipeline.live.pending import JOURNAL_NAME

INDEX_NAME = "codex-auth-report-token-journal.index"
MAGIC = b"codex-auth-report token journal index 1"
TAIL_BYTES = 4096
_DIGEST = 32
_MAX_BYTES = 64 << 20  # two million entries: larger is not an index of ours
_OPEN = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


def _identity(fd: int) -> bytes:
    """The journal open on ``fd`` as the index names it: its header without the count."""
    import hashlib

    st = os.fstat(fd)
    tail = os.pread(fd, TAIL_BYTES, max(0, st.st_size - TAIL_BYTES))
    fields = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return b" ".join([MAGIC, *(str(f).encode() for f in fields), hashlib.sha256(tail).hexdigest().encode()])


def write(folder: Path, spent: Iterable[str] | None) -> None:
    """Write the index of the journal in ``folder``, whose entries spend ``spent`` (called
    under the journal's exclusive lock, so no writer is under way); ``spent`` None (no journal
    any more): remove it. A failure removes the index: it only costs the next default report a
    pass over the journal."""
    path = folder / INDEX_NAME
    try:
        if spent is not None:
            hashes = sorted(spent)
            body = b"".join(bytes.fromhex(k) for k in hashes)
            fd = _open_ours(folder / JOURNAL_NAME)
            try:
                header = _identity(fd)
            finally:
                os.close(fd)
            atomic.write_new(path, b"%s %d\n%s" % (header, len(hashes), body))
            return
    except (OSError, ValueError, atomic.WriteError):
        pass
    with contextlib.suppress(OSError):
        os.unlink(path)


def lookup(folder: Path, wanted: set[str]) -> set[str] | None:
    """Which of the spent hashes ``wanted`` the entries of the journal in ``folder`` spend (as
    :func:`pipeline.live.journal.latest` keeps them, a rotation that kept its token left out),
    from the index; None when the index cannot be trusted: missing, damaged, not a regular file
    of the user's, or naming a journal other than the one in place (any write since the index
    was made). Costs a few stat calls and two small reads."""
    body = _body(folder)
    if body is None:
        return None
    records = len(body) // _DIGEST
    if len(wanted) * 16 >= records:  # many wanted: one set of them all
        return wanted & {body[i : i + _DIGEST].hex() for i in range(0, len(body), _DIGEST)}
    found = set()
    for digest in wanted:  # a few: a binary search each (the hashes are sorted)
        try:
            key = bytes.fromhex(digest)
        except ValueError:
            continue
        low, high = 0, records
        while low < high:
            middle = (low + high) // 2
            if body[middle * _DIGEST : (middle + 1) * _DIGEST] < key:
                low = middle + 1
            else:
                high = middle
        if body[low * _DIGEST : (low + 1) * _DIGEST] == key:
            found.add(digest)
    return found


def _open_ours(path: Path) -> int:
    """``path`` open for reading when it is a regular file of the user's with one name (no
    link followed, never blocking); else OSError."""
    fd = os.open(path, _OPEN)
    st = os.fstat(fd)
    if not (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1):
        os.close(fd)
        raise OSError(f"{path} is not a regular file of ours")
    return fd


def _body(folder: Path) -> bytes | None:
    """The index's hashes, when its header names the journal now in place; else None."""
    try:
        fd = _open_ours(folder / INDEX_NAME)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1) if size <= _MAX_BYTES else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    header, newline, body = data.partition(b"\n")
    named, _, count = header.rpartition(b" ")
    if not newline or not count.isdigit() or len(body) != _DIGEST * int(count):
        return None
    try:
        journal_fd = _open_ours(folder / JOURNAL_NAME)
    except OSError:
        return None
    try:
        return body if named == _identity(journal_fd) else None
    except OSError:
        return None
    finally:
        os.close(journal_fd)
