"""The run's secrets, and the one scrubber every output passes through.

Records never hold a token by construction, and upstream text reaches them only as known
short codes (:mod:`pipeline.vocabulary`). This module is the fence behind those two: every
token the run read from storage or received from the token endpoint is remembered here, and
every byte we write (stdout, stderr, ``--out``, the NDJSON stream, the state file and the
quota cache) is scrubbed of them before it leaves.

The registry is linear in tokens and small: a token costs one dictionary entry, its last
:data:`MIN_SECRET` characters mapped to its length and a hash of it, whatever prefix the
tokens share (every JWT of one signing key starts with the same header); the token itself is
not copied. Tokens and text are compared in a canonical form with every ``-`` read as ``_``,
so a token, its copies with ``-`` and ``_`` swapped, and any mixture of the two are one entry.

The scrubber costs one regex pass over the output: the runs of token characters at least as
long as the shortest registered token (none, in a report) are looked at, each end position of
a run by its last :data:`MIN_SECRET` characters, and a token found there (same length, same
hash) is replaced by ``***``. Tokens with characters outside the run class are replaced as
substrings.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

MIN_SECRET = 16  # shorter strings are not registered: real tokens are far longer
MASK = "***"
_TOKEN_CHARS = r"A-Za-z0-9._~+/=\-"
_TAIL = MIN_SECRET
_HASH_BITS = 64
_HASH_MASK = (1 << _HASH_BITS) - 1

_lock = threading.Lock()
# canonical last _TAIL characters -> the tokens ending so, each as (length << 64 | hash): one
# int for the common case, a list when several share a tail (appended to under the lock, so
# that tokens sharing a suffix cost O(1) each; scrub() reads without the lock).
_tails: dict[str, int | list[int]] = {}
_shared: dict[str, set[int]] = {}  # the lists' members, for an O(1) duplicate check
_odd: dict[str, None] = {}  # tokens with characters outside the run class: replaced as substrings
_odd_longest_first: list[tuple[str, ...]] = [()]
_count = 0
_shortest = 0  # the shortest registered token: shorter runs need no look at all
_runs: dict[int, re.Pattern[str]] = {}
# Bytes of a run (token characters and backslashes) read as "a", every other byte as " ": a
# text holds a run as long as a token only if this translation holds "a" that many times.
_RUN_CHARS = b"+-./0123456789=ABCDEFGHIJKLMNOPQRSTUVWXYZ\\_abcdefghijklmnopqrstuvwxyz~"  # _TOKEN_CHARS, "\\"
_RUN_BYTES = bytes(97 if code in _RUN_CHARS else 32 for code in range(256))
_PLAIN_BYTES = _RUN_CHARS.replace(b"\\", b"")  # _TOKEN_CHARS


def _plain(text: str) -> bool:
    """Whether ``text`` is token characters only (a third of a regex's fullmatch on a 1.5 KB JWT)."""
    return text.isascii() and not text.encode("ascii").translate(None, _PLAIN_BYTES)


_WINDOW = 1 << 20
_SMALL = 1 << 16  # shorter texts go straight to the regex


def _canon(text: str) -> str:
    """``text`` with every ``-`` read as ``_``: one form for a token and its swapped copies."""
    return text.replace("-", "_") if "-" in text else text


def _print(canon: str) -> int:
    return (len(canon) << _HASH_BITS) | (hash(canon) & _HASH_MASK)


def _run_pattern(length: int) -> re.Pattern[str]:
    """Runs of token characters at least ``length`` long. Runs may hold backslashes:
    Markdown escapes some underscores (``-\\_``) inside a word."""
    pattern = _runs.get(length)
    if pattern is None:
        # The look-behind starts a match only where a run starts: one pass over the text.
        chars = f"[{_TOKEN_CHARS}\\\\]"
        pattern = _runs[length] = re.compile(f"(?<!{chars}){chars}{{{length},}}")
    return pattern


def remember(*values: object) -> None:
    """Register strings that must never be written (tokens, API keys). Others are ignored."""
    for value in values:
        if isinstance(value, str):
            _register(value.strip())


def _register(token: str) -> None:
    global _count, _shortest
    if len(token) < MIN_SECRET:
        return
    # The copies with "-" and "_" swapped are secrets too: a header name normalised into a
    # limit id (or anything else that swaps them) must not carry a token past the scrubber.
    canon = _canon(token)
    tail = canon[-_TAIL:]
    mark = _print(canon)
    with _lock:
        known = _tails.get(tail)
        if known is None:
            _tails[tail] = mark
        elif isinstance(known, int):
            if known == mark:
                return
            _tails[tail] = [known, mark]
            _shared[tail] = {known, mark}
        elif mark in _shared[tail]:
            return
        else:
            _shared[tail].add(mark)
            known.append(mark)
        _count += 1 + ("-" in token) + ("_" in token)  # the distinct copies: itself and swapped
        if not _plain(canon):
            _odd.update(dict.fromkeys({token, canon, token.replace("_", "-")}))
            return
        _shortest = len(canon) if not _shortest else min(_shortest, len(canon))


def remember_all(values: Iterable[object]) -> None:
    remember(*values)


TOKEN_KEYS = (
    "refreshToken",
    "accessToken",
    "idToken",
    "refresh_token",
    "access_token",
    "id_token",
    "OPENAI_API_KEY",
    "apiKey",
)


def remember_tokens(holder: object) -> None:
    """Register the tokens a stored object holds (an account, auth.json's ``tokens``)."""
    if isinstance(holder, dict):
        for key in TOKEN_KEYS:  # remember() without a tuple of eight values for each account
            value = holder.get(key)
            if isinstance(value, str):
                _register(value.strip())


def count() -> int:
    return _count


def forget_all() -> None:
    """For tests: start with an empty registry."""
    global _count, _shortest
    with _lock:
        _shortest = 0
        _tails.clear()
        _shared.clear()
        _odd.clear()
        _odd_longest_first[0] = ()
        _count = 0


def is_secret(text: str) -> bool:
    """True when ``text`` holds a registered secret."""
    return bool(_count) and scrub(text) != text


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    if not _count:
        return text
    if _odd:
        for token in _odd_tokens():
            if token in text:
                text = text.replace(token, MASK)
    if not _shortest or (len(text) > _SMALL and not _has_run(text, _shortest)):
        return text
    return _run_pattern(_shortest).sub(_scrub_match, text)


def _has_run(data: str | bytes, length: int) -> bool:
    """Whether ``data`` holds a run of token characters ``length`` long: a window at a time
    translated byte for byte and searched in C (most outputs hold none: the regex is skipped)."""
    needle = b"a" * length
    for start in range(0, len(data), _WINDOW):
        piece = data[start : start + _WINDOW + length - 1]
        raw = piece.encode("utf-8", "replace") if isinstance(piece, str) else piece
        if needle in raw.translate(_RUN_BYTES):
            return True
    return False


def _odd_tokens() -> tuple[str, ...]:
    ordered = _odd_longest_first[0]
    if len(ordered) != len(_odd):
        with _lock:
            ordered = _odd_longest_first[0] = tuple(sorted(_odd, key=len, reverse=True))
    return ordered


def _scrub_match(match: re.Match[str]) -> str:
    run = match.group(0)
    if "\\" in run:
        plain = run.replace("\\", "")
        cleaned = _scrub_run(plain)
        return run if cleaned == plain else cleaned
    return _scrub_run(run)


def _scrub_run(run: str) -> str:
    """``run`` with the registered tokens in it masked: each end position looked up by the
    characters before it."""
    spans: list[tuple[int, int]] = []
    canon = _canon(run)
    tails = _tails
    for end in range(max(_TAIL, _shortest), len(canon) + 1):
        found = tails.get(canon[end - _TAIL : end])
        if found is None:
            continue
        for mark in (found,) if isinstance(found, int) else found:
            start = end - (mark >> _HASH_BITS)
            if start >= 0 and _print(canon[start:end]) == mark:
                spans.append((start, end))
    return _masked(run, spans) if spans else run


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    out = []
    last = 0
    for start, stop in merged:
        out.append(text[last:start])
        out.append(MASK)
        last = stop
    out.append(text[last:])
    return "".join(out)


def scrub_value(value: Any) -> Any:
    """A JSON value with every string (keys included) scrubbed; the same object when the
    registry is empty."""
    if not _count:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    return value


def scrub_bytes(data: bytes) -> bytes:
    """The UTF-8 ``data`` scrubbed; bytes that are not UTF-8 are scrubbed as Latin-1."""
    if not _count or (not _odd and (not _shortest or (len(data) > _SMALL and not _has_run(data, _shortest)))):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return scrub(data.decode("latin-1")).encode("latin-1", "replace")
    cleaned = scrub(text)
    return data if cleaned == text else cleaned.encode("utf-8")


_BATCH = 1 << 20  # bytes of parts scrubbed and written at once


def scrub_parts(parts: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces of one output, scrubbed, in batches of about a megabyte: the same bytes as
    :func:`scrub_bytes` of the pieces joined, as long as no token runs across two pieces
    (the report's pieces end between two JSON values or after a newline, where no token
    character is). A registered token with other characters in it could, so with any such
    token the pieces are joined and scrubbed whole."""
    if _odd:
        yield scrub_bytes(b"".join(parts))
        return
    batch: list[bytes] = []
    size = 0
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= _BATCH:
            yield scrub_bytes(b"".join(batch))
            batch, size = [], 0
    if batch:
        yield scrub_bytes(b"".join(batch))
