"""Every jq recipe on the seed page, run as written against a pool made for this moment."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT

BIN = Path(sys.executable).parent

if shutil.which("jq") is None:
    if os.environ.get("CODEX_AUTH_REQUIRE_TOOLS"):
        raise RuntimeError("jq is required (CODEX_AUTH_REQUIRE_TOOLS is set) but not installed")
    pytest.skip("jq is not installed (scripts in .ci/run install it)", allow_module_level=True)


@pytest.fixture
def env(pool_dir: Path, tmp_path: Path) -> dict[str, str]:
    poolkit.seed_example_pool(pool_dir, now=poolkit.now_ms())
    return dict(os.environ, PATH=f"{ROOT / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}")


def run(script: str, env: dict[str, str], cwd: Path, expect: int = 0) -> str:
    done = subprocess.run(["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == expect, f"exit {done.returncode}\n{done.stderr}"
    return done.stdout


def test_health_score_of_one_account(env: dict[str, str], tmp_path: Path) -> None:
    out = run(
        """codex auth report --json | jq '.accounts[] | select(.email == "bob@example.com") | .healthScore'""",
        env,
        tmp_path,
    )
    assert out == "85\n"


def test_count_rate_limited_accounts(env: dict[str, str], tmp_path: Path) -> None:
    assert (
        run("codex auth report --json | jq '[.accounts[] | select(.rateLimited == true)] | length'", env, tmp_path)
        == "1\n"
    )


def test_list_healthy_accounts(env: dict[str, str], tmp_path: Path) -> None:
    out = run(
        """codex auth report --json | jq -r '.accounts[] | select(.status == "healthy") | .email'""", env, tmp_path
    )
    assert out == "alice@example.com\nbob@example.com\n"


def test_prometheus_exporter_script(env: dict[str, str], tmp_path: Path) -> None:
    script = r"""
REPORT=$(codex auth report --json)

echo "codex_total_accounts $(echo $REPORT | jq '.summary.totalAccounts')"
echo "codex_active_accounts $(echo $REPORT | jq '.summary.activeAccounts')"
echo "codex_flagged_accounts $(echo $REPORT | jq '.summary.flaggedAccounts')"

echo $REPORT | jq -r '.accounts[] | "codex_health_score{email=\"" + .email + "\"} " + (.healthScore | tostring)'
"""
    assert run(script, env, tmp_path) == (
        "codex_total_accounts 5\ncodex_active_accounts 4\ncodex_flagged_accounts 1\n"
        'codex_health_score{email="alice@example.com"} 100\ncodex_health_score{email="bob@example.com"} 85\n'
        'codex_health_score{email="carol@example.com"} 70\ncodex_health_score{email="dave@example.com"} 40\n'
    )


PRE_DEPLOY = r"""
REPORT=$(codex auth report --json)
HEALTHY=$(echo $REPORT | jq '[.accounts[] | select(.status == "healthy")] | length')

if [ $HEALTHY -lt NEEDED ]; then
  echo "Not enough healthy accounts for deployment"
  exit 1
fi
echo "ok: $HEALTHY healthy"
"""


def test_pre_deployment_check_passes_with_two_healthy(env: dict[str, str], tmp_path: Path) -> None:
    assert run(PRE_DEPLOY.replace("NEEDED", "2"), env, tmp_path) == "ok: 2 healthy\n"


def test_pre_deployment_check_fails_when_short(env: dict[str, str], tmp_path: Path) -> None:
    assert (
        run(PRE_DEPLOY.replace("NEEDED", "3"), env, tmp_path, expect=1)
        == "Not enough healthy accounts for deployment\n"
    )


def test_daily_snapshot_and_capacity_planning(env: dict[str, str], tmp_path: Path) -> None:
    script = r"""
mkdir -p reports/
DATE=$(date +%Y-%m-%d)
codex auth report --json --out reports/health-$DATE.json
for i in {0..6}; do
  DATE=$(date -d "-$i days" +%Y-%m-%d)
  if [ -f "reports/health-$DATE.json" ]; then
    echo "$DATE: $(jq '.summary.activeAccounts' reports/health-$DATE.json)"
  fi
done
"""
    today = datetime.date.today().isoformat()
    assert run(script, env, tmp_path) == f"{today}: 4\n"
    assert (tmp_path / "reports" / f"health-{today}.json").stat().st_mode & 0o777 == 0o600


def test_pipe_to_tools(env: dict[str, str], tmp_path: Path) -> None:
    assert run("codex auth report --json | jq '.accounts | length'", env, tmp_path) == "4\n"
    run("codex auth report --json | gzip > report.json.gz", env, tmp_path)
    assert run("gzip -dc report.json.gz | jq .summary.flaggedAccounts", env, tmp_path) == "1\n"


def test_live_prometheus_exporter_and_daily_snapshot(pool_dir: Path, tmp_path: Path, backend) -> None:
    """The seed's --live recipes, against the fake ChatGPT backend."""
    poolkit.seed_example_pool(pool_dir, now=poolkit.now_ms())
    backend(poolkit.seed_example_scenario(pool_dir))
    env = dict(os.environ, PATH=f"{ROOT / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}")
    exporter = r"""
REPORT=$(codex auth report --live --json)
echo "codex_total_accounts $(echo $REPORT | jq '.summary.totalAccounts')"
echo $REPORT | jq -r '.accounts[] | "codex_health_score{email=\"" + .email + "\"} " + (.healthScore | tostring)'
"""
    assert run(exporter, env, tmp_path) == (
        'codex_total_accounts 5\ncodex_health_score{email="alice@example.com"} 100\ncodex_health_score{email="bob@example.com"} 85\n'
        'codex_health_score{email="carol@example.com"} 70\ncodex_health_score{email="dave@example.com"} 40\n'
    )
    run(
        "mkdir -p reports && codex auth report --live --json --out reports/health-$(date +%Y-%m-%d).json", env, tmp_path
    )
    (saved,) = (tmp_path / "reports").iterdir()
    assert run(f"jq -r .mode {saved}", env, tmp_path) == "live\n"


def test_live_demo_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testkit.demo", "--live", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    report = __import__("json").loads(done.stdout)
    assert report["mode"] == "live" and report["recommendation"]["email"] == "alice@example.com"
