"""An account's rhythm and its windows played forward. Pure functions, no I/O.

The **profile** (:func:`build_profile`) is the account's own pace by hour of the week (UTC,
168 buckets), measured in points of its *reference* window (the weekly window when it has
one) from the history: between two consecutive samples of one window instance (the same
reset time, at most six hours apart, nothing at 100 % at the first), the rise in used percent
is spread over the hours the interval covers, and so is its length (the exposure). A window
at 0 % that has not begun (its reported reset slides on with the clock) is idle time: the
interval counts, its rise is the use that began the window. A bucket's rate is shrunk towards
its hour of day, and the hour of day towards the account's mean::

    rate[b] = (use[b] + A * hod[h]) / (exposure[b] + A)       A = 1 h
    hod[h]  = (use_h[h] + B * mean) / (exposure_h[h] + B)     B = 3 h

Every other window's points per reference point (``ratio``) are the sum of its rises over
the sum of the reference's on the same intervals. Each UTC day's actual use over the
profile's prediction *without that day* (leave one day out: a day measured against a profile
that contains it looks closer to usual than it was) gives the account's variability: the
10th and 90th percentiles of those ratios scale the demand for the early and late ends of a
run-out's range.

**Playing forward** (:func:`play`): from the latest sample to the horizon, the demand in
reference points per hour is::

    demand(t) = k(t) * (w * rate[b(t)] + (1 - w) * average)   w = min(1, history span / 7 days)
    k(t)      = 1.2 for the first 24 h, then 1 (the next day's caps come on its heavier days)
    demand(t) = (1 - r) * demand(t) + r * recent          r = 0.5 * (1 - (t - now) / 3 h), first 3 h
    demand(t) = (1 - c) * demand(t) + c * capped          c = 0.5 * (1 - (t - lift) / 3 h), 3 h from lift

(``average`` is the reference window's used percent over its elapsed time; ``recent`` the
slope of its last two samples when they are at most two hours apart, the latest at most
90 minutes old and no window at 100 % at the first; ``capped``, when the shortest window is at
100 % now, its instance's pace before the cap, from ``lift``, its reset). The demand is
constant on pieces (:func:`pieces`: every UTC hour, 15-minute steps of the recent and capped
paces' fades, the end of the first 24 h) and the play jumps from event to event: a piece ends, a window runs out, a window
resets. Every window takes ``demand * ratio``; the service's rules apply: no use while any
window is at 100 %; a window that resets is at 0 % and has not begun; it begins (its reset one
length later) at the account's next expected use, the first piece whose demand is at least
the account's mean pace (its busier hours: a trickle of use at night does not start the
morning's 5h window hours early). So a flat stretch never erases a window's measured use (the
anchor is its latest used percent), a fresh 5h window can run out again, and the weekly binds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_HOURS = 168
FADE_STEP_MS = 15 * 60_000  # the recent pace fades in steps of 15 minutes
MAX_GAP_MS = 6 * HOUR_MS
MAX_PLAY_MS = 32 * DAY_MS  # a monthly window's reset at the most
TOLERANCE_MS = 5 * 60_000
SHRINK_BUCKET, SHRINK_HOUR = 1.0, 3.0
FULL_PROFILE_MS = 7 * DAY_MS
RECENT_FADE_MS = 3 * HOUR_MS
DEFAULT_SPREAD = (0.6, 1.5)  # until three days of history say otherwise


SampleRow = tuple[int, float | None, int | None]  # (at, used percent, reset): pipeline.forecast.Sample


def hour_of_week(ms: int) -> int:
    """0 is Monday 00:00-01:00 UTC (1970-01-01 was a Thursday)."""
    return int((ms // HOUR_MS + 72) % WEEK_HOURS)


@dataclass(frozen=True)
class Profile:
    rates: tuple[float, ...]  # reference points per hour, by hour of the week
    mean: float
    span_ms: int
    ratios: Mapping[str, float]
    spread: tuple[float, float]
    days: int


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _intervals(samples: Sequence[SampleRow], blocked: set[int]) -> dict[tuple[int, int], float]:
    """(start, end) -> the rise in used percent, for consecutive samples of one instance."""
    found: dict[tuple[int, int], float] = {}
    for (a_at, a_used, a_reset), (b_at, b_used, b_reset) in itertools.pairwise(samples):
        if a_used is None or b_used is None or a_reset is None or b_reset is None:
            continue
        gap = b_at - a_at
        if gap <= 0 or gap > MAX_GAP_MS or a_at in blocked:
            continue
        # one instance: the same reset; or a window at 0 % not yet begun, whose reset slides on
        # with the clock (idle time), then begun by the interval's use at most one interval later
        if abs(a_reset - b_reset) > TOLERANCE_MS and not (
            a_used == 0 and a_reset <= b_reset <= a_reset + gap + TOLERANCE_MS
        ):
            continue
        rise = float(b_used) - float(a_used)
        found[(a_at, b_at)] = rise if rise > 0 else 0.0
    return found


def capped_moments(history: Mapping[str, Sequence[SampleRow]]) -> set[int]:
    """The sample times at which one of the account's windows was at 100 %."""
    return {at for samples in history.values() for at, used, _reset in samples if used is not None and used >= 100}


