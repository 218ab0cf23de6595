"""The one event engine: what changed between two states of an account or of the pool, for
``codex auth watch`` (two snapshots of the report) and ``codex auth history --events`` (two
observations in the history).

Both commands build the same small state (:class:`Account`, its :class:`Window` s, and for
``watch`` a :class:`Pool`) from what they have (:mod:`pipeline.service.events` from a View,
:mod:`pipeline.history.events` from a history row), and this module finds the changes
(:class:`Change`), with the one rule for each:

* **a reset** (:func:`window_reset`): the announced reset time passed, unless the later
  state still reads the same window running (the same reset time, within 5 minutes, and a
  used percent) or the earlier state was already past it (``reset``, at that time); before
  it, the used percent fell by more than half a point (``reset-early``); or, the window in
  use, the announced reset moved more than 5 minutes later (``reset-moved-later``);
* **a global reset** (:class:`GlobalResets`): every account of a run (two or more) reset early
  in one window at once: one change for the pool instead of one per account;
* **a threshold** (quota left fell to or below one; the lowest crossed is named), when the
  window did not reset;
* **broken / recovered**: the status became ``error`` or left it (the scoring policy decides
  which failures are errors), or the account was flagged or unflagged;
* **rate-limited / lifted**, **plan changed**, **added / removed**, and the pool's healthy
  accounts against ``--min-healthy``.

Each change has one entry in :data:`KINDS` naming it as each command prints it; a command
leaves out what it has no name for. :func:`watch_event` and :func:`history_event` write a
change in each command's form (``codex-auth schema event``; docs/FORECAST.md), with its details
and, for ``watch``, its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Event = dict[str, Any]  # a JSON object, as each command writes it
DEFAULT_THRESHOLDS = (25, 10, 5)
SAME_RESET_MS = 5 * 60_000  # reset times closer than this are the same window (jitter)
FELL_POINTS = 0.5  # the used percent must fall by more than this to be a reset


@dataclass(frozen=True)
class Window:
    name: str  # 5h, 7d, 30d, or another length
    used: float | None  # percent used, None when unknown
    reset_at: int | None  # ms

    @property
    def left(self) -> float | None:
        return None if self.used is None else 100 - self.used


@dataclass(frozen=True)
class Account:
    """One account as seen at ``at``; ``windows`` in the order events name them, each under a
    key that is the same from one state to the next."""

    key: str
    at: int
    account_id: str | None
    email: str | None
    name: str
    index: int | None
    status: str | None
    rate_limited: bool
    rate_limit_reset_at: int | None = None
    plan: str | None = None
    probe_outcome: str | None = None
    probe_error: str | None = None
    windows: tuple[tuple[str, Window], ...] = ()

    @property
    def broken(self) -> bool:
        return self.status == "error"


@dataclass(frozen=True)
class Pool:
    at: int
    healthy: int
    accounts: Mapping[str, Account]
    flagged: Mapping[str, Account] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    kind: str  # a key of KINDS
    at: int
    now: Account | None  # None: about the pool
    before: Account | None = None
    window: Window | None = None
    previous: Window | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


class Names(NamedTuple):
    watch: str | None  # the kind as `watch` prints it (None: watch leaves it out)
    history: str | None  # as `history --events` prints it


KINDS: dict[str, Names] = {
    "reset": Names("window-reset", "reset"),
    "reset-early": Names("window-reset", "reset-early"),
    "reset-moved-later": Names(None, "reset-moved-later"),
    "reset-global": Names(None, "reset-global"),
    "quota-threshold": Names("quota-threshold", None),
    "broken": Names("account-broken", "token-broken"),
    "recovered": Names("account-recovered", "token-recovered"),
    "flagged": Names("account-broken", None),
    "unflagged": Names("account-recovered", None),
    "rate-limited": Names("rate-limited", "rate-limit-hit"),
    "rate-limit-lifted": Names("rate-limit-lifted", "rate-limit-lifted"),
    "plan-changed": Names(None, "plan-changed"),
    "added": Names(None, "account-added"),
    "removed": Names(None, "account-removed"),
    "below-min-healthy": Names("pool-below-min-healthy", None),
    "min-healthy-again": Names("pool-min-healthy-again", None),
}


# --- the rules -----------------------------------------------------------------------------


def window_reset(old: Window, new: Window, previous_at: int, at: int) -> tuple[str, int] | None:
    """The reset between two states of a window, as (kind, when), or None."""
    r1, r2, u1, u2 = old.reset_at, new.reset_at, old.used, new.used
    if r1 is None:
        return None
    if at >= r1:
        same = r2 is not None and abs(r2 - r1) <= SAME_RESET_MS and u2 is not None  # still read running
        said = previous_at >= r1 and u1 is None  # the earlier state was past it already
        return None if same or said else ("reset", r1)
    if r2 is None:
        return None
    if u1 is not None and u2 is not None and u2 < u1 - FELL_POINTS:
        return "reset-early", at
    if r2 > r1 + SAME_RESET_MS and u1:  # an unstarted window (0 %) slides: not news
        return "reset-moved-later", at
    return None


def account_changes(before: Account, now: Account, thresholds: Sequence[int] = ()) -> Iterator[Change]:
    """What changed on one account: its status, its rate limit, its plan, then each window."""
    at = now.at
    if now.broken != before.broken:
        yield Change("broken" if now.broken else "recovered", at, now, before)
    if now.rate_limited != before.rate_limited:
        yield Change("rate-limited" if now.rate_limited else "rate-limit-lifted", at, now, before)
    if before.plan and now.plan and before.plan != now.plan:
        yield Change("plan-changed", at, now, before)
    old_windows = dict(before.windows)
    for key, new in now.windows:
        old = old_windows.get(key)
        if old is None:
            continue
        reset = window_reset(old, new, before.at, at)
        if reset is not None:
            yield Change(reset[0], reset[1], now, before, new, old)
        if reset is None or reset[0] == "reset-moved-later":
            left, was = new.left, old.left
            crossed = [t for t in thresholds if left is not None and was is not None and left <= t < was]
            if crossed:
                yield Change("quota-threshold", at, now, before, new, old, {"threshold": min(crossed)})


def pool_changes(
    previous: Pool | None, current: Pool, thresholds: Sequence[int] = (), min_healthy: int | None = None
) -> list[Change]:
    """The changes between two states of the pool: the pool's first, then each account in
    pool order, then the newly flagged. A first state makes only ``below-min-healthy``."""
    changes: list[Change] = []
    if min_healthy is not None:
        was_below = previous is not None and previous.healthy < min_healthy
        if current.healthy < min_healthy and not was_below:
            changes.append(_pool_change("below-min-healthy", current, previous, min_healthy))
        elif previous is not None and was_below and current.healthy >= min_healthy:
            changes.append(_pool_change("min-healthy-again", current, previous, min_healthy))
    if previous is None:
        return changes
    for account in sorted(current.accounts.values(), key=lambda a: a.index or 0):
        before = previous.accounts.get(account.key)
        if before is None:
            if account.key in previous.flagged and not account.broken:
                changes.append(Change("unflagged", current.at, account, previous.flagged[account.key]))
            continue
        changes.extend(account_changes(before, account, thresholds))
    for key, account in current.flagged.items():
        was = previous.accounts.get(key)
        if key not in previous.flagged and not (was is not None and was.broken):  # broken: already said
            changes.append(Change("flagged", current.at, account, was))
    return changes


def _pool_change(kind: str, current: Pool, previous: Pool | None, minimum: int) -> Change:
    facts = {"healthy": current.healthy, "minHealthy": minimum}
    if previous is not None:
        facts["previousHealthy"] = previous.healthy
    return Change(kind, current.at, None, facts=facts)


def membership(at: int, before: Mapping[str, Account], now: Mapping[str, Account]) -> Iterator[Change]:
    """Accounts added and removed between two runs, each in key order."""
    for key in sorted(now.keys() - before.keys()):
        yield Change("added", at, now[key])
    for key in sorted(before.keys() - now.keys()):
        yield Change("removed", at, before[key])


class GlobalResets:
    """The global reset rule, over changes that arrive account by account: a window that reset
    early on every account of a run (two or more) at once is one ``reset-global`` change with
    the number of accounts, instead of one ``reset-early`` each. :meth:`hold` keeps back the
    early resets, :meth:`paired` counts the accounts of each run, :meth:`release` gives back
    the held changes once every run is seen."""

    def __init__(self) -> None:
        self._early: dict[tuple[object, str], list[Change]] = {}
        self._paired: dict[object, int] = {}

    def paired(self, run: object) -> None:
        self._paired[run] = self._paired.get(run, 0) + 1

    def hold(self, change: Change, run: object) -> bool:
        """Whether the change is held back (an early reset) rather than to be written now."""
        if change.kind != "reset-early" or change.window is None:
            return False
        self._early.setdefault((run, change.window.name), []).append(change)
        return True

    def release(self) -> Iterator[Change]:
        merged = []
        for (run, name), group in self._early.items():
            if len(group) >= 2 and len(group) == self._paired.get(run, 0):
                merged.append((name, group))
            else:
                yield from group
        for name, group in merged:
            first = min(group, key=lambda c: c.at)
            facts = {
                "accounts": len(group),
                "usedBefore": max(_used(c.previous) for c in group),
                "usedAfter": max(_used(c.window) for c in group),
            }
            yield Change("reset-global", first.at, None, window=Window(name, None, None), facts=facts)


def _used(window: Window | None) -> float:
    assert window is not None and window.used is not None  # an early reset knows both
    return window.used


# --- the two forms -------------------------------------------------------------------------

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


def watch_events(changes: Iterable[Change], at: int) -> list[Event]:
    """The changes ``watch`` has a name for, as its events (``codex-auth schema event``), all at
    ``at``: the snapshot that shows them."""
    return [_watch_event(c, kind, at) for c in changes if (kind := KINDS[c.kind].watch) is not None]


def _watch_event(change: Change, kind: str, at: int) -> Event:
    details = _watch_details(change)
    account = change.now
    if account is None:
        return {"at": at, "kind": kind, "details": details, "message": MESSAGES[kind].format(name="", **details)}
    event: Event = {"at": at, "kind": kind, "account": account.name}
    if account.index is not None:
        event["index"] = account.index
    if account.account_id:
        event["accountId"] = account.account_id
    if account.email:
        event["email"] = account.email
    window = change.window.name if change.window else None
    if window:
        event["window"] = window
    event["details"] = {k: v for k, v in details.items() if v is not None}
    facts = {"status": "active", "previousStatus": "unknown", **event["details"]}
    event["message"] = MESSAGES[kind].format(name=account.name, window=window, **facts)
    return event


def _watch_details(change: Change) -> dict[str, Any]:
    kind, now, before, new, old = change.kind, change.now, change.before, change.window, change.previous
    if kind in ("reset", "reset-early"):
        return {"resetAt": change.at, "remainingPercent": _percent(new.left if new else None)}
    if kind == "quota-threshold":
        return {
            "threshold": change.facts["threshold"],
            "remainingPercent": _percent(new.left if new else None),
            "previousPercent": _percent(old.left if old else None),
        }
    if kind in ("broken", "recovered"):
        return {"status": now.status if now else None, "previousStatus": before.status if before else None}
    if kind == "flagged":
        return {"status": "flagged", "previousStatus": before.status if before else None}
    if kind == "unflagged":
        return {"status": now.status if now else None, "previousStatus": "flagged"}
    if kind == "rate-limited":
        return {"resetAt": now.rate_limit_reset_at if now else None}
    return dict(change.facts)


def _percent(value: float | None) -> float | int | None:
    """Percent left as watch states it: whole numbers stay whole."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def history_event(change: Change) -> Event | None:
    """The change as ``history --events`` writes it (None: history has no name for it)."""
    kind = KINDS[change.kind].history
    if kind is None:
        return None
    now, before, new, old = change.now, change.before, change.window, change.previous
    details: dict[str, Any] = dict(change.facts)
    if change.kind in ("reset", "reset-early", "reset-moved-later") and new and old:
        details = _reset_details(change.kind, old, new)
    elif change.kind == "plan-changed" and now and before:
        details = {"from": before.plan, "to": now.plan}
    elif change.kind == "broken" and now:
        details = {"outcome": now.probe_outcome, "errorCode": now.probe_error, "status": now.status}
    elif change.kind == "recovered" and now:
        details = {"outcome": now.probe_outcome}
    return {
        "at": change.at,
        "kind": kind,
        "accountId": now.account_id if now else None,
        "email": now.email if now else None,
        "window": new.name if new else None,
        "details": details,
    }


def _reset_details(kind: str, old: Window, new: Window) -> dict[str, Any]:
    if kind == "reset":
        return {"resetAt": old.reset_at, "nextResetAt": new.reset_at, "usedBefore": old.used, "usedAfter": new.used}
    if kind == "reset-early":
        return {
            "expectedResetAt": old.reset_at,
            "nextResetAt": new.reset_at,
            "usedBefore": old.used,
            "usedAfter": new.used,
        }
    return {"from": old.reset_at, "to": new.reset_at, "usedPercent": new.used}


def parse_thresholds(text: str) -> tuple[int, ...]:
    """``25,10,5`` -> (25, 10, 5); each an integer from 1 to 99."""
    values = []
    for part in text.split(","):
        part = part.strip().rstrip("%")
        if not part.isdigit() or not 1 <= int(part) <= 99:
            raise ValueError(f"{part!r} is not a whole percent from 1 to 99")
        values.append(int(part))
    return tuple(sorted(set(values), reverse=True))
