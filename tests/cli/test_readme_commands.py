"""Issue 11, point 8 (and the docs side of 3, 9, 11, 12): every `codex auth` / `codex-auth`
command the README shows parses with the options the tool has; recipes that write into
reports/ create it first; the synopsis lists every option; "What it writes" names every file
a live run writes, and a default report writes nothing."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import click
import pytest

from pipeline.cli import all_commands
from pipeline.live.atomic import LOCK_NAME
from pipeline.live.journal import JOURNAL_NAME
from pipeline.live.journal import LOCK_NAME as JOURNAL_LOCK_NAME
from pipeline.storage.paths import QUOTA_CACHE_FILE, STATE_FILE
from testkit import poolkit
from testkit.helpers import ROOT, run_cli, snapshot_tree

README = (ROOT / "README.md").read_text()


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, re.DOTALL)


def command_lines() -> list[str]:
    """Each `codex auth ...` / `codex-auth ...` command in the README's shell blocks."""
    found = []
    for block in shell_blocks():
        text = block.replace("\\\n", " ")
        text = re.sub(r"\$\([^)]*\)", "X", text)  # $(date +%F) and the like
        for line in text.splitlines():
            line = line.split(" #", 1)[0]
            for part in re.split(r"\|\||&&|\||;", line):
                part = part.strip()
                part = re.sub(r"^[A-Z_]+=\S+\s+", "", part)  # VAR=value command
                if part.startswith(("codex auth ", "codex-auth ")):
                    found.append(part)
    return found


def test_the_readme_shows_many_commands() -> None:
    assert len(command_lines()) >= 25


@pytest.mark.parametrize("line", command_lines())
def test_every_readme_command_parses(line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    words = shlex.split(line.split(">", 1)[0])
    for flag, value in itertools.pairwise(words):  # -i files are opened while parsing
        if flag in ("-i", "--input") and value != "-":
            (tmp_path / value).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / value).write_bytes(b"")
    args = words[2:] if words[0] == "codex" else words[1:]
    name = args[0]
    assert name in all_commands(), f"unknown command in README: {line}"
    command = all_commands()[name]
    with command.make_context(name, args[1:]) as context:  # raises on an unknown option or bad value
        assert context.command is command


def test_recipes_writing_into_reports_create_it_first() -> None:
    for block in shell_blocks():
        lines = block.splitlines()
        for number, line in enumerate(lines):
            if re.search(r"(--out|-o|>)\s*reports/", line):
                before = "\n".join(lines[: number + 1])
                assert "mkdir -p reports" in before, f"`{line}` needs `mkdir -p reports` before it"


def test_the_synopsis_lists_every_report_option() -> None:
    synopsis = README.split("```\ncodex auth report [", 1)[1].split("```", 1)[0]
    for param in all_commands()["report"].params:
        if isinstance(param, click.Option) and not param.hidden:
            shown = [o for o in param.opts if o.startswith("--") and o != "--output"]
            assert any(o in synopsis for o in shown), f"{shown} missing from the synopsis"


def test_render_options_named_in_the_readme_are_render_options() -> None:
    assert "takes the same options as" not in README
    sentence = README.split("`render` takes the report's format", 1)[1].split(", so a saved snapshot", 1)[0]
    named = re.findall(r"`(--[a-z-]+)`", sentence)
    render_opts = {o for p in all_commands()["render"].params for o in getattr(p, "opts", [])}
    assert len(named) >= 8 and set(named) <= render_opts


def test_what_it_writes_names_every_file() -> None:
    section = README.split("## What it writes", 1)[1].split("\n## ", 1)[0]
    for name in (
        poolkit.ACCOUNTS_FILE,
        poolkit.FLAGGED_FILE,
        "auth.json",
        QUOTA_CACHE_FILE,
        STATE_FILE,
        "refresh-leases/",
        LOCK_NAME,
        JOURNAL_NAME,
        JOURNAL_LOCK_NAME,
        "history.sqlite3",
    ):
        assert name in section, name
    assert "nothing" in section and "--out-mode" in section
    assert "never changes it" not in README and "and nothing is written" not in README


def test_a_default_report_writes_nothing(seed_pool: Path) -> None:
    folder = seed_pool
    before = snapshot_tree(folder)
    for fmt in ("text", "json", "prometheus", "html", "markdown"):
        run_cli(["report", "--dir", str(folder), "--format", fmt], validate=False)
    assert snapshot_tree(folder) == before


def test_docs_of_the_new_options() -> None:
    assert "completion bash" in README and "--no-wrapper" in README
    assert "`NO_COLOR`" in README and "`FORCE_COLOR`" in README and "`TERM=dumb`" in README
    assert "100,000,000,000" in README and "date +%s" in README
    assert "-o`, `--out" in README
