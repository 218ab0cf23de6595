"""The run's context and the one rule for a missing ``now`` (:mod:`pipeline.context`), as the
stages apply it: ``--now``, else the stream's own time, else the clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.context import RunContext, run_instant
from pipeline.errors import ConfigError
from pipeline.records import Record
from pipeline.stages.recommend import recommend
from pipeline.stages.score import score
from testkit.poolkit import SEED_NOW

NOW = 1_772_548_200_000
CLOCK = 1_800_000_000_000
HOUR = 3_600_000


def clock() -> int:
    return CLOCK


def pool(collected_at: int, probe_started: int | None = None) -> Record:
    record: Record = {"kind": "pool", "collectedAt": collected_at}
    if probe_started is not None:
        record["probe"] = {"startedAt": probe_started}
    return record


def test_given_now_beats_the_stream_and_the_clock() -> None:
    assert run_instant(NOW, pool(NOW - 5), clock) == NOW


def test_without_now_the_stream_dates_the_run_by_its_later_time() -> None:
    assert run_instant(None, pool(NOW - 5), clock) == NOW - 5
    assert run_instant(None, pool(NOW - 5, probe_started=NOW), clock) == NOW


def test_without_now_or_a_dated_stream_the_clock_is_read() -> None:
    assert run_instant(None, None, clock) == CLOCK
    assert run_instant(None, {"kind": "pool"}, clock) == CLOCK


def test_the_context_is_frozen_and_parses_now() -> None:
    context = RunContext.from_options("2026-03-03T14:30:00Z", "gpt-5")
    assert (context.now, context.model, context.instant()) == (NOW, "gpt-5", NOW)
    with pytest.raises(AttributeError):
        context.now = 0  # type: ignore[misc]
    assert RunContext.from_options(None).now is None
    assert RunContext(None, clock=clock).instant() == CLOCK
    with pytest.raises(ConfigError, match="--now"):
        RunContext.from_options("yesterday")


def test_score_and_recommend_date_a_stream_by_its_pool_record() -> None:
    window = {"windowMinutes": 300, "usedPercent": 100, "resetAt": NOW + HOUR}
    account: Record = {
        "kind": "account",
        "index": 0,
        "enabled": True,
        "quota": {"source": "cache", "windows": [window]},
    }
    dated = list(recommend(score([pool(NOW), dict(account)], now=None), now=None))
    assert dated[1]["status"] == "rate-limited", "scored at the pool record's time, not by the clock (months later)"
    assert dated[-1]["reasoning"].endswith("frees up in 1h 0m") and dated[-1]["nextAvailableAt"] == NOW + HOUR
    later = list(recommend(score([pool(NOW), dict(account)], now=NOW + 2 * HOUR), now=NOW + 2 * HOUR))
    assert later[1]["status"] == "healthy" and later[-1]["reasoning"] == "Only usable account"


def test_the_context_clock_dates_a_whole_run(seed_pool: Path) -> None:
    from pipeline.in_process import report_view

    env = {"CODEX_MULTI_AUTH_DIR": str(seed_pool)}
    reads: list[int] = []

    def fixed() -> int:
        reads.append(SEED_NOW)
        return SEED_NOW

    view = report_view(env=env, context=RunContext(None, clock=fixed)).view
    assert view.generated_at == SEED_NOW, "no wall clock but the context's"
    assert len(reads) == 2, "read when the pool is read and again for the report's time"
    pinned = report_view(env=env, context=RunContext(SEED_NOW + HOUR, clock=fixed)).view
    assert pinned.generated_at == SEED_NOW + HOUR and len(reads) == 2, "--now given: the clock is not read"
