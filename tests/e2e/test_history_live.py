"""History after live runs against the fake backend on 127.0.0.1: one snapshot per run, the
events of a reset, an early reset and a broken token, the forecast reading the samples."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path
from typing import Any

from testkit import poolkit
from testkit.helpers import fixture_secrets, run_cli

HOUR_S = 3600


def usage_body(used_5h: float, reset_5h: int, used_7d: float = 10, reset_7d: int | None = None) -> dict[str, Any]:
    """A /wham/usage answer with a 5h and a 7d window (reset times in epoch seconds)."""
    return {
        "plan_type": "plus",
        "rate_limit": {
            "allowed": True,
            "limit_reached": False,
            "primary_window": {"used_percent": used_5h, "limit_window_seconds": 5 * HOUR_S, "reset_at": reset_5h},
            "secondary_window": {
                "used_percent": used_7d,
                "limit_window_seconds": 7 * 24 * HOUR_S,
                "reset_at": reset_7d or math.ceil(time.time()) + 3 * 24 * HOUR_S,
            },
        },
        "credits": {"has_credits": True, "unlimited": False, "balance": "12.50"},
    }


def events(db: Path, *extra: str) -> list[dict[str, Any]]:
    out = run_cli(["history", "--history", str(db), "--events", "--format", "json", *extra], validate=False).stdout
    return list(json.loads(out))


def test_live_runs_record_snapshots_and_events(pool_dir: Path, backend: Any, isolated_home: Path) -> None:
    t = poolkit.now_ms()
    accounts = [poolkit.account("burner", t), poolkit.account("steady", t)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    now_s = math.ceil(time.time())
    first_reset = now_s + 2  # the first 5h window resets between run 1 and run 2
    bodies = [
        usage_body(40, first_reset),
        usage_body(30, now_s + 5 * HOUR_S),  # after the reset: a new window, on time
        usage_body(1, now_s + 6 * HOUR_S),  # fell before the announced reset: early
    ]
    behaviours: list[Any] = [{"mode": "ok", "body": b} for b in bodies]
    behaviours += ["token_invalidated", "token_invalidated"]  # run 4: refused, refreshed, refused again
    behaviours += [{"mode": "ok", "body": usage_body(2, now_s + 6 * HOUR_S)}]  # run 5: works again
    backend(poolkit.backend_scenario(accounts, overrides={"acct-burner": {"usage": behaviours}}))
    db = isolated_home / ".local" / "state" / "codex-auth-report" / "history.sqlite3"

    run_cli(["report", "--live"], validate=False)
    while time.time() < first_reset + 0.2:
        time.sleep(0.1)
    run_cli(["forecast", "--live"], validate=False)
    run_cli(["report", "--live", "--json"], validate=False)
    run_cli(["forecast", "--live", "--json"], validate=False)
    run_cli(["report", "--live"], validate=False)

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs WHERE mode = 'live'").fetchone()[0] == 5
        per_run = conn.execute("SELECT count(*) FROM observations GROUP BY run_id").fetchall()
        assert [n for (n,) in per_run] == [2] * 5, "one observation per account and run"
        outcomes = [
            o
            for (o,) in conn.execute(
                "SELECT probe_outcome FROM observations WHERE email = 'burner@example.com' ORDER BY id"
            )
        ]
        assert outcomes == ["ok", "ok", "ok", "auth-failed", "ok"]
        balance = conn.execute(
            "SELECT credits_balance FROM observations WHERE email = 'burner@example.com'"
        ).fetchone()[0]
        assert balance == "12.50"
    kinds = [(e["kind"], e["window"]) for e in events(db, "--account", "burner@example.com")]
    # Run 4's usage read was refused after a refresh that worked: weak evidence (a warning), so
    # no "token-broken" event; only a refused refresh or an error status breaks a token.
    assert kinds == [("reset", "5h"), ("reset-early", "5h")]
    reset = events(db)[0]
    assert reset["at"] == first_reset * 1000 and reset["email"] == "burner@example.com"
    assert reset["details"]["usedBefore"] == 40 and reset["details"]["usedAfter"] == 30
    assert not [e for e in events(db) if e["email"] == "steady@example.com"], "nothing happened to steady"
    secrets = fixture_secrets(pool_dir)
    for part in db.parent.iterdir():
        data = part.read_bytes()
        assert not [s for s in secrets if s.encode() in data], f"a token reached {part.name}"
        assert b"eyJ" not in data, "no JWT (minted access tokens included) in the history"


def test_two_live_samples_of_one_window_give_a_history_pace(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    t = poolkit.now_ms()
    accounts = [poolkit.account("fast", t)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    reset = math.ceil(time.time()) + 4 * HOUR_S
    behaviours = [{"mode": "ok", "body": usage_body(used, reset)} for used in (20, 21)]
    backend(poolkit.backend_scenario(accounts, overrides={"acct-fast": {"usage": behaviours}}))
    db = tmp_path / "h.sqlite3"
    first = json.loads(run_cli(["forecast", "--live", "--json", "--history", str(db)], validate=False).stdout)
    assert first["mode"] == "live" and first["accounts"][0]["windows"][0]["basis"] == "window-average"
    time.sleep(0.05)
    second = json.loads(run_cli(["forecast", "--live", "--json", "--history", str(db)], validate=False).stdout)
    five = second["accounts"][0]["windows"][0]
    assert five["basis"] == "history" and five["samples"] == 2 and five["method"] == "rhythm"
    assert five["verdict"] == "runs-out", "a point within a second is a fast pace"
    none = json.loads(run_cli(["forecast", "--live", "--json", "--no-history"], validate=False).stdout)
    assert none["accounts"][0]["windows"][0]["basis"] == "window-average"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2, "--no-history wrote nothing"
