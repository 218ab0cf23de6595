"""`codex-auth report` / `codex auth report`: exit codes, --out, stderr, colour."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import assert_no_secrets, fixture_secrets, run_cli

NOW = str(poolkit.SEED_NOW)


def report(*args: str, expect: int = 0):
    return run_cli(["report", "--now", NOW, *args], expect=expect, validate=False)


def test_text_report_goes_to_stdout_and_nothing_to_stderr(seed_pool: Path) -> None:
    result = report()
    assert result.text.startswith("=== Codex Multi-Auth Health Report ===\n")
    assert result.stderr == ""


def test_json_and_format_json_are_the_same(seed_pool: Path) -> None:
    assert report("--json").stdout == report("--format", "json").stdout
    parsed = json.loads(report("--json").stdout)
    assert parsed["summary"]["totalAccounts"] == 5


def test_model_is_echoed(seed_pool: Path) -> None:
    assert json.loads(report("--json", "--model", "gpt-5.5").stdout)["model"] == "gpt-5.5"


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("missing", "no account storage found"),
        ("empty", "no accounts in"),
        ("corrupt", "account storage is corrupt"),
        ("reset", "reset on purpose"),
    ],
)
def test_exit_1_with_one_line_reason(pool_dir: Path, setup: str, needle: str) -> None:
    if setup == "empty":
        poolkit.write_pool(pool_dir, poolkit.accounts_v3([]))
    elif setup == "corrupt":
        pool_dir.mkdir(parents=True)
        (pool_dir / "openai-codex-accounts.json").write_text("{{")
    elif setup == "reset":
        poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("a", poolkit.SEED_NOW)]))
        (pool_dir / "openai-codex-accounts.json.reset-intent").touch()
    result = report(expect=1)
    assert result.stdout == b""
    assert result.stderr.startswith("codex-auth report: ") and needle in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_recovered_pool_still_reports_and_warns(pool_dir: Path) -> None:
    poolkit.write_wal(pool_dir, poolkit.accounts_v3([poolkit.account("walter", poolkit.SEED_NOW)]), poolkit.SEED_NOW)
    result = report()
    assert "recovered accounts" in result.stderr
    assert (
        "Warnings:\n  Storage: openai-codex-accounts.json missing; read openai-codex-accounts.json.wal instead"
        in result.text
    )


@pytest.mark.parametrize(
    "args", [["--bogus"], ["--format", "yaml"], ["--json", "--format", "text"], ["--now", "yesterday"], ["extra-arg"]]
)
def test_usage_errors_exit_2(seed_pool: Path, args: list[str]) -> None:
    result = report(*args, expect=2)
    assert result.stdout == b"" and "Traceback" not in result.stderr


def test_out_writes_atomically_and_prints_nothing(seed_pool: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "health.json"
    target.parent.mkdir()
    result = report("--json", "--out", str(target))
    assert result.stdout == b"" and result.stderr == ""
    assert json.loads(target.read_text())["summary"]["activeAccounts"] == 4
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["health.json"], "no temporary file left behind"


def test_out_replaces_an_existing_file(seed_pool: Path, tmp_path: Path) -> None:
    target = tmp_path / "health.txt"
    target.write_text("old report\n")
    report("--out", str(target))
    assert target.read_text().startswith("=== Codex Multi-Auth Health Report ===")
    assert "\x1b[" not in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["health.txt"]


def test_out_into_a_missing_folder(seed_pool: Path, tmp_path: Path) -> None:
    result = report("--json", "--out", str(tmp_path / "nope" / "r.json"), expect=1)
    assert result.stdout == b""
    assert (
        result.stderr
        == f"codex-auth report: cannot write {tmp_path / 'nope' / 'r.json'}: folder {tmp_path / 'nope'} does not exist (create it first: mkdir -p {tmp_path / 'nope'})\n"
    )


def test_out_onto_a_folder(seed_pool: Path, tmp_path: Path) -> None:
    result = report("--out", str(tmp_path), expect=2)  # click refuses a folder for a file option
    assert "is a directory" in result.stderr


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A folder nobody may create files in: mode 0555 for an ordinary user; as root (who
    ignores modes) the immutable attribute, which binds root too."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "r.json").write_text("previous\n")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0
    ):
        pytest.skip("running as root and chattr +i is not available here: no way to make a folder read-only for root")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_out_into_a_read_only_folder(seed_pool: Path, read_only_folder: Path) -> None:
    target = read_only_folder / "r.json"
    result = report("--json", "--out", str(target), expect=1)
    assert result.stdout == b""
    assert (
        result.stderr
        == f"codex-auth report: cannot write {target}: permission denied in {read_only_folder} (check with: ls -ld {read_only_folder})\n"
    )
    assert target.read_text() == "previous\n", "the old file is untouched"
    assert [p.name for p in read_only_folder.iterdir()] == ["r.json"]


def test_colour_only_when_asked_and_an_explicit_flag_wins(seed_pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "\x1b[" not in report().text, "CliRunner's stdout is not a terminal"
    coloured = report("--color", "always").text
    assert "\x1b[32mHealthy\x1b[0m" in coloured and "\x1b[33mWarning (refresh token aging)\x1b[0m" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert report("--color", "always").text == coloured, "--color always wins over NO_COLOR"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" not in report().text, "NO_COLOR turns auto off, FORCE_COLOR notwithstanding"
    assert "\x1b[" not in report("--json", "--color", "always").text, "only the text report has colour"


def test_no_token_in_any_report(seed_pool: Path) -> None:
    secrets = fixture_secrets(seed_pool)
    for args in ([], ["--json"], ["--explain"]):
        result = report(*args)
        assert_no_secrets(result.text + result.stderr, secrets)


def test_report_help_lists_exit_codes() -> None:
    text = run_cli(["report", "--help"], validate=False).text
    assert "Exit codes" in text and "--out" in text and "--json" in text
