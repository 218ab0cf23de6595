"""Issue 11, point 6: a failed write to stdout (`> /dev/full`) is one line and exit 1, never a
traceback, for the report and for every stage writing records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT

BIN = Path(sys.executable).parent
SAMPLE = str(ROOT / "examples" / "sample-pool")
NOW = str(poolkit.SEED_NOW)


def run_to_full(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    assert Path("/dev/full").exists(), "Linux provides /dev/full"
    with open("/dev/full", "wb") as full:
        return subprocess.run(
            [str(BIN / "codex-auth"), *args],
            input=stdin,
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
            env=dict(os.environ),
        )


@pytest.fixture(scope="module")
def snapshot() -> bytes:
    done = subprocess.run(
        [str(BIN / "codex-auth"), "collect", "--dir", SAMPLE, "--now", NOW], capture_output=True, timeout=60
    )
    assert done.returncode == 0
    return done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--dir", SAMPLE, "--now", NOW],
        ["report", "--dir", SAMPLE, "--now", NOW, "--format", "html"],
        ["collect", "--dir", SAMPLE, "--now", NOW],
        ["score"],
        ["recommend"],
        ["render", "--format", "prometheus"],
        ["schema", "report"],
        ["completion", "bash"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_a_full_disk_on_stdout_is_one_line(args: list[str], snapshot: bytes) -> None:
    done = run_to_full(args, snapshot if args[0] in ("score", "recommend", "render") else b"")
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert stderr.count("\n") == 1 and stderr.endswith("cannot write to standard output: No space left on device\n")
    assert stderr.startswith(f"codex-auth {args[0]}: ")
