"""What happened, derived from consecutive observations of the history (pure: rows in,
events out; nothing is stored twice). The rules are the event engine's
(:mod:`pipeline.events`), over the state :func:`observed` builds from a row; this module
writes them in ``history --events``' form (docs/FORECAST.md):

* between two observations of one account: ``reset``, ``reset-early``, ``reset-moved-later``,
  ``plan-changed``, ``rate-limit-hit`` / ``rate-limit-lifted`` (status rate-limited),
  ``token-broken`` / ``token-recovered`` (the status became error, or left it);
* ``reset-global``: every account's window reset early in one run (the service's global
  reset): one event for the pool, with ``details.accounts``, instead of one per account;
* between two runs: ``account-added`` / ``account-removed``.

Every event has ``at``, ``kind``, ``accountId``, ``email``, ``window`` (null when it is about
the whole account) and ``details``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.events import Account, Change, GlobalResets, Window, account_changes, history_event, membership

if TYPE_CHECKING:
    from pipeline.history.checks import ObservationRow, StoredWindow

Row = dict[str, Any]


def matches(row: ObservationRow, account: str | None) -> bool:
    if not account:
        return True
    wanted = account.strip().lower()
    return wanted in ((row.get("email") or "").lower(), (row.get("account_id") or "").lower())


def observed(row: ObservationRow, key: str | None = None, at: int | None = None) -> Account:
    """The engine's state of an observation (``key`` and ``at`` for a row without them)."""
    status = row.get("status")
    return Account(
        key if key is not None else row["account_key"],
        int(row["sampled_at"]) if at is None else at,
        row.get("account_id"),
        row.get("email"),
        row.get("email") or row.get("account_id") or "",
        row.get("idx"),
        status,
        status == "rate-limited",
        plan=row.get("plan"),
        probe_outcome=row.get("probe_outcome"),
        probe_error=row.get("probe_error"),
        windows=tuple(
            (w["key"], Window(w["name"], w.get("usedPercent"), w.get("resetAt"))) for w in row.get("windows") or []
        ),
    )


def written(changes: Iterable[Change]) -> list[Row]:
    return [event for change in changes if (event := history_event(change)) is not None]


class Finder:
    """The events of observations that arrive account by account, each account's in time order:
    :meth:`observe` each, then :meth:`finish` for the early resets held back until every run is
    seen (merged into ``reset-global`` where a run's accounts all reset at once)."""

    def __init__(self) -> None:
        self._resets = GlobalResets()
        self._previous: Account | None = None

    def observe(self, row: ObservationRow) -> list[Row]:
        state, before = observed(row), self._previous
        self._previous = state
        if before is None or before.key != state.key:
            return []
        run = row["run_id"]
        self._resets.paired(run)
        return written(c for c in account_changes(before, state) if not self._resets.hold(c, run))

    def finish(self) -> list[Row]:
        return written(self._resets.release())


def membership_events(at: int, before: Mapping[str, ObservationRow], now: Mapping[str, ObservationRow]) -> list[Row]:
    """``account-added`` / ``account-removed`` between two runs (each run: key to its row)."""
    return written(
        membership(
            at,
            {key: observed(row, key, at) for key, row in before.items()},
            {key: observed(row, key, at) for key, row in now.items()},
        )
    )


def derive_events(runs: Sequence[Row], observations: Iterable[ObservationRow], account: str | None = None) -> list[Row]:
    """Every event in the observations (oldest first), for one account or all."""
    chosen = [o for o in observations if matches(o, account)]
    by_account: dict[str, list[ObservationRow]] = {}
    for row in chosen:
        by_account.setdefault(row["account_key"], []).append(row)
    finder = Finder()
    events: list[Row] = []
    for rows in by_account.values():
        rows.sort(key=lambda r: (r["sampled_at"], r["run_id"]))
        for row in rows:
            events.extend(finder.observe(row))
    events.extend(finder.finish())
    events.extend(_membership_events(runs, by_account))
    events.sort(key=lambda e: (e["at"], e["email"] or "", e["accountId"] or "", e["kind"], e["window"] or ""))
    return events


def _membership_events(runs: Sequence[Row], by_account: dict[str, list[ObservationRow]]) -> list[Row]:
    present: dict[int, dict[str, ObservationRow]] = {run["id"]: {} for run in runs}
    for key, rows in by_account.items():
        for row in rows:
            if row["run_id"] in present:
                present[row["run_id"]][key] = row
    events = []
    ordered = sorted(runs, key=lambda r: (r["sampled_at"], r["id"]))
    for prev, cur in itertools.pairwise(ordered):
        events.extend(membership_events(int(cur["sampled_at"]), present[prev["id"]], present[cur["id"]]))
    return events


def daily(observations: Iterable[ObservationRow], account: str | None = None) -> list[Row]:
    """Per UTC day: runs, accounts seen, and of their last observation that day how many were
    active (enabled), healthy, rate-limited and in error."""
    days: dict[str, dict[str, Any]] = {}
    for row in observations:
        if not matches(row, account):
            continue
        day = datetime.fromtimestamp(row["sampled_at"] / 1000, tz=UTC).strftime("%Y-%m-%d")
        entry = days.setdefault(day, {"runs": set(), "last": {}})
        entry["runs"].add(row["run_id"])
        last = entry["last"].get(row["account_key"])
        if last is None or (row["sampled_at"], row["run_id"]) >= (last["sampled_at"], last["run_id"]):
            entry["last"][row["account_key"]] = row
    result = []
    for day in sorted(days):
        last = list(days[day]["last"].values())
        result.append(
            {
                "day": day,
                "runs": len(days[day]["runs"]),
                "accounts": len(last),
                "active": sum(1 for r in last if r.get("enabled") and r.get("status") != "disabled"),
                "healthy": sum(1 for r in last if r.get("status") == "healthy"),
                "rateLimited": sum(1 for r in last if r.get("status") == "rate-limited"),
                "errors": sum(1 for r in last if r.get("status") == "error"),
            }
        )
    return result


def sample_rows(observations: Iterable[ObservationRow], account: str | None = None) -> list[Row]:
    """The samples as flat rows: one per observation and window (one with the window fields
    null for an observation without windows), ready for NDJSON, JSON or CSV."""
    rows = []
    for obs in observations:
        if not matches(obs, account):
            continue
        base = {
            "sampledAt": obs["sampled_at"],
            "accountId": obs.get("account_id"),
            "email": obs.get("email"),
            "index": obs.get("idx"),
            "enabled": bool(obs.get("enabled")),
            "status": obs.get("status"),
            "healthScore": obs.get("health_score"),
            "plan": obs.get("plan"),
            "probeOutcome": obs.get("probe_outcome"),
            "probeError": obs.get("probe_error"),
            "quotaSource": obs.get("quota_source"),
            "creditsBalance": obs.get("credits_balance"),
            "resetCredits": obs.get("reset_credits"),
        }
        windows: Sequence[StoredWindow | None] = obs.get("windows") or [None]
        for window in windows:
            rows.append(
                {
                    **base,
                    "window": window["name"] if window else None,
                    "limit": window["limit"] if window else None,
                    "windowMinutes": window["windowMinutes"] if window else None,
                    "usedPercent": window["usedPercent"] if window else None,
                    "resetAt": window["resetAt"] if window else None,
                }
            )
    return rows
