"""Stored text made safe to show: control characters become visible escapes.

A name or free text read from storage (an e-mail, a label, a workspace name, a reason) or from
the history could hold an ESC that starts a terminal sequence (a window title, a screen clear),
a newline or carriage return that forges a whole report line, or a bidi override that shows a
name backwards. :func:`visible` replaces each such character with a backslash escape, once,
where records are built (``collect``, the history's reader, a stage reading records), so that
every format (text, JSON, Markdown, HTML, Prometheus, CSV, ``watch``) and stderr show the same
safe text:

* C0 controls, DEL and C1 controls (U+0000-U+001F, U+007F-U+009F; ESC, CR, LF, TAB included)
  become ``\\xHH`` (``\\x1b``, ``\\x0a``);
* the bidi controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
  paragraph separators (U+2028, U+2029) become ``\\uHHHH`` (``\\u202e``).

Everything else, backslashes included, is left as it is. The result holds none of those
characters, so applying it twice changes nothing.
"""

from __future__ import annotations

import re
from functools import cache

_CONTROLS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"


@cache
def control() -> re.Pattern[str]:
    """One character that must never reach a terminal or a document raw (also ``CONTROL``).
    Compiled when first needed: the Unicode class costs most of a millisecond, and printable
    ASCII text (the common case) never needs it."""
    return re.compile(f"[{_CONTROLS}]")


def __getattr__(name: str) -> re.Pattern[str]:
    if name == "CONTROL":
        return control()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plain(text: str) -> bool:
    """True for printable ASCII: no C0 control and no DEL, so nothing to escape."""
    return text.isascii() and text.isprintable()


def _escape(match: re.Match[str]) -> str:
    point = ord(match.group())
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def visible(text: str) -> str:
    """``text`` with every control character (see the module) as a visible escape."""
    if _plain(text) or control().search(text) is None:  # the common case: nothing to do, no copy
        return text
    return control().sub(_escape, text)


def visible_or_none(value: str | None) -> str | None:
    return None if value is None else visible(value)


def has_control(text: str) -> bool:
    return not _plain(text) and control().search(text) is not None
