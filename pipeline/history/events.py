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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.events import Account, Change, GlobalResets, Window, account_changes, history_event, membership

if TYPE_CHECKING:
    from pipeline.history.observation import Observation, WindowRow

Row = dict[str, Any]
Member = tuple[str | None, str | None]
"""An account of a run as the membership walk keeps it: its id and e-mail."""


def matches(row: Observation, account: str | None) -> bool:
    if not account:
        return True
    wanted = account.strip().lower()
    return wanted in ((row.email or "").lower(), (row.account_id or "").lower())


def observed(row: Observation) -> Account:
    """The engine's state of an observation."""
    status = row.status
    return Account(
        row.account_key,
        int(row.sampled_at),
        row.account_id,
        row.email,
        row.email or row.account_id or "",
        row.idx,
        status,
        status == "rate-limited",
        plan=row.plan,
        probe_outcome=row.probe_outcome,
        probe_error=row.probe_error,
        windows=tuple((w.key, Window(w.name, w.used, w.reset_at)) for w in row.windows),
    )


def member(key: str, at: int, account: Member) -> Account:
    """The engine's state of an account of a run, as far as ``account-added`` / ``-removed`` need it."""
    account_id, email = account
    return Account(key, at, account_id, email, email or account_id or "", None, None, False)


def written(changes: Iterable[Change]) -> list[Row]:
    return [event for change in changes if (event := history_event(change)) is not None]


class Finder:
    """The events of observations that arrive account by account, each account's in time order:
    :meth:`observe` each, then :meth:`finish` for the early resets held back until every run is
    seen (merged into ``reset-global`` where a run's accounts all reset at once)."""

    def __init__(self) -> None:
        self._resets = GlobalResets()
        self._previous: Account | None = None

    def observe(self, row: Observation) -> list[Row]:
        state, before = observed(row), self._previous
        self._previous = state
        if before is None or before.key != state.key:
            return []
        run = row.run_id
        self._resets.paired(run)
        return written(c for c in account_changes(before, state) if not self._resets.hold(c, run))

    def finish(self) -> list[Row]:
        return written(self._resets.release())


def membership_events(at: int, before: Mapping[str, Member], now: Mapping[str, Member]) -> list[Row]:
    """``account-added`` / ``account-removed`` between two runs (each run: key to its account)."""
    return written(
        membership(
            at,
            {key: member(key, at, account) for key, account in before.items()},
            {key: member(key, at, account) for key, account in now.items()},
        )
    )


def derive_events(runs: Sequence[Row], observations: Iterable[Observation], account: str | None = None) -> list[Row]:
    """Every event in the observations (oldest first), for one account or all."""
    chosen = [o for o in observations if matches(o, account)]
    by_account: dict[str, list[Observation]] = {}
    for row in chosen:
        by_account.setdefault(row.account_key, []).append(row)
    finder = Finder()
    events: list[Row] = []
    for rows in by_account.values():
        rows.sort(key=lambda r: (r.sampled_at, r.run_id or 0))
        for row in rows:
            events.extend(finder.observe(row))
    events.extend(finder.finish())
    events.extend(_membership_events(runs, by_account))
    events.sort(key=lambda e: (e["at"], e["email"] or "", e["accountId"] or "", e["kind"], e["window"] or ""))
    return events


def _membership_events(runs: Sequence[Row], by_account: dict[str, list[Observation]]) -> list[Row]:
    present: dict[int | None, dict[str, Member]] = {run["id"]: {} for run in runs}
    for key, rows in by_account.items():
        for row in rows:
            if row.run_id in present:
                present[row.run_id][key] = (row.account_id, row.email)
    events = []
    ordered = sorted(runs, key=lambda r: (r["sampled_at"], r["id"]))
    for prev, cur in itertools.pairwise(ordered):
        events.extend(membership_events(int(cur["sampled_at"]), present[prev["id"]], present[cur["id"]]))
    return events


def daily(observations: Iterable[Observation], account: str | None = None) -> list[Row]:
    """Per UTC day: runs, accounts seen, and of their last observation that day how many were
    active (enabled), healthy, rate-limited and in error."""
    days: dict[str, dict[str, Any]] = {}
    for row in observations:
        if not matches(row, account):
            continue
        day = datetime.fromtimestamp(row.sampled_at / 1000, tz=UTC).strftime("%Y-%m-%d")
        entry = days.setdefault(day, {"runs": set(), "last": {}})
        entry["runs"].add(row.run_id)
        last = entry["last"].get(row.account_key)
        if last is None or (row.sampled_at, row.run_id or 0) >= (last.sampled_at, last.run_id or 0):
            entry["last"][row.account_key] = row
    result = []
    for day in sorted(days):
        last = list(days[day]["last"].values())
        result.append(
            {
                "day": day,
                "runs": len(days[day]["runs"]),
                "accounts": len(last),
                "active": sum(1 for r in last if r.enabled and r.status != "disabled"),
                "healthy": sum(1 for r in last if r.status == "healthy"),
                "rateLimited": sum(1 for r in last if r.status == "rate-limited"),
                "errors": sum(1 for r in last if r.status == "error"),
            }
        )
    return result


def sample_rows(observations: Iterable[Observation], account: str | None = None) -> list[Row]:
    """The samples as flat rows (:func:`flat_rows`), for one account or all."""
    return [row for obs in observations if matches(obs, account) for row in flat_rows(obs)]


def flat_rows(obs: Observation) -> Iterator[Row]:
    """An observation as the samples' flat rows: one per window (one with the window fields
    null for an observation without windows), ready for NDJSON, JSON, CSV or the table."""
    base = {
        "sampledAt": obs.sampled_at,
        "accountId": obs.account_id,
        "email": obs.email,
        "index": obs.idx,
        "enabled": bool(obs.enabled),
        "status": obs.status,
        "healthScore": obs.health_score,
        "plan": obs.plan,
        "probeOutcome": obs.probe_outcome,
        "probeError": obs.probe_error,
        "quotaSource": obs.quota_source,
        "creditsBalance": obs.credits_balance,
        "resetCredits": obs.reset_credits,
    }
    windows: Sequence[WindowRow | None] = obs.windows or [None]
    for window in windows:
        yield {
            **base,
            "window": window.name if window else None,
            "limit": window.limit if window else None,
            "windowMinutes": window.minutes if window else None,
            "usedPercent": window.used if window else None,
            "resetAt": window.reset_at if window else None,
        }
