"""The forecast: when each account and the pool run out. Pure functions, no I/O.

For every quota window of an account (the 5-hour and 7-day windows, the probe model's own
limit, a monthly spend limit) the forecast takes a pace in percentage points per hour and
asks whether the window reaches 100 % before it resets:

* ``history`` basis: the account's own rhythm (:mod:`pipeline.rhythm`: its pace by hour
  of the week from the history, blended with the recent pace and the window average), the
  windows played forward together with the service's rules (:func:`play_account`);
* ``window-average`` basis: one sample; the pace is the used percent over the time elapsed
  since the window began (reset time minus window length; a monthly spend limit began one
  calendar month before its reset).

Verdicts: ``exhausted`` (at or above 100 % now, until ``availableAt``), ``runs-out``
(reaches 100 % at ``runOutAt``, before the reset), ``lasts`` (through the reset),
``unknown`` (no data, a window that has reset since its sample, or nothing to measure the
pace from). An account's verdict is its most serious window's, named in
``bindingWindow``.

The pool part (:func:`pool_forecast`) counts the accounts usable now and at every change
within the horizon (default: seven days, one weekly window), says when the count falls
below ``--min-healthy`` and which account to use next (one that lasts beats one that runs
out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline import quota as q
from pipeline import rhythm
from pipeline.forecast_windows import HOUR_MS as HOUR_MS  # the window's facts and samples, re-exported
from pipeline.forecast_windows import History as History
from pipeline.forecast_windows import Sample as Sample
from pipeline.forecast_windows import WindowFacts as WindowFacts
from pipeline.forecast_windows import account_windows as account_windows
from pipeline.forecast_windows import instance_samples as instance_samples
from pipeline.forecast_windows import least_squares_pace as least_squares_pace
from pipeline.forecast_windows import pace_before_cap, recent_pace, with_latest
from pipeline.forecast_windows import window_average as window_average
from pipeline.forecast_windows import window_key as window_key
from pipeline.forecast_windows import window_start as window_start
from pipeline.records import Record

if TYPE_CHECKING:
    from pipeline.records import AccountRecord

DEFAULT_HORIZON_MS = 7 * 24 * HOUR_MS
SEVERITY = {"lasts": 0, "unknown": 1, "runs-out": 2, "exhausted": 3}
VERDICTS = tuple(SEVERITY)
UNUSABLE_STATUSES = ("disabled", "error")
NOT_BEGUN = "the window had not begun when it was sampled"


PROFILE_SPAN_MS = 14 * 24 * HOUR_MS  # the history the rhythm reads: every hour of the week twice
LONGEST_SPAN_MS = 32 * 24 * HOUR_MS  # a monthly window's instance and a day


def history_since(record: AccountRecord | Record, now: int) -> int:
    """The earliest sample an account's forecast reads: the profile's 14 days, or back to
    the start of a monthly window's instance (at most 32 days)."""
    since = now - PROFILE_SPAN_MS
    for window in account_windows(record.get("quota")):
        start = window_start(window) if window.monthly else None
        if start is not None:
            since = min(since, max(start, now - LONGEST_SPAN_MS))
    return since


def _blank(window: WindowFacts) -> Record:
    return {
        "name": window.name,
        "limit": window.limit,
        "windowMinutes": window.minutes,
        "usedPercent": window.used,
        "resetAt": window.reset_at,
        "sampledAt": window.sampled_at,
        "pacePerHour": None,
        "basis": None,
        "method": None,
        "samples": 0,
        "verdict": "unknown",
        "runOutAt": None,
        "availableAt": None,
        "runOutRange": None,
        "confidence": None,
        "note": None,
    }


