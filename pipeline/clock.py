"""Time as an input: ``--now`` parsing and the few conversions every stage shares.

All instants in records are integer milliseconds since the Unix epoch (UTC), like the
seed's ``generatedAt``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pipeline.errors import ConfigError


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_instant(value: str) -> int:
    """Parse ``--now``: epoch milliseconds (digits) or ISO-8601 (``Z``/offset; naive = UTC)."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--now: {value!r} is neither epoch milliseconds nor an ISO-8601 time (e.g. 2026-03-03T14:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def parse_iso_ms(value: object) -> int | None:
    """Lenient parse of a stored ISO-8601 timestamp (e.g. auth.json ``last_refresh``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    # Python < 3.11 rejected more than 6 fractional digits; 3.11 accepts them, but keep
    # the common nanosecond form safe by trimming to microseconds.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{rest}" if digits else head + rest
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
