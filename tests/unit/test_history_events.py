"""Events derived from consecutive observations (pure: rows in, events out)."""

from __future__ import annotations

from typing import Any

from pipeline.history.events import daily, derive_events, sample_rows
from pipeline.history.observation import Observation, WindowRow

T0 = 1772548200000  # 2026-03-03T14:30:00Z
MIN = 60_000
HOUR = 60 * MIN


def obs(
    run: int, at: int, key: str = "a", *, used: float | None = 10, reset: int | None = T0 + 3 * HOUR, **extra: Any
) -> Observation:
    row: dict[str, Any] = {
        "run_id": run,
        "sampled_at": at,
        "account_key": key,
        "idx": 0,
        "account_id": f"acct-{key}",
        "email": f"{key}@example.com",
        "enabled": True,
        "status": "healthy",
        "health_score": None,
        "plan": "plus",
        "probe_outcome": "ok",
        "probe_error": None,
        "quota_source": None,
        "credits_balance": None,
        "has_credits": None,
        "reset_credits": None,
        "limit_reached": None,
        "windows": (WindowRow("codex/300", "5h", "codex", 300, used, reset),),
    }
    return Observation(**(row | extra))


def runs(*times: int) -> list[dict[str, Any]]:
    return [{"id": i + 1, "sampled_at": t} for i, t in enumerate(times)]


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["window"]) for e in events]


def test_reset_on_time_early_and_moved_later() -> None:
    rows = [
        obs(1, T0, used=80, reset=T0 + HOUR),
        obs(2, T0 + 2 * HOUR, used=5, reset=T0 + 6 * HOUR),  # the 1h reset passed: on time
        obs(3, T0 + 3 * HOUR, used=1, reset=T0 + 8 * HOUR),  # fell before the 6h reset: early
        obs(4, T0 + 4 * HOUR, used=3, reset=T0 + 9 * HOUR),  # reset moved an hour later, in use
        obs(5, T0 + 5 * HOUR, used=4, reset=T0 + 9 * HOUR),  # nothing
    ]
    events = derive_events(runs(*(r.sampled_at for r in rows)), rows)
    assert kinds(events) == [("reset", "5h"), ("reset-early", "5h"), ("reset-moved-later", "5h")]
    assert events[0]["at"] == T0 + HOUR and events[0]["details"]["usedBefore"] == 80
    assert events[1]["details"] == {
        "expectedResetAt": T0 + 6 * HOUR,
        "nextResetAt": T0 + 8 * HOUR,
        "usedBefore": 5,
        "usedAfter": 1,
    }
    assert set(events[0]) == {"at", "kind", "accountId", "email", "window", "details"}


def test_an_unstarted_window_sliding_forward_is_not_news() -> None:
    rows = [obs(1, T0, used=0, reset=T0 + 5 * HOUR), obs(2, T0 + HOUR, used=0, reset=T0 + 6 * HOUR)]
    assert derive_events(runs(T0, T0 + HOUR), rows) == []


def test_plan_rate_limit_and_token_events() -> None:
    rows = [
        obs(1, T0),
        obs(2, T0 + HOUR, plan="pro", status="rate-limited"),
        obs(3, T0 + 2 * HOUR, plan="pro", status="error", probe_outcome="auth-failed", probe_error="token_invalidated"),
        obs(4, T0 + 3 * HOUR, plan="pro"),
    ]
    events = derive_events(runs(*(r.sampled_at for r in rows)), rows)
    assert [e["kind"] for e in events] == [
        "plan-changed",
        "rate-limit-hit",
        "rate-limit-lifted",
        "token-broken",
        "token-recovered",
    ]
    assert events[0]["details"] == {"from": "plus", "to": "pro"}
    assert events[3]["details"]["errorCode"] == "token_invalidated"


