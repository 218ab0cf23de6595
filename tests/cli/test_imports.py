"""Start-up stays light: --help and collect import neither httpx nor jsonschema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT

HEAVY = ("httpx", "jsonschema", "referencing", "httpcore")
PROBE = """
import atexit, json, sys
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(sorted(sys.modules))))
from pipeline.cli import main
main(sys.argv[2:])
"""


def loaded_modules(tmp_path: Path, *args: str, env: dict | None = None) -> set[str]:
    out = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=ROOT, env=env, capture_output=True)
    return set(json.loads(out.read_text()))


@pytest.mark.parametrize(
    "args", [["--help"], ["collect", "--help"], ["schema", "--help"], ["--version"], ["schema", "report"]]
)
def test_help_is_light(tmp_path: Path, args: list[str]) -> None:
    modules = loaded_modules(tmp_path, *args)
    assert "pipeline.cli" in modules
    assert not [m for m in modules if m.split(".")[0] in HEAVY], args


@pytest.mark.parametrize(
    ("args", "marker"),
    [
        (["collect"], "pipeline.stages.collect"),
        (["report", "--json"], "pipeline.porcelain"),
        (["report"], "pipeline.report.text"),
    ],
)
def test_collect_and_default_report_are_light(tmp_path: Path, args: list[str], marker: str) -> None:
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(os.environ, CODEX_MULTI_AUTH_DIR=str(pool))
    modules = loaded_modules(tmp_path, *args, env=env)
    assert marker in modules
    assert not [m for m in modules if m.split(".")[0] in HEAVY]


def test_live_report_loads_httpx(tmp_path: Path) -> None:
    """The guard above can fail: the live path does import httpx."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(
        os.environ,
        CODEX_MULTI_AUTH_DIR=str(pool),
        CODEX_AUTH_BASE_URL="http://127.0.0.1:9/backend-api",
        CODEX_AUTH_TOKEN_URL="http://127.0.0.1:9/t",
        CODEX_AUTH_FETCH_TIMEOUT_MS="200",
    )
    modules = loaded_modules(tmp_path, "report", "--live", "--cached-only", "--max-probes", "1", env=env)
    assert "httpx" in modules
