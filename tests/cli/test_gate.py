"""`codex auth report --min-healthy N`: exit 3 when fewer than N accounts are healthy, with
the report written all the same; exit 1 failures come first. The seed's pre-deployment
check (tests/test_recipes.py runs it with jq) in one flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)


def report(*args: str, expect: int):
    return run_cli(["report", "--now", NOW, *args], expect=expect, validate=False)


@pytest.mark.parametrize("needed", [0, 1, 2])
def test_enough_healthy_accounts_exit_0(seed_pool: Path, needed: int) -> None:
    result = report("--min-healthy", str(needed), expect=0)
    assert result.text.startswith("=== Codex Multi-Auth Health Report ===") and result.stderr == ""


@pytest.mark.parametrize("needed", [3, 50])
def test_too_few_healthy_accounts_exit_3_after_the_report(seed_pool: Path, needed: int) -> None:
    result = report("--json", "--min-healthy", str(needed), expect=3)
    assert json.loads(result.stdout)["summary"]["statusCounts"]["healthy"] == 2, "the report is printed in full"
    assert result.stderr == f"codex-auth report: 2 healthy accounts, fewer than --min-healthy {needed}\n"


def test_gate_with_out_writes_the_file_then_exits_3(seed_pool: Path, tmp_path: Path) -> None:
    target = tmp_path / "status.md"
    result = report("--format", "markdown", "--out", str(target), "--min-healthy", "3", expect=3)
    assert result.stdout == b""
    assert target.read_text().startswith("### Codex auth report, ")


def test_only_healthy_counts(pool_dir: Path) -> None:
    """A warning account works but does not count towards the gate."""
    old = poolkit.SEED_NOW - 12 * poolkit.DAY
    poolkit.write_pool(
        pool_dir,
        poolkit.accounts_v3(
            [
                poolkit.account("a", poolkit.SEED_NOW),
                poolkit.account("b", poolkit.SEED_NOW, refreshed=old, lifetime=14 * poolkit.DAY),
            ]
        ),
    )
    counts = json.loads(report("--json", expect=0).stdout)["summary"]["statusCounts"]
    assert (counts["healthy"], counts["warning"]) == (1, 1)
    report("--min-healthy", "1", expect=0)
    assert (
        report("--min-healthy", "2", expect=3).stderr
        == "codex-auth report: 1 healthy account, fewer than --min-healthy 2\n"
    )


def test_failure_takes_precedence_over_the_gate(pool_dir: Path, tmp_path: Path) -> None:
    result = report("--min-healthy", "1", expect=1)  # no pool at all
    assert result.stdout == b"" and "no account storage found" in result.stderr and "--min-healthy" not in result.stderr
    poolkit.seed_example_pool(pool_dir)
    failed = report("--out", str(tmp_path / "missing" / "r.txt"), "--min-healthy", "9", expect=1)
    assert "does not exist" in failed.stderr and "--min-healthy" not in failed.stderr


@pytest.mark.parametrize("value", ["-1", "two"])
def test_bad_gate_value_is_a_usage_error(seed_pool: Path, value: str) -> None:
    result = report("--min-healthy", value, expect=2)
    assert result.stdout == b"" and "--min-healthy" in result.stderr


def test_help_documents_exit_3() -> None:
    text = run_cli(["report", "--help"], validate=False).text
    assert "--min-healthy" in text and "3 fewer healthy accounts than --min-healthy" in text