def test_accounts_added_and_removed_between_runs_and_the_account_filter() -> None:
    rows = [obs(1, T0, "a"), obs(2, T0 + HOUR, "a"), obs(2, T0 + HOUR, "b"), obs(3, T0 + 2 * HOUR, "b")]
    events = derive_events(runs(T0, T0 + HOUR, T0 + 2 * HOUR), rows)
    assert [(e["kind"], e["email"], e["at"]) for e in events] == [
        ("account-added", "b@example.com", T0 + HOUR),
        ("account-removed", "a@example.com", T0 + 2 * HOUR),
    ]
    only_b = derive_events(runs(T0, T0 + HOUR, T0 + 2 * HOUR), rows, "B@example.com")
    assert [e["kind"] for e in only_b] == ["account-added"]


def test_daily_counts_each_accounts_last_observation_of_the_day() -> None:
    day2 = T0 + 24 * HOUR
    rows = [
        obs(1, T0, "a", status="rate-limited"),
        obs(2, T0 + HOUR, "a"),
        obs(2, T0 + HOUR, "b", status="error"),
        obs(3, day2, "a", status="rate-limited"),
        obs(3, day2, "b", enabled=False, status="disabled"),
    ]
    assert daily(rows) == [
        {"day": "2026-03-03", "runs": 2, "accounts": 2, "active": 2, "healthy": 1, "rateLimited": 0, "errors": 1},
        {"day": "2026-03-04", "runs": 1, "accounts": 2, "active": 1, "healthy": 0, "rateLimited": 1, "errors": 0},
    ]


def test_sample_rows_are_flat_one_per_window() -> None:
    rows = sample_rows([obs(1, T0), obs(1, T0, "b")._replace(windows=())])
    assert [(r["email"], r["window"], r["usedPercent"]) for r in rows] == [
        ("a@example.com", "5h", 10),
        ("b@example.com", None, None),
    ]


def test_a_reset_of_every_account_at_once_is_one_global_event() -> None:
    keys = ("a", "b", "c")
    rows = [obs(1, T0, key, used=60 + n) for n, key in enumerate(keys)]
    rows += [obs(2, T0 + HOUR, key, used=0, reset=T0 + 6 * HOUR) for key in keys]  # all at once
    rows += [obs(3, T0 + 2 * HOUR, key, used=20, reset=T0 + 6 * HOUR) for key in keys]
    rows += [obs(4, T0 + 3 * HOUR, "a", used=1, reset=T0 + 8 * HOUR)]  # one alone: its own event
    rows += [obs(4, T0 + 3 * HOUR, key, used=21, reset=T0 + 6 * HOUR) for key in ("b", "c")]
    events = derive_events(runs(T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR), rows)
    assert kinds(events) == [("reset-global", "5h"), ("reset-early", "5h")]
    assert events[0]["details"] == {"accounts": 3, "usedBefore": 62, "usedAfter": 0}
    assert events[0]["accountId"] is None and events[0]["at"] == T0 + HOUR
    assert events[1]["accountId"] == "acct-a"


def test_broken_is_the_status_error_as_watch_says_it() -> None:
    rows = [
        obs(1, T0),
        obs(2, T0 + HOUR, status="warning", probe_outcome="refresh-failed"),  # a soft failure: a warning
        obs(3, T0 + 2 * HOUR, status="error", probe_outcome="refresh-failed", probe_error="invalid_grant"),
    ]
    events = derive_events(runs(T0, T0 + HOUR, T0 + 2 * HOUR), rows)
    assert [(e["kind"], e["at"]) for e in events] == [("token-broken", T0 + 2 * HOUR)]
    assert events[0]["details"] == {"outcome": "refresh-failed", "errorCode": "invalid_grant", "status": "error"}


def test_a_reset_time_passed_is_a_reset_unless_the_window_still_reads_running() -> None:
    passed = [obs(1, T0, used=70, reset=T0 + HOUR), obs(2, T0 + 2 * HOUR, used=None, reset=None)]
    events = derive_events(runs(T0, T0 + 2 * HOUR), passed)
    assert kinds(events) == [("reset", "5h")] and events[0]["details"]["nextResetAt"] is None
    running = [obs(1, T0, used=70, reset=T0 + HOUR), obs(2, T0 + HOUR, used=72, reset=T0 + HOUR + 60_000)]
    assert derive_events(runs(T0, T0 + HOUR), running) == []
