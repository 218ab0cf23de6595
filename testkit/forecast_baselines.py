"""The forecasts the new one is measured against, frozen here so they cannot drift:

* ``previous``: ``pipeline/forecast.py`` as it was before the rhythm (a least-squares line
  through the window instance's samples when there are two or more, else the window
  average; a constant pace to the reset; the pool counts a window that resets as usable to
  the horizon);
* ``window-average``: the used percent over the time since the window began (the method
  with no history);
* ``ewma``: an exponentially weighted mean of the instance's interval slopes (half-life two
  hours), else the window average.

Each takes an account record, ``now`` and the account's history (window key -> samples)
and returns the account's ``forecast`` in the old shape (no ``blocked`` spans), so
:func:`pipeline.forecast_pool.pool_forecast` treats it as the old pool did.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.forecast import (
    HOUR_MS,
    History,
    Sample,
    WindowFacts,
    _seriousness,
    account_windows,
    instance_samples,
    least_squares_pace,
    window_start,
)

Record = dict[str, Any]
Pace = Callable[[Sequence[Sample]], float | None]
HALF_LIFE_MS = 2 * HOUR_MS


def ewma_pace(samples: Sequence[Sample]) -> float | None:
    if len(samples) < 2:
        return None
    value: float | None = None
    for a, b in itertools.pairwise(samples):
        hours = (b.at - a.at) / HOUR_MS
        if hours <= 0:
            continue
        slope = (float(b.used or 0) - float(a.used or 0)) / hours
        weight = 1 - 0.5 ** ((b.at - a.at) / HALF_LIFE_MS)
        value = slope if value is None else value + weight * (slope - value)
    return value


def _window(window: WindowFacts, now: int, samples: Sequence[Sample], pace_of: Pace | None) -> Record:
    """The previous ``forecast_window``, with the history's pace function a parameter."""
    result: Record = {"name": window.name, "usedPercent": window.used, "resetAt": window.reset_at}
    result.update(verdict="unknown", runOutAt=None, availableAt=None, pacePerHour=None)
    if window.used is None or window.sampled_at is None or window.reset_at is None or now >= window.reset_at:
        return result
    if window.used >= 100:
        result.update(verdict="exhausted", availableAt=window.reset_at)
        return result
    own = instance_samples(window, samples)
    if window.sampled_at not in {s.at for s in own}:
        own = sorted([*own, Sample(window.sampled_at, window.used, window.reset_at)], key=lambda s: s.at)
    pace = pace_of(own) if pace_of is not None and len(own) >= 2 else None
    anchor = own[-1] if own else Sample(window.sampled_at, window.used, window.reset_at)
    if pace is None:
        start = window_start(window)
        elapsed = (window.sampled_at - start) if start is not None else None
        if elapsed is None or elapsed <= 0:
            return result
        pace = window.used / (elapsed / HOUR_MS)
    pace = max(0.0, pace)
    result["pacePerHour"] = pace
    if pace <= 0:
        result["verdict"] = "lasts"
        return result
    run_out = anchor.at + round((100.0 - float(anchor.used or 0.0)) / pace * HOUR_MS)
    if run_out < window.reset_at:
        result.update(verdict="runs-out", runOutAt=run_out, availableAt=window.reset_at)
    else:
        result["verdict"] = "lasts"
    return result


def _account(record: Record, now: int, history: History | None, pace_of: Pace | None) -> Record:
    history = history or {}
    windows = [_window(w, now, history.get(w.key, ()), pace_of) for w in account_windows(record.get("quota"))]
    verdict, binding = "unknown", None
    if windows:
        binding = max(windows, key=_seriousness)
        verdict = binding["verdict"]
    return {
        "verdict": verdict,
        "bindingWindow": binding["name"] if binding and verdict != "unknown" else None,
        "runOutAt": binding["runOutAt"] if binding and verdict == "runs-out" else None,
        "availableAt": binding["availableAt"] if binding and verdict in ("exhausted", "runs-out") else None,
        "windows": windows,
    }


def previous(record: Record, now: int, history: History | None) -> Record:
    return _account(record, now, history, least_squares_pace)


def window_average(record: Record, now: int, history: History | None) -> Record:
    return _account(record, now, None, None)


def ewma(record: Record, now: int, history: History | None) -> Record:
    return _account(record, now, history, ewma_pace)


BASELINES: dict[str, Callable[[Record, int, History | None], Record]] = {
    "window average": window_average,
    "EWMA": ewma,
    "previous": previous,
}
