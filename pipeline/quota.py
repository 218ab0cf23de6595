"""Reading quota windows: which is the 5-hour and which the 7-day one (by length, never by
position), what is left, and whether a sample is still valid."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.records import Quota, QuotaWindow

FIVE_HOURS = 300
DAY = 1440
SEVEN_DAYS = 10080
THIRTY_DAYS = 43200
YEAR = 525600
MINUTE_MS = 60_000
# The window lengths the service uses, as the official Codex client names them: a window whose
# length is within 5 % of one of these is that window (real answers say 17940 s for 5 h and
# 604740 s for 7 d, a minute short).
KNOWN_LENGTHS = (FIVE_HOURS, DAY, SEVEN_DAYS, THIRTY_DAYS, YEAR)
TOLERANCE = 0.05


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
        # Percent left, 0-100, or None when unknown or no longer valid (max and min written
        # out: a pool makes several windows per account).
        left: int | None = None
        if used is not None and not stale:
            left = math.floor(100 - used + 0.5)  # round_half_up(100 - used), the same arithmetic
            left = 0 if left < 0 else 100 if left > 100 else left
        self.remaining = left
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


def window_kind(minutes: float | None) -> int | None:
    """The known length (in minutes) a window of ``minutes`` is, within the official client's
    5 % tolerance; ``None`` for a length that matches none (the window is still shown, by its
    own length, and can still rate-limit). The one classifier: report, forecast, history and
    Prometheus all name windows through it."""
    if minutes is None or minutes <= 0:
        return None
    kind = _kinds.get(minutes, _UNSEEN)
    if kind is not _UNSEEN:
        return kind  # type: ignore[return-value]
    kind = next((k for k in KNOWN_LENGTHS if k * (1 - TOLERANCE) <= minutes <= k * (1 + TOLERANCE)), None)
    if len(_kinds) < 256:  # a pool has a handful of lengths: each classified once
        _kinds[minutes] = kind
    return kind


_UNSEEN = object()
_kinds: dict[float, int | None] = {}


def window_label(minutes: int | None) -> str:
    """``5h``, ``1d``, ``7d``, ``30d``, ``365d`` for the known lengths (within 5 %); any other
    length by itself (``90m``, ``2d``)."""
    if not minutes or minutes <= 0:
        return "quota"
    minutes = window_kind(minutes) or minutes
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def is_stale(window: QuotaWindow, sampled_at: int | None, now: int) -> bool:
    """A sample is stale once its window has reset: after ``resetAt``, or, without one,
    a whole window length after it was taken."""
    reset = window.get("resetAt")
    if isinstance(reset, int):
        return now >= reset
    minutes = window.get("windowMinutes")
    if sampled_at is not None and isinstance(minutes, int) and minutes > 0:
        return now >= sampled_at + minutes * MINUTE_MS
    return False


def windows_of(quota: Quota | None, now: int) -> list[Window]:
    """Every window of a record's quota at ``now``: its own, the model limit's, the spend
    limits. Scoring and choosing both read an account's windows, one right after the other:
    the last answer is kept for that (a new list of the same windows, which nobody changes)."""
    if not quota:
        return []
    global _last_windows
    last = _last_windows  # one tuple, replaced whole: threads read a consistent one
    if last[0] is quota and last[1] == now:
        return list(last[2])
    result = _windows_of(quota, now)
    _last_windows = (quota, now, result)
    return list(result)


# The quota (kept, so that its id is not reused), the time, its windows.
_last_windows: tuple[Quota | None, int | None, list[Window]] = (None, None, [])


def _windows_of(quota: Quota, now: int) -> list[Window]:
    sampled = quota.get("sampledAt")
    result = [_window(w, sampled, now) for w in quota.get("windows") or []]
    limit = quota.get("modelLimit")
    if isinstance(limit, dict):
        result.extend(_window(w, sampled, now) for w in limit.get("windows") or [])
    result.extend(spend_windows(quota, now))
    return result


def spend_windows(quota: Quota | None, now: int) -> list[Window]:
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


def _window(raw: QuotaWindow, sampled: int | None, now: int) -> Window:
    return Window(raw.get("windowMinutes"), raw.get("usedPercent"), raw.get("resetAt"), is_stale(raw, sampled, now))


def main_windows(quota: Quota | None, now: int) -> list[Window]:
    """The account-wide windows only (not the per-model limit): the first of
    :func:`windows_of`'s, whose last answer is reused when it was for this quota and time."""
    if not quota:
        return []
    raw = quota.get("windows") or []
    last = _last_windows
    if last[0] is quota and last[1] == now:
        return last[2][: len(raw)]
    sampled = quota.get("sampledAt")
    return [_window(w, sampled, now) for w in raw]


def find(windows: Iterable[Window], minutes: int) -> Window | None:
    """The first window of the known length ``minutes`` (within the tolerance)."""
    for window in windows:
        if window_kind(window.minutes) == minutes:
            return window
    return None


def unmatched(windows: Iterable[Window]) -> list[Window]:
    """The time windows whose length is none of 5 h, 7 d and 30 d (a daily window, a 2-day
    one...): shown by their length, never dropped."""
    shown = (FIVE_HOURS, SEVEN_DAYS, THIRTY_DAYS)
    return [w for w in windows if w.name is None and window_kind(w.minutes) not in shown]


def binding(windows: Iterable[Window]) -> Window | None:
    """The window with the least left: the one that will stop the account first."""
    # min() by (remaining, -minutes), the first of equals, without a key tuple per window
    best: Window | None = None
    for w in windows:
        left = w.remaining
        if left is None:
            continue
        if best is None:
            best = w
            continue
        kept = best.remaining
        assert kept is not None
        if left < kept or (left == kept and (w.minutes or 0) > (best.minutes or 0)):
            best = w
    return best
