"""Windows by length with the official client's tolerance (within 5 % of 300, 1440, 10,080,
43,200 and 525,600 minutes), the one classifier every part of the tool names windows with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import forecast
from pipeline import quota as q
from pipeline.live import wire
from pipeline.report.view import build_view

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("minutes", "kind", "label"),
    [
        (300, 300, "5h"),
        (299, 300, "5h"),  # limit_window_seconds 17940, a minute short, as real answers say
        (285, 300, "5h"),
        (315, 300, "5h"),
        (284, None, "284m"),
        (316, None, "316m"),
        (10079, 10080, "7d"),  # 604740 s
        (10080, 10080, "7d"),
        (43200, 43200, "30d"),
        (43800, 43200, "30d"),  # 2628000 s: a Team account's "monthly" window (opencodex #315)
        (1440, 1440, "1d"),
        (2880, None, "2d"),
        (90, None, "90m"),
    ],
)
def test_known_lengths_within_five_percent(minutes: int, kind: int | None, label: str) -> None:
    assert q.window_kind(minutes) == kind
    assert q.window_label(minutes) == label


@given(st.integers(min_value=1, max_value=2_000_000))
def test_a_window_is_at_most_one_known_length_and_always_has_a_label(minutes: int) -> None:
    kind = q.window_kind(minutes)
    assert kind is None or abs(minutes - kind) <= kind * q.TOLERANCE
    assert q.window_label(minutes)


def _seconds(window_seconds: int, used: int) -> dict[str, int]:
    return {"used_percent": used, "limit_window_seconds": window_seconds, "reset_after_seconds": 600}


def test_a_minute_short_is_still_5h_and_7d_in_every_consumer() -> None:
    body = {
        "plan_type": "pro",
        "rate_limit": {"primary_window": _seconds(17940, 20), "secondary_window": _seconds(604740, 50)},
    }
    quota = wire.usage_quota(body, "gpt-5-codex", NOW)
    account = {"kind": "account", "index": 0, "accountId": "a", "email": "a@example.com", "enabled": True}
    view = build_view([{**account, "quota": quota}], now=NOW)
    (shown,) = view.accounts
    assert shown.window_5h is not None and shown.window_5h.remaining == 80
    assert shown.window_7d is not None and shown.window_7d.remaining == 50
    keys = [w.key for w in forecast.account_windows(quota)]
    assert keys == ["codex/300", "codex/10080"], "the history keys of 17940 s and 18000 s are one window"
    names = [w.name for w in forecast.account_windows(quota)]
    assert names == ["5h", "7d"]


def test_thirty_day_and_unmatched_windows_are_shown_not_dropped() -> None:
    body = {
        "plan_type": "free",
        "rate_limit": {"primary_window": _seconds(2592000, 45), "secondary_window": _seconds(7200, 100)},
    }
    quota = wire.usage_quota(body, "gpt-5-codex", NOW)
    account = {"kind": "account", "index": 0, "accountId": "a", "email": "a@example.com", "enabled": True}
    view = build_view([{**account, "quota": quota}], now=NOW)
    (shown,) = view.accounts
    assert shown.window_30d is not None and shown.window_30d.remaining == 55
    assert [label for label, _ in shown.labelled_windows()] == ["30d", "2h"]
    assert shown.status == "rate-limited", "a window of no known length still rate-limits"


def test_a_thirty_day_window_is_forecast_and_gauged() -> None:
    from pipeline.report.prometheus import render_prometheus

    day_ms = 86_400_000
    body = {
        "plan_type": "team",
        "rate_limit": {
            "primary_window": {
                "used_percent": 60,
                "limit_window_seconds": 2628000,
                "reset_at": (NOW + 10 * day_ms) // 1000,
            }
        },
    }
    quota = wire.usage_quota(body, "gpt-5-codex", NOW)
    (facts,) = forecast.account_windows(quota)
    assert (facts.key, facts.name) == ("codex/43200", "30d")
    result = forecast.forecast_window(facts, NOW)
    assert result["verdict"] in ("runs-out", "lasts") and result["pacePerHour"], result
    account = {"kind": "account", "index": 0, "accountId": "a", "email": "a@example.com", "enabled": True}
    metrics = render_prometheus(build_view([{**account, "quota": quota}], now=NOW))
    assert 'window="30d"} 0.4' in metrics
