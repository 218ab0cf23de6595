"""The account's rhythm: the profile by hour of the week and the windows played forward."""

from __future__ import annotations

from pipeline.forecast import Sample
from pipeline.rhythm import HOUR_MS, Lane, build_profile, hour_of_week, pieces, play

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
    played = play([five, week], pieces(lambda t: 1.0, MONDAY, MONDAY + 10 * HOUR_MS), MONDAY, MONDAY + 10 * HOUR_MS)
    assert played.run_outs["codex/300"] == (MONDAY + HOUR_MS, MONDAY + 2 * HOUR_MS)
    assert played.blocked == [(MONDAY + HOUR_MS, MONDAY + 2 * HOUR_MS, "5h")]
    # fresh windows began at the next use: +2 h (50 points by its reset at +7 h), then +7 h
    assert five.instances == 2 and five.reset_at == MONDAY + 12 * HOUR_MS and abs(five.used - 30.0) < 1e-6
    assert abs(week.used - 59.0) < 1e-6, "the weekly grew only while the account was usable (9 of 10 hours)"
    assert played.run_outs[WEEK] == (None, None)


def test_the_demand_is_played_in_pieces_that_change_at_the_hours_and_the_breaks() -> None:
    made = pieces(lambda t: float(hour_of_week(t)), MONDAY + 30 * 60_000, MONDAY + 3 * HOUR_MS, [MONDAY + 100 * 60_000])
    assert made == [
        (MONDAY + 30 * 60_000, 0.0),
        (MONDAY + HOUR_MS, 1.0),
        (MONDAY + 100 * 60_000, 1.0),
        (MONDAY + 2 * HOUR_MS, 2.0),
    ]


def test_a_fresh_window_begins_at_the_next_busy_hour_not_at_a_trickle() -> None:
    # a trickle of 0.1 an hour until 02:00, then 6 points an hour (30 5h points) to 06:00: the 5h
    # window begins at 02:00 and runs out after 100 / 30 hours, at 05:20, before its reset at 07:00
    def demand(t: int) -> float:
        return 6.0 if 2 <= (t - MONDAY) // HOUR_MS < 6 else 0.1

    def lanes() -> list[Lane]:
        return [
            Lane("codex/300", "5h", 0.0, None, 5 * HOUR_MS, 5.0),
            Lane(WEEK, "7d", 10.0, MONDAY + 3 * DAY, 7 * DAY, 1.0),
        ]

    end = MONDAY + 12 * HOUR_MS
    played = play(lanes(), pieces(demand, MONDAY, end), MONDAY, end, active=1.0)
    run_out = MONDAY + 2 * HOUR_MS + 100 * HOUR_MS // 30
    assert played.run_outs["codex/300"] == (run_out, MONDAY + 7 * HOUR_MS)
    assert played.blocked == [(run_out, MONDAY + 7 * HOUR_MS, "5h")]
    # begun at the trickle, the window would reset at 05:00 in mid-session, and never run out
    assert play(lanes(), pieces(demand, MONDAY, end), MONDAY, end).run_outs["codex/300"] == (None, MONDAY + 5 * HOUR_MS)


def test_idle_hours_before_a_window_begins_count_as_no_use() -> None:
    # an office user whose weekly window resets on Saturday: at 0 %, not begun, its reset slides on
    # with the clock all weekend; those hours are measured (no use), not left to the weekday mean
    samples, used, reset = [], 0.0, None
    for half_hour in range(14 * 48):
        at = MONDAY + half_hour * 30 * 60_000
        weekday = (at - MONDAY) // DAY % 7
        if weekday == 5 and (at - MONDAY) % DAY == 0:
            used, reset = 0.0, None  # the weekly resets on Saturday at 00:00
        if weekday < 5 and 9 <= (at - 30 * 60_000) // HOUR_MS % 24 < 17:
            used += 0.5
            reset = reset or at + 7 * DAY
        samples.append(Sample(at, used, reset if reset is not None else at + 7 * DAY))
    profile = build_profile({WEEK: samples}, WEEK)
    assert profile is not None
    sunday_noon, tuesday_noon = 6 * 24 + 12, 24 + 12
    assert profile.rates[tuesday_noon] > 0.7
    # seen idle twice (2 h at 0), shrunk towards the hour of day (about 0.7) by one hour: about a third
    assert profile.rates[sunday_noon] < 0.3, "Sunday was seen idle, not guessed from the weekdays"
