"""The pool's dip verdict and lowest count from the accounts' day-to-day variability: an
experiment beside the benchmark (``python -m testkit.forecast_risk``), not the forecast.

On the benchmark's simulated pools, moments and truth (:mod:`testkit.bench_forecast`), every
account is played again at a grid of its own days: its profile's 10th and 90th percentile day
ratios (:mod:`pipeline.rhythm`) taken as those of a log-normal, the demand scaled by
``exp(mu + z * sigma)`` for ``z`` from -2.5 to 2.5 in steps of 0.25 (the forecast is
``scale=1``). Then, per moment:

* *joint*: the pool's lowest usable in 24 h with every account at the same ``z`` (1.28: every
  account on its 90th-percentile day at once);
* *draws*: :data:`DRAWS` draws of an independent ``z`` per account (normal, snapped to the
  grid): the chance the pool falls below 70 % within 24 h, ``P(dip)``, and the median of the
  pool's lowest (the lowest of a sum of uncertain accounts, not the lowest of their expected
  paths).

Printed per pool: the pool error of the forecast and of the draws' median lowest; for the
joint plays and for ``a dip when P(dip) >= P*``, the dips missed and the false alarms (scored
as :func:`testkit.bench_forecast.score_moment` scores them).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import rhythm
from pipeline.forecast import HOUR_MS, _reference, account_windows, forecast_account, history_since
from pipeline.forecast_pool import pool_forecast
from pipeline.forecast_windows import with_latest
from pipeline.history.query import window_samples
from pipeline.history.samples import account_key
from pipeline.history.store import HistoryStore
from pipeline.records import DEFAULT_MODEL
from pipeline.scoring import score_account
from testkit import usage_sim
from testkit.bench_forecast import DIP_SHARE

GRID = tuple(step / 4 for step in range(-10, 11))
JOINT = (0.0, 1.2816, 1.75, 2.25)
THRESHOLDS = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
DRAWS = 400
Z90 = 2 * 1.2816  # the 10th to the 90th percentile of a normal, in standard deviations


@dataclass
class Moment:
    actual: int  # the pool's true lowest usable in the next 24 h
    forecast: int  # the forecast's lowest
    joint: dict[float, int]
    lowest: list[int]  # the draws' lowest


def day_scales(record: dict[str, Any], history: dict[str, Any]) -> list[float]:
    """The account's demand factors at the grid's ``z``: a log-normal through its profile's
    10th and 90th percentile day ratios (the forecast's default spread without a profile)."""
    facts = account_windows(record.get("quota"))
    ref = _reference(facts)
    profile = rhythm.build_profile(with_latest(history, facts), ref.key) if ref is not None else None
    light, heavy = profile.spread if profile is not None else rhythm.DEFAULT_SPREAD
    light = max(light, 0.05)  # a day with no use at all: the log-normal needs a floor
    mu, sigma = (math.log(light) + math.log(heavy)) / 2, (math.log(heavy) - math.log(light)) / Z90
    return [math.exp(mu + z * sigma) for z in GRID]


def moments(
    pool: int, accounts: int = 16, days: float = 24.0, every_hours: int = 4, eval_days: float = 4.0
) -> list[Moment]:
    sim = usage_sim.simulate(pool, accounts, days)
    rng = random.Random(1000 + pool)
    found = []
    with tempfile.TemporaryDirectory(prefix="codex-auth-forecast-risk-") as tmp_name:
        path = Path(tmp_name) / "history.sqlite3"
        usage_sim.write_history(sim, path)
        end = sim.truth.end - 24 * HOUR_MS
        first = end - int(eval_days * 24 * HOUR_MS)
        times = [at for at, _r in sim.runs if first <= at < end and (at - first) % (every_hours * HOUR_MS) == 0]
        with HistoryStore(path, create=False) as store:
            for now in times:
                horizon = now + 24 * HOUR_MS
                forecast, grid = [], []
                for record in usage_sim.records_at(sim, now):
                    if record.get("kind") != "account":
                        continue
                    scored = score_account(record, now, DEFAULT_MODEL)
                    samples = window_samples(store, account_key(record), history_since(record, now), now)
                    forecast.append({**scored, "forecast": forecast_account(scored, now, samples, horizon)})
                    grid.append(
                        [
                            {**scored, "forecast": forecast_account(scored, now, samples, horizon, scale=s)}
                            for s in day_scales(record, samples)
                        ]
                    )
                joint = {
                    z: _lowest([row[GRID.index(z) if z in GRID else _nearest(z)] for row in grid], now) for z in JOINT
                }
                lowest = [_lowest([row[_nearest(rng.gauss(0.0, 1.0))] for row in grid], now) for _d in range(DRAWS)]
                found.append(Moment(min(sim.truth.usable_between(now, horizon)), _lowest(forecast, now), joint, lowest))
    return found


def _nearest(z: float) -> int:
    return min(len(GRID) - 1, max(0, round((z - GRID[0]) / (GRID[1] - GRID[0]))))


def _lowest(accounts: list[dict[str, Any]], now: int) -> int:
    return int(pool_forecast(accounts, now, now + 24 * HOUR_MS)["lowestUsable"])


def _verdicts(found: Sequence[Moment], said: Sequence[bool], threshold: float) -> str:
    dips = [m.actual < threshold for m in found]
    missed = sum(d and not s for d, s in zip(dips, said, strict=True))
    false = sum(s and not d for d, s in zip(dips, said, strict=True))
    return f"{missed} of {sum(dips)} missed, {false} of {len(dips) - sum(dips)} false"


def report(pool: int, found: Sequence[Moment], accounts: int = 16) -> list[str]:
    threshold = DIP_SHARE * accounts
    error = statistics.fmean(abs(m.forecast - m.actual) for m in found)
    median = statistics.fmean(abs(round(statistics.median(m.lowest)) - m.actual) for m in found)
    lines = [f"pool {pool}: pool error {error:.2f} (forecast), {median:.2f} (median lowest of the draws)"]
    lines.append("  forecast: " + _verdicts(found, [m.forecast < threshold for m in found], threshold))
    for z in JOINT[1:]:
        lines.append(f"  joint z={z:g}: " + _verdicts(found, [m.joint[z] < threshold for m in found], threshold))
    for p in THRESHOLDS:
        said = [sum(low < threshold for low in m.lowest) / len(m.lowest) >= p for m in found]
        lines.append(f"  P(dip) >= {p:g}: " + _verdicts(found, said, threshold))
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", default="1,2,3,4,5,6", help="comma-separated simulated pools")
    args = parser.parse_args(argv)
    for pool in (int(p) for p in args.pools.split(",")):
        print("\n".join(report(pool, moments(pool))), flush=True)


if __name__ == "__main__":
    main()
