"""Inputs several test modules share: the render stage's golden inputs, the report of a large
pool (made once per argument list), and a codex-multi-auth folder holding one project's pool."""

from __future__ import annotations

from pathlib import Path

from pipeline.storage import projects
from pipeline.storage.paths import QUOTA_CACHE_FILE
from testkit import poolkit
from testkit.helpers import ROOT, run_cli

NOW = str(poolkit.SEED_NOW)
RENDER_CASES = ROOT / "tests" / "golden" / "stages" / "render"
# (case, active accounts, flagged accounts)
SMALL = [("seed-example", 4, 1), ("all-flagged", 0, 2)]  # an empty pool fails: tests/cli/test_pool_record.py
BIG = 1000


def render_case(case: str, *args: str) -> bytes:
    data = (RENDER_CASES / f"{case}.in.ndjson").read_bytes()
    return run_cli(["render", "--now", NOW, *args], input=data, validate=False).stdout


_big_reports: dict[tuple[str, ...], bytes] = {}


def big_report(pool: Path, *args: str) -> bytes:
    """`codex auth report` on the 1,000-account pool (made once per argument list)."""
    key = (str(pool), *args)
    if key not in _big_reports:
        _big_reports[key] = run_cli(["report", "--dir", str(pool), "--now", NOW, *args], validate=False).stdout
    return _big_reports[key]


def project_layout(root: Path, project: Path) -> Path:
    """A multi-auth folder holding only the project's pool, the quota cache beside it."""
    key = projects.project_key(str(project))
    folder = poolkit.seed_example_pool(root / "projects" / key)
    root.joinpath(QUOTA_CACHE_FILE).write_bytes((folder / QUOTA_CACHE_FILE).read_bytes())
    (folder / QUOTA_CACHE_FILE).unlink()
    return folder
