"""Files of processes that died (temporary files, lease locks) are taken over, ours only (moved from tests/unit: they start processes that die)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.live import atomic, processes
from pipeline.live.journal import token_hash
from pipeline.live.lease import Lease


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporary_files_of_dead_processes_go_ours_only(tmp_path: Path) -> None:
    pid = dead_pid()
    mine, started = processes.me()
    dead = tmp_path / f".openai-codex-accounts.json.codex-auth-report.{pid}.123.deadbeef.tmp"
    live = tmp_path / f".openai-codex-accounts.json.codex-auth-report.{mine}.{started}.cafef00d.tmp"
    reused = tmp_path / f".openai-codex-accounts.json.codex-auth-report.{mine}.1.abcdef01.tmp"  # pid reused
    theirs = tmp_path / f"openai-codex-accounts.json.{pid}.1764530000000.0badc0de.tmp"  # codex-multi-auth's
    for path in (dead, live, reused, theirs):
        path.write_text('{"refreshToken": "rt_fixture_left_over"}')
    assert atomic.remove_dead_temps(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, theirs.name])


def test_a_lease_lock_of_a_dead_process_is_taken_over_at_once(tmp_path: Path) -> None:
    lease = Lease(tmp_path / "refresh-leases", wait_ms=1, poll_ms=1)
    lease.folder.mkdir()
    token = "rt_fixture_locked_token"
    lock = lease.folder / f"{token_hash(token)}.lock"
    far = 10**13
    lock.write_text(json.dumps({"tokenHash": token_hash(token), "pid": dead_pid(), "expiresAt": far, "nonce": "x"}))
    nonce, published = lease.acquire(token)
    assert nonce and published is None
    held = json.loads(lock.read_text())
    assert held["pid"] == os.getpid() and held["startTime"] == processes.me()[1] and "bootId" in held
    lease.release(token, nonce)
    assert not lock.exists()
