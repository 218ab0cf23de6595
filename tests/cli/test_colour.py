"""Issue 11, point 11: colour precedence. An explicit --color always/never wins; with auto,
NO_COLOR turns colour off, FORCE_COLOR / CLICOLOR_FORCE turn it on, TERM=dumb turns it off,
else a terminal decides. Checked as a rule table and on a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.terminal import want_color
from testkit import poolkit
from testkit.helpers import ROOT

SAMPLE = str(ROOT / "examples" / "sample-pool")
BIN = Path(sys.executable).parent
GREEN = b"\x1b[32mHealthy\x1b[0m"


@pytest.mark.parametrize(
    ("choice", "env", "tty", "to_file", "expected"),
    [
        ("always", {"NO_COLOR": "1"}, False, False, True),
        ("always", {"TERM": "dumb"}, False, True, True),
        ("never", {"FORCE_COLOR": "1"}, True, False, False),
        ("auto", {}, True, False, True),
        ("auto", {}, False, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False, False),
        ("auto", {"NO_COLOR": ""}, True, False, True),  # NO_COLOR counts only when not empty
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False, False),
        ("auto", {"FORCE_COLOR": "1"}, False, False, True),
        ("auto", {"FORCE_COLOR": "0"}, False, False, False),
        ("auto", {"CLICOLOR_FORCE": "1"}, False, False, True),
        ("auto", {"TERM": "dumb"}, True, False, False),
        ("auto", {"TERM": "dumb", "FORCE_COLOR": "1"}, True, False, True),
        ("auto", {"FORCE_COLOR": "1"}, True, True, False),  # auto never colours an --out file
    ],
)
def test_rules(choice: str, env: dict[str, str], tty: bool, to_file: bool, expected: bool) -> None:
    assert want_color(choice, env=env, to_terminal=tty, to_file=to_file) is expected


def on_a_terminal(extra_env: dict[str, str], *args: str) -> bytes:
    """Run the report with stdout on a pseudo-terminal; what it printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM")}
    env.update(extra_env)
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(BIN / "codex-auth"), "report", "--dir", SAMPLE, "--now", str(poolkit.SEED_NOW), *args],
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks)


def test_on_a_real_terminal() -> None:
    assert GREEN in on_a_terminal({"TERM": "xterm"})
    assert b"\x1b[" not in on_a_terminal({"TERM": "dumb"})
    assert b"\x1b[" not in on_a_terminal({"TERM": "xterm", "NO_COLOR": "1"})
    assert GREEN in on_a_terminal({"TERM": "xterm", "NO_COLOR": "1"}, "--color", "always")


def test_forced_through_a_pipe() -> None:
    env = dict(os.environ, FORCE_COLOR="1")
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [str(BIN / "codex-auth"), "report", "--dir", SAMPLE, "--now", str(poolkit.SEED_NOW)],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert GREEN in done.stdout
