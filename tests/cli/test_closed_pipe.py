"""A reader that goes away (``codex-auth report | head -1``) ends the run quietly with the
documented 141 (128 + SIGPIPE), in every format and for the stages, never 0 and never a
traceback. A buffered stdout hides the error of a large write cut short (it returns a short
count), so the report is written until every byte is taken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import ExitStatus
from testkit import poolkit

NOW = str(poolkit.SEED_NOW)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return poolkit.large_pool(tmp_path_factory.mktemp("big") / "pool", 2000, poolkit.SEED_NOW)


def into_head(command: str, pool: Path) -> tuple[int, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        [
            "bash",
            "-c",
            f"{command} --dir {pool} --now {NOW} 2>err.txt | head -c 100 >/dev/null; echo ${{PIPESTATUS[0]}}",
        ],
        env=env,
        cwd=pool.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return int(done.stdout.strip()), (pool.parent / "err.txt").read_text()


@pytest.mark.parametrize(
    "command",
    ["codex-auth report", "codex-auth report --json", "codex-auth report --format html", "codex-auth collect"],
)
def test_a_closed_pipe_is_141_and_quiet(big: Path, command: str) -> None:
    code, err = into_head(command, big)
    assert code == ExitStatus.BROKEN_PIPE == 141
    assert err == "", "no traceback, no message"
