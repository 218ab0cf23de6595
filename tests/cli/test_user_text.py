"""Issue 11, point 7: nothing a user reads says "seed" (a word from our internal notes): not
the README, docs/, the --help of any command, the Prometheus HELP lines, the published
schemas, nor any message in pipeline/."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from pipeline.cli import cli, commands_of
from testkit import poolkit
from testkit.helpers import ROOT, run_cli

WORD = re.compile(r"\bseed", re.IGNORECASE)
SAMPLE = str(ROOT / "examples" / "sample-pool")


def offending(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if WORD.search(line)]


def user_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", user_docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_never_say_seed(path: Path) -> None:
    assert offending(path.read_text()) == []


def all_commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name, command in sorted(commands_of(group).items()):
        if isinstance(command, click.Group):
            found += all_commands(command, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


@pytest.mark.parametrize("command", all_commands(cli, []), ids=lambda c: " ".join(c) or "codex-auth")
def test_help_never_says_seed(command: list[str]) -> None:
    text = run_cli([*command, "--help"], validate=False).text
    assert len(text.splitlines()) > 3 and offending(text) == []


def test_prometheus_help_lines_never_say_seed() -> None:
    metrics = run_cli(["report", "--dir", SAMPLE, "--now", str(poolkit.SEED_NOW), "--format", "prometheus"]).text
    help_lines = [line for line in metrics.splitlines() if line.startswith("# HELP ")]
    assert len(help_lines) >= 15 and offending("\n".join(help_lines)) == []
    assert offending(metrics) == []


def test_nothing_in_the_package_says_seed() -> None:
    """Error messages, schema descriptions (`codex-auth schema` prints them) and docstrings alike."""
    files = [p for p in sorted((ROOT / "pipeline").rglob("*")) if p.suffix in (".py", ".json")]
    assert len(files) > 30
    hits = [f"{p.relative_to(ROOT)}: {line}" for p in files for line in offending(p.read_text())]
    assert hits == []


def test_scripts_help_never_says_seed() -> None:
    for script in ("demo", "lint"):
        assert offending((ROOT / "scripts" / script).read_text()) == []
