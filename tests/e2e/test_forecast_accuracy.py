"""The forecast against ground truth: simulated pools (office hours, night owls, bursty
weekends, steady users; global resets), a live run every 30 minutes recorded in a real
history, the forecast made through the real command every four hours and scored against
what really happened, beside the window average, an EWMA and the previous method
(``scripts/bench --forecast`` is the full version)."""

from __future__ import annotations

import statistics

import pytest

from testkit.bench_forecast import BASELINES, NEW, Score, beats_every_baseline, evaluate

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def results() -> dict[int, dict[str, Score]]:
    return {seed: evaluate(seed, accounts=16, days=24, every_hours=4, eval_days=4) for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_run_out_verdict_beats_every_baseline_on_every_seed(
    results: dict[int, dict[str, Score]], seed: int
) -> None:
    scores = results[seed]
    assert scores[NEW].tp > 0, "the simulated pool runs out now and then"
    for method in BASELINES:
        assert scores[NEW].f1 > scores[method].f1, (method, scores[NEW].f1, scores[method].f1)


def test_the_pool_error_beats_every_baseline_over_the_seeds(results: dict[int, dict[str, Score]]) -> None:
    new_error = statistics.fmean(results[s][NEW].pool_error for s in SEEDS)
    assert sum(results[s][NEW].dips for s in SEEDS) > 0, "the pool dips below 70 % usable at least once"
    for method in BASELINES:
        error = statistics.fmean(results[s][method].pool_error for s in SEEDS)
        assert new_error < error, (method, new_error, error)


def test_far_weekly_run_outs_are_closer_than_the_previous_method(results: dict[int, dict[str, Score]]) -> None:
    for seed in SEEDS:
        new, old = results[seed][NEW].median_error("6-24 h"), results[seed]["previous"].median_error("6-24 h")
        if new is not None and old is not None:
            assert new < old, (seed, new, old)


# The full criterion: F1, the pool's error and the missed dips ahead of every baseline,
# pool by pool. Not yet on the first: 2 dips of 14 missed, as every baseline misses them (two
# accounts on days of twice their usual use at once, for one five-minute step; no verdict from
# the accounts' variability, testkit/forecast_risk.py, catches it without false alarms
# elsewhere: docs/FORECAST.md); strict, so the day it holds the mark must go.
NOT_YET = {1: "misses the same 2 dips as every baseline (one five-minute step)"}


@pytest.mark.parametrize(
    "seed",
    [pytest.param(s, marks=pytest.mark.xfail(reason=NOT_YET[s], strict=True)) if s in NOT_YET else s for s in SEEDS],
)
def test_every_criterion_beats_every_baseline(results: dict[int, dict[str, Score]], seed: int) -> None:
    assert beats_every_baseline(results[seed]) == [], beats_every_baseline(results[seed])
