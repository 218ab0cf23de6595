"""Time as an input: the one reader of the wall clock, ``--now`` parsing and the few
conversions every stage shares.

All instants in records are integer milliseconds since the Unix epoch (UTC), like the
JSON report's ``generatedAt``. No other module in ``pipeline/`` reads the wall clock
(``tests/unit/test_clock_reads.py``): they take :func:`now_ms` (or :func:`now_s`) as a
default, or the run's clock from :class:`pipeline.context.RunContext`. Monotonic timers
(``time.monotonic``, ``time.perf_counter``) for durations and timeouts are allowed anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pipeline.errors import ConfigError
from pipeline.numbers import MAX_INSTANT_MS, instant

Clock = Callable[[], int]
"""A wall clock in epoch milliseconds (:func:`now_ms`, or a test's fixed one)."""


def now_ms() -> int:
    """The wall clock, in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def now_s() -> float:
    """The wall clock, in epoch seconds (for the few places that keep seconds, such as
    ``Retry-After`` and the refresh lease)."""
    return time.time()


# Unix times below this are seconds, from it on milliseconds. As seconds it is the year 5138;
# as milliseconds, 1973-03-03: no date anyone will pass is ambiguous.
SECONDS_LIMIT = 100_000_000_000


def parse_instant(value: str) -> int:
    """Parse ``--now`` into epoch milliseconds.

    Accepts ISO-8601 (``2026-03-03T14:30:00Z``, an offset, or none for UTC; a date alone is its
    midnight UTC) and Unix time by magnitude: below :data:`SECONDS_LIMIT` it is seconds (what
    ``date +%s`` prints, fractions allowed), from it on milliseconds (what ``Date.now()`` and
    the JSON report's ``generatedAt`` hold).
    """
    ms = _parse_instant(value)
    if not 0 <= ms <= MAX_INSTANT_MS:
        raise ConfigError("--now: a time between 1970 and the end of the year 9999")
    return ms


def _parse_instant(value: str) -> int:
    text = value.strip()
    number = text
    if number.replace(".", "", 1).isdigit():
        if len(number) > 20:
            raise ConfigError("--now: a time between 1970 and the end of the year 9999")
        if "." in number:
            seconds = float(number)
            if seconds >= SECONDS_LIMIT:
                raise ConfigError(f"--now: {value!r} has a fraction but is too large for Unix seconds")
            return round(seconds * 1000)
        whole = int(number)
        return whole * 1000 if whole < SECONDS_LIMIT else whole
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        shown = repr(value) if len(value) <= 60 else "the value"
        raise ConfigError(
            f"--now: {shown} is neither a Unix time (seconds or milliseconds) nor an ISO-8601 time "
            "(e.g. 2026-03-03T14:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def iso_utc(ms: int) -> str:
    """``2026-03-03T14:30:00Z`` (milliseconds only when present)."""
    dt = datetime.fromtimestamp(min(max(ms, 0), MAX_INSTANT_MS) / 1000, tz=UTC)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


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
    try:
        return instant(int(parsed.timestamp() * 1000))
    except (OverflowError, ValueError):
        return None


_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration(value: str, option: str = "--keep") -> int:
    """``90d``, ``12h``, ``30m``, ``2w``, ``45s`` (or a sum such as ``1d12h``), or plain seconds
    (``3600``, as ``--interval`` takes them), in milliseconds."""
    import re

    text = value.strip().lower()
    if len(text) > 40:
        raise ConfigError(f"{option}: not a duration such as 90d, 12h, 30m or 3600 (seconds)")
    if text.isdigit():
        return int(text) * 1000
    parts = re.findall(r"(\d+)\s*([smhdw])", text)
    if not parts or re.sub(r"\s+", "", text) != "".join(n + u for n, u in parts):
        raise ConfigError(f"{option}: {value!r} is not a duration such as 90d, 12h, 30m or 3600 (seconds)")
    return sum(int(number) * _UNITS_MS[unit] for number, unit in parts)


def parse_time(value: str, now: int, option: str = "--since") -> int:
    """A TIME option: what :func:`parse_instant` reads (ISO-8601, Unix seconds or milliseconds
    by magnitude), or a duration before ``now`` such as ``7d`` or ``12h``."""
    text = value.strip()
    if text and text[0].isdigit() and text[-1].lower() in _UNITS_MS and "-" not in text and ":" not in text:
        ms = now - parse_duration(text, option)
        if ms < 0:
            raise ConfigError(f"{option}: a duration reaching back before 1970")
        return ms
    try:
        return parse_instant(text)
    except ConfigError:
        raise ConfigError(
            f"{option}: {value!r} is not a time: give ISO-8601 (2026-03-03T14:30:00Z), epoch seconds or "
            "milliseconds, or a duration back from now (7d, 12h)"
        ) from None


def parse_interval(value: str, option: str = "--interval") -> float:
    """Seconds between runs: plain seconds (``90``, ``2.5``) or a duration (``30s``, ``5m``, ``1h``)."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = parse_duration(text, option) / 1000 if text[:1].isdigit() else float("nan")
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{option}: {value!r} is not a positive duration such as 30s, 5m, 1h or 90 (seconds)")
    return seconds
