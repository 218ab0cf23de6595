"""What changed between two snapshots of the report, as events (``codex auth watch``).

:func:`pool_state` boils a :class:`View` down to the facts events are made of, and
:func:`detect_events` compares two of them; both are pure, so every rule is a unit test.
Each event is one JSON object (``codex-auth schema event``):

* ``quota-threshold``: an account's quota left in a window fell to or below a threshold
  (default 25, 10 and 5 percent); one event per window and snapshot, naming the lowest
  threshold crossed;
* ``window-reset``: a window's reset time passed between the two snapshots, or the service
  now reports a later reset with more quota left (reset early);
* ``account-broken`` / ``account-recovered``: the status became ``error`` or left it, or
  the account was flagged or unflagged;
* ``rate-limited`` / ``rate-limit-lifted``: a rate limit came into force or ended;
* ``pool-below-min-healthy`` / ``pool-min-healthy-again``: the number of healthy accounts
  fell below ``--min-healthy`` or came back to it.

The first snapshot has nothing to compare with: it makes only ``pool-below-min-healthy``,
when the pool starts below the minimum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.records import Status, account_key
from pipeline.report.view import View
from pipeline.report.wording import flagged_name

Event = dict[str, Any]
DEFAULT_THRESHOLDS = (25, 10, 5)
WINDOWS = ("5h", "7d", "30d")  # first, in this order; then any other length (pipeline.quota.window_label)
EARLY_RESET_SLACK_MS = 60_000  # a reset time moving later by less than this is jitter, not a reset


@dataclass(frozen=True)
class WindowState:
    remaining: int | None  # percent left, None when unknown
    reset_at: int | None  # ms


@dataclass(frozen=True)
class AccountState:
    key: str
    index: int
    account_id: str | None
    email: str | None
    name: str
    status: Status
    rate_limited: bool
    rate_limit_reset_at: int | None
    windows: dict[str, WindowState] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolState:
    at: int  # ms, when the snapshot was generated
    healthy: int
    accounts: dict[str, AccountState]
    flagged: dict[str, tuple[str | None, str | None, str]]  # key -> (accountId, email, name)


def pool_state(view: View) -> PoolState:
    accounts = {}
    for account in view.accounts:
        record = account.record
        windows = {
            label: WindowState(window.remaining, window.reset_at) for label, window in account.labelled_windows()
        }
        state = AccountState(
            account_key(record),
            account.index,
            record.get("accountId"),
            record.get("email"),
            account.name,
            account.status,
            bool(record.get("rateLimited")),
            record.get("rateLimitResetAt"),
            windows,
        )
        accounts[state.key] = state
    flagged = {account_key(f): (f.get("accountId"), f.get("email"), flagged_name(f)) for f in view.flagged}
    return PoolState(view.generated_at, view.status_counts()["healthy"], accounts, flagged)


def detect_events(
    previous: PoolState | None,
    current: PoolState,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    min_healthy: int | None = None,
) -> list[Event]:
    """The events between two snapshots, in a stable order: pool first, then per account in
    pool order, then flagged accounts."""
    events: list[Event] = []
    at = current.at
    if min_healthy is not None:
        was_below = previous is not None and previous.healthy < min_healthy
        if current.healthy < min_healthy and not was_below:
            events.append(_pool(at, "pool-below-min-healthy", current, min_healthy, previous))
        elif previous is not None and was_below and current.healthy >= min_healthy:
            events.append(_pool(at, "pool-min-healthy-again", current, min_healthy, previous))
    if previous is None:
        return events
    for account in sorted(current.accounts.values(), key=lambda a: a.index):
        before = previous.accounts.get(account.key)
        if before is None:
            if account.key in previous.flagged and account.status != "error":
                events.append(
                    _account(at, "account-recovered", account, {"status": account.status, "previousStatus": "flagged"})
                )
            continue
        events.extend(_account_events(at, before, account, previous.at, thresholds))
    for key, (account_id, email, name) in current.flagged.items():
        if key in previous.flagged:
            continue
        was = previous.accounts.get(key)
        if was is not None and was.status == "error":
            continue  # already said when it broke
        events.append(
            _event(
                at,
                "account-broken",
                account_id,
                email,
                name,
                None,
                {"status": "flagged", "previousStatus": was.status if was else None},
            )
        )
    return events


def _account_events(
    at: int, before: AccountState, now: AccountState, previous_at: int, thresholds: Sequence[int]
) -> Iterable[Event]:
    if now.status == "error" and before.status != "error":
        yield _account(at, "account-broken", now, {"status": now.status, "previousStatus": before.status})
    elif before.status == "error" and now.status != "error":
        yield _account(at, "account-recovered", now, {"status": now.status, "previousStatus": before.status})
    if now.rate_limited and not before.rate_limited:
        yield _account(at, "rate-limited", now, {"resetAt": now.rate_limit_reset_at})
    elif before.rate_limited and not now.rate_limited:
        yield _account(at, "rate-limit-lifted", now, {})
    labels = [w for w in WINDOWS if w in now.windows] + sorted(set(now.windows) - set(WINDOWS))
    for label in labels:
        old, new = before.windows.get(label), now.windows.get(label)
        if old is None or new is None:
            continue
        reset = _reset(old, new, previous_at, at)
        if reset is not None:
            yield _account(at, "window-reset", now, {"resetAt": reset, "remainingPercent": new.remaining}, window=label)
        elif old.remaining is not None and new.remaining is not None:
            crossed = [t for t in thresholds if new.remaining <= t < old.remaining]
            if crossed:
                yield _account(
                    at,
                    "quota-threshold",
                    now,
                    {"threshold": min(crossed), "remainingPercent": new.remaining, "previousPercent": old.remaining},
                    window=label,
                )


def _reset(old: WindowState, new: WindowState, previous_at: int, at: int) -> int | None:
    """When the window reset between the snapshots, or None."""
    if old.reset_at is not None and previous_at < old.reset_at <= at:
        return old.reset_at
    if (
        old.reset_at is not None
        and new.reset_at is not None
        and new.reset_at > old.reset_at + EARLY_RESET_SLACK_MS
        and new.remaining is not None
        and old.remaining is not None
        and new.remaining > old.remaining
    ):
        return at  # reset early: the service moved the reset and gave the quota back
    return None


def _account(at: int, kind: str, account: AccountState, details: dict[str, Any], window: str | None = None) -> Event:
    return _event(at, kind, account.account_id, account.email, account.name, account.index, details, window)


def _event(
    at: int,
    kind: str,
    account_id: str | None,
    email: str | None,
    name: str,
    index: int | None,
    details: dict[str, Any],
    window: str | None = None,
) -> Event:
    event: Event = {"at": at, "kind": kind, "account": name}
    if index is not None:
        event["index"] = index
    if account_id:
        event["accountId"] = account_id
    if email:
        event["email"] = email
    if window:
        event["window"] = window
    event["details"] = {k: v for k, v in details.items() if v is not None}
    event["message"] = _message(kind, name, window, event["details"])
    return event


def _pool(at: int, kind: str, current: PoolState, minimum: int, previous: PoolState | None) -> Event:
    details = {"healthy": current.healthy, "minHealthy": minimum}
    if previous is not None:
        details["previousHealthy"] = previous.healthy
    return {"at": at, "kind": kind, "details": details, "message": _message(kind, "", None, details)}


MESSAGES = {
    "quota-threshold": "{name}: {remainingPercent}% of the {window} quota left (below {threshold}%)",
    "window-reset": "{name}: the {window} window reset",
    "account-broken": "{name}: broken ({status}, was {previousStatus})",
    "account-recovered": "{name}: works again ({status}, was {previousStatus})",
    "rate-limited": "{name}: rate-limited",
    "rate-limit-lifted": "{name}: rate limit lifted",
    "pool-below-min-healthy": "{healthy} healthy account(s), fewer than --min-healthy {minHealthy}",
    "pool-min-healthy-again": "{healthy} healthy account(s) again, at least --min-healthy {minHealthy}",
}


def _message(kind: str, name: str, window: str | None, details: dict[str, Any]) -> str:
    facts = {"status": "active", "previousStatus": "unknown", **details}
    return MESSAGES[kind].format(name=name, window=window, **facts)


def parse_thresholds(text: str) -> tuple[int, ...]:
    """``25,10,5`` -> (25, 10, 5); each an integer from 1 to 99."""
    values = []
    for part in text.split(","):
        part = part.strip().rstrip("%")
        if not part.isdigit() or not 1 <= int(part) <= 99:
            raise ValueError(f"{part!r} is not a whole percent from 1 to 99")
        values.append(int(part))
    return tuple(sorted(set(values), reverse=True))
