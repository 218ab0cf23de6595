"""Ctrl-C during ``codex auth report --live`` while the service is slow to answer: the run
ends with 130 (128 + SIGINT) without "Aborted!" or a traceback, and long before the slow
answers would have come (it no longer waits for every request in flight). A token that was
rotated before the interrupt is not lost: the journal has it, and the next command stores it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pipeline.errors import ExitStatus
from pipeline.live.journal import JOURNAL_NAME
from testkit import poolkit
from testkit.helpers import ROOT, run_cli
from testkit.poolkit import DAY

SLOW = 120_000  # ms: the usage answers come long after the run must have ended


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the run never got that far"
        time.sleep(0.05)


def test_ctrl_c_during_a_slow_live_report(pool_dir: Path, backend: Any) -> None:
    t = poolkit.now_ms()
    rotated = poolkit.account("rotated", t, refreshed=t - 11 * DAY, lifetime=10 * DAY)  # its token expired
    waiting = poolkit.account("waiting", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([rotated, waiting]))
    slow = {"usage": {"mode": "ok", "delayMs": SLOW}}
    server = backend(
        poolkit.backend_scenario([rotated, waiting], overrides={"acct-rotated": slow, "acct-waiting": slow})
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "report", "--live"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: server.stats()["refresh"]["succeeded"] == 1 and (pool_dir / JOURNAL_NAME).exists())
        wait_for(lambda: server.stats()["inFlight"] >= 2)  # both usage reads wait for their slow answers
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=SLOW / 1000 / 2)  # ends before any slow answer
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == ExitStatus.INTERRUPTED == 130
    assert b"Traceback" not in err and b"Aborted" not in err, err.decode()
    assert err == b"", err.decode()
    assert out == b"", "no half report"
    new = server.refresh_token("acct-rotated")
    assert new and new != rotated["refreshToken"]
    run_cli(["repair"], validate=False)
    stored = json.loads((pool_dir / poolkit.ACCOUNTS_FILE).read_text())["accounts"]
    assert stored[0]["refreshToken"] == new, "the token rotated before Ctrl-C is kept"


def test_a_terminal_sees_progress_before_the_first_answer_and_ctrl_c_ends_it(pool_dir: Path, backend: Any) -> None:
    import pty
    import select

    t = poolkit.now_ms()
    accounts = [poolkit.account("slow-a", t), poolkit.account("slow-b", t)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    slow = {"usage": {"mode": "ok", "delayMs": SLOW}}
    backend(poolkit.backend_scenario(accounts, overrides={"acct-slow-a": slow, "acct-slow-b": slow}))
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "report", "--live"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"probing: 0/2 done" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 4096)
        assert b"probing: 0/2 done, 0 failed" in seen, seen
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=SLOW / 1000 / 2) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
