"""Numbers from JSON we did not write: a value counts only when it is a real, finite number.

JSON's ``true`` is a Python ``bool``, which is an ``int``; storage and wire answers are read
through these helpers so that ``true`` is never taken for 1, and NaN or infinity never for a
number.
"""

from __future__ import annotations

import math
from typing import Any


def real(value: Any) -> int | float | None:
    """``value`` when it is a finite int or float (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def whole(value: Any) -> int | None:
    """``value`` when it is an int (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
