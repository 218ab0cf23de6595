"""`codex auth serve --live` when the service misbehaves: down (connections dropped, then
refused), slow (past the fetch timeout), throttling (429 with Retry-After). Each time the last
good snapshot is still served, codex_auth_up says what is true, and the loop backs off; the
fake backend's request counts show the exporter sent one probe per account per run, no more."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit import poolkit
from testkit.serving import ServeProcess


def metric(serve: ServeProcess, name: str) -> float | None:
    for family in text_string_to_metric_families(serve.get("/metrics").decode()):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


def two_accounts(pool_dir: Path, backend: Any, usage: list[Any], **env: str) -> Any:
    now = poolkit.now_ms()
    accounts = [poolkit.account("ann", now), poolkit.account("ben", now)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    overrides = {a["accountId"]: {"usage": usage} for a in accounts}
    return backend(poolkit.backend_scenario(accounts, overrides=overrides))


def first_good(serve: ServeProcess) -> tuple[bytes, dict[str, Any]]:
    serve.wait_for(lambda h: h["up"])
    return serve.get("/report.json"), serve.health()


def test_backend_down(pool_dir: Path, backend: Any) -> None:
    server = two_accounts(pool_dir, backend, ["ok", "drop"])
    with ServeProcess(["--live", "--interval", "1"]) as serve:
        good, _ = first_good(serve)
        state = serve.wait_for(lambda h: h["consecutiveFailures"] >= 2)
        assert state["up"] is False and state["status"] == "failing"
        assert "no account got an answer from the service (2 network-error)" in state["lastError"]
        assert state["nextDelaySeconds"] >= 4, "interval 1s, two failures: at least 4s to the next run"
        assert serve.get("/report.json") == good, "the last good snapshot, unchanged"
        assert metric(serve, "codex_auth_up") == 0
        assert metric(serve, "codex_auth_accounts") == 2
        assert metric(serve, "codex_auth_refresh_failures_total") == state["failures"]
        runs, stats = serve.runs_and_stats(server)
        assert stats["requests"]["usage"] == 2 * runs and stats["dropped"] == 2 * (runs - 1)
        # now truly down: nothing listens any more
        server.stop()
        failures = state["consecutiveFailures"]
        later = serve.wait_for(lambda h: h["consecutiveFailures"] > failures, timeout=40)
        assert later["nextDelaySeconds"] >= 2 ** later["consecutiveFailures"]
        assert serve.get("/report.json") == good
    assert "refresh failed: no account got an answer" in serve.stderr


def test_backend_slow(pool_dir: Path, backend: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("CODEX_AUTH_FETCH_TIMEOUT_MS", "300")
    server = two_accounts(pool_dir, backend, ["ok", {"mode": "ok", "delayMs": 1500}])
    with ServeProcess(["--live", "--interval", "1"]) as serve:
        good, _ = first_good(serve)
        state = serve.wait_for(lambda h: h["consecutiveFailures"] >= 1)
        assert "(2 timeout)" in state["lastError"]
        assert serve.get("/report.json") == good
        assert metric(serve, "codex_auth_up") == 0
        assert metric(serve, "codex_auth_last_refresh_success_timestamp_seconds") == state["lastSuccess"]
    assert server.stats()["requests"]["usage"] >= 4


def test_backend_throttling_with_retry_after(pool_dir: Path, backend: Any) -> None:
    server = two_accounts(pool_dir, backend, ["ok", {"mode": "rate_limited", "retryAfter": 4}, "ok"])
    with ServeProcess(["--live", "--interval", "1"]) as serve:
        good, _ = first_good(serve)
        state = serve.wait_for(lambda h: h["runs"] >= 2)
        assert state["up"] is False and "(2 throttled (429))" in state["lastError"]
        assert state["retryAfterSeconds"] == 4 and state["nextDelaySeconds"] >= 4, "Retry-After beats the backoff"
        assert serve.get("/report.json") == good
        assert metric(serve, "codex_auth_refresh_next_delay_seconds") == pytest.approx(
            state["nextDelaySeconds"], abs=0.001
        )
        # while the exporter waits, the service hears nothing more from it
        assert server.stats()["requests"]["usage"] == 4
        assert serve.health()["runs"] == 2
        recovered = serve.wait_for(lambda h: h["up"] and h["runs"] >= 3, timeout=30)
        assert recovered["consecutiveFailures"] == 0 and recovered["nextDelaySeconds"] < 2
        assert json.loads(serve.get("/report.json"))["generatedAt"] > json.loads(good)["generatedAt"]
        runs, stats = serve.runs_and_stats(server)
        assert stats["requests"]["usage"] == 2 * runs, "one probe per account per run"


def test_sigterm_does_not_wait_for_a_slow_run(pool_dir: Path, backend: Any) -> None:
    """The probe in flight would take a minute; SIGTERM ends the exporter anyway (exit 0)."""
    two_accounts(pool_dir, backend, ["ok", {"mode": "ok", "delayMs": 60_000}])
    with ServeProcess(["--live", "--interval", "1"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 1 and h["running"])
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=10) == 0
    assert "codex-auth serve: stopped" in serve.stderr


def test_sigterm_waits_for_a_token_refresh_to_be_saved(pool_dir: Path, backend: Any) -> None:
    """SIGTERM while a refresh request is out (its answer takes 4 s): the exporter stops the
    probe of the other account at once, but waits for the rotated token to reach storage."""
    now = poolkit.now_ms()
    stale = poolkit.account("ann", now, refreshed=now - 11 * poolkit.DAY, lifetime=10 * poolkit.DAY)
    fine = poolkit.account("ben", now)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([stale, fine]))
    overrides = {
        stale["accountId"]: {"refresh": {"mode": "ok", "delayMs": 4000}},
        fine["accountId"]: {"usage": {"mode": "ok", "delayMs": 60_000}},
    }
    server = backend(poolkit.backend_scenario([stale, fine], overrides=overrides))
    with ServeProcess(["--live", "--interval", "1", "--no-history"]) as serve:
        serve.wait_for(lambda h: h["running"] and server.stats()["inFlight"] >= 2, timeout=30)
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=40) == 0
    assert "waiting for a token refresh to be saved" in serve.stderr
    rotated = server.refresh_token("acct-ann")
    assert rotated != stale["refreshToken"], "the backend rotated the token"
    stored = json.loads((pool_dir / poolkit.ACCOUNTS_FILE).read_text())["accounts"]
    assert [a["refreshToken"] for a in stored if a["accountId"] == "acct-ann"] == [rotated]
