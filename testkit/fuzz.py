"""Hostile input for the property tests: JSON values that broke or could break a reader
(numbers beyond 64 bits, instants past the year 9999, nesting 300 or 100,000 deep, tokens
where a word is expected, control characters), and the mutations that put them into
otherwise valid records and storage files.

Values are JSON *text* fragments, so that what the standard library or orjson cannot write
(NaN, 10^30, deep nesting) still reaches the reader exactly as a hostile file would hold it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

HOLE = "\u0000HOLE\u0000"
CASES: Counter[str] = Counter()  # cases run per test, summed up at the end of the session
CANARY_RT = "rt_canary_fuzz_" + "Q7x" * 8
CANARY_AT = "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJmdXp6In0.c2lnLWNhbmFyeS1mdXp6LXNpZ25hdHVyZQ"
CANARIES = (CANARY_RT, CANARY_AT)


def deep(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


SPECIAL_FRAGMENTS = [
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "1.5",
    str(2**53),
    str(2**53 + 1),
    str(2**63 - 1),
    str(2**64),
    str(10**30),
    "1" + "0" * 5000,  # beyond Python's default int parsing limit
    "253402300800000",  # 10000-01-01T00:00:00Z in ms
    "253402300800",  # the same in seconds
    '""',
    '" "',
    json.dumps(CANARY_RT),
    json.dumps(CANARY_AT),
    json.dumps(f"refresh failed: {CANARY_RT}"),
    json.dumps("x" * 5000),
    json.dumps("\u0000\u001b[31m\u202e"),
    '"\\ud800"',  # a lone surrogate
    "[]",
    "{}",
    deep(300),
    deep_object(300),
    deep(1500),
]


def fragments() -> st.SearchStrategy[str]:
    """JSON text fragments, hostile and ordinary."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30),
    )
    small_json = st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    )
    return st.one_of(st.sampled_from(SPECIAL_FRAGMENTS), small_json.map(_dump))


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (the root excluded)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


@dataclass
class Mutation:
    """One change to a JSON document: a value replaced by a fragment, a key removed, or an
    unknown key added."""

    path: tuple[Any, ...]
    action: str  # replace | delete | add
    fragment: str = "null"
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, document: Any) -> str:
        """The mutated document as JSON text."""
        copy = json.loads(json.dumps(document))
        if not self.path:
            return self.fragment
        *parents, last = self.path
        holder = copy
        for step in parents:
            holder = holder[step]
        if self.action == "delete":
            if isinstance(holder, dict):
                holder.pop(last, None)
            else:
                holder.pop(last)
            return json.dumps(copy)
        if self.action == "add" and isinstance(holder, dict):
            holder["unknownFuzzKey"] = HOLE
        else:
            holder[last] = HOLE
        return json.dumps(copy).replace(json.dumps(HOLE), self.fragment, 1)


def mutations(document: Any) -> st.SearchStrategy[Mutation]:
    every = [(), *paths(document)]
    return st.builds(
        Mutation,
        path=st.sampled_from(every),
        action=st.sampled_from(["replace", "replace", "replace", "delete", "add"]),
        fragment=fragments(),
    )


def garbage() -> st.SearchStrategy[bytes]:
    """Whole files or lines that are not what they claim to be."""
    return st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"\xef\xbb\xbf",
                b"\xff\xfe{}",
                deep(100_000).encode(),
                deep_object(100_000).encode(),
                b'{"version": 3, "accounts": ' + deep(100_000).encode() + b"}",
                b"[" * 5 + b"1",
                b"{" + b'"a":1,' * 10 + b"}",
            ]
        ),
        st.text(max_size=100).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )


def assert_one_line_errors(stderr: str, prefix: str, exit_code: int, allowed: Callable[[int], bool]) -> None:
    """Every stderr line is ``codex-auth <prefix>: ...``; the exit code is documented; no traceback."""
    assert allowed(exit_code), f"undocumented exit code {exit_code}: {stderr!r}"
    assert "Traceback" not in stderr, stderr
    for line in stderr.splitlines():
        assert line.startswith(f"codex-auth {prefix}: "), f"stderr line without the command's name: {line!r}"
