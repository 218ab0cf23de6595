"""Times as people read them: ``15 minutes ago``, ``Resets in 1h 30m``, ``2026-03-03 14:30:00 UTC``."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.numbers import MAX_INSTANT_MS

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def utc(ms: int) -> datetime:
    """The instant as a UTC datetime; instants are bounded to 1970..9999 where they enter
    (storage, the stream, --now), and clamped here as a last guard."""
    return datetime.fromtimestamp(min(max(ms, 0), MAX_INSTANT_MS) / 1000, tz=UTC)


def utc_stamp(ms: int) -> str:
    return utc(ms).strftime("%Y-%m-%d %H:%M:%S UTC")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def span(ms: int) -> str:
    """A rough span: ``45 minutes``, ``2 hours``, ``3 days``."""
    ms = abs(ms)
    if ms < MINUTE:
        return _plural(ms // 1000, "second")
    if ms < HOUR:
        return _plural(ms // MINUTE, "minute")
    if ms < DAY:
        return _plural(ms // HOUR, "hour")
    return _plural(ms // DAY, "day")


def ago(instant: int | None, now: int) -> str:
    """``15 minutes ago``; ``just now`` under a minute; ``in 5 minutes`` for the future."""
    if instant is None:
        return "never"
    delta = now - instant
    if abs(delta) < MINUTE:
        return "just now"
    return f"{span(delta)} ago" if delta > 0 else f"in {span(delta)}"


def duration(ms: int) -> str:
    """A countdown: ``1h 30m``, ``2d 4h``, ``12m``, ``40s``. Rounded to the nearest minute,
    so a reset 89 minutes 59.9 seconds (or 90 minutes 0.6 seconds) away reads ``1h 30m``;
    under a minute it counts seconds, so nothing reads ``0m``."""
    ms = max(0, ms)
    if ms < MINUTE:
        return f"{-(-ms // 1000)}s"
    ms = (ms + MINUTE // 2) // MINUTE * MINUTE
    if ms >= DAY:
        days, rest = divmod(ms, DAY)
        return f"{days}d {rest // HOUR}h"
    if ms >= HOUR:
        hours, rest = divmod(ms, HOUR)
        return f"{hours}h {rest // MINUTE}m"
    return f"{ms // MINUTE}m"
