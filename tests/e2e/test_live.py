"""Live mode over real sockets and processes: `codex-auth probe` and `codex auth report --live`
run as subprocesses (streaming, two processes racing, a terminal) or held to a real timeout,
against the fake ChatGPT backend served on 127.0.0.1 (the ``backend`` fixture), with real pool
files in temporary folders. The other live tests run in-process: tests/cli/test_live_in_process.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testkit import poolkit
from testkit.helpers import ROOT, run_cli
from testkit.live_helpers import accounts_of, expired, now, pool_file, probe, write_accounts

# --- streaming, processes ------------------------------------------------------------------------


def test_records_stream_before_the_slow_ones_finish(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    t = now()
    accounts = [poolkit.account("quick", t), poolkit.account("slow", t)]
    write_accounts(pool_dir, accounts)
    server = backend(poolkit.backend_scenario(accounts, overrides={"acct-slow": {"delayMs": 3000}}))
    env = dict(os.environ)
    collected = run_cli(["collect"]).stdout
    stage = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "probe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env
    )
    try:
        assert stage.stdin and stage.stdout
        stage.stdin.write(collected)
        stage.stdin.close()
        lines = [stage.stdout.readline(), stage.stdout.readline()]
        assert json.loads(lines[1])["email"] == "quick@example.com"
        # quick's record arrived while slow's request was still waiting for its answer
        stats = server.stats()
        assert stats["statuses"] == {"200": 1}, "only quick has been answered"
        assert stage.stdout.readline() and stage.wait(timeout=30) == 0
    finally:
        stage.kill()
        stage.wait()
        stage.stdout.close() if stage.stdout else None


# --- a real timeout ------------------------------------------------------------------------------


def test_timeout_is_bounded_by_the_environment(pool_dir: Path, backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = now()
    accounts = [poolkit.account("slow", t)]
    write_accounts(pool_dir, accounts)
    backend(poolkit.backend_scenario(accounts, overrides={"acct-slow": {"delayMs": 3000}}))
    monkeypatch.setenv("CODEX_AUTH_FETCH_TIMEOUT_MS", "300")
    (slow,) = accounts_of(probe().records)
    assert slow["probe"]["outcome"] == "timeout" and slow["probe"]["detail"] == "no answer within 300 ms"


def test_two_processes_at_once_spend_the_token_once(pool_dir: Path, backend: Any) -> None:
    t = now()
    accounts = [expired("race", t)]
    write_accounts(pool_dir, accounts)
    server = backend(
        poolkit.backend_scenario(accounts, overrides={"acct-race": {"refresh": {"mode": "ok", "delayMs": 800}}})
    )
    command = [sys.executable, "-m", "pipeline", "report", "--live", "--json"]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [o[1] for o in outputs]
    stats = server.stats()
    assert stats["refresh"]["succeeded"] == 1 and stats["refresh"]["reused"] == 0
    assert list(stats["refreshTokensPresented"].values()) == [1]
    for out, _ in outputs:
        assert json.loads(out)["accounts"][0]["status"] == "healthy"
    assert pool_file(pool_dir)["accounts"][0]["refreshToken"] == server.refresh_token("acct-race")


def test_progress_only_on_a_terminal(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    import pty

    t = now()
    accounts = [poolkit.account(f"p{i}", t) for i in range(3)]
    write_accounts(pool_dir, accounts)
    backend(poolkit.backend_scenario(accounts))
    plain = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", "--live"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 0 and "probing:" not in plain.stderr
    out = tmp_path / "report.txt"
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "report", "--live", "--out", str(out)],
            cwd=ROOT,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=secondary,
            stderr=secondary,
            timeout=60,
        )
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert b"probing: 3/3 done, 0 failed" in seen
    assert out.read_text().startswith("=== Codex Multi-Auth Health Report ===")
