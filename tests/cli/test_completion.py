"""Issue 12: `codex-auth completion bash|zsh|fish` prints the completion script, and the
completion answers come from real processes speaking click's protocol, for `codex-auth` and
for `codex auth` through the wrapper (installed console script and bin/codex alike)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.helpers import ROOT, run_cli

BIN = Path(sys.executable).parent


def complete(program: str, var: str, words: str, shell: str = "bash") -> list[str]:
    """Ask ``program`` for completions the way the shell script does."""
    parts = words.split(" ")
    # bash and zsh pass the index of the word under the cursor, fish the word itself
    cword = parts[-1] if shell == "fish" else str(len(parts) - 1)
    env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=cword)
    env[var] = f"{shell}_complete"
    done = subprocess.run([program], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_both_commands(shell: str) -> None:
    text = run_cli(["completion", shell], validate=False).text
    assert "_CODEX_AUTH_COMPLETE" in text and "_CODEX_COMPLETE" in text
    only_tool = run_cli(["completion", shell, "--no-wrapper"], validate=False).text
    assert "_CODEX_AUTH_COMPLETE" in only_tool and "_CODEX_COMPLETE=" not in only_tool


def test_an_unknown_shell_is_a_usage_error() -> None:
    assert run_cli(["completion", "tcsh"], expect=2, validate=False).stdout == b""


def test_codex_auth_completes_commands_and_values() -> None:
    tool = str(BIN / "codex-auth")
    assert complete(tool, "_CODEX_AUTH_COMPLETE", "codex-auth re") == [
        "plain,recommend",
        "plain,render",
        "plain,repair",
        "plain,report",
    ]
    assert "plain,markdown" in complete(tool, "_CODEX_AUTH_COMPLETE", "codex-auth report --format ")


@pytest.mark.parametrize("program", [str(BIN / "codex"), str(ROOT / "bin" / "codex")], ids=["console-script", "bin"])
def test_codex_auth_completes_through_the_wrapper(program: str) -> None:
    assert complete(program, "_CODEX_COMPLETE", "codex au") == ["plain,auth"]
    assert complete(program, "_CODEX_COMPLETE", "codex auth re") == [
        "plain,recommend",
        "plain,render",
        "plain,repair",
        "plain,report",
    ]
    assert complete(program, "_CODEX_COMPLETE", "codex auth report --out-") == ["plain,--out-mode"]
    assert complete(program, "_CODEX_COMPLETE", "codex auth completion ") == ["plain,bash", "plain,zsh", "plain,fish"]
    assert complete(program, "_CODEX_COMPLETE", "codex exec ") == [], "other Codex CLI commands: nothing offered"


def test_zsh_and_fish_answers_through_the_wrapper() -> None:
    program = str(BIN / "codex")
    kind, value, description = complete(program, "_CODEX_COMPLETE", "codex auth repo", "zsh")
    assert (kind, value) == ("plain", "report") and description.startswith("Health and status report")
    (line,) = complete(program, "_CODEX_COMPLETE", "codex auth repo", "fish")
    assert line.startswith("plain,report\tHealth and status report")


def test_bash_completes_codex_auth_with_the_printed_script() -> None:
    """The whole loop in a real bash: load the script, press TAB (call the function)."""
    bash = shutil.which("bash")
    assert bash
    script = r"""
eval "$(codex-auth completion bash)"
COMP_WORDS=(codex auth repo); COMP_CWORD=2; COMPREPLY=()
_codex_completion codex
printf '%s\n' "${COMPREPLY[@]}"
COMP_WORDS=(codex-auth report --col); COMP_CWORD=2; COMPREPLY=()
_codex_auth_completion codex-auth
printf '%s\n' "${COMPREPLY[@]}"
"""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([bash, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["report", "--color"]


@pytest.mark.usefixtures("seed_pool")
def test_completion_offers_no_hidden_alias_and_completes_status_lists() -> None:
    tool = str(BIN / "codex-auth")
    offered = complete(tool, "_CODEX_AUTH_COMPLETE", "codex-auth report --ou")
    assert sorted(offered) == ["plain,--out", "plain,--out-mode"], "--output is an old name, not offered"
    assert complete(tool, "_CODEX_AUTH_COMPLETE", "codex-auth collect --ou") == ["plain,--out"]
    assert run_cli(["collect", "--output", "-"]).records, "the old name still works"
    assert complete(tool, "_CODEX_AUTH_COMPLETE", "codex-auth report --status ") == [
        "plain,healthy",
        "plain,warning",
        "plain,rate-limited",
        "plain,disabled",
        "plain,error",
    ]
    assert complete(tool, "_CODEX_AUTH_COMPLETE", "codex-auth report --status warning,r") == [
        "plain,warning,rate-limited"
    ]


def test_an_unknown_shell_names_the_argument() -> None:
    done = run_cli(["completion", "tcsh"], expect=2, validate=False)
    assert "invalid value for 'SHELL': 'tcsh' is not one of 'bash', 'zsh', 'fish'" in done.stderr
    assert "{bash|zsh|fish}" not in done.stderr