def forecast_window(window: WindowFacts, now: int, samples: Sequence[Sample] = ()) -> Record:
    """One window alone: the facts, the checks that need no pace (no data, no reset, reset
    since its sample, exhausted) and the window-average pace; :func:`forecast_account`
    plays the windows forward together for the verdicts."""
    result = _blank(window)
    if window.used is None or window.sampled_at is None:
        result["note"] = "no usage reported"
        return result
    result["samples"] = 1
    if window.reset_at is None:
        result["note"] = "no reset time reported"
        return result
    if now >= window.reset_at:
        result["note"] = "the window has reset since the last sample"
        return result
    if window.used >= 100:
        result.update(verdict="exhausted", availableAt=window.reset_at, note="used up until the reset")
        return result
    own = instance_samples(window, samples)
    result["samples"] = max(1, len({s.at for s in own} | {window.sampled_at}))
    pace = window_average(window)
    if pace is None and window.used > 0:
        result["note"] = NOT_BEGUN  # a profile plays it on (:func:`play_account`), a lone sample cannot
        return result
    result.update(basis="window-average", method="window-average", verdict="lasts")
    result["pacePerHour"] = round(max(0.0, pace or 0.0), 3)
    return result


def forecast_account(
    record: AccountRecord | Record,
    now: int,
    history: History | None = None,
    end: int | None = None,
    *,
    scale: float = 1.0,
) -> Record:
    """The ``forecast`` an account record carries: every window's forecast (played forward
    together to ``end``, by default seven days) and the verdict of the most serious one.
    ``record`` should be scored (status, rateLimited). ``scale`` multiplies the account's
    demand (1.0, the forecast; :mod:`testkit.forecast_risk` plays other days with it)."""
    history = history or {}
    facts = account_windows(record.get("quota"))
    windows = [forecast_window(w, now, history.get(w.key, ())) for w in facts]
    outlook = play_account(facts, windows, now, history, horizon_end(now, None) if end is None else end, scale)
    verdict, binding = "unknown", None
    if windows:
        binding_window = max(windows, key=_seriousness)
        verdict, binding = binding_window["verdict"], binding_window
    run_out = binding["runOutAt"] if binding else None
    available = binding["availableAt"] if binding else None
    binding_name = binding["name"] if binding and verdict != "unknown" else None
    blocked = outlook.blocked
    if verdict != "exhausted" and record.get("rateLimited"):
        verdict, binding_name, run_out = "exhausted", "rate-limit", None
        available = record.get("rateLimitResetAt")
    return {
        "verdict": verdict,
        "bindingWindow": binding_name,
        "runOutAt": run_out if verdict == "runs-out" else None,
        "availableAt": available if verdict in ("exhausted", "runs-out") else None,
        "runOutRange": binding.get("runOutRange") if binding and verdict == "runs-out" else None,
        "confidence": binding.get("confidence") if binding and verdict != "unknown" else None,
        "sessionsLeft": outlook.sessions_left,
        "blocked": blocked,
        "windows": windows,
    }


def _seriousness(window: Record) -> tuple[int, int]:
    verdict = window["verdict"]
    if verdict == "exhausted":
        return (SEVERITY[verdict], int(window["availableAt"] or 0))  # free when the last one resets
    if verdict == "runs-out":
        return (SEVERITY[verdict], -int(window["runOutAt"]))  # the first to run out binds
    return (SEVERITY[verdict], int(window["usedPercent"] or 0))  # else the one with least headroom


# --- the windows played forward together ------------------------------------------------

HEAVY_DAY = 1.2  # with a profile, the next day's demand is played at 1.2 times its mean: caps come on heavy days
HEAVY_SPAN_MS = 24 * HOUR_MS  # beyond it the mean: over a week the heavy and light days even out


@dataclass
class Outlook:
    blocked: list[Record]
    sessions_left: float | None


def _reference(facts: Sequence[WindowFacts]) -> WindowFacts | None:
    """The window the demand is measured in: the account's longest rate window."""
    rate = [w for w in facts if w.limit == "codex" and w.minutes and w.used is not None]
    return max(rate, key=lambda w: w.minutes or 0) if rate else None


