"""Our lock files are checked before a refresh spends a token (issue 16, point 1): the lock
on the token itself, the journal's lock and the lock our writes into storage take, in the
storage folder. Something not ours in the place of any of them (a FIFO, a symbolic link, a
folder, a socket, another user's file), or a lock folder of another user, refuses the
refresh before the token endpoint is asked: one ``what went wrong: what to do`` line on
stderr naming the file, the report still printed, exit 1, the stored token as it was. Real
processes against the fake backend on 127.0.0.1, real files in temporary folders.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.live.atomic import LOCK_NAME
from pipeline.live.journal import LOCK_NAME as JOURNAL_LOCK
from pipeline.live.journal import token_hash
from pipeline.live.locks import SPEND_LOCK_PREFIX, SPEND_LOCK_SUFFIX
from testkit import poolkit
from testkit.poolkit import DAY

ROOT = Path(__file__).resolve().parents[2]
OTHER_UID = 54321
MOVE_AWAY = "move it away and run again; no token is refreshed while it is there"


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def one_account(pool_dir: Path, backend: Any) -> tuple[dict[str, Any], Any]:
    t = poolkit.now_ms()
    account = poolkit.account("guard", t, refreshed=t - 11 * DAY, lifetime=10 * DAY)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    return account, backend(poolkit.backend_scenario([account]))


def stored_token(pool_dir: Path) -> str:
    return str(json.loads((pool_dir / poolkit.ACCOUNTS_FILE).read_text())["accounts"][0]["refreshToken"])


def plant(path: Path, kind: str, outside: Path) -> str:
    """Something not ours at ``path``; what the refusal says it is."""
    if kind == "fifo":
        os.mkfifo(path, 0o600)
        return "is a FIFO, not a regular file"
    if kind == "symlink":
        outside.write_bytes(b"")
        outside.chmod(0o644)
        path.symlink_to(outside)
        return "is a symbolic link, not a regular file"
    if kind == "folder":
        path.mkdir()
        return "is a folder, not a regular file"
    if kind == "socket":
        here = Path.cwd()
        os.chdir(path.parent)  # a socket's address is short: bind by the name alone
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(path.name)
        finally:
            os.chdir(here)
        return "is a socket, not a regular file"
    assert kind == "other-user"
    path.write_bytes(b"")
    os.chown(path, OTHER_UID, OTHER_UID)
    return f"belongs to another user (uid {OTHER_UID})"


def refusals(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if MOVE_AWAY in line]


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="making a file of another user takes root")


@pytest.mark.parametrize("which", ["the token's lock", "the journal's lock", "the write lock"])
@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder", "socket", pytest.param("other-user", marks=needs_root)])
def test_a_lock_file_not_ours_refuses_the_refresh_before_the_token_is_spent(
    pool_dir: Path, backend: Any, tmp_path: Path, which: str, kind: str
) -> None:
    account, server = one_account(pool_dir, backend)
    name = {
        "the token's lock": f"{SPEND_LOCK_PREFIX}{token_hash(account['refreshToken'])}{SPEND_LOCK_SUFFIX}",
        "the journal's lock": JOURNAL_LOCK,
        "the write lock": LOCK_NAME,
    }[which]
    lock = pool_dir / name
    said = plant(lock, kind, tmp_path / "outside.lock")
    live = tool("report", "--live")
    assert server.stats()["requests"]["refresh"] == 0, f"the token was spent:\n{live.stderr}"
    assert stored_token(pool_dir) == account["refreshToken"]
    assert refusals(live.stderr) == [f"codex-auth report: warning: the lock file {lock} {said}: {MOVE_AWAY}"], (
        live.stderr
    )
    assert "Traceback" not in live.stderr and "ERROR" not in live.stderr, "nothing spent, nothing lost"
    assert live.returncode == 1, "a refused refresh is a problem found"
    assert "guard@example.com" in live.stdout, "the report is still printed"
    assert os.path.lexists(lock), "left as it was"
    if kind == "symlink":
        outside = tmp_path / "outside.lock"
        assert outside.read_bytes() == b"" and stat.S_IMODE(outside.stat().st_mode) == 0o644


@needs_root
@pytest.mark.parametrize("through", ["itself", "a link"])
def test_a_pool_folder_of_another_user_refuses_the_refresh(
    pool_dir: Path, backend: Any, tmp_path: Path, through: str
) -> None:
    """The storage folder is another user's (root still reads it), or a symbolic link to
    somewhere another user owns (a shared temporary folder, say): our lock files there would
    be theirs to remove, so no token is spent."""
    account, server = one_account(pool_dir, backend)
    folder = pool_dir
    if through == "a link":
        folder = tmp_path / "elsewhere"
        pool_dir.rename(folder)
        pool_dir.symlink_to(folder)
    os.chown(folder, OTHER_UID, OTHER_UID)
    live = tool("report", "--live")
    assert server.stats()["requests"]["refresh"] == 0
    assert stored_token(folder) == account["refreshToken"]
    assert refusals(live.stderr) == [
        f"codex-auth report: warning: the folder {pool_dir} of our lock files belongs to another user (uid {OTHER_UID}): "
        f"{MOVE_AWAY}"
    ], live.stderr
    assert live.returncode == 1


def test_a_pool_folder_reached_through_a_link_of_ours_to_a_folder_of_ours_is_refreshed(
    pool_dir: Path, backend: Any, tmp_path: Path
) -> None:
    """A storage folder kept elsewhere by the user (a link to a folder of theirs) works as before."""
    account, server = one_account(pool_dir, backend)
    elsewhere = tmp_path / "kept-elsewhere"
    pool_dir.rename(elsewhere)
    pool_dir.symlink_to(elsewhere)
    live = tool("report", "--live")
    assert live.returncode == 0, live.stderr
    assert server.stats()["refresh"]["succeeded"] == 1
    assert stored_token(elsewhere) == server.refresh_token(account["accountId"])
    assert not [p for p in elsewhere.iterdir() if p.name.startswith(".codex-auth-report")], "no lock left"


# --- a refused refresh is a problem found, in every command that refreshes (issue 16) -------------


def live_run(command: str) -> subprocess.CompletedProcess[str]:
    """``report --live``, ``forecast --live``, or the ``probe`` stage on ``collect``'s records."""
    if command != "probe":
        return tool(command, "--live")
    collected = tool("collect")
    assert collected.returncode == 0, collected.stderr
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "probe"],
        cwd=ROOT,
        input=collected.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["report", "forecast", "probe"])
