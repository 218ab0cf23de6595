"""Issue 11, point 14: `--status LIST` on report and render lists only the accounts with those
statuses, in every format, while the summary still counts the whole pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.schema import schema_errors
from testkit import poolkit
from testkit.helpers import ROOT, run_cli

NOW = str(poolkit.SEED_NOW)
SAMPLE = str(ROOT / "examples" / "sample-pool")
ATTENTION = "warning,rate-limited,error"
FORMATS = ("text", "json", "prometheus", "html", "markdown")


def report(*args: str) -> str:
    return run_cli(["report", "--dir", SAMPLE, "--now", NOW, *args], validate=False).text


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_the_asked_statuses_are_listed(fmt: str) -> None:
    full = report("--format", fmt)
    kept = report("--format", fmt, "--status", ATTENTION)
    for name in ("carol@example.com", "dave@example.com", "erin@example.com"):  # erin is flagged: always listed
        assert name in kept
    for name in ("bob@example.com",):
        assert name in full and name not in kept
    snapshot = run_cli(["collect", "--dir", SAMPLE, "--now", NOW], validate=False).stdout
    assert run_cli(["render", "--format", fmt, "--status", ATTENTION], input=snapshot, validate=False).text == kept


def test_text_keeps_the_summary_and_says_what_it_shows() -> None:
    kept = report("--status", ATTENTION)
    assert "  Total accounts: 5\n  Active accounts: 4\n  Flagged accounts: 1\n" in kept
    assert "Active Accounts (warning, rate-limited, error: 2 of 4 shown):\n  3. carol@example.com" in kept
    assert "Use account: alice@example.com (index 1)" in kept, "the recommendation is the pool's"


def test_json_counts_the_whole_pool() -> None:
    kept = json.loads(report("--json", "--status", ATTENTION))
    assert schema_errors(kept, "report") == []
    assert [a["email"] for a in kept["accounts"]] == ["carol@example.com", "dave@example.com"]
    assert kept["summary"]["activeAccounts"] == 4 and kept["summary"]["statusCounts"]["healthy"] == 2
    assert kept["shownStatuses"] == ["warning", "rate-limited", "error"]
    assert "shownStatuses" not in json.loads(report("--json"))


def test_prometheus_keeps_pool_gauges_and_filters_account_series() -> None:
    kept = report("--format", "prometheus", "--status", ATTENTION)
    assert 'codex_auth_accounts_by_status{status="healthy"} 2' in kept and "\ncodex_auth_accounts 5\n" in kept
    scores = [line for line in kept.splitlines() if line.startswith("codex_auth_account_health_score{")]
    assert [line.split('index="')[1].split('"')[0] for line in scores] == ["2", "3"]


def test_an_empty_selection_says_so() -> None:
    assert "Active Accounts (error: 0 of 4 shown):\n  (none)\n" in report("--status", "error")
    assert "No active accounts with these statuses." in report("--format", "markdown", "--status", "error")


@pytest.mark.parametrize("value", ["bogus", "healthy,nope", ",", "Healthy"])
def test_unknown_statuses_are_a_usage_error(value: str) -> None:
    result = run_cli(["report", "--dir", SAMPLE, "--status", value], expect=2, validate=False)
    assert result.stderr.startswith("codex-auth report: invalid value for '--status'") and result.stdout == b""


def test_a_thousand_accounts_shrink_to_what_needs_attention(tmp_path: Path) -> None:
    pool = poolkit.large_pool(tmp_path / "pool", 1000, poolkit.SEED_NOW)
    full = run_cli(["report", "--dir", str(pool), "--now", NOW], validate=False).text
    kept = run_cli(["report", "--dir", str(pool), "--now", NOW, "--status", ATTENTION], validate=False).text
    counts = json.loads(run_cli(["report", "--dir", str(pool), "--now", NOW, "--json"], validate=False).stdout)
    attention = sum(counts["summary"]["statusCounts"][s] for s in ATTENTION.split(","))
    assert kept.count("\n     Health score: ") == attention < 1000
    assert len(kept.splitlines()) < len(full.splitlines())
    assert "  Total accounts: 1000\n" in kept
