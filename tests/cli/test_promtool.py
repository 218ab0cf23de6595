"""promtool (Prometheus's own checker) accepts every metrics exposition we write (moved from tests/unit: it runs promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testkit.cases import SMALL, big_report, render_case
from testkit.helpers import system_tool


@pytest.fixture
def promtool() -> str:
    return system_tool("promtool", "prometheus")


def promtool_check(promtool: str, data: bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "check", "metrics"], input=data.decode(), capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("case", [c for c, _, _ in SMALL] + ["recovered-shared-email", "redact-everywhere"])
def test_promtool_accepts_the_metrics(promtool: str, case: str) -> None:
    args = ["--format", "prometheus"] + (["--redact"] if case.startswith("redact") else [])
    done = promtool_check(promtool, render_case(case, *args))
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_promtool_accepts_1000_accounts(promtool: str, big_pool: Path) -> None:
    done = promtool_check(promtool, big_report(big_pool, "--format", "prometheus"))
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_promtool_would_catch_a_bad_exposition(promtool: str) -> None:
    bad = b"# HELP codex_auth_x_ms In milliseconds.\n# TYPE codex_auth_x_ms counter\ncodex_auth_x_ms 3\n"
    assert promtool_check(promtool, bad).returncode != 0
