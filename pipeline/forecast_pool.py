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


def _turns(spans: list[tuple[int, int]], now: int, end: int) -> list[tuple[int, bool]]:
    """The moments in (now, end) at which an account stops or starts being usable (True: it
    starts), in time order: the ends of its spans merged, overlapping or touching ones as one,
    empty ones left out (usability changes nowhere else)."""
    merged: list[list[int]] = []
    for a, b in sorted(span for span in spans if span[0] < span[1]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    turns = []
    for a, b in merged:
        if now < a < end:
            turns.append((a, False))
        if now < b < end:
            turns.append((b, True))
    return turns


def pool_forecast(accounts: Sequence[Record], now: int, end: int, min_healthy: int | None = None) -> Record:
    """Usable accounts now and at each change before ``end``; when the count first falls
    below ``min_healthy``; the account to use next. ``accounts`` are scored records with
    their ``forecast`` (or with the forecast's fields at the top level).

    A sweep over the moments the accounts turn (:func:`_turns`): each account's spans are
    looked at once, so the cost grows with the spans, not with accounts x moments."""
    blocked = [_blocked(a, now, end) for a in accounts]
    usable_now = sum(_usable_at(spans, now) for spans in blocked)
    at_moment: dict[int, list[tuple[int, bool]]] = {}  # moment -> (position, usable from then), in pool order
    for position, spans in enumerate(blocked):
        for moment, usable in _turns(spans or [], now, end):
            at_moment.setdefault(moment, []).append((position, usable))
    changes: list[Record] = []
    count = usable_now  # the usable accounts just before each moment (usability only changes at one)
    lowest = usable_now
    below_at = now if min_healthy is not None and usable_now < min_healthy else None
    for moment in sorted(at_moment):
        turned = at_moment[moment]
        delta = sum(1 if usable else -1 for _position, usable in turned)
        if not delta:
            continue
        count += delta
        lowest = min(lowest, count)
        moved = [
            {
                "index": accounts[position]["index"],
                "accountId": accounts[position].get("accountId"),
                "email": accounts[position].get("email"),
                "change": "available" if usable else "runs-out",
            }
            for position, usable in turned
        ]
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
