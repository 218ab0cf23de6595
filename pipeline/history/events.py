"""What happened, derived from consecutive observations of the history (pure: rows in,
events out; nothing is stored twice).

Between two observations of one account:

* ``reset``: the window's reset time passed and a new window began (on time);
* ``reset-early``: the used percent fell before the announced reset time;
* ``reset-moved-later``: the announced reset time moved later while the window was in use;
* ``reset-global``: every account's window reset early in one run (the service's global
  reset): one event for the pool, with ``details.accounts``, instead of one per account;
* ``plan-changed``; ``rate-limit-hit`` / ``rate-limit-lifted`` (status rate-limited);
* ``token-broken`` / ``token-recovered`` (the probe was refused, or the status is error);

and between two runs: ``account-added`` / ``account-removed``. Every event has ``at``,
``kind``, ``accountId``, ``email``, ``window`` (null when it is about the whole account) and
``details``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.history.checks import StoredWindow

Row = dict[str, Any]
"""An event (or a day's row) as written out."""
TOLERANCE_MS = 5 * 60_000
BROKEN_OUTCOMES = ("refresh-failed",)  # a refused usage read alone is weak evidence


def matches(row: Row, account: str | None) -> bool:
    if not account:
        return True
    wanted = account.strip().lower()
    return wanted in ((row.get("email") or "").lower(), (row.get("account_id") or "").lower())


def _event(at: int, kind: str, row: Row, window: str | None, details: Row) -> Row:
    return {
        "at": at,
        "kind": kind,
        "accountId": row.get("account_id"),
        "email": row.get("email"),
        "window": window,
        "details": details,
    }


def _broken(row: Row) -> bool:
    return row.get("probe_outcome") in BROKEN_OUTCOMES or row.get("status") == "error"


def pair_events(prev: Row, cur: Row) -> list[Row]:
    at = int(cur["sampled_at"])
    events: list[Row] = []
    before = {w["key"]: w for w in prev.get("windows") or []}
    for window in cur.get("windows") or []:
        old = before.get(window["key"])
        if old is None:
            continue
        events.extend(_window_events(old, window, at, cur))
    if prev.get("plan") and cur.get("plan") and prev["plan"] != cur["plan"]:
        events.append(_event(at, "plan-changed", cur, None, {"from": prev["plan"], "to": cur["plan"]}))
    was_limited, is_limited = prev.get("status") == "rate-limited", cur.get("status") == "rate-limited"
    if is_limited != was_limited:
        events.append(_event(at, "rate-limit-hit" if is_limited else "rate-limit-lifted", cur, None, {}))
    if _broken(cur) != _broken(prev):
        if _broken(cur):
            details = {
                "outcome": cur.get("probe_outcome"),
                "errorCode": cur.get("probe_error"),
                "status": cur.get("status"),
            }
            events.append(_event(at, "token-broken", cur, None, details))
        else:
            events.append(_event(at, "token-recovered", cur, None, {"outcome": cur.get("probe_outcome")}))
    return events


def _window_events(old: StoredWindow, new: StoredWindow, at: int, row: Row) -> list[Row]:
    r1, r2 = old.get("resetAt"), new.get("resetAt")
    u1, u2 = old.get("usedPercent"), new.get("usedPercent")
    if r1 is None or r2 is None:
        return []
    name = new.get("name")
    if at >= r1 and r2 > r1 + TOLERANCE_MS:
        details = {"resetAt": r1, "nextResetAt": r2, "usedBefore": u1, "usedAfter": u2}
        return [_event(r1, "reset", row, name, details)]
    if at < r1 and u1 is not None and u2 is not None and u2 < u1 - 0.5:
        details = {"expectedResetAt": r1, "nextResetAt": r2, "usedBefore": u1, "usedAfter": u2}
        return [_event(at, "reset-early", row, name, details)]
    if at < r1 and r2 > r1 + TOLERANCE_MS and u1:  # an unstarted window (0 %) slides: not news
        return [_event(at, "reset-moved-later", row, name, {"from": r1, "to": r2, "usedPercent": u2})]
    return []


def derive_events(runs: Sequence[Row], observations: Iterable[Row], account: str | None = None) -> list[Row]:
    """Every event in the observations (oldest first), for one account or all."""
    chosen = [o for o in observations if matches(o, account)]
    by_account: dict[str, list[Row]] = {}
    for row in chosen:
        by_account.setdefault(row["account_key"], []).append(row)
    tagged: list[tuple[Row, Any]] = []
    paired: dict[Any, int] = {}  # run -> accounts seen in it and in a run before
    for rows in by_account.values():
        rows.sort(key=lambda r: (r["sampled_at"], r["run_id"]))
        for prev, cur in itertools.pairwise(rows):
            paired[cur["run_id"]] = paired.get(cur["run_id"], 0) + 1
            tagged.extend((event, cur["run_id"]) for event in pair_events(prev, cur))
    events = _global_resets(tagged, paired)
    events.extend(_membership_events(runs, by_account))
    events.sort(key=lambda e: (e["at"], e["email"] or "", e["accountId"] or "", e["kind"], e["window"] or ""))
    return events


def _global_resets(tagged: Sequence[tuple[Row, Any]], paired: dict[Any, int]) -> list[Row]:
    """A window reset early on every account of a run at once (two or more) is the service's
    global reset: one ``reset-global`` event (``details.accounts``: how many), not n events."""
    early: dict[tuple[Any, Any], list[Row]] = {}
    for event, run in tagged:
        if event["kind"] == "reset-early":
            early.setdefault((run, event["window"]), []).append(event)
    merged = {key: group for key, group in early.items() if len(group) >= 2 and len(group) == paired.get(key[0], 0)}
    events = [e for e, run in tagged if not (e["kind"] == "reset-early" and (run, e["window"]) in merged)]
    for (_run, window), group in merged.items():
        first = min(group, key=lambda e: e["at"])
        details = {
            "accounts": len(group),
            "usedBefore": max(e["details"]["usedBefore"] for e in group),
            "usedAfter": max(e["details"]["usedAfter"] for e in group),
        }
        events.append(
            {"at": first["at"], "kind": "reset-global", "accountId": None, "email": None, "window": window}
            | {"details": details}
        )
    return events


def _membership_events(runs: Sequence[Row], by_account: dict[str, list[Row]]) -> list[Row]:
    present: dict[int, dict[str, Row]] = {run["id"]: {} for run in runs}
    for key, rows in by_account.items():
        for row in rows:
            if row["run_id"] in present:
                present[row["run_id"]][key] = row
    events = []
    ordered = sorted(runs, key=lambda r: (r["sampled_at"], r["id"]))
    for prev, cur in itertools.pairwise(ordered):
        before, now = present[prev["id"]], present[cur["id"]]
        for key in sorted(now.keys() - before.keys()):
            events.append(_event(int(cur["sampled_at"]), "account-added", now[key], None, {}))
        for key in sorted(before.keys() - now.keys()):
            events.append(_event(int(cur["sampled_at"]), "account-removed", before[key], None, {}))
    return events


def daily(observations: Iterable[Row], account: str | None = None) -> list[Row]:
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


def sample_rows(observations: Iterable[Row], account: str | None = None) -> list[Row]:
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
