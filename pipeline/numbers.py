"""Numbers from JSON we did not write: a value counts only when it is a real, finite number
of a sensible size.

JSON's ``true`` is a Python ``bool``, which is an ``int``; storage and wire answers are read
through these helpers so that ``true`` is never taken for 1, NaN or infinity never for a
number, and an integer beyond 2^53 (which codex-multi-auth, a JavaScript program, cannot
even write exactly, and which our JSON writer cannot write at all beyond 2^64) never for a
usable one. Instants are bounded to the years 1970 to 9999, the range dates can be shown in.
"""

from __future__ import annotations

import math
from typing import Any

MAX_SAFE = 2**53  # JSON's exact integers (Number.MAX_SAFE_INTEGER + 1)
MAX_INSTANT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def real(value: object) -> int | float | None:
    """``value`` when it is a finite int or float (not a bool) within ±2^53, else ``None``."""
    if type(value) is int:  # the common case first (a bool is an int, but not of this type)
        return value if -MAX_SAFE <= value <= MAX_SAFE else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if -MAX_SAFE <= value <= MAX_SAFE else None


def whole(value: object) -> int | None:
    """``value`` when it is an int (not a bool) within ±2^53, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_SAFE <= value <= MAX_SAFE:
        return value
    return None


def instant(value: object) -> int | None:
    """Epoch milliseconds: a positive number up to the end of year 9999, as an int."""
    if type(value) is int:  # the common case first (MAX_INSTANT_MS is below MAX_SAFE)
        return value if 0 < value <= MAX_INSTANT_MS else None
    number = real(value)
    if number is None or not 0 < number <= MAX_INSTANT_MS:
        return None
    return int(number)


def first_huge(record: dict[str, Any]) -> str | None:
    """The JSON path of the first number beyond ±2^53 in a record (nested anywhere, except
    in its free-form ``annotations``, which are passed through as they are), or None."""
    stack: list[tuple[Any, str]] = [(v, f"$.{k}") for k, v in record.items() if k != "annotations"]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and not -MAX_SAFE <= item <= MAX_SAFE:
            return where
    return None
