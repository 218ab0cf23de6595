"""NDJSON into a real pipe whose reader goes away (moved from tests/unit: it runs a shell pipe)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testkit.helpers import ROOT


def test_head_one_ends_quietly(tmp_path: Path) -> None:
    from testkit import poolkit

    poolkit.large_pool(tmp_path / "pool", 300, poolkit.SEED_NOW)
    env = dict(os.environ, CODEX_MULTI_AUTH_DIR=str(tmp_path / "pool"))
    pipe = subprocess.run(
        f"{sys.executable} -m pipeline collect | head -1",
        shell=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert pipe.stdout.count(b"\n") == 1 and b'"kind":"pool"' in pipe.stdout
    assert pipe.stderr == b"", pipe.stderr.decode()
