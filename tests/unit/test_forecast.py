"""The forecast's pure logic: one pool of records built for each case, the verdicts, the pace
and its basis, the pool's timeline, --min-healthy and the account to use next."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.clock import parse_duration, parse_time
from pipeline.errors import ConfigError
from pipeline.forecast import Sample, WindowFacts, forecast_account, history_since, window_key
from pipeline.forecast_pool import pool_forecast
from pipeline.forecast_windows import pace_before_cap
from pipeline.scoring import score_account

NOW = 1772548200000  # 2026-03-03T14:30:00Z
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def window(minutes: int, used: float | None, reset_at: int | None) -> dict[str, Any]:
    return {"windowMinutes": minutes, "usedPercent": used, "resetAt": reset_at}


def account(index: int, windows: list[dict[str, Any]] | None, *, sampled: int = NOW, **quota: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "account",
        "index": index,
        "accountId": f"acct-{index}",
        "email": f"user{index}@example.com",
        "enabled": True,
        "lastUsed": NOW - HOUR,
    }
    if windows is not None:
        record["quota"] = {"source": "live", "sampledAt": sampled, "windows": windows, **quota}
    return score_account(record, NOW, "gpt-5-codex")


def forecast(record: dict[str, Any], history: dict[str, list[Sample]] | None = None) -> dict[str, Any]:
    record["forecast"] = forecast_account(record, NOW, history)
    return record["forecast"]


def by_name(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(w for w in result["windows"] if w["name"] == name)


def test_fast_burner_runs_out_before_the_reset() -> None:
    # 5h window began 2h ago (resets in 3h) and is 60% used: 30 points an hour, 100% in 80 minutes
    result = forecast(account(0, [window(300, 60, NOW + 3 * HOUR), window(10080, 10, NOW + 5 * DAY)]))
    five = by_name(result, "5h")
    assert five["basis"] == "window-average" and five["samples"] == 1
    assert five["pacePerHour"] == pytest.approx(30.0)
    assert five["verdict"] == "runs-out" and five["runOutAt"] == NOW + 80 * MIN
    assert five["availableAt"] == NOW + 3 * HOUR
    assert result["verdict"] == "runs-out" and result["bindingWindow"] == "5h"
    assert result["runOutAt"] == NOW + 80 * MIN


def test_slow_account_lasts() -> None:
    result = forecast(account(0, [window(300, 10, NOW + 1 * HOUR), window(10080, 20, NOW + 2 * DAY)]))
    assert [w["verdict"] for w in result["windows"]] == ["lasts", "lasts"]
    assert result["verdict"] == "lasts" and result["runOutAt"] is None and result["availableAt"] is None


def test_exhausted_until_the_reset() -> None:
    record = account(0, [window(300, 100, NOW + 90 * MIN), window(10080, 45, NOW + 4 * DAY)])
    result = forecast(record)
    assert result["verdict"] == "exhausted" and result["bindingWindow"] == "5h"
    assert result["availableAt"] == NOW + 90 * MIN
    pool = pool_forecast([record], NOW, NOW + 2 * HOUR)
    assert pool["usableNow"] == 0 and pool["next"] is None
    assert pool["changes"] == [
        {
            "at": NOW + 90 * MIN,
            "usable": 1,
            "accounts": [{"index": 0, "accountId": "acct-0", "email": "user0@example.com", "change": "available"}],
        }
    ]


def test_no_data_is_unknown() -> None:
    result = forecast(account(0, None))
    assert result == {
        "verdict": "unknown",
        "bindingWindow": None,
        "runOutAt": None,
        "availableAt": None,
        "runOutRange": None,
        "confidence": None,
        "sessionsLeft": None,
        "blocked": [],
        "windows": [],
    }
    unknown_used = forecast(account(1, [window(300, None, NOW + HOUR)]))
    assert unknown_used["verdict"] == "unknown" and unknown_used["windows"][0]["note"] == "no usage reported"


def test_a_window_reset_since_its_sample_is_unknown() -> None:
    result = forecast(account(0, [window(300, 80, NOW - MIN)], sampled=NOW - 3 * HOUR))
    assert result["verdict"] == "unknown"
    assert result["windows"][0]["note"] == "the window has reset since the last sample"


def test_weekly_only_account() -> None:
    # one 7-day window, 3.5 days in, 70% used: 20 points a day, 100% in 1.5 days, before the reset
    result = forecast(account(0, [window(10080, 70, NOW + 84 * HOUR)]))
    assert [w["name"] for w in result["windows"]] == ["7d"]
    assert result["verdict"] == "runs-out" and result["bindingWindow"] == "7d"
    assert result["runOutAt"] == NOW + 36 * HOUR


def test_monthly_spend_limit_binds_a_seat_without_rate_limit_windows() -> None:
    # a spend limit resetting on April 1st; March began 2 days 14.5 hours ago; 50% used
    reset = 1775001600000  # 2026-04-01T00:00:00Z
    spend = {
        "reached": False,
        "reachedLimitType": None,
        "limits": [
            {
                "limitType": "individual",
                "usedPercent": 50,
                "remainingPercent": 50,
                "resetAt": reset,
                "windowMinutes": None,
            }
        ],
    }
    record = account(0, [], spendControl=spend)
    result = forecast(record)
    monthly = by_name(result, "monthly spend")
    elapsed_hours = (NOW - 1772323200000) / HOUR  # since 2026-03-01T00:00:00Z
    assert monthly["pacePerHour"] == pytest.approx(50 / elapsed_hours, abs=1e-3)
    assert monthly["verdict"] == "runs-out" and result["bindingWindow"] == "monthly spend"
    assert monthly["runOutAt"] == pytest.approx(NOW + elapsed_hours * HOUR, abs=1000)


def test_the_history_read_is_the_profiles_14_days_or_a_monthly_window_since_it_began() -> None:
    day = 24 * HOUR
    assert history_since(account(0, [window(300, 10, NOW + HOUR), window(10080, 40, NOW + day)]), NOW) == NOW - 14 * day
    # a month that began 2.6 days ago (2026-03-01): within the 14 days
    spend = {"limits": [{"limitType": "individual", "usedPercent": 5, "resetAt": 1775001600000, "windowMinutes": None}]}
    assert history_since(account(0, [], spendControl=spend), NOW) == NOW - 14 * day
    # a month resetting in 2 days began on February 5th, 26 days ago: read back to then
    spend["limits"][0]["resetAt"] = NOW + 2 * day
    assert history_since(account(0, [], spendControl=spend), NOW) == NOW - 26 * day


def test_history_of_two_samples_gives_the_pace() -> None:
    # the window began 3h ago: its average is 16.7 pts/h (lasts), but the last hour ran at 40
    reset = NOW + 2 * HOUR
    history = {window_key("codex", 300): [Sample(NOW - HOUR, 10, reset)]}
    result = forecast(account(0, [window(300, 50, reset)]), history)
    five = result["windows"][0]
    assert five["basis"] == "history" and five["method"] == "rhythm" and five["samples"] == 2
    assert five["pacePerHour"] > 25, "the recent pace weighs in for the next hours"
    assert five["verdict"] == "runs-out" and NOW < five["runOutAt"] < reset
    assert five["runOutRange"]["early"] <= five["runOutAt"]
    assert 0 < five["confidence"] < 0.3, "an hour of history is little to go on"


def test_a_flat_stretch_never_erases_the_windows_measured_use() -> None:
    # a weekly window at 74 % with 60 hours to go, after a flat night: the least-squares slope
    # of the night is 0 ("lasts"), yet the window's measured use says it runs out
    reset = NOW + 60 * HOUR
    samples = [Sample(NOW - (10 - i) * HOUR, 74, reset) for i in range(11)]
    result = forecast(account(0, [window(10080, 74, reset)]), {window_key("codex", 10080): samples})
    seven = result["windows"][0]
    assert seven["basis"] == "history" and seven["samples"] == 11
    assert seven["verdict"] == "runs-out" and seven["runOutAt"] < reset


def test_a_heavier_day_runs_out_no_later_and_scale_one_is_the_forecast() -> None:
    # testkit.forecast_risk plays each account at other days with ``scale``: 1 is the forecast
    # itself, a heavier day runs out sooner, a much lighter one lasts
    reset = NOW + 3 * HOUR
    history = {window_key("codex", 300): [Sample(NOW - HOUR, 30, reset)]}
    record = account(0, [window(300, 50, reset)])
    plain = forecast_account(record, NOW, history)
    assert forecast_account(record, NOW, history, scale=1.0) == plain
    heavy = forecast_account(record, NOW, history, scale=1.5)
    light = forecast_account(record, NOW, history, scale=0.2)
    assert plain["verdict"] == "runs-out" and heavy["verdict"] == "runs-out"
    assert heavy["runOutAt"] < plain["runOutAt"]
    assert heavy["blocked"][0]["from"] == heavy["runOutAt"] and len(light["blocked"]) == 0
    assert light["verdict"] == "lasts"


def test_history_of_many_samples_is_played_forward() -> None:
    reset = NOW + 2 * DAY
    used = [10, 12, 13, 15, 17, 18]  # hourly
    samples = [Sample(NOW - (5 - i) * HOUR, u, reset + (i % 2) * 1000) for i, u in enumerate(used)]
    result = forecast(account(0, [window(10080, 18, reset)]), {window_key("codex", 10080): samples})
    seven = result["windows"][0]
    assert seven["basis"] == "history" and seven["samples"] == 6
    assert seven["pacePerHour"] > 0
    assert seven["verdict"] == "lasts"


def test_a_window_begun_at_its_sample_is_played_on_with_a_history() -> None:
    # the 5h window began in the second of its sample (resetAt exactly five hours on, 2 % used): a
    # lone sample gives no pace (unknown), but with an hour of history the rhythm plays it on
    five_key, week_key = window_key("codex", 300), window_key("codex", 10080)
    week_reset = NOW + 3 * DAY
    history = {
        week_key: [Sample(NOW - 2 * HOUR, 40, week_reset), Sample(NOW - HOUR, 45, week_reset)],
        five_key: [Sample(NOW - 2 * HOUR, 50, NOW - HOUR), Sample(NOW - HOUR, 0, NOW + 4 * HOUR)],
    }
    windows = [window(300, 2, NOW + 5 * HOUR), window(10080, 45, week_reset)]
    alone = forecast(account(0, windows))
    assert by_name(alone, "5h")["verdict"] == "unknown"
    five = by_name(forecast(account(0, windows), history), "5h")
    assert five["verdict"] in ("lasts", "runs-out") and five["basis"] == "history" and five["note"] is None


def test_an_hour_at_100_percent_is_no_recent_pace() -> None:
    # the 5h window was used up an hour ago and resets now-ish: its last two samples (100, 100)
    # say nothing of the pace, so the next hours are not pulled down towards 0
    five_key, week_key = window_key("codex", 300), window_key("codex", 10080)
    week_reset = NOW + 3 * DAY
    five_reset = NOW + 30 * MIN
    busy = [Sample(NOW - (8 - i) * HOUR, 10 + 5 * i, week_reset) for i in range(7)]
    history = {
        week_key: [*busy, Sample(NOW - 30 * MIN, 45, week_reset)],
        five_key: [
            Sample(NOW - 90 * MIN, 60, five_reset),
            Sample(NOW - HOUR, 100, five_reset),
            Sample(NOW - 30 * MIN, 100, five_reset),
        ],
    }
    windows = [window(300, 100, five_reset), window(10080, 45, week_reset)]
    result = forecast(account(0, windows), history)
    assert by_name(result, "5h")["verdict"] == "exhausted"
    # the same half hour flat at 99 % (usable, idle) is a recent pace of 0, and pulls the pace down
    idle = {**history, five_key: [Sample(s.at, min(99.0, float(s.used or 0)), s.reset_at) for s in history[five_key]]}
    flat = forecast(account(0, [window(300, 99, five_reset), window(10080, 45, week_reset)]), idle)
    assert by_name(result, "7d")["pacePerHour"] > 1.5 * by_name(flat, "7d")["pacePerHour"] > 0


def test_the_pace_before_a_cap_is_the_capped_instances_use_until_its_last_sample_below_100() -> None:
    # a 5h window that began 3 h ago, at 60 % after 1 h and 90 % after 1.5 h, at 100 % since:
    # 60 points an hour before the cap, and the cap lifts at the reset, in 2 h
    reset = NOW + 2 * HOUR
    began = reset - 5 * HOUR
    samples = [Sample(began - HOUR, 40, began - 30 * MIN)]  # the instance before: not this one
    samples += [Sample(began + HOUR, 60, reset), Sample(began + 90 * MIN, 90, reset)]
    samples += [Sample(began + 2 * HOUR, 100, reset), Sample(NOW, 100, reset)]
    capped = WindowFacts(window_key("codex", 300), "5h", "codex", 300, 100, reset, NOW)
    assert pace_before_cap(capped, samples, NOW) == (pytest.approx(60.0), reset)
    assert pace_before_cap(capped, samples[:1] + samples[3:], NOW) is None, "no sample of it below 100 %"
    working = WindowFacts(window_key("codex", 300), "5h", "codex", 300, 90, reset, NOW)
    assert pace_before_cap(working, samples, NOW) is None, "not at 100 %: its recent pace says it"
    assert pace_before_cap(capped, samples, reset) is None, "reset since"


def test_a_reset_between_samples_leaves_the_old_window_out() -> None:
    # samples of the previous window instance (another reset time) are not this window's:
    # 90% an hour before a reset is not the fresh window's used percent
    old_reset = NOW - HOUR
    reset = NOW + 4 * HOUR
    history = {window_key("codex", 300): [Sample(NOW - 2 * HOUR, 90, old_reset), Sample(NOW - 90 * MIN, 95, old_reset)]}
    five = forecast(account(0, [window(300, 5, reset)]), history)["windows"][0]
    assert five["samples"] == 1 and five["verdict"] == "lasts"
    with_new = dict(history)
    with_new[window_key("codex", 300)] = [*history[window_key("codex", 300)], Sample(NOW - 30 * MIN, 2, reset)]
    five = forecast(account(0, [window(300, 5, reset)]), with_new)["windows"][0]
    assert five["basis"] == "history" and five["samples"] == 2


def test_a_fresh_five_hour_window_runs_out_again_and_the_weekly_binds() -> None:
    # 30 pts/h on the 5h window, 91 % of the weekly in 72 hours (1.26 pts/h): the 5h runs out
    # in 80 minutes, and again after its reset, until the weekly runs out and binds to its reset
    reset = NOW + 4 * DAY
    result = forecast(account(0, [window(300, 60, NOW + 3 * HOUR), window(10080, 91, reset)]))
    assert result["sessionsLeft"] == pytest.approx(2.1)
    spans = result["blocked"]
    assert spans[0] == {"from": NOW + 80 * MIN, "until": NOW + 3 * HOUR, "window": "5h"}
    assert len(spans) >= 3 and spans[1]["window"] == "5h"
    weekly = [span for span in spans if span["window"] == "7d"]
    assert len(weekly) == 1 and weekly[0]["until"] == reset and weekly[0]["from"] > NOW + 8 * HOUR
    assert spans[spans.index(weekly[0]) + 1]["from"] > reset, "after the weekly reset, the 5h caps come back"


def test_the_models_own_limit_and_a_rate_limit_without_a_window() -> None:
    limit = {
        "limitId": "codex_bengalfox",
        "limitName": "GPT-5.3-Codex-Spark",
        "limitReached": False,
        "windows": [window(300, 100, NOW + HOUR)],
    }
    record = account(0, [window(300, 10, NOW + HOUR)], modelLimit=limit)
    result = forecast(record)
    assert result["verdict"] == "exhausted" and result["bindingWindow"] == "codex_bengalfox 5h"
    limited = account(1, [window(300, 10, NOW + HOUR)])
    limited["rateLimited"], limited["rateLimitResetAt"] = True, NOW + 20 * MIN
    result = forecast(limited)
    assert result["verdict"] == "exhausted" and result["bindingWindow"] == "rate-limit"
    assert result["availableAt"] == NOW + 20 * MIN


def build_pool() -> list[dict[str, Any]]:
    fast = account(0, [window(300, 60, NOW + 3 * HOUR)])  # runs out in 80 minutes, back at +3h
    slow = account(1, [window(300, 10, NOW + HOUR), window(10080, 20, NOW + 2 * DAY)])  # lasts
    gone = account(2, [window(300, 100, NOW + 2 * HOUR)])  # exhausted for 2h
    off = account(3, [window(300, 0, NOW + HOUR)])
    off["enabled"] = False
    off = score_account(off, NOW, "gpt-5-codex")
    pool = [fast, slow, gone, off]
    for record in pool:
        forecast(record)
    return pool


def test_pool_timeline_min_healthy_and_next_account() -> None:
    pool = pool_forecast(build_pool(), NOW, NOW + DAY, min_healthy=2)
    assert pool["accounts"] == 4 and pool["usableNow"] == 2
    timeline = [(c["at"], c["usable"], [a["change"] for a in c["accounts"]]) for c in pool["changes"]]
    assert timeline[:4] == [
        (NOW + 80 * MIN, 1, ["runs-out"]),
        (NOW + 2 * HOUR, 2, ["available"]),
        (NOW + 3 * HOUR, 3, ["available"]),
        (NOW + 5 * HOUR, 2, ["runs-out"]),  # the exhausted one's fresh window runs out again: tomorrow's caps
    ]
    assert pool["lowestUsable"] == 1
    assert pool["belowMinHealthyAt"] == NOW + 80 * MIN
    assert pool["next"]["index"] == 1 and pool["next"]["verdict"] == "lasts", "one that lasts beats one that runs out"
    assert pool_forecast(build_pool(), NOW, NOW + DAY, min_healthy=1)["belowMinHealthyAt"] is None
    assert pool_forecast(build_pool(), NOW, NOW + DAY, min_healthy=3)["belowMinHealthyAt"] == NOW, "already below"
    short = pool_forecast(build_pool(), NOW, NOW + HOUR, min_healthy=2)
    assert short["changes"] == [] and short["belowMinHealthyAt"] is None, "the run-out falls after the horizon"


def test_among_accounts_that_run_out_the_last_to_run_out_is_next() -> None:
    early = account(0, [window(300, 60, NOW + 3 * HOUR)])  # out in 80 min
    late = account(1, [window(300, 40, NOW + 3 * HOUR)])  # 20 pts/h: out in 3h... after the reset? 60/20=3h: lasts
    later = account(2, [window(300, 50, NOW + 3 * HOUR)])  # 25 pts/h: out in 2h
    for record in (early, late, later):
        forecast(record)
    late["forecast"]["verdict"] = "runs-out"  # pretend, to compare two that run out
    late["forecast"]["runOutAt"] = NOW + 10 * MIN
    chosen = pool_forecast([early, late, later], NOW, NOW + DAY)["next"]
    assert chosen["index"] == 2 and chosen["verdict"] == "runs-out"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-03T14:30:00Z", NOW),
        ("1772548200", NOW),
        ("1772548200000", NOW),
        ("7d", NOW - 7 * DAY),
        ("12h", NOW - 12 * HOUR),
        ("1d12h", NOW - 36 * HOUR),
    ],
)
def test_time_options(text: str, expected: int) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7x", "-3d", ""])
def test_bad_time_options_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ConfigError, match="--since"):
        parse_time(text, NOW)


def test_durations() -> None:
    assert parse_duration("90d") == 90 * DAY
    with pytest.raises(ConfigError, match="--keep: 'ninety' is not a duration"):
        parse_duration("ninety")