def play_account(
    facts: Sequence[WindowFacts], windows: list[Record], now: int, history: History, end: int, scale: float = 1.0
) -> Outlook:
    """Fill in each playable window's verdict, run-out, range and confidence (in place) by
    playing them forward together (:mod:`pipeline.rhythm`), the demand times ``scale``; the
    spans the account is blocked in [now, end) and the 5h sessions left before the weekly
    runs out."""
    playable = [(f, w) for f, w in zip(facts, windows, strict=True) if f.used is not None and f.sampled_at is not None]
    playable = [
        (f, w)
        for f, w in playable
        if f.reset_at is not None and (w["verdict"] != "unknown" or now >= f.reset_at or w["note"] == NOT_BEGUN)
    ]
    if not playable:
        return Outlook([], None)
    ref = _reference([f for f, _w in playable])
    history = with_latest(history, [f for f, _w in playable])
    profile = rhythm.build_profile(history, ref.key) if ref is not None else None
    averages = {f.key: window_average(f) for f, _w in playable}
    ref_average = averages.get(ref.key) if ref is not None else None
    carried: float | None = None  # a session cut off by a cap goes on when it lifts, at its pace
    lift = now
    if profile is not None and ref is not None:
        weight = min(1.0, profile.span_ms / rhythm.FULL_PROFILE_MS)
        base = ref_average if ref_average is not None else profile.mean
        capped = rhythm.capped_moments(history)
        recent = recent_pace(history.get(ref.key, ()), ref, now, capped)
        finest = min((f for f, _w in playable if f.key in profile.ratios), key=lambda f: f.minutes or 0, default=None)
        if finest is not None:  # the shortest window moves in finer steps: its recent pace, in reference points
            fine = recent_pace(history.get(finest.key, ()), finest, now, capped)
            recent = fine / profile.ratios[finest.key] if fine is not None else recent
        if finest is not None and (capped_pace := pace_before_cap(finest, history.get(finest.key, ()), now)):
            carried, lift = capped_pace[0] / profile.ratios[finest.key], capped_pace[1]
        rates = profile.rates

        def demand(t: int) -> float:
            value = weight * rates[rhythm.hour_of_week(t)] + (1 - weight) * base
            value *= HEAVY_DAY if t - start < HEAVY_SPAN_MS else 1.0
            if recent is not None and t - start < rhythm.RECENT_FADE_MS:
                share = 0.5 * (1 - (t - start) / rhythm.RECENT_FADE_MS)
                value = (1 - share) * value + share * recent
            if carried is not None and lift <= t < lift + rhythm.RECENT_FADE_MS:
                share = 0.5 * (1 - (t - lift) / rhythm.RECENT_FADE_MS)
                value = (1 - share) * value + share * carried
            return value

        spread = profile.spread
        confidence = 0.1 + 0.9 * weight / (1.0 + (spread[1] - spread[0]))
    else:

        def demand(t: int) -> float:
            return 1.0

        spread = rhythm.DEFAULT_SPREAD
        confidence = 0.1
    start = max(min(int(f.sampled_at or now) for f, _w in playable), now - rhythm.FULL_PROFILE_MS)

    def ratio(f: WindowFacts) -> float:
        if profile is None:
            return max(0.0, averages[f.key] or 0.0)
        if ref is not None and f.key == ref.key:
            return 1.0
        if f.key in profile.ratios:
            return profile.ratios[f.key]
        own = averages[f.key]
        base_pace = ref_average if ref_average else profile.mean
        return max(0.0, own / base_pace) if own and base_pace else 0.0

    def lanes() -> list[rhythm.Lane]:
        made = []
        for f, _w in playable:
            reset_since = now >= int(f.reset_at or 0)
            unbegun = not f.used and averages[f.key] is None
            length = f.minutes * 60_000 if f.minutes and not f.monthly else None
            made.append(
                rhythm.Lane(
                    f.key,
                    f.name,
                    0.0 if reset_since else float(f.used or 0.0),
                    None if reset_since or unbegun else f.reset_at,
                    length,
                    ratio(f),
                )
            )
        return made

    # the verdicts need every current window to its reset, whatever the pool's horizon
    stop = max(
        end,
        max(int(f.reset_at or end) for f, _w in playable if now < int(f.reset_at or 0))
        if any(now < int(f.reset_at or 0) for f, _w in playable)
        else end,
    )
    stop = min(stop, start + rhythm.MAX_PLAY_MS)
    breaks = [start + HEAVY_SPAN_MS, *range(start, start + rhythm.RECENT_FADE_MS, rhythm.FADE_STEP_MS)]
    if carried is not None:
        breaks += range(lift, lift + rhythm.RECENT_FADE_MS, rhythm.FADE_STEP_MS)
    played = rhythm.pieces(demand, start, stop, breaks)  # one demand for the three plays
    active = profile.mean if profile is not None else 0.0  # a fresh window begins in the account's busier hours
    middle = rhythm.play(lanes(), played, start, stop, scale=scale, active=active)
    early = rhythm.play(lanes(), played, start, stop, scale=spread[1] * scale, active=active)
    if any(run_out is not None for run_out, _reset in middle.run_outs.values()):
        late = rhythm.play(lanes(), played, start, stop, scale=spread[0] * scale, active=active)
    else:  # a lighter demand runs out no sooner: nothing runs out
        late = rhythm.Played(dict.fromkeys(middle.run_outs, (None, None)))
    level = round(confidence, 2)
    for f, result in playable:
        result["pacePerHour"] = round(demand(start) * ratio(f), 3)
        if profile is not None:
            result.update(basis="history", method="rhythm")
        if result["verdict"] == "unknown" and result["note"] == NOT_BEGUN and profile is not None:
            result.update(verdict="lasts", note=None)  # it began at its sample: the rhythm plays it from there
        if result["verdict"] not in ("lasts", "runs-out"):
            continue
        result["confidence"] = level
        run_out, instance_reset = middle.run_outs[f.key]
        soonest, _r = early.run_outs[f.key]
        latest, _r = late.run_outs[f.key]
        if run_out is not None and instance_reset is not None:
            result.update(verdict="runs-out", runOutAt=run_out, availableAt=instance_reset, note=None)
            result["runOutRange"] = {"early": soonest if soonest is not None else run_out, "late": latest}
        else:
            result.update(verdict="lasts", runOutAt=None, availableAt=None)
            if soonest is not None:
                result["runOutRange"] = {"early": soonest, "late": None}
            if result["pacePerHour"] == 0 and profile is None:
                result["note"] = "no use measured in this window"
    blocked = [
        {"from": max(a, now), "until": b, "window": name} for a, b, name in middle.blocked if b > now and a < end
    ]
    return Outlook(blocked, _sessions_left(playable, ratio))


def _sessions_left(playable: Sequence[tuple[WindowFacts, Record]], ratio: Any) -> float | None:
    """Full 5h windows the weekly window has room for: (100 - weekly used) * (5h points per
    weekly point) / 100."""
    week = next((f for f, _w in playable if f.limit == "codex" and q.window_kind(f.minutes) == 10080), None)
    five = next((f for f, _w in playable if f.limit == "codex" and q.window_kind(f.minutes) == 300), None)
    if week is None or five is None or week.used is None:
        return None
    if week.used >= 100:
        return 0.0
    points = ratio(five) / ratio(week) if ratio(week) else 0.0
    return round((100.0 - week.used) * points / 100.0, 1) if points > 0 else None


# --- the pool ------------------------------------------------------------------------


def horizon_end(now: int, horizon_ms: int | None) -> int:
    return now + (horizon_ms if horizon_ms is not None else DEFAULT_HORIZON_MS)