def build_profile(history: Mapping[str, Sequence[SampleRow]], reference: str) -> Profile | None:
    """The account's profile in ``reference`` points; None without two usable samples."""
    blocked = capped_moments(history)
    ref = _intervals(history.get(reference) or (), blocked)
    if not ref:
        return None
    use, exposure = [0.0] * WEEK_HOURS, [0.0] * WEEK_HOURS
    per_day: dict[int, list[tuple[int, float, float]]] = {}
    for (start, end), rise in ref.items():
        per_hour = rise * HOUR_MS / (end - start)
        moment = start
        while moment < end:
            hour = moment // HOUR_MS
            nxt = (hour + 1) * HOUR_MS
            if nxt > end:
                nxt = end
            share = (nxt - moment) / HOUR_MS
            bucket = (hour + 72) % WEEK_HOURS  # hour_of_week(moment)
            use[bucket] += per_hour * share
            exposure[bucket] += share
            per_day.setdefault(hour // 24, []).append((bucket, per_hour * share, share))
            moment = nxt
    total_exposure = sum(exposure)
    mean = sum(use) / total_exposure if total_exposure else 0.0
    hod_use, hod_exp = [0.0] * 24, [0.0] * 24
    for bucket in range(WEEK_HOURS):
        hod_use[bucket % 24] += use[bucket]
        hod_exp[bucket % 24] += exposure[bucket]
    hod = [(hod_use[h] + SHRINK_HOUR * mean) / (hod_exp[h] + SHRINK_HOUR) for h in range(24)]
    rates = tuple((use[b] + SHRINK_BUCKET * hod[b % 24]) / (exposure[b] + SHRINK_BUCKET) for b in range(WEEK_HOURS))
    ratios: dict[str, float] = {}
    for key, samples in history.items():
        if key == reference:
            continue
        own = _intervals(samples, blocked)
        both = [(own[span], rise) for span, rise in ref.items() if span in own]
        ref_sum = sum(r for _o, r in both)
        own_sum = sum(o for o, _r in both)
        if ref_sum > 0 and own_sum > 0:
            ratios[key] = own_sum / ref_sum
    day_ratios = []
    for parts in per_day.values():
        today: dict[int, list[float]] = {}  # bucket -> [this day's use, its exposure]
        actual = 0.0
        for b, rise, share in parts:
            mine = today.setdefault(b, [0.0, 0.0])
            mine[0] += rise
            mine[1] += share
            actual += rise
        predicted = 0.0
        for b, (own_use, own_exposure) in today.items():  # the profile without this day: not measured against itself
            rest = (use[b] - own_use + SHRINK_BUCKET * hod[b % 24]) / (exposure[b] - own_exposure + SHRINK_BUCKET)
            predicted += own_exposure * rest
        if predicted > 0.5:
            day_ratios.append(actual / predicted)
    spread = DEFAULT_SPREAD
    if len(day_ratios) >= 3:
        spread = (min(1.0, _quantile(day_ratios, 0.1)), max(1.0, _quantile(day_ratios, 0.9)))
    starts = [s for s, _e in ref]
    ends = [e for _s, e in ref]
    return Profile(rates, mean, max(ends) - min(starts), ratios, spread, len(per_day))


# --- playing forward -------------------------------------------------------------------


@dataclass
class Lane:
    """One window in the simulation: its used percent, its reset (None: not begun), its
    length (None: it does not begin again once reset) and its points per demand point."""

    key: str
    name: str
    used: float
    reset_at: int | None
    length_ms: int | None
    ratio: float
    first_reset: int | None = None  # the current instance's reset, for its verdict
    run_out: int | None = None  # the current (or first) instance runs out at
    instance_reset: int | None = None  # ... and that instance resets at
    instances: int = 0

    def __post_init__(self) -> None:
        self.first_reset = self.reset_at


@dataclass
class Played:
    run_outs: dict[str, tuple[int | None, int | None]]  # key -> (run-out of the current instance, its reset)
    blocked: list[tuple[int, int, str]] = field(default_factory=list)  # (from, until, window name)


def _next_reset(lanes: Sequence[Lane], end: int) -> int:
    return min((lane.reset_at for lane in lanes if lane.reset_at is not None), default=end)


def pieces(demand: Callable[[int], float], start: int, end: int, breaks: Iterable[int] = ()) -> list[tuple[int, float]]:
    """The demand from ``start`` to ``end`` as constant pieces ``(from, pace)``: it may change
    at every UTC hour (the profile's buckets) and at ``breaks``; each piece takes the demand at
    its start."""
    moments = {start, *(b for b in breaks if start < b < end)}
    moments.update(range((start // HOUR_MS + 1) * HOUR_MS, end, HOUR_MS))
    return [(moment, demand(moment)) for moment in sorted(moments)]


def play(
    lanes: list[Lane],
    demand: Sequence[tuple[int, float]],
    start: int,
    end: int,
    *,
    scale: float = 1.0,
    active: float = 0.0,
) -> Played:
    """Play the windows forward from ``start`` to ``end`` (see the module's rules), from event
    to event: a piece of the demand (:func:`pieces`) ends, a window runs out or resets. A
    window that has not begun begins at the first piece whose demand is at least ``active``
    (the account's next expected use); below it, it takes nothing."""
    t = start
    blocked_from: int | None = None
    blocked_by = ""
    spans: list[tuple[int, int, str]] = []
    next_reset = _next_reset(lanes, end)
    piece, last = 0, len(demand) - 1
    any_full = True  # a lane may be at 100 % (only then are they looked at)
    while t < end:
        if t >= next_reset:
            for lane in lanes:
                if lane.reset_at is not None and t >= lane.reset_at:
                    if lane.run_out is None and lane.instance_reset is None:
                        lane.instance_reset = lane.reset_at  # the current instance lasted
                    lane.used, lane.reset_at = 0.0, None
            next_reset = _next_reset(lanes, end)
        full = [lane for lane in lanes if lane.used >= 100] if any_full else None
        if full:
            if blocked_from is None:
                blocked_from = t
            blocked_by = max(full, key=lambda lane: lane.reset_at or end).name
            t = max(t + 1, min(max(lane.reset_at or end for lane in full), end))
            continue
        any_full = False
        if blocked_from is not None:
            spans.append((blocked_from, t, blocked_by))
            blocked_from = None
        while piece < last and demand[piece + 1][0] <= t:
            piece += 1
        until = demand[piece + 1][0] if piece < last else end
        if until > end:
            until = end
        pace = demand[piece][1]
        per_ms = pace * scale / HOUR_MS
        if per_ms <= 0:
            t = until
            continue
        taking = []
        for lane in lanes:
            if lane.ratio <= 0:
                continue
            if lane.reset_at is None:
                if lane.length_ms is None or pace < active:
                    continue  # it takes nothing in this piece
                lane.reset_at = t + lane.length_ms  # a fresh window begins at this use
                lane.instances += 1
                if lane.reset_at < next_reset:
                    next_reset = lane.reset_at
            taking.append(lane)
        if next_reset < until:
            until = next_reset
        span = float(until - t)
        for lane in taking:  # the first to reach 100 % ends the stretch
            reach = (100.0 - lane.used) / (per_ms * lane.ratio)
            if reach < span:
                span = reach
        moved = max(1, round(span))
        for lane in taking:
            used = lane.used + per_ms * lane.ratio * span
            if used >= 100 - 1e-9:
                lane.used = 100.0
                any_full = True
                if lane.run_out is None and lane.instance_reset is None:
                    lane.run_out = t + round(span)
                    lane.instance_reset = lane.reset_at
            else:
                lane.used = used
        t += moved
    if blocked_from is not None:
        spans.append((blocked_from, end, blocked_by))
    return Played({lane.key: (lane.run_out, lane.instance_reset) for lane in lanes}, spans)
