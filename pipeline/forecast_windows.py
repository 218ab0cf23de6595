"""A quota window as the forecast reads it, and its samples: the window's facts off a record,
its identity in the history, its current instance (when it began, the samples taken in it),
the window-average pace and the recent pace (the last two samples, or the pace before a cap).
Pure functions, no I/O; :mod:`pipeline.forecast` builds on them."""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from pipeline import quota as q

if TYPE_CHECKING:
    from pipeline.records import Quota

HOUR_MS = 3_600_000
RESET_TOLERANCE_MS = 5 * 60_000  # samples of one window instance agree on its reset within this
RECENT_GAP_MS = 2 * HOUR_MS
RECENT_AGE_MS = 90 * 60_000


class Sample(NamedTuple):
    """One observation of a window: when, how much was used, when it resets (a tuple: a
    90-day history is many of them)."""

    at: int
    used: float | None
    reset_at: int | None


History = Mapping[str, Sequence[Sample]]  # window key -> samples, oldest first


@dataclass(frozen=True)
class WindowFacts:
    """One quota window as the forecast reads it off a record: the fields the history keeps of
    it (:class:`pipeline.history.observation.WindowRow`), when it was sampled, and whether it
    is a monthly spend limit."""

    key: str  # stable identity in the history: "codex/300", "codex_bengalfox/300", "spend/individual"
    name: str  # for people: "5h", "7d", "codex_bengalfox 5h", "monthly spend"
    limit: str
    minutes: int | None
    used: float | None
    reset_at: int | None
    sampled_at: int | None = None
    monthly: bool = False


def window_key(limit: str, minutes: int | None) -> str:
    """A window's identity in the history: its limit and its known length (17940 s and 18000 s
    are the same 5 h window, within the official 5 % tolerance), else its own length."""
    known = q.window_kind(minutes) or minutes
    return f"{limit}/{known if known is not None else '-'}"


def account_windows(quota: Quota | None) -> list[WindowFacts]:
    """The windows that decide whether an account can work: the account-wide windows, the
    probe model's own limit and the spend-control limits (never other models' limits)."""
    if not quota:
        return []
    sampled = quota.get("sampledAt")
    found: list[WindowFacts] = []
    limit = quota.get("modelLimit")
    groups = [("codex", "", quota.get("windows") or [])]
    if isinstance(limit, dict):
        limit_id = str(limit.get("limitId"))
        groups.append((limit_id, f"{limit_id} ", limit.get("windows") or []))
    for limit_id, prefix, windows in groups:
        for raw in windows:
            minutes = raw.get("windowMinutes")
            found.append(
                WindowFacts(
                    window_key(limit_id, minutes),
                    prefix + q.window_label(minutes),
                    limit_id,
                    minutes,
                    raw.get("usedPercent"),
                    raw.get("resetAt"),
                    sampled,
                )
            )
    spend = quota.get("spendControl")
    if isinstance(spend, dict):
        for raw in spend.get("limits") or []:
            kind = str(raw.get("limitType") or "individual")
            found.append(
                WindowFacts(
                    f"spend/{kind}",
                    "monthly spend" if kind == "individual" else f"monthly spend ({kind})",
                    "spend",
                    raw.get("windowMinutes"),
                    raw.get("usedPercent"),
                    raw.get("resetAt"),
                    sampled,
                    monthly=True,
                )
            )
    return found


def window_start(window: WindowFacts) -> int | None:
    if window.reset_at is None:
        return None
    if window.minutes:
        return window.reset_at - window.minutes * 60_000
    if window.monthly:
        return _month_before(window.reset_at)
    return None


def _month_before(ms: int) -> int:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp() * 1000) + ms % 1000


def instance_samples(window: WindowFacts, samples: Iterable[Sample]) -> list[Sample]:
    """The samples of the window's current instance: taken since it began, agreeing on its
    reset time, with a used percent; oldest first, one per instant."""
    start = window_start(window)
    if window.reset_at is None or start is None:
        return []
    chosen: dict[int, Sample] = {}
    for sample in samples:
        if sample.used is None or sample.reset_at is None or sample.at < start or sample.at > window.reset_at:
            continue
        if abs(sample.reset_at - window.reset_at) > RESET_TOLERANCE_MS:
            continue
        chosen[sample.at] = sample
    return [chosen[at] for at in sorted(chosen)]


def least_squares_pace(samples: Sequence[Sample]) -> float | None:
    """Slope of the least-squares line through (hours, used percent); None when the samples
    span no time."""
    xs = [s.at / HOUR_MS for s in samples]
    ys = [float(s.used or 0.0) for s in samples]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if n < 2 or spread <= 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def window_average(window: WindowFacts) -> float | None:
    """The used percent over the hours since the window began; None before it began."""
    start = window_start(window)
    if window.used is None or window.sampled_at is None or start is None:
        return None
    elapsed = window.sampled_at - start
    return window.used / (elapsed / HOUR_MS) if elapsed > 0 else None


def recent_pace(samples: Sequence[Sample], window: WindowFacts, now: int, capped: set[int]) -> float | None:
    """The slope of the window's last two samples; None when they are far apart, old, or the
    first was taken while a window was at 100 % (no use then says nothing of the pace)."""
    own = instance_samples(window, _tail(samples, window.reset_at))
    if len(own) < 2:
        return None
    a, b = own[-2], own[-1]
    if b.at < now - RECENT_AGE_MS or b.at - a.at > RECENT_GAP_MS or b.at <= a.at or a.at in capped:
        return None
    return max(0.0, (float(b.used or 0) - float(a.used or 0)) / ((b.at - a.at) / HOUR_MS))


def pace_before_cap(window: WindowFacts, samples: Sequence[Sample], now: int) -> tuple[float, int] | None:
    """For a window at 100 % now: the pace of its instance before the cap (the used percent of
    its last sample below 100 % over the time since the instance began) and the moment the cap
    lifts (its reset); None for a window not at 100 %, or with no such sample."""
    if (window.used or 0) < 100 or not window.minutes or window.reset_at is None or window.reset_at <= now:
        return None
    began = window.reset_at - window.minutes * 60_000
    since = bisect.bisect_left(samples, began, key=lambda sample: sample.at)  # the history is oldest first
    before = [s for s in instance_samples(window, samples[since:]) if (s.used or 0) < 100]
    if not before or before[-1].at <= began or not before[-1].used:
        return None
    return float(before[-1].used) / ((before[-1].at - began) / HOUR_MS), window.reset_at


def _tail(samples: Sequence[Sample], reset_at: int | None) -> Sequence[Sample]:
    """The samples from the third-last moment of the instance that resets at ``reset_at`` on
    (the history is oldest first): the last two of the instance are among them."""
    seen: set[int] = set()
    for position in range(len(samples) - 1, -1, -1):
        sample = samples[position]
        if sample.used is None or sample.reset_at is None or reset_at is None:
            continue
        if abs(sample.reset_at - reset_at) <= RESET_TOLERANCE_MS:
            seen.add(sample.at)
            if len(seen) > 2:
                return samples[position:]
    return samples


def with_latest(history: History, facts: Sequence[WindowFacts]) -> dict[str, list[Sample]]:
    """The history with each window's latest sample in it (a stage's records may be newer)."""
    merged = {key: list(samples) for key, samples in history.items()}
    for f in facts:
        if f.sampled_at is None:
            continue
        samples = merged.setdefault(f.key, [])
        if not samples or samples[-1].at < f.sampled_at:
            samples.append(Sample(f.sampled_at, f.used, f.reset_at))
    return merged
