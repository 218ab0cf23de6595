"""The pool's side of the forecast: the spans each account cannot work (from its windows
played forward, :mod:`pipeline.forecast`), the pool's timeline of usable accounts within the
horizon, when it falls below ``--min-healthy``, and the account to use next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.choosing import Outlook, choose_ahead
from pipeline.forecast import UNUSABLE_STATUSES
from pipeline.records import Record


def _blocked(account: Record, now: int, end: int) -> list[tuple[int, int]] | None:
    """The spans in [now, end) when the account cannot work; None when it never can
    (disabled, broken)."""
    if account.get("status") in UNUSABLE_STATUSES or account.get("enabled") is False:
        return None
    forecast = account.get("forecast") or account
    spans: list[tuple[int, int]] = []
    if forecast.get("bindingWindow") == "rate-limit":
        spans.append((now, forecast.get("availableAt") or end))
    if forecast.get("blocked") is not None:  # the windows played forward: tomorrow's caps too
        spans.extend((span["from"], span["until"]) for span in forecast["blocked"])
        return [(a, min(b, end)) for a, b in spans if b > now and a < end]
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
    """The account to use next among those usable now, by their forecasts
    (:func:`pipeline.choosing.choose_ahead`)."""
    candidates = [a for a, spans in zip(accounts, blocked, strict=True) if _usable_at(spans, now)]
    return choose_ahead(candidates, [_outlook(a) for a in candidates])


def _outlook(account: Record) -> Outlook:
    forecast = account.get("forecast") or account
    return Outlook(forecast.get("verdict", "unknown"), forecast.get("runOutAt"), forecast.get("bindingWindow"))
