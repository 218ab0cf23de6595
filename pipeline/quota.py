"""Reading quota windows: which is the 5-hour and which the 7-day one (by length, never by
position), what is left, and whether a sample is still valid."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

FIVE_HOURS = 300
SEVEN_DAYS = 10080
MINUTE_MS = 60_000


def round_half_up(value: float) -> int:
    """33.5 -> 34 (Python's round() would give 34 here but 32 for 32.5)."""
    return math.floor(value + 0.5)


class Window:
    """One quota window as read at a given time. A plain class, not a dataclass: a pool makes
    several per account, and a dataclass costs a millisecond to define at start-up."""

    __slots__ = ("exhausted", "minutes", "name", "remaining", "reset_at", "stale", "used")

    def __init__(
        self, minutes: int | None, used: float | None, reset_at: int | None, stale: bool, name: str | None = None
    ) -> None:
        self.minutes = minutes
        self.used = used
        self.reset_at = reset_at
        self.stale = stale
        self.name = name  # a limit that is no time window: "monthly spend"
        # Percent left, 0-100, or None when unknown or no longer valid.
        self.remaining: int | None = None if used is None or stale else max(0, min(100, round_half_up(100 - used)))
        self.exhausted: bool = not stale and used is not None and used >= 100

    def _key(self) -> tuple[int | None, float | None, int | None, bool, str | None]:
        return (self.minutes, self.used, self.reset_at, self.stale, self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Window) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Window(minutes={self.minutes!r}, used={self.used!r}, reset_at={self.reset_at!r}, "
            f"stale={self.stale!r}, name={self.name!r})"
        )

    @property
    def label(self) -> str:
        return self.name or window_label(self.minutes)


def window_label(minutes: int | None) -> str:
    if not minutes or minutes <= 0:
        return "quota"
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def is_stale(window: dict[str, Any], sampled_at: int | None, now: int) -> bool:
    """A sample is stale once its window has reset: after ``resetAt``, or, without one,
    a whole window length after it was taken."""
    reset = window.get("resetAt")
    if isinstance(reset, int):
        return now >= reset
    minutes = window.get("windowMinutes")
    if sampled_at is not None and isinstance(minutes, int) and minutes > 0:
        return now >= sampled_at + minutes * MINUTE_MS
    return False


def windows_of(quota: dict[str, Any] | None, now: int) -> list[Window]:
    if not quota:
        return []
    sampled = quota.get("sampledAt")
    result = [_window(w, sampled, now) for w in quota.get("windows") or []]
    limit = quota.get("modelLimit")
    if isinstance(limit, dict):
        result.extend(_window(w, sampled, now) for w in limit.get("windows") or [])
    result.extend(spend_windows(quota, now))
    return result


def spend_windows(quota: dict[str, Any] | None, now: int) -> list[Window]:
    """A seat's monthly spend limits (``spendControl``), read like windows: used percent and
    reset; a limit at 100 % (or ``reached``) stops the account until its reset."""
    spend = (quota or {}).get("spendControl")
    if not isinstance(spend, dict):
        return []
    result = []
    for raw in spend.get("limits") or []:
        kind = raw.get("limitType") or "individual"
        used = raw.get("usedPercent")
        if spend.get("reached") is True and spend.get("reachedLimitType") in (None, kind, f"{kind}_limit"):
            used = max(100.0, float(used or 0))
        name = "monthly spend" if kind == "individual" else f"monthly spend ({kind})"
        reset = raw.get("resetAt")
        result.append(Window(None, used, reset, isinstance(reset, int) and now >= reset, name))
    return result


def _window(raw: dict[str, Any], sampled: int | None, now: int) -> Window:
    return Window(raw.get("windowMinutes"), raw.get("usedPercent"), raw.get("resetAt"), is_stale(raw, sampled, now))


def main_windows(quota: dict[str, Any] | None, now: int) -> list[Window]:
    """The account-wide windows only (not the per-model limit)."""
    if not quota:
        return []
    sampled = quota.get("sampledAt")
    return [_window(w, sampled, now) for w in quota.get("windows") or []]


def find(windows: Iterable[Window], minutes: int) -> Window | None:
    for window in windows:
        if window.minutes == minutes:
            return window
    return None


def binding(windows: Iterable[Window]) -> Window | None:
    """The window with the least left: the one that will stop the account first."""
    known = [w for w in windows if w.remaining is not None]
    return min(known, key=lambda w: (w.remaining, -(w.minutes or 0))) if known else None
