"""One error style for every command: ``codex-auth COMMAND: what went wrong: what to do``, one
line on stderr, a documented exit code (pipeline.errors.ExitStatus), never click's three lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ExitStatus
from testkit.helpers import run_cli

SAMPLE = "examples/sample-pool"


def one_line(stderr: str) -> str:
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert "Usage:" not in stderr and "Error:" not in stderr and "Traceback" not in stderr, stderr
    return stderr.rstrip("\n")


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["report", "--format", "nope"], "report"),
        (["collect", "--no-such-option"], "collect"),
        (["score", "--now", "soon-ish", "-i", "-"], "score"),
        (["history", "--keep", "5d"], "history"),
        (["watch", "--on-event", ""], "watch"),
        (["serve", "--listen", "9467"], "serve"),
        (["completion", "tcsh"], "completion"),
        (["schema", "nope"], "schema"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_command(args: list[str], command: str) -> None:
    result = run_cli(args, input=b"", expect=int(ExitStatus.USAGE), validate=False)
    assert one_line(result.stderr).startswith(f"codex-auth {command}: "), result.stderr
    assert result.stdout == b""


def test_click_errors_say_where_the_help_is() -> None:
    result = run_cli(["report", "--format", "nope"], expect=2, validate=False)
    assert one_line(result.stderr) == (
        "codex-auth report: invalid value for '--format': 'nope' is not one of 'text', 'json', 'prometheus', "
        "'html', 'markdown': see 'codex-auth report --help'"
    )


def test_an_unknown_command_is_one_line() -> None:
    result = run_cli(["nope"], expect=2, validate=False)
    assert one_line(result.stderr) == "codex-auth: no such command 'nope': see 'codex-auth --help'"


@pytest.mark.parametrize("command", ["score", "recommend", "render", "probe"])
def test_a_missing_input_file_is_one_line(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "none.ndjson"
    result = run_cli([command, "-i", str(missing)], expect=2, validate=False)
    line = one_line(result.stderr)
    assert line.startswith(f"codex-auth {command}: ") and str(missing) in line, line


@pytest.mark.parametrize("command", ["score", "recommend", "render"])
def test_a_bad_stdin_line_names_the_command_and_stdin_line(command: str) -> None:
    pool = run_cli(["collect", "--dir", SAMPLE, "--now", "2026-03-03T14:30:00Z"]).stdout.splitlines()[0]
    result = run_cli([command], input=pool + b"\n{not json\n", expect=int(ExitStatus.FAILURE), validate=False)
    assert one_line(result.stderr).startswith(f"codex-auth {command}: stdin:2"), result.stderr


def test_storage_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    result = run_cli(["report", "--dir", str(tmp_path / "nowhere")], expect=int(ExitStatus.FAILURE), validate=False)
    assert one_line(result.stderr).startswith("codex-auth report: "), result.stderr


def test_bare_codex_auth_prints_the_help_and_succeeds() -> None:
    result = run_cli([], expect=int(ExitStatus.OK), validate=False)
    assert result.text.startswith("Usage: codex-auth [OPTIONS] COMMAND [ARGS]...") and result.stderr == ""
    assert "  report " in result.text


def test_ctrl_c_exits_130_quietly() -> None:
    import signal
    import subprocess
    import sys
    import time

    from testkit.helpers import ROOT, stop_with

    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "score"],
        cwd=ROOT,
        stdin=subprocess.PIPE,  # held open: score waits for its records
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # not a timing assertion: only lets the interpreter start
    out, err = stop_with(process, signal.SIGINT)
    assert process.returncode == int(ExitStatus.INTERRUPTED), err
    assert b"Aborted" not in err and b"Traceback" not in err and out == b"", err
