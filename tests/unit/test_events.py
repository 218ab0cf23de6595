"""Event detection for `codex auth watch`: a pure function of two snapshots' states, each rule
checked on hand-built states, and every event valid against the published schema."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pipeline.events import KINDS, Account, Pool, Window, parse_thresholds, window_reset
from pipeline.report.view import build_view
from pipeline.schema import schema_errors
from pipeline.service.events import detect_events, pool_state
from testkit import poolkit

T0 = poolkit.SEED_NOW
MIN = 60_000
HOUR = 60 * MIN


def acct(
    name: str = "alice",
    *,
    index: int = 0,
    status: str = "healthy",
    limited: bool = False,
    five: tuple[int | None, int | None] | None = (80, T0 + 60 * MIN),
    seven: tuple[int | None, int | None] | None = None,
) -> Account:
    """An account as watch sees it; each window as (percent left, reset time)."""
    windows = []
    for label, window in (("5h", five), ("7d", seven)):
        if window is not None:
            left, reset = window
            windows.append((label, Window(label, None if left is None else 100 - left, reset)))
    return Account(
        f"acct-{name}|{name}@example.com",
        T0,
        f"acct-{name}",
        f"{name}@example.com",
        f"{name}@example.com",
        index,
        status,
        limited,
        T0 + 30 * MIN if limited else None,
        windows=tuple(windows),
    )


def pool(at: int, *accounts: Account, flagged: tuple[str, ...] = ()) -> Pool:
    healthy = sum(a.status == "healthy" for a in accounts)
    gone = [acct(n, status="flagged") for n in flagged]
    return Pool(
        at,
        healthy,
        {a.key: replace(a, at=at) for a in accounts},
        {a.key: replace(a, at=at, index=None) for a in gone},
    )


def kinds(events: list[dict[str, Any]]) -> list[str]:
    for event in events:
        assert schema_errors(event, "event") == [], event
    return [e["kind"] for e in events]


def test_first_snapshot_only_says_the_pool_is_below_its_minimum() -> None:
    current = pool(T0, acct(status="error"), acct("bob", index=1, five=(3, T0 + MIN)))
    assert detect_events(None, current) == []
    events = detect_events(None, current, min_healthy=2)
    assert kinds(events) == ["pool-below-min-healthy"]
    assert events[0]["details"] == {"healthy": 1, "minHealthy": 2}


def test_nothing_changed_no_event() -> None:
    state = pool(T0, acct())
    assert detect_events(state, pool(T0 + MIN, acct()), min_healthy=1) == []


def test_threshold_crossing_names_the_lowest_threshold_once() -> None:
    before = pool(T0, acct(five=(30, T0 + 60 * MIN)))
    after = pool(T0 + MIN, acct(five=(8, T0 + 60 * MIN)))
    events = detect_events(before, after)
    assert kinds(events) == ["quota-threshold"]
    assert events[0]["window"] == "5h"
    assert events[0]["details"] == {"threshold": 10, "remainingPercent": 8, "previousPercent": 30}
    # staying below, or going down without crossing another threshold, is no news
    assert detect_events(after, pool(T0 + 2 * MIN, acct(five=(6, T0 + 60 * MIN)))) == []
    assert kinds(detect_events(after, pool(T0 + 2 * MIN, acct(five=(5, T0 + 60 * MIN))))) == ["quota-threshold"]


def test_custom_thresholds_and_exact_hits() -> None:
    before = pool(T0, acct(seven=(51, T0 + 9000 * MIN)))
    after = pool(T0 + MIN, acct(seven=(50, T0 + 9000 * MIN)))
    assert kinds(detect_events(before, after, thresholds=(50,))) == ["quota-threshold"]
    assert detect_events(before, after) == []


def test_window_reset_when_its_reset_time_passes() -> None:
    before = pool(T0, acct(five=(10, T0 + 2 * MIN)))
    after = pool(T0 + 3 * MIN, acct(five=(None, T0 + 2 * MIN)))  # cached data: the window is stale now
    events = detect_events(before, after)
    assert kinds(events) == ["window-reset"]
    assert events[0]["details"]["resetAt"] == T0 + 2 * MIN


def test_early_reset_seen_live() -> None:
    before = pool(T0, acct(five=(10, T0 + 60 * MIN)))
    after = pool(T0 + MIN, acct(five=(100, T0 + 301 * MIN)))
    assert kinds(detect_events(before, after)) == ["window-reset"]


def test_broken_and_recovered() -> None:
    ok = pool(T0, acct(), acct("bob", index=1))
    broken = pool(T0 + MIN, acct(), acct("bob", index=1, status="error"))
    events = detect_events(ok, broken)
    assert kinds(events) == ["account-broken"]
    assert events[0]["email"] == "bob@example.com" and events[0]["index"] == 1
    assert events[0]["details"] == {"status": "error", "previousStatus": "healthy"}
    assert kinds(detect_events(broken, ok)) == ["account-recovered"]


def test_flagged_and_unflagged() -> None:
    ok = pool(T0, acct(), acct("bob", index=1))
    flagged = pool(T0 + MIN, acct(), flagged=("bob",))
    events = detect_events(ok, flagged)
    assert kinds(events) == ["account-broken"]
    assert events[0]["details"] == {"status": "flagged", "previousStatus": "healthy"}
    back = detect_events(flagged, ok)
    assert kinds(back) == ["account-recovered"]
    assert back[0]["details"] == {"status": "healthy", "previousStatus": "flagged"}


def test_an_error_account_then_flagged_is_said_once() -> None:
    broken = pool(T0, acct(status="error"))
    assert detect_events(broken, pool(T0 + MIN, flagged=("alice",))) == []


def test_rate_limited_and_lifted() -> None:
    free = pool(T0, acct())
    limited = pool(T0 + MIN, acct(status="rate-limited", limited=True))
    events = detect_events(free, limited)
    assert kinds(events) == ["rate-limited"]
    assert events[0]["details"] == {"resetAt": T0 + 30 * MIN}
    assert kinds(detect_events(limited, free)) == ["rate-limit-lifted"]


def test_pool_below_and_back() -> None:
    two = pool(T0, acct(), acct("bob", index=1))
    one = pool(T0 + MIN, acct(), acct("bob", index=1, status="warning"))
    assert kinds(detect_events(two, one, min_healthy=2)) == ["pool-below-min-healthy"]
    assert detect_events(one, one, min_healthy=2) == []
    assert kinds(detect_events(one, two, min_healthy=2)) == ["pool-min-healthy-again"]


def test_state_from_a_real_view() -> None:
    from testkit.helpers import ROOT, parse_ndjson

    records = parse_ndjson((ROOT / "tests/golden/stages/render/seed-example.in.ndjson").read_bytes())
    state = pool_state(build_view(records, now=T0))
    assert state.healthy == 2
    assert [a.status for a in sorted(state.accounts.values(), key=lambda a: a.index)] == [
        "healthy",
        "healthy",
        "warning",
        "rate-limited",
    ]
    assert dict(state.accounts["user-def456|bob@example.com"].windows)["5h"].left == 45
    assert list(state.flagged) == ["user-xyz789|erin@example.com"]


@pytest.mark.parametrize(("text", "values"), [("25,10,5", (25, 10, 5)), ("5, 50%", (50, 5)), ("10,10", (10,))])
def test_parse_thresholds(text: str, values: tuple[int, ...]) -> None:
    assert parse_thresholds(text) == values


@pytest.mark.parametrize("text", ["", "0", "100", "ten", "5,,10"])
def test_parse_thresholds_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_thresholds(text)


def test_the_event_schema_refuses_incomplete_events() -> None:
    event = detect_events(pool(T0, acct(five=(30, T0 + 60 * MIN))), pool(T0 + MIN, acct(five=(8, T0 + 60 * MIN))))[0]
    assert schema_errors(event, "event") == []
    assert schema_errors({k: v for k, v in event.items() if k != "window"}, "event")
    assert schema_errors({**event, "details": {"threshold": 10}}, "event")
    assert schema_errors({**event, "kind": "something-else"}, "event")
    assert schema_errors({**event, "token": "x"}, "event"), "nothing but the documented fields"


def test_messages_say_the_event_in_words() -> None:
    ok = pool(T0, acct(five=(30, T0 + 60 * MIN)), acct("bob", index=1))
    bad = pool(T0 + MIN, acct(five=(8, T0 + 60 * MIN)), acct("bob", index=1, status="error"))
    messages = [e["message"] for e in detect_events(ok, bad, min_healthy=2)]
    assert messages == [
        "1 healthy account(s), fewer than --min-healthy 2",
        "alice@example.com: 8% of the 5h quota left (below 10%)",
        "bob@example.com: broken (error, was healthy)",
    ]


# --- the engine both commands share (pipeline/events.py) ----------------------------------


@pytest.mark.parametrize(
    ("old", "new", "previous_at", "at", "found"),
    [
        ((80, T0 + HOUR), (5, T0 + 6 * HOUR), T0, T0 + 2 * HOUR, ("reset", T0 + HOUR)),
        ((10, T0 + HOUR), (None, T0 + HOUR), T0, T0 + 2 * HOUR, ("reset", T0 + HOUR)),  # stale now
        ((10, T0 + HOUR), (10, T0 + HOUR), T0, T0 + HOUR, None),  # still read running
        ((None, T0 + HOUR), (None, T0 + HOUR), T0 + 2 * HOUR, T0 + 3 * HOUR, None),  # said before
        ((30, T0 + 6 * HOUR), (1, T0 + 8 * HOUR), T0, T0 + HOUR, ("reset-early", T0 + HOUR)),
        ((30, T0 + 6 * HOUR), (30.4, T0 + 6 * HOUR), T0, T0 + HOUR, None),  # half a point is noise
        ((3, T0 + 6 * HOUR), (4, T0 + 7 * HOUR), T0, T0 + HOUR, ("reset-moved-later", T0 + HOUR)),
        ((0, T0 + 5 * HOUR), (0, T0 + 6 * HOUR), T0, T0 + HOUR, None),  # an unstarted window slides
        ((3, T0 + 6 * HOUR), (4, T0 + 6 * HOUR + 4 * MIN), T0, T0 + HOUR, None),  # jitter
    ],
)
def test_one_reset_rule(
    old: tuple[float | None, int], new: tuple[float | None, int], previous_at: int, at: int, found: object
) -> None:
    assert window_reset(Window("5h", *old), Window("5h", *new), previous_at, at) == found


def test_every_kind_has_its_name_in_each_commands_vocabulary() -> None:
    import json

    from testkit.helpers import ROOT

    schema = json.loads((ROOT / "pipeline/schemas/event.json").read_text())
    assert {n.watch for n in KINDS.values() if n.watch} == set(schema["properties"]["kind"]["enum"])
    documented = (ROOT / "docs/FORECAST.md").read_text()
    history = {n.history for n in KINDS.values() if n.history}
    assert len(history) == 11 and all(f"`{name}`" in documented for name in history)
    assert all(n.watch or n.history for n in KINDS.values()), "a kind no command prints"


def test_watch_leaves_out_what_only_the_history_names() -> None:
    plus = replace(acct(five=(50, T0 + 6 * HOUR)), plan="plus")
    pro = replace(acct(five=(48, T0 + 7 * HOUR)), plan="pro")  # moved later, plan changed
    assert detect_events(pool(T0, plus), pool(T0 + MIN, pro)) == []
