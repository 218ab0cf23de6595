"""The run's secrets, and the one scrubber every output passes through.

Records never hold a token by construction, and upstream text reaches them only as known
short codes (:mod:`pipeline.vocabulary`). This module is the fence behind those two: every
token the run read from storage or received from the token endpoint is remembered here, and
every byte we write (stdout, stderr, ``--out``, the NDJSON stream, the state file and the
quota cache) is scrubbed of them before it leaves.

The registry is linear in tokens and the scrubber in output, whatever the tokens share.
Tokens and text are compared in a canonical form with every ``-`` read as ``_`` (one C pass
over each), so a token, its copies with ``-`` and ``_`` swapped, and any mixture of the two
are one entry. A token is indexed by the :data:`_GRAM`-character grams that start at the
:data:`_STEP` offsets ending at its last characters: the random tail of a JWT's signature or
of a refresh token, never the header every token of one signing key shares. Registering costs
:data:`_STEP` dictionary appends per token. Scrubbing cuts the text into aligned
:data:`_GRAM`-character pieces (one regex pass), intersects them with the index (a set
operation) and looks for the few tokens found that way; one of those pieces lies inside any
occurrence of any registered token. A token found is replaced by ``***``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MIN_SECRET = 16  # shorter strings are not registered: real tokens are far longer
MASK = "***"
_TOKEN_CHARS = r"A-Za-z0-9._~+/=\-"
_PLAIN = re.compile(f"[{_TOKEN_CHARS}]+")
# A text is looked up every _STEP characters by the _GRAM characters found there; a token is
# indexed by its grams at the last _STEP offsets where a whole gram fits, so that one of those
# lookups lands inside any occurrence of it. Tokens too short for that (under _STEP + _GRAM - 1
# characters) are looked up by their last _GRAM characters at every position of a run instead.
_GRAM = 16
_STEP = 16
_LONG = _STEP + _GRAM - 1
_CHUNK = re.compile(f"(?s).{{{_GRAM}}}")

_lock = threading.Lock()
# Lists only ever appended to (under the lock): scrub() reads them without it.
_grams: dict[str, list[tuple[str, int]]] = {}  # canonical gram -> (canonical token, its offset)
_by_tail: dict[str, list[str]] = {}  # short canonical tokens by their last _GRAM characters
_odd: dict[str, None] = {}  # tokens with characters outside the run class: replaced as substrings
_odd_longest_first: list[tuple[str, ...]] = [()]
_known: set[str] = set()  # every registered variant
_canonical: set[str] = set()
_count = 0
_shortest = 0  # the shortest registered token: shorter runs need no look at all
_runs: dict[int, re.Pattern[str]] = {}


def _canon(text: str) -> str:
    """``text`` with every ``-`` read as ``_``: one form for a token and its swapped copies."""
    return text.replace("-", "_") if "-" in text else text


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
    if len(token) < MIN_SECRET or token in _known:
        return
    # The copies with "-" and "_" swapped are secrets too: a header name normalised into a
    # limit id (or anything else that swaps them) must not carry a token past the scrubber.
    variants = {token, token.replace("-", "_"), token.replace("_", "-")}
    with _lock:
        new = variants - _known
        if not new:
            return
        _known.update(new)
        _count += len(new)
        canon = _canon(token)
        if canon in _canonical:
            return
        _canonical.add(canon)
        if not _PLAIN.fullmatch(canon):
            _odd.update(dict.fromkeys(sorted(variants)))
            _odd_longest_first[0] = ()  # sorted again when next needed
            return
        if len(canon) >= _LONG:
            first = len(canon) - _STEP - _GRAM + 1
            for offset in range(first, first + _STEP):
                gram = canon[offset : offset + _GRAM]
                bucket = _grams.get(gram)
                if bucket is None:
                    _grams[gram] = [(canon, offset)]
                else:
                    bucket.append((canon, offset))
        else:
            _by_tail.setdefault(canon[-_GRAM:], []).append(canon)
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
        remember(*(holder.get(key) for key in TOKEN_KEYS))


def count() -> int:
    return _count


def forget_all() -> None:
    """For tests: start with an empty registry."""
    global _count, _shortest
    with _lock:
        _shortest = 0
        _grams.clear()
        _by_tail.clear()
        _odd.clear()
        _odd_longest_first[0] = ()
        _known.clear()
        _canonical.clear()
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
    if _by_tail:  # short tokens registered: look at every run of token characters
        return _run_pattern(_shortest).sub(_scrub_match, text) if _shortest else text
    if _grams:
        # One dictionary lookup every _STEP characters of the whole text finds every long token.
        spans = _gram_spans(_canon(text))
        if spans:
            text = _masked(text, spans)
        if "\\" in text and _gram_spans(_canon(text.replace("\\", ""))):
            text = _run_pattern(_shortest).sub(_scrub_match, text)  # a token Markdown escaped
    return text


def _odd_tokens() -> tuple[str, ...]:
    ordered = _odd_longest_first[0]
    if len(ordered) != len(_odd):
        with _lock:
            ordered = _odd_longest_first[0] = tuple(sorted(_odd, key=len, reverse=True))
    return ordered


def _gram_spans(canon: str) -> list[tuple[int, int]]:
    """Where registered long tokens occur in ``canon`` (a canonical text): the text cut into
    aligned _GRAM-long pieces (by the regex engine), the pieces that are some token's grams
    picked by a set intersection, and each hit checked where it stands."""
    hits = _grams.keys() & set(_CHUNK.findall(canon))
    spans = []
    for gram in hits:
        position = canon.find(gram)
        while position != -1:
            for token, offset in _grams[gram]:
                start = position - offset
                if start >= 0 and canon.startswith(token, start):
                    spans.append((start, start + len(token)))
            position = canon.find(gram, position + 1)
    return spans


def _scrub_match(match: re.Match[str]) -> str:
    run = match.group(0)
    if "\\" in run:
        plain = run.replace("\\", "")
        cleaned = _scrub_run(plain)
        return run if cleaned == plain else cleaned
    return _scrub_run(run)


def _scrub_run(run: str) -> str:
    spans: list[tuple[int, int]] = []
    canon = _canon(run)
    if _grams:
        for position in range(0, len(canon) - _GRAM + 1, _STEP):
            for token, offset in _grams.get(canon[position : position + _GRAM], ()):
                start = position - offset
                if start >= 0 and canon.startswith(token, start):
                    spans.append((start, start + len(token)))
    if _by_tail:
        for end in range(_GRAM, len(canon) + 1):
            for token in _by_tail.get(canon[end - _GRAM : end], ()):
                if canon.startswith(token, end - len(token)):
                    spans.append((end - len(token), end))
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
    if not _count:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return scrub(data.decode("latin-1")).encode("latin-1", "replace")
    cleaned = scrub(text)
    return data if cleaned == text else cleaned.encode("utf-8")
