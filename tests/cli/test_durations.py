"""Durations read alike everywhere: ``--horizon`` and ``--keep`` take plain seconds as
``--interval`` does (``86400`` is ``24h``), besides ``90d``, ``12h`` or ``1d12h``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.clock import parse_duration, parse_interval
from pipeline.errors import ConfigError
from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)


def test_plain_seconds_are_a_duration_as_for_interval() -> None:
    assert parse_duration("86400") == parse_duration("24h") == parse_interval("86400") * 1000
    assert parse_duration(" 90 ") == 90_000
    with pytest.raises(ConfigError, match=r"90d, 12h, 30m or 3600 \(seconds\)"):
        parse_duration("soon", "--horizon")


@pytest.mark.usefixtures("seed_pool")
def test_forecast_horizon_in_seconds() -> None:
    hours = run_cli(["forecast", "--now", NOW, "--horizon", "24h", "--json"], validate=False).stdout
    seconds = run_cli(["forecast", "--now", NOW, "--horizon", "86400", "--json"], validate=False).stdout
    assert hours == seconds and b'"horizon":{"start":1772548200000,"end":1772634600000}' in seconds


@pytest.mark.usefixtures("seed_pool")
def test_history_keep_in_seconds(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    run_cli(["report", "--record", "--history", str(path), "--now", NOW], validate=False)
    done = run_cli(["history", "--history", str(path), "--prune", "--keep", "31536000000"], validate=False)
    assert "pruned 0 runs older than 31536000000" in done.stderr
