"""The forecast: when each account and the pool run out. Pure functions, no I/O.

For every quota window of an account (the 5-hour and 7-day windows, the probe model's own
limit, a monthly spend limit) the forecast takes a pace in percentage points per hour and
asks whether the window reaches 100 % before it resets:

* ``history`` basis: at least two samples of the same window instance (samples taken
  since the window's current start whose reset time matches) give the pace as the slope of
  a least-squares line through (time, used percent);
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

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline import quota as q

Record = dict[str, Any]
HOUR_MS = 3_600_000
DEFAULT_HORIZON_MS = 7 * 24 * HOUR_MS
RESET_TOLERANCE_MS = 5 * 60_000  # samples of one window instance agree on its reset within this
SEVERITY = {"lasts": 0, "unknown": 1, "runs-out": 2, "exhausted": 3}
VERDICTS = tuple(SEVERITY)
UNUSABLE_STATUSES = ("disabled", "error")


@dataclass(frozen=True)
class Sample:
    """One observation of a window: when, how much was used, when it resets."""

    at: int
    used: float | None
    reset_at: int | None


History = Mapping[str, Sequence[Sample]]  # window key -> samples, oldest first


@dataclass(frozen=True)
class WindowFacts:
    key: str  # stable identity in the history: "codex/300", "codex_bengalfox/300", "spend/individual"
    name: str  # for people: "5h", "7d", "codex_bengalfox 5h", "monthly spend"
    limit: str
    minutes: int | None
    used: float | None
    reset_at: int | None
    sampled_at: int | None
    monthly: bool = False


def window_key(limit: str, minutes: int | None) -> str:
    """A window's identity in the history: its limit and its known length (17940 s and 18000 s
    are the same 5 h window, within the official 5 % tolerance), else its own length."""
    known = q.window_kind(minutes) or minutes
    return f"{limit}/{known if known is not None else '-'}"


def account_windows(quota: Record | None) -> list[WindowFacts]:
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


def forecast_window(window: WindowFacts, now: int, samples: Sequence[Sample] = ()) -> Record:
    result: Record = {
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
        "note": None,
    }
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
    if window.sampled_at not in {s.at for s in own}:
        own = sorted([*own, Sample(window.sampled_at, window.used, window.reset_at)], key=lambda s: s.at)
    pace = least_squares_pace(own) if len(own) >= 2 else None
    anchor = own[-1] if own else Sample(window.sampled_at, window.used, window.reset_at)
    if pace is not None:
        result.update(basis="history", method="least-squares", samples=len(own))
    else:
        start = window_start(window)
        elapsed = (window.sampled_at - start) if start is not None else None
        if elapsed is None or elapsed <= 0:
            result["note"] = "the window had not begun when it was sampled"
            return result
        pace = window.used / (elapsed / HOUR_MS)
        result.update(basis="window-average", method="window-average", samples=1)
    pace = max(0.0, pace)
    result["pacePerHour"] = round(pace, 3)
    used_now = float(anchor.used or 0.0)
    if pace <= 0:
        result.update(verdict="lasts", note="no use measured in this window")
        return result
    run_out = anchor.at + round((100.0 - used_now) / pace * HOUR_MS)
    if run_out < window.reset_at:
        result.update(verdict="runs-out", runOutAt=run_out, availableAt=window.reset_at)
    else:
        result["verdict"] = "lasts"
    return result


def forecast_account(record: Record, now: int, history: History | None = None) -> Record:
    """The ``forecast`` an account record carries: every window's forecast and the verdict
    of the most serious one. ``record`` should be scored (status, rateLimited)."""
    history = history or {}
    windows = [forecast_window(w, now, history.get(w.key, ())) for w in account_windows(record.get("quota"))]
    verdict, binding = "unknown", None
    if windows:
        binding_window = max(windows, key=_seriousness)
        verdict, binding = binding_window["verdict"], binding_window
    run_out = binding["runOutAt"] if binding else None
    available = binding["availableAt"] if binding else None
    binding_name = binding["name"] if binding and verdict != "unknown" else None
    if verdict != "exhausted" and record.get("rateLimited"):
        verdict, binding_name, run_out = "exhausted", "rate-limit", None
        available = record.get("rateLimitResetAt")
    return {
        "verdict": verdict,
        "bindingWindow": binding_name,
        "runOutAt": run_out if verdict == "runs-out" else None,
        "availableAt": available if verdict in ("exhausted", "runs-out") else None,
        "windows": windows,
    }


def _seriousness(window: Record) -> tuple[int, int]:
    verdict = window["verdict"]
    if verdict == "exhausted":
        return (SEVERITY[verdict], int(window["availableAt"] or 0))  # free when the last one resets
    if verdict == "runs-out":
        return (SEVERITY[verdict], -int(window["runOutAt"]))  # the first to run out binds
    return (SEVERITY[verdict], int(window["usedPercent"] or 0))  # else the one with least headroom


# --- the pool ------------------------------------------------------------------------


def horizon_end(now: int, horizon_ms: int | None) -> int:
    return now + (horizon_ms if horizon_ms is not None else DEFAULT_HORIZON_MS)


def _blocked(account: Record, now: int, end: int) -> list[tuple[int, int]] | None:
    """The spans in [now, end) when the account cannot work; None when it never can
    (disabled, broken)."""
    if account.get("status") in UNUSABLE_STATUSES or account.get("enabled") is False:
        return None
    forecast = account.get("forecast") or account
    spans: list[tuple[int, int]] = []
    if forecast.get("bindingWindow") == "rate-limit":
        spans.append((now, forecast.get("availableAt") or end))
    for window in forecast.get("windows") or []:
        if window["verdict"] == "exhausted":
            spans.append((now, window["availableAt"]))
        elif window["verdict"] == "runs-out":
            spans.append((max(now, window["runOutAt"]), window["availableAt"]))
    return [(a, min(b, end)) for a, b in spans if b > now and a < end]


def _usable_at(spans: list[tuple[int, int]] | None, moment: int) -> bool:
    return spans is not None and not any(a <= moment < b for a, b in spans)


def pool_forecast(accounts: Sequence[Record], now: int, end: int, min_healthy: int | None = None) -> Record:
    """Usable accounts now and at each change before ``end``; when the count first falls
    below ``min_healthy``; the account to use next. ``accounts`` are scored records with
    their ``forecast`` (or with the forecast's fields at the top level)."""
    blocked = [_blocked(a, now, end) for a in accounts]
    usable_now = sum(_usable_at(spans, now) for spans in blocked)
    moments = sorted({t for spans in blocked if spans for span in spans for t in span if now < t < end})
    changes: list[Record] = []
    count = usable_now
    lowest = usable_now
    below_at = now if min_healthy is not None and usable_now < min_healthy else None
    for moment in moments:
        moved: list[Record] = []
        for account, spans in zip(accounts, blocked, strict=True):
            before, after = _usable_at(spans, moment - 1), _usable_at(spans, moment)
            if before != after:
                moved.append(
                    {
                        "index": account["index"],
                        "accountId": account.get("accountId"),
                        "email": account.get("email"),
                        "change": "available" if after else "runs-out",
                    }
                )
        if not moved:
            continue
        new_count = sum(_usable_at(spans, moment) for spans in blocked)
        if new_count == count:
            continue
        count = new_count
        lowest = min(lowest, count)
        changes.append({"at": moment, "usable": count, "accounts": moved})
        if below_at is None and min_healthy is not None and count < min_healthy:
            below_at = moment
    return {
        "accounts": len(accounts),
        "usableNow": usable_now,
        "lowestUsable": lowest,
        "changes": changes,
        "minHealthy": min_healthy,
        "belowMinHealthyAt": below_at,
        "next": next_account(accounts, blocked, now),
    }


def next_account(accounts: Sequence[Record], blocked: Sequence[Any], now: int) -> Record | None:
    """Among the accounts usable now: one that lasts, then one whose forecast is unknown, then
    the one that runs out last; ties go to the higher health score, then pool order."""
    candidates = [a for a, spans in zip(accounts, blocked, strict=True) if _usable_at(spans, now)]
    if not candidates:
        return None

    def rank(account: Record) -> tuple[int, int, int, int]:
        forecast = account.get("forecast") or account
        verdict = forecast.get("verdict", "unknown")
        order = {"lasts": 0, "unknown": 1, "runs-out": 2}.get(verdict, 3)
        run_out = forecast.get("runOutAt") or 0
        return (order, -run_out, -int(account.get("healthScore") or 0), int(account["index"]))

    chosen = min(candidates, key=rank)
    forecast = chosen.get("forecast") or chosen
    verdict = forecast.get("verdict", "unknown")
    if verdict == "lasts":
        reasoning = "lasts through every window's reset at its current pace"
    elif verdict == "runs-out":
        reasoning = (
            f"every usable account runs out before a reset; this one lasts longest ({forecast.get('bindingWindow')})"
        )
    else:
        reasoning = "usable now; too little data to forecast the others better"
    others = [a for a in candidates if a is not chosen and (a.get("forecast") or a).get("verdict") == verdict]
    if others and verdict == "lasts":
        reasoning += ", with the best health score among those that last"
    return {
        "index": chosen["index"],
        "accountId": chosen.get("accountId"),
        "email": chosen.get("email"),
        "verdict": verdict,
        "reasoning": reasoning,
    }
