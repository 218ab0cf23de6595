"""The run's secrets, and the one scrubber every output passes through.

Records never hold a token by construction, and upstream text reaches them only as known
short codes (:mod:`pipeline.vocabulary`). This module is the fence behind those two: every
token the run read from storage or received from the token endpoint is remembered here, and
every byte we write (stdout, stderr, ``--out``, the NDJSON stream, the state file and the
quota cache) is scrubbed of them before it leaves.

The scrubber costs one regex pass over the output, and only when the registry holds
anything: the output is cut into runs of token characters at least :data:`MIN_SECRET`
long, and each run is looked up by the last :data:`MIN_SECRET` characters of every
registered token (a dictionary lookup per character of a long run). A token found is
replaced by ``***``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MIN_SECRET = 16  # shorter strings are not registered: real tokens are far longer
MASK = "***"
_TOKEN_CHARS = r"A-Za-z0-9._~+/=\-"
# Runs may hold backslashes: Markdown escapes some underscores (``-\\_``) inside a word.
_RUN = re.compile(f"[{_TOKEN_CHARS}\\\\]{{{MIN_SECRET},}}")
_PLAIN = re.compile(f"[{_TOKEN_CHARS}]+")

_lock = threading.Lock()
_by_tail: dict[str, list[str]] = {}
_odd: set[str] = set()  # tokens with characters outside the run class: replaced as substrings
_count = 0


def remember(*values: object) -> None:
    """Register strings that must never be written (tokens, API keys). Others are ignored."""
    global _count
    for value in values:
        if not isinstance(value, str):
            continue
        token = value.strip()
        if len(token) < MIN_SECRET:
            continue
        with _lock:
            if _PLAIN.fullmatch(token):
                tail = token[-MIN_SECRET:]
                bucket = _by_tail.get(tail, [])
                if token in bucket:
                    continue
                # A new list, never a changed one: scrub() reads without the lock.
                _by_tail[tail] = sorted([*bucket, token], key=len, reverse=True)
            elif token in _odd:
                continue
            else:
                _odd.add(token)
            _count += 1


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
        remember(*(holder.get(key) for key in TOKEN_KEYS))


def count() -> int:
    return _count


def forget_all() -> None:
    """For tests: start with an empty registry."""
    global _count
    with _lock:
        _by_tail.clear()
        _odd.clear()
        _count = 0


def is_secret(text: str) -> bool:
    """True when ``text`` holds a registered secret."""
    return bool(_count) and scrub(text) != text


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    if not _count:
        return text
    if _odd:
        with _lock:
            odd = sorted(_odd, key=len, reverse=True)
        for token in odd:
            if token in text:
                text = text.replace(token, MASK)
    if _by_tail:
        text = _RUN.sub(_scrub_match, text)
    return text


def _scrub_match(match: re.Match[str]) -> str:
    run = match.group(0)
    if "\\" in run:
        plain = run.replace("\\", "")
        cleaned = _scrub_run(plain, _by_tail)
        return run if cleaned == plain else cleaned
    return _scrub_run(run, _by_tail)


def _scrub_run(run: str, by_tail: dict[str, list[str]]) -> str:
    spans: list[tuple[int, int]] = []
    end = len(run)
    while end >= MIN_SECRET:
        bucket = by_tail.get(run[end - MIN_SECRET : end])
        found = None
        if bucket is not None:
            found = next((token for token in bucket if run.startswith(token, end - len(token))), None)
        if found is not None:
            spans.append((end - len(found), end))
            end -= len(found)
        else:
            end -= 1
    if not spans:
        return run
    out = run
    for start, stop in spans:  # right to left, so earlier offsets stay valid
        out = out[:start] + MASK + out[stop:]
    return out


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
    if not _count:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return scrub(data.decode("latin-1")).encode("latin-1", "replace")
    cleaned = scrub(text)
    return data if cleaned == text else cleaned.encode("utf-8")
