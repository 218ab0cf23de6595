"""Byte-exact goldens of what the command line prints: ``--help`` of the root and of every
command, and every format of the bundled sample pool (examples/sample-pool at the demo's
``--now``), each run as a user runs it (a fresh ``python -m pipeline`` at 80 columns, HOME and
the XDG folders in a temporary folder; the checkout's path reads ``$ROOT``). Stdout, stderr and the exit code must all match
tests/golden/cli/<case>.{out,err,exit}; `scripts/test --update-golden` rewrites them.

A refactor of the command line (moving commands between modules, sharing options) must leave
every one of these unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.helpers import ROOT

CASES = Path(__file__).parent / "cli"
NOW = "2026-03-03T14:30:00Z"
SAMPLE = ["--dir", "examples/sample-pool", "--now", NOW]
COMMANDS = (
    "collect",
    "probe",
    "score",
    "recommend",
    "render",
    "report",
    "forecast",
    "history",
    "serve",
    "watch",
    "repair",
    "sample-pool",
    "schema",
    "completion",
)

RUNS: dict[str, list[str]] = {
    "help": ["--help"],
    "help-short": ["-h"],
    **{f"help-{name}": [name, "--help"] for name in COMMANDS},
    **{
        f"report-{fmt}": ["report", *SAMPLE, "--format", fmt]
        for fmt in ("text", "json", "markdown", "html", "prometheus")
    },
    "report-explain": ["report", *SAMPLE, "--explain"],
    "report-status": ["report", *SAMPLE, "--status", "warning,rate-limited", "--format", "markdown"],
    "report-gate": ["report", *SAMPLE, "--min-healthy", "9"],
    **{
        f"forecast-{fmt}": ["forecast", *SAMPLE, "--no-history", "--format", fmt]
        for fmt in ("text", "json", "markdown", "prometheus")
    },
    "collect": ["collect", *SAMPLE],
    "schema-list": ["schema"],
    "schema-report": ["schema", "report"],
    **{f"completion-{shell}": ["completion", shell] for shell in ("bash", "zsh", "fish")},
    "bare": [],
    "unknown-command": ["nope"],
    "bad-format": ["report", "--format", "nope"],
    "bad-status": ["report", *SAMPLE, "--status", "nope"],
    "json-and-format": ["report", *SAMPLE, "--json", "--format", "html"],
    "explain-prometheus": ["report", *SAMPLE, "--explain", "--format", "prometheus"],
    "bad-now": ["report", "--dir", "examples/sample-pool", "--now", "yesterday-ish"],
    "completion-tcsh": ["completion", "tcsh"],
}


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CODEX", "XDG_", "NO_COLOR", "FORCE_COLOR", "CLICOLOR"))
    }
    env.update(
        HOME=str(home),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CONFIG_HOME=str(home / "config"),
        CODEX_HOME=str(home / ".codex"),
        CODEX_MULTI_AUTH_DIR=str(home / "none"),
        COLUMNS="80",
        LC_ALL="C.UTF-8",
        TERM="dumb",
    )
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("name", sorted(RUNS))
def test_cli_golden(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    result = run(RUNS[name], tmp_path)
    out, err, code = CASES / f"{name}.out", CASES / f"{name}.err", CASES / f"{name}.exit"
    stdout = result.stdout.replace(str(ROOT).encode(), b"$ROOT")  # the checkout's own path
    stderr = result.stderr.decode().replace(str(tmp_path), "$HOME").replace(str(ROOT), "$ROOT")
    if request.config.getoption("--update-golden"):
        out.write_bytes(stdout)
        err.write_text(stderr) if stderr else err.unlink(missing_ok=True)
        code.write_text(f"{result.returncode}\n") if result.returncode else code.unlink(missing_ok=True)
    assert out.exists(), f"{name}: run scripts/test --update-golden"
    assert stdout == out.read_bytes()
    assert stderr == (err.read_text() if err.exists() else "")
    assert result.returncode == (int(code.read_text()) if code.exists() else 0)
    assert b"Traceback" not in result.stderr


def test_every_command_has_a_help_golden() -> None:
    """The list above can fail: a command added to the CLI without a golden is caught."""
    from pipeline.cli import all_commands

    assert sorted(all_commands()) == sorted(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_table_summary_is_the_command_s_own(name: str) -> None:
    """The root's --help reads its summaries from the command table without importing the
    commands: each must be the first line of the command's own help."""
    from pipeline.cli import all_commands
    from pipeline.cli.table import COMMANDS as TABLE

    command = all_commands()[name]
    assert command.help is not None
    assert TABLE[name].summary == command.help.strip().splitlines()[0]
    assert f"pipeline.cli.{TABLE[name].module}" == command.callback.__module__  # type: ignore[union-attr]
