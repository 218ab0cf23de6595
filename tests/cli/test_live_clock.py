"""One clock for a live run: --now with --live is refused with a usage error (exit 2), so a
live run's token checks, quota samples, history observations and quota cache all carry the
real time, and a forecast at that time sees the run's own samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testkit import poolkit
from testkit.helpers import run_cli


@pytest.mark.parametrize("command", ["report", "forecast"])
def test_now_with_live_is_a_usage_error_before_any_request(command: str, pool_dir: Path, fake_backend: Any) -> None:
    t = poolkit.now_ms()
    accounts = [poolkit.account("clock", t)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    backend = fake_backend(poolkit.backend_scenario(accounts))
    result = run_cli([command, "--live", "--now", "2026-03-03T14:30:00Z"], expect=2, validate=False)
    assert "--now cannot be used with --live" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith(f"codex-auth {command}: --now cannot")
    assert result.stderr.count("\n") == 1, "one clear usage error, on one line"
    assert backend.stats()["total"] == 0, "refused before any request"


def test_a_live_run_dates_its_samples_and_its_history_by_the_real_clock(
    pool_dir: Path, fake_backend: Any, tmp_path: Path
) -> None:
    t = poolkit.now_ms()
    accounts = [poolkit.account("clock", t)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    fake_backend(poolkit.backend_scenario(accounts))
    history = tmp_path / "history.sqlite"
    report = json.loads(run_cli(["report", "--live", "--json", "--history", str(history)], validate=False).stdout)
    (account,) = report["accounts"]
    after = poolkit.now_ms()
    assert t <= account["quotaSampledAt"] <= after
    assert t <= report["generatedAt"] <= after
    forecast = json.loads(run_cli(["forecast", "--json", "--history", str(history)], validate=False).stdout)
    sampled = [w.get("sampledAt") for a in forecast["accounts"] for w in a.get("windows") or []]
    assert account["quotaSampledAt"] in sampled, "a forecast now sees the live run's own sample"
