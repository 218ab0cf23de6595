"""A seeded usage simulator with ground truth, for the forecast's accuracy benchmark.

Every account is a kind of user (office hours on weekdays, a night owl, bursty weekends,
steady) in a time zone of its own, with a day-to-day intensity that varies. Its use goes
through a 5-hour and a weekly window with the service's rules: no use while a window is at
100 %; a window that resets is at 0 % and begins at the next use; now and then every
account is reset at once (a global reset). Every :data:`RUN_MS` a live run is recorded into a
real history database through the tool's own code (``observations`` and ``HistoryStore``),
and the truth says, for every window instance, whether and when it ran out, and at every
step how many accounts were usable.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.history.samples import observations
from pipeline.history.store import HistoryStore

MIN_MS = 60_000
HOUR_MS = 60 * MIN_MS
DAY_MS = 24 * HOUR_MS
FIVE_MS, WEEK_MS = 5 * HOUR_MS, 7 * DAY_MS
STEP_MS = 5 * MIN_MS
RUN_MS = 30 * MIN_MS
START = 1_771_804_800_000  # 2026-02-23T00:00:00Z, a Monday
KINDS = ("office", "night-owl", "weekend", "steady")


@dataclass
class User:
    index: int
    kind: str
    tz_hours: int
    rate: float  # 5h points per active hour
    weekly_per_five: float  # weekly points per 5h point
    day_scale: dict[int, float] = field(default_factory=dict)
    stops_at: int | None = None

    def active(self, at: int, rng: random.Random) -> float:
        """The 5h points this user would use in the step starting at ``at`` (0 when idle)."""
        if self.stops_at is not None and at >= self.stops_at:
            return 0.0
        local = at + self.tz_hours * HOUR_MS
        day = local // DAY_MS
        hour = (local % DAY_MS) / HOUR_MS
        weekday = (day + 3) % 7  # 0 Monday
        scale = self.day_scale.setdefault(day, rng.lognormvariate(0.0, 0.35))
        if self.kind == "office":
            on = weekday < 5 and (9 <= hour < 12.5 or 13.5 <= hour < 17.5)
        elif self.kind == "night-owl":
            on = hour >= 21 or hour < 2.5
        elif self.kind == "weekend":
            on = (weekday >= 5 and 10 <= hour < 20) or (weekday < 5 and 19 <= hour < 20.5 and scale > 1.1)
        else:
            on = 7 <= hour < 23
        if not on or rng.random() < 0.15:
            return 0.0
        return self.rate * scale * STEP_MS / HOUR_MS * rng.uniform(0.5, 1.5)


@dataclass
class Window:
    length: int
    used: float = 0.0
    reset_at: int | None = None  # None: not begun (begins at the next use)
    instance_runs_out: dict[int, int | None] = field(default_factory=dict)  # reset -> ran out at

    def tick(self, at: int) -> None:
        if self.reset_at is not None and at >= self.reset_at:
            self.used, self.reset_at = 0.0, None

    def shown_reset(self, at: int) -> int:
        return self.reset_at if self.reset_at is not None else at + self.length


@dataclass
class Truth:
    start: int
    end: int
    usable: list[int]  # per step: accounts usable
    instances: dict[tuple[int, int], dict[int, int | None]]  # (account, window length) -> reset -> ran out at

    def usable_between(self, a: int, b: int) -> list[int]:
        first = max(0, (a - self.start) // STEP_MS)
        last = min(len(self.usable), (b - self.start) // STEP_MS)
        return self.usable[first:last]


def make_users(count: int, rng: random.Random, kinds: tuple[str, ...] = KINDS) -> list[User]:
    users = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        rate = {"office": 26.0, "night-owl": 30.0, "weekend": 28.0, "steady": 7.0}[kind] * rng.uniform(0.7, 1.4)
        users.append(User(n, kind, rng.choice((-8, -5, 0, 1, 5, 9)), rate, rng.uniform(0.1, 0.17)))
    return users


def account_record(user: User, at: int, five: Window, week: Window) -> dict[str, Any]:
    """The account as ``collect`` gives it after a live probe."""
    return {
        "kind": "account",
        "index": user.index,
        "accountId": f"acct-{user.index:03d}",
        "email": f"user{user.index:03d}@example.com",
        "emailSource": "stored",
        "label": None,
        "workspace": None,
        "enabled": True,
        "isCurrent": user.index == 0,
        "addedAt": START - 30 * DAY_MS,
        "lastUsed": at,
        "plan": "plus",
        "token": {
            "hasAccessToken": True,
            "hasRefreshToken": True,
            "accessExpiresAt": at + 5 * DAY_MS,
            "lastRefreshAt": at - HOUR_MS,
            "lastRefreshSource": "access-token-iat",
        },
        "rateLimit": {"resetTimes": {}, "coolingDownUntil": None, "cooldownReason": None},
        "authInvalidatedAt": None,
        "authInvalidationErrorCode": None,
        "quota": {
            "source": "live",
            "sampledAt": at,
            "httpStatus": 200,
            "model": "gpt-5-codex",
            "planType": "plus",
            "limitReached": five.used >= 100 or week.used >= 100,
            "windows": [
                {"windowMinutes": 300, "usedPercent": round(five.used), "resetAt": five.shown_reset(at)},
                {"windowMinutes": 10080, "usedPercent": round(week.used), "resetAt": week.shown_reset(at)},
            ],
            "credits": None,
        },
    }


def pool_record(at: int, accounts: int) -> dict[str, Any]:
    return {
        "kind": "pool",
        "schemaVersion": 1,
        "collectedAt": at,
        "source": "codex-multi-auth",
        "dir": "/pool",
        "storage": {"path": "/pool/openai-codex-accounts.json", "state": "healthy", "format": "accounts-v3"}
        | {"recoveredFrom": None, "details": None},
        "flaggedStorage": {"path": "/pool/openai-codex-flagged-accounts.json", "state": "missing"}
        | {"format": None, "recoveredFrom": None, "details": None},
        "quotaCache": {"path": "/pool/quota-cache.json", "state": "ok", "entries": accounts, "details": None},
        "currentIndex": 0,
        "accountCount": accounts,
        "flaggedCount": 0,
        "warnings": [],
    }


@dataclass
class Simulation:
    users: list[User]
    truth: Truth
    runs: list[tuple[int, list[dict[str, Any]]]]  # every live run: when, the account records


def simulate(seed: int, accounts: int, days: float, *, kinds: tuple[str, ...] = KINDS) -> Simulation:
    """``days`` of use from :data:`START`; a global reset about every five days."""
    rng = random.Random(seed)
    users = make_users(accounts, rng, kinds)
    if accounts >= 8:
        users[-1].stops_at = START + int(days * DAY_MS * 0.8)  # a user who stops
    windows = [(Window(FIVE_MS), Window(WEEK_MS)) for _u in users]
    end = START + int(days * DAY_MS)
    global_resets = sorted(START + int(rng.uniform(2, days) * DAY_MS) for _ in range(max(1, int(days / 5))))
    usable: list[int] = []
    runs: list[tuple[int, list[dict[str, Any]]]] = []
    at = START
    while at < end:
        if global_resets and at >= global_resets[0]:
            global_resets.pop(0)
            for five, week in windows:
                for w in (five, week):
                    w.used, w.reset_at = 0.0, None
        count = 0
        for user, (five, week) in zip(users, windows, strict=True):
            five.tick(at)
            week.tick(at)
            if five.used >= 100 or week.used >= 100:
                continue
            count += 1
            use = user.active(at, rng)
            if use <= 0:
                continue
            for w, points in ((five, use), (week, use * user.weekly_per_five)):
                if w.reset_at is None:
                    w.reset_at = at + w.length
                    w.instance_runs_out[w.reset_at] = None
                w.used = min(100.0, w.used + points)
                if w.used >= 100 and w.instance_runs_out.get(w.reset_at) is None:
                    w.instance_runs_out[w.reset_at] = at + STEP_MS
        usable.append(count)
        if (at - START) % RUN_MS == 0:
            runs.append((at, [account_record(u, at, f, w) for u, (f, w) in zip(users, windows, strict=True)]))
        at += STEP_MS
    instances = {}
    for user, (five, week) in zip(users, windows, strict=True):
        instances[(user.index, 300)] = five.instance_runs_out
        instances[(user.index, 10080)] = week.instance_runs_out
    return Simulation(users, Truth(START, end, usable, instances), runs)


def write_history(sim: Simulation, path: Path, until: int | None = None) -> int:
    """Record the simulation's live runs (up to ``until``) in a history database at ``path``
    through the tool's own code; returns how many runs."""
    count = 0
    with HistoryStore(path, create=True) as store:
        for at, records in sim.runs:
            if until is not None and at > until:
                break
            store.append(at, "live", "gpt-5-codex", observations(records, at))
            count += 1
    return count


def records_at(sim: Simulation, at: int) -> Iterator[dict[str, Any]]:
    """The record stream of the live run at ``at``: a pool record, then the accounts."""
    run = next(records for when, records in sim.runs if when == at)
    yield pool_record(at, len(run))
    yield from run
