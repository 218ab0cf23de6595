"""Issue 11, point 2: every storage warning appears in every format (text, JSON, Prometheus,
HTML, Markdown), from `codex auth report` and from the pipe alike."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from pipeline.schema import schema_errors
from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)
FORMATS = ("text", "json", "prometheus", "html", "markdown")


@pytest.fixture
def troubled_pool(tmp_path: Path) -> Path:
    """Accounts read from a backup, an unreadable flagged file, a broken quota cache and a
    broken state file: four warnings."""
    folder = tmp_path / "pool"
    poolkit.write_pool(folder, poolkit.accounts_v3([poolkit.account("alice", poolkit.SEED_NOW)]))
    accounts = folder / poolkit.ACCOUNTS_FILE
    accounts.rename(folder / (poolkit.ACCOUNTS_FILE + ".bak"))
    accounts.write_text("{broken")
    (folder / poolkit.FLAGGED_FILE).write_text("{not json")
    (folder / "quota-cache.json").write_text("[1, 2")
    (folder / "codex-auth-report-state.json").write_text('{"version": 1, "flagged": ')
    return folder


def warnings_of(folder: Path) -> list[str]:
    report = json.loads(run_cli(["report", "--dir", str(folder), "--now", NOW, "--json"], validate=False).stdout)
    assert schema_errors(report, "report") == []
    return list(report["warnings"])


def appears(line: str, output: str, fmt: str) -> bool:
    if fmt == "html":
        return html.escape(line, quote=False) in output or html.escape(line) in output
    if fmt == "prometheus":
        return 'warning="' + line.replace("\\", "\\\\").replace('"', '\\"') + '"' in output
    if fmt == "markdown":  # Markdown escapes punctuation it would read as markup
        plain = "".join(ch for ch in output if ch != "\\")
        return line in plain
    return line in output


def test_the_troubled_pool_has_four_warnings(troubled_pool: Path) -> None:
    lines = warnings_of(troubled_pool)
    assert len(lines) == 4, lines
    assert any("read openai-codex-accounts.json.bak instead" in w for w in lines)
    assert any(
        w.startswith("Flagged accounts file: openai-codex-flagged-accounts.json:1:2: invalid JSON") for w in lines
    )
    assert any("quota-cache.json" in w for w in lines) and any("codex-auth-report-state.json" in w for w in lines)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_warning_in_every_format(troubled_pool: Path, fmt: str) -> None:
    lines = warnings_of(troubled_pool)
    output = run_cli(["report", "--dir", str(troubled_pool), "--now", NOW, "--format", fmt], validate=False).text
    missing = [line for line in lines if not appears(line, output, fmt)]
    assert missing == []
    snapshot = run_cli(["collect", "--dir", str(troubled_pool), "--now", NOW], validate=False).stdout
    assert run_cli(["render", "--format", fmt], input=snapshot, validate=False).text == output


def test_prometheus_counts_and_lists_them(troubled_pool: Path) -> None:
    metrics = run_cli(["report", "--dir", str(troubled_pool), "--now", NOW, "--format", "prometheus"]).text
    assert "\ncodex_auth_report_warnings 4\n" in metrics
    assert metrics.count("\ncodex_auth_report_warning_info{warning=") == 4


def test_no_warnings_no_field(tmp_path: Path) -> None:
    folder = poolkit.seed_example_pool(tmp_path / "pool")
    report = json.loads(run_cli(["report", "--dir", str(folder), "--now", NOW, "--json"], validate=False).stdout)
    assert "warnings" not in report
