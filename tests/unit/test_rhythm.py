"""The account's rhythm: the profile by hour of the week and the windows played forward."""

from __future__ import annotations

from pipeline.forecast import Sample
from pipeline.rhythm import HOUR_MS, Lane, build_profile, hour_of_week, play

MONDAY = 1_771_804_800_000  # 2026-02-23T00:00:00Z
DAY = 24 * HOUR_MS
WEEK = "codex/10080"


def test_hour_of_week_starts_on_monday_utc() -> None:
    assert hour_of_week(MONDAY) == 0
    assert hour_of_week(MONDAY + 9 * HOUR_MS + 59 * 60_000) == 9
    assert hour_of_week(MONDAY + 6 * DAY + 23 * HOUR_MS) == 167


def test_the_profile_learns_the_hours_of_use_and_the_ratio_of_the_windows() -> None:
    week_samples, five_samples = [], []
    used = 0.0
    reset = MONDAY + 14 * DAY
    for half_hour in range(14 * 48):
        at = MONDAY + half_hour * 30 * 60_000
        if half_hour and 9 <= (at - 30 * 60_000) // HOUR_MS % 24 < 17:
            used += 0.25  # half a weekly point an hour in office hours
        week_samples.append(Sample(at, used, reset))
        five_samples.append(Sample(at, (used * 6) % 90, reset))  # a window six times finer
    profile = build_profile({WEEK: week_samples, "codex/300": five_samples}, WEEK)
    assert profile is not None and profile.days >= 13
    assert profile.rates[10] > 0.35 and profile.rates[3] < 0.1, "Monday 10:00 is busy, 03:00 is not"
    assert profile.spread[0] <= 1.0 <= profile.spread[1]
    assert 5.0 < profile.ratios["codex/300"] <= 6.0, "the 5h window moves six times as fast (less its wraps)"


def test_no_use_while_a_window_is_full_and_a_fresh_window_begins_at_the_next_use() -> None:
    five = Lane("codex/300", "5h", 90.0, MONDAY + 2 * HOUR_MS, 5 * HOUR_MS, 10.0)
    week = Lane(WEEK, "7d", 50.0, MONDAY + 3 * DAY, 7 * DAY, 1.0)
    played = play([five, week], lambda t: 1.0, MONDAY, MONDAY + 10 * HOUR_MS)
    assert played.run_outs["codex/300"] == (MONDAY + HOUR_MS, MONDAY + 2 * HOUR_MS)
    assert played.blocked == [(MONDAY + HOUR_MS, MONDAY + 2 * HOUR_MS, "5h")]
    # fresh windows began at the next use: +2 h (50 points by its reset at +7 h), then +7 h
    assert five.instances == 2 and five.reset_at == MONDAY + 12 * HOUR_MS and five.used == 30.0
    assert abs(week.used - 59.0) < 1e-6, "the weekly grew only while the account was usable (9 of 10 hours)"
    assert played.run_outs[WEEK] == (None, None)
