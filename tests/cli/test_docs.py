"""Docs that tests keep honest: every command is documented and has help; the README's
policy table says what pipeline/policy.py does."""

from __future__ import annotations

import re

import pytest

from pipeline import policy
from pipeline.cli import all_commands
from testkit.helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(all_commands()))
def test_every_command_is_documented_and_has_help(name: str) -> None:
    assert re.search(rf"codex(-| )auth {name}\b", README), f"README does not show `codex-auth {name}`"
    help_text = run_cli([name, "--help"], validate=False).text
    assert len(help_text.splitlines()) > 5


def _table_points(reason: str) -> str:
    rows = [line for line in README.splitlines() if line.startswith("|") and f"`{reason}" in line]
    assert rows, f"no policy row for {reason!r}"
    return rows[0].split("|")[2].strip()


@pytest.mark.parametrize(
    ("reason", "points"),
    [
        ("disabled", "score 0"),
        ("auth invalidated", "score 0"),
        ("usage read refused", str(policy.PROBE_FAILED_POINTS)),
        ("refresh failed", "score 0"),
        ("no usable credentials", "score 0"),
        ("rate limited", str(policy.RATE_LIMIT_POINTS)),
        ("low quota", str(policy.QUOTA_TIERS[0][1])),
        ("quota below 25%", str(policy.QUOTA_TIERS[1][1])),
        ("quota below 50%", str(policy.QUOTA_TIERS[2][1])),
        ("cooling down", str(policy.COOLDOWN_POINTS)),
        ("live probe failed", str(policy.PROBE_FAILED_POINTS)),
        ("refresh token old", str(policy.REFRESH_OLD_POINTS)),
        ("refresh token aging", str(policy.REFRESH_AGING_POINTS)),
        ("no refresh token", str(policy.NO_REFRESH_TOKEN_POINTS)),
        ("quota data old", str(policy.OLD_DATA_POINTS)),
        ("unused for a long time", str(policy.IDLE_POINTS)),
    ],
)
def test_policy_table_matches_the_code(reason: str, points: str) -> None:
    assert _table_points(reason) == points
    assert policy.UNUSABLE_POINTS == 100


def test_quick_start_commands_exist() -> None:
    assert "scripts/demo    #" in README and "scripts/test    #" in README
    assert (ROOT / "scripts" / "demo").stat().st_mode & 0o111
    assert (ROOT / "scripts" / "test").stat().st_mode & 0o111
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_readme_demo_output_is_what_the_demo_prints() -> None:
    shown = README.split("so it prints:\n\n```\n", 1)[1].split("```", 1)[0]
    actual = run_cli(
        ["report", "--dir", str(ROOT / "examples" / "sample-pool"), "--now", "2026-03-03T14:30:00Z"], validate=False
    ).text
    assert shown == actual