def test_a_refused_journal_warns_on_stderr_and_exits_1(pool_dir: Path, backend: Any, command: str) -> None:
    from pipeline.live.pending import JOURNAL_NAME

    account, server = one_account(pool_dir, backend)
    os.mkfifo(pool_dir / JOURNAL_NAME, 0o600)
    live = live_run(command)
    assert server.stats()["requests"]["refresh"] == 0
    assert stored_token(pool_dir) == account["refreshToken"]
    assert refusals(live.stderr) == [
        f"codex-auth {command}: warning: the token journal {pool_dir / JOURNAL_NAME} is a FIFO, not a regular file: {MOVE_AWAY}"
    ]
    assert live.returncode == 1, live.stderr
    assert live.stdout, "the output is still written"


@pytest.fixture
def immutable(pool_dir: Path) -> Any:
    """``make(folder)``: a folder nobody may create files in, root included (chattr +i)."""
    import shutil

    made: list[Path] = []

    def make(folder: Path) -> None:
        if (
            shutil.which("chattr") is None
            or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode
        ):
            pytest.skip("chattr +i is not available here: no way to make a folder read-only for root")
        made.append(folder)

    if os.geteuid() != 0:
        yield lambda folder: folder.chmod(0o500)
        pool_dir.chmod(0o700)
        return
    yield make
    for folder in made:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("command", ["report", "forecast", "probe"])
def test_a_storage_folder_that_cannot_be_written_warns_on_stderr_and_exits_1(
    pool_dir: Path, backend: Any, immutable: Any, command: str
) -> None:
    account, server = one_account(pool_dir, backend)
    immutable(pool_dir)
    live = live_run(command)
    assert server.stats()["requests"]["refresh"] == 0
    assert stored_token(pool_dir) == account["refreshToken"]
    assert [line for line in live.stderr.splitlines() if "warning" in line and "history" not in line] == [
        f"codex-auth {command}: warning: the folder {pool_dir} is not writable: fix its permissions and run again; "
        "no token was spent"
    ]
    assert live.returncode == 1, live.stderr
