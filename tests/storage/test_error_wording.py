"""Issue 11, point 10: errors say what is wrong: a file we may not read is not "corrupt", a
CODEX_MULTI_AUTH_DIR that is a file is not a missing folder, and JSON errors read
`file:line:column: invalid JSON: what` without the parser's dangling words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.storage.files import Unreadable, read_json
from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)


@pytest.fixture
def unreadable_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pool whose accounts file the tool may not read (as after `chmod 000` by another user).
    The refusal is made by the OS when the tests do not run as root, and simulated when they do
    (root reads any file)."""
    folder = tmp_path / "pool"
    path = poolkit.write_pool(folder, poolkit.accounts_v3([poolkit.account("alice", poolkit.SEED_NOW)]))
    path.chmod(0)
    if os.geteuid() == 0:
        from pipeline.storage import files

        real = files._open_regular  # every read of a storage file opens it here

        def refuse(candidate: str | os.PathLike[str]) -> tuple[int, int]:
            if os.fspath(candidate) == str(path):  # the readers pass string paths
                raise PermissionError(13, "Permission denied", str(candidate))
            return real(candidate)

        monkeypatch.setattr(files, "_open_regular", refuse)
    return folder


def test_permission_denied_says_so(unreadable_pool: Path) -> None:
    result = run_cli(["report", "--dir", str(unreadable_pool), "--now", NOW], expect=1, validate=False)
    assert result.stderr.startswith(
        f"codex-auth report: account storage cannot be read in {unreadable_pool}: openai-codex-accounts.json cannot be read: "
        "permission denied (owner uid "
    )
    assert "corrupt" not in result.stderr and result.stderr.count("\n") == 1
    assert "mode 0000" in result.stderr and "running as uid" in result.stderr


def test_permission_denied_in_the_pipe(unreadable_pool: Path) -> None:
    collected = run_cli(["collect", "--dir", str(unreadable_pool), "--now", NOW], expect=1, validate=False)
    assert "codex-auth collect: account storage cannot be read in" in collected.stderr
    rendered = run_cli(["render"], input=collected.stdout, expect=1, validate=False)
    assert rendered.stderr.startswith("codex-auth render: account storage cannot be read in ")


def test_a_dir_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "multi-auth"
    not_a_folder.write_text("oops")
    monkeypatch.setenv("CODEX_MULTI_AUTH_DIR", str(not_a_folder))
    result = run_cli(["report", "--now", NOW], expect=1, validate=False)
    assert (
        f"no account storage found in {not_a_folder} (chosen by CODEX_MULTI_AUTH_DIR): it is a file, not a folder"
        in (result.stderr)
    )
    assert "does not exist" not in result.stderr
    rendered = run_cli(
        ["render"], input=run_cli(["collect", "--now", NOW], expect=1, validate=False).stdout, expect=1, validate=False
    )
    assert f"{not_a_folder} is a file, not a folder" in rendered.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{\n  "version": 3,\n  "accounts": [{"email": "a@b\n',
            "openai-codex-accounts.json:3:30: invalid JSON: invalid control character",
        ),
        ('{"version": 3, "accounts": [}', "openai-codex-accounts.json:1:29: invalid JSON: expecting value"),
        (
            '{"version": 3,, }',
            "openai-codex-accounts.json:1:15: invalid JSON: expecting property name enclosed in double quotes",
        ),
        ('{"version": 3} x', "openai-codex-accounts.json:1:16: invalid JSON: extra data"),
        ('{"email": "unterminated', "openai-codex-accounts.json:1:11: invalid JSON: unterminated string"),
    ],
)
def test_json_errors_read_cleanly(tmp_path: Path, content: str, expected: str) -> None:
    folder = tmp_path / "pool"
    folder.mkdir()
    (folder / poolkit.ACCOUNTS_FILE).write_text(content)
    result = run_cli(["report", "--dir", str(folder), "--now", NOW], expect=1, validate=False)
    assert result.stderr == (
        f"codex-auth report: account storage is corrupt in {folder}: {expected}; no backup or WAL to recover from\n"
    )
    assert " at at " not in result.stderr and "(char " not in result.stderr


def test_unreadable_knows_its_position(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1,\n 2,,]")
    with pytest.raises(Unreadable) as caught:
        read_json(path)
    assert caught.value.about("x.json") == "x.json:2:4: invalid JSON: expecting value"


def test_ndjson_errors_name_line_and_column() -> None:
    result = run_cli(["score"], input=b'{"kind": "pool", "x": \n', expect=1, validate=False)
    assert result.stderr.startswith("codex-auth score: stdin:1:")
    assert (
        ": invalid JSON: " in result.stderr and "(char " not in result.stderr and "line 1 column" not in result.stderr
    )
