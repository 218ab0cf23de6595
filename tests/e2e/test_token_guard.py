"""Never spend a refresh token that cannot be kept, never spend one twice, leave nothing behind
(issue 16, points 1-3 and 7; issue 18, point 4). The tool runs as real processes, each with a
time limit (a FIFO must never hang a run), against the fake backend on 127.0.0.1.

* The token journal is ours or it is refused: a FIFO, a symbolic link, a hard link in its
  place is one line, and nothing is refreshed.
* Our own cross-process lock around every refresh: live runs at once on a Codex CLI login, or
  on a pool with codex-multi-auth's lease off, spend no token twice (testkit/race.py).
* Room before spending: under a file-size limit nothing is refreshed that could not be kept.
* No clutter: our lock files and a lease folder we made are gone when a run ends, a killed
  run's by the next; codex-multi-auth's are never touched.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from pipeline.live.atomic import LOCK_NAME
from pipeline.live.journal import LOCK_NAME as JOURNAL_LOCK
from pipeline.live.journal import MOVE_AWAY, NO_ROOM, Journal, Rotation, token_hash
from pipeline.live.locks import SPEND_LOCK_PREFIX, SPEND_LOCK_SUFFIX
from pipeline.live.pending import JOURNAL_NAME
from testkit import poolkit
from testkit.poolkit import DAY
from testkit.race import disk_drill, race_drill

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def now() -> int:
    return poolkit.now_ms()


def expired(name: str, t: int) -> dict[str, Any]:
    return poolkit.account(name, t, refreshed=t - 11 * DAY, lifetime=10 * DAY)


def tool(*args: str, timeout: float = 60, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
    """The tool as another process (the environment the fixtures isolated), bounded in time."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if expect is not None:
        assert done.returncode == expect, f"exit {done.returncode}\n{done.stderr}"
    return done


def one_account(pool_dir: Path, backend: Any, name: str = "guard") -> tuple[dict[str, Any], Any]:
    account = expired(name, now())
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    return account, backend(poolkit.backend_scenario([account]))


def stored_token(pool_dir: Path) -> str:
    return str(json.loads((pool_dir / poolkit.ACCOUNTS_FILE).read_text())["accounts"][0]["refreshToken"])


def bounded(work: Callable[[], T], timeout: float = 60) -> T:
    """``work()`` in a thread, failing the test (instead of hanging it) after ``timeout`` s."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s: it hangs"
    assert result, "it failed (see the thread's traceback above)"
    return result[0]


def refresh_once(keeper: Any, account: dict[str, Any], source: Any) -> Any:
    from pipeline.live import endpoints

    def work() -> Any:
        with endpoints.make_client(keeper.endpoints, 1) as client:
            return keeper.refresh(client, account, source, account["accountId"], account["email"])

    return bounded(work)


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "warning" in line and "history" not in line]


# --- 1. the journal is ours or it is refused ----------------------------------------------------


def test_a_fifo_journal_refreshes_nothing_and_hangs_nothing(pool_dir: Path, backend: Any) -> None:
    account, server = one_account(pool_dir, backend)
    os.mkfifo(pool_dir / JOURNAL_NAME, 0o600)
    live = tool("report", "--live", "--json", timeout=60, expect=1)  # on a FIFO, the run used to block forever
    (reported,) = json.loads(live.stdout)["accounts"]
    assert reported["status"] != "healthy"
    assert server.stats()["requests"]["refresh"] == 0, "the token was not spent"
    assert stored_token(pool_dir) == account["refreshToken"]
    lines = warnings(live.stderr)
    assert lines == [
        f"codex-auth report: warning: the token journal {pool_dir / JOURNAL_NAME} is a FIFO, not a regular file: {MOVE_AWAY}"
    ]
    assert stat.S_ISFIFO(os.lstat(pool_dir / JOURNAL_NAME).st_mode), "left as it was"
    repair = tool("repair", expect=1, timeout=60)
    assert "is a FIFO, not a regular file" in repair.stderr and len(repair.stderr.splitlines()) == 1


def test_a_symlinked_journal_gets_no_token_and_its_target_keeps_its_mode(
    pool_dir: Path, backend: Any, tmp_path: Path
) -> None:
    account, server = one_account(pool_dir, backend)
    outside = tmp_path / "elsewhere.ndjson"
    outside.write_text("")
    outside.chmod(0o644)
    (pool_dir / JOURNAL_NAME).symlink_to(outside)
    live = tool("report", "--live", "--json", expect=1)
    assert server.stats()["requests"]["refresh"] == 0
    assert outside.read_text() == "", "no rotated token went through the link"
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644, "no chmod through the link"
    assert warnings(live.stderr) == [
        f"codex-auth report: warning: the token journal {pool_dir / JOURNAL_NAME} is a symbolic link, not a regular file: "
        f"{MOVE_AWAY}"
    ]
    assert stored_token(pool_dir) == account["refreshToken"]


def test_a_hard_linked_journal_is_refused(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    _account, server = one_account(pool_dir, backend)
    outside = tmp_path / "other-name.ndjson"
    outside.write_text("")
    os.link(outside, pool_dir / JOURNAL_NAME)
    live = tool("report", "--live", "--json", expect=1)
    assert server.stats()["requests"]["refresh"] == 0
    assert "has other names too (2 hard links)" in live.stderr
    assert outside.read_text() == ""


def test_a_journal_of_ours_with_a_loose_mode_is_made_0600(pool_dir: Path, backend: Any) -> None:
    account, server = one_account(pool_dir, backend)
    journal = pool_dir / JOURNAL_NAME
    journal.write_text("")
    journal.chmod(0o644)
    tool("report", "--live", "--json")
    assert server.stats()["refresh"]["succeeded"] == 1
    assert stored_token(pool_dir) == server.refresh_token(account["accountId"])
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert any(e.refresh == server.refresh_token(account["accountId"]) for e in Journal(pool_dir).read().entries)


def test_a_journal_that_became_a_fifo_after_the_run_started_stops_the_refresh(
    pool_dir: Path, fake_backend: Any
) -> None:
    """The check is made on the journal itself just before each refresh (O_NONBLOCK, fstat),
    not once at the start."""
    from pipeline.live.endpoints import Endpoints
    from pipeline.live.tokens import Source, TokenKeeper
    from pipeline.live.writeback import ACCOUNTS, Target
    from pipeline.storage.pool import read_pool

    t = now()
    account = expired("late", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = fake_backend(poolkit.backend_scenario([account]))
    env = dict(os.environ)
    keeper = TokenKeeper(read_pool(env, t), env, Endpoints.from_env(env))
    keeper.recover()
    os.mkfifo(pool_dir / JOURNAL_NAME, 0o600)
    source = Source(Target(pool_dir / poolkit.ACCOUNTS_FILE, ACCOUNTS), True)
    fresh, failure = refresh_once(keeper, account, source)
    assert fresh is None and failure is not None and "is a FIFO, not a regular file" in failure.detail
    assert server.stats()["requests"]["refresh"] == 0


# --- 2. our own lock around every refresh ----------------------------------------------------------


@pytest.mark.slow
def test_live_runs_at_once_on_a_codex_cli_login_spend_no_token_twice(tmp_path: Path) -> None:
    figures = race_drill(tmp_path, "codex-cli", rounds=4, processes=3)
    print(figures.summary())
    assert figures.runs == 12 and figures.refreshes >= 4
    assert figures.spent_twice == 0 and figures.reused == 0
    assert figures.lost == 0
    assert figures.problems == []


@pytest.mark.slow
def test_live_runs_at_once_on_a_pool_with_the_lease_off_spend_no_token_twice(tmp_path: Path) -> None:
    figures = race_drill(tmp_path, "pool", rounds=4, processes=3, accounts=3)
    print(figures.summary())
    assert figures.runs == 12 and figures.refreshes >= 12
    assert figures.spent_twice == 0 and figures.reused == 0
    assert figures.lost == 0
    assert figures.problems == []


def test_a_refresh_killed_between_the_journal_and_storage_is_not_spent_again(pool_dir: Path, fake_backend: Any) -> None:
    """Another process spent the token, put its successor into the journal and was killed
    before storage, after this run had read the journal: its lock file keeps its mark, so the
    next holder reads the journal and uses the successor instead of spending the token again."""
    from pipeline.live.endpoints import Endpoints
    from pipeline.live.tokens import Source, TokenKeeper
    from pipeline.live.writeback import ACCOUNTS, Target
    from pipeline.storage.pool import read_pool

    t = now()
    account = expired("killed", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = fake_backend(poolkit.backend_scenario([account]))
    env = dict(os.environ)
    keeper = TokenKeeper(read_pool(env, t), env, Endpoints.from_env(env))
    keeper.recover()
    with httpx.Client(transport=server.transport()) as client:
        answer = client.post(
            server.token_url,
            data={"grant_type": "refresh_token", "refresh_token": account["refreshToken"], "client_id": "x"},
        ).json()
    Journal(pool_dir).append(
        Rotation(
            token_hash(account["refreshToken"]),
            answer["access_token"],
            answer["refresh_token"],
            t + DAY,
            None,
            account["accountId"],
            t,
        )
    )
    (pool_dir / f"{SPEND_LOCK_PREFIX}{token_hash(account['refreshToken'])}{SPEND_LOCK_SUFFIX}").write_bytes(
        b"spending\n"
    )
    source = Source(Target(pool_dir / poolkit.ACCOUNTS_FILE, ACCOUNTS), True)
    fresh, failure = refresh_once(keeper, account, source)
    assert failure is None and fresh is not None and fresh.access == answer["access_token"]
    assert server.stats()["requests"]["refresh"] == 1, "only the killed run's"
    assert server.stats()["refresh"]["reused"] == 0
    assert stored_token(pool_dir) == answer["refresh_token"]
    assert not [p for p in pool_dir.iterdir() if p.name.startswith(SPEND_LOCK_PREFIX)], "settled: the lock is gone"


# --- 3. room before spending ------------------------------------------------------------------------


@pytest.mark.slow
def test_under_a_file_size_limit_no_token_is_spent_that_cannot_be_kept(tmp_path: Path) -> None:
    figures = disk_drill(tmp_path, [512, 4096, 20000, 40000, None], accounts=4, pad=3000)
    print(figures.summary())
    by_limit = {case.limit: case for case in figures.cases}
    for limit in (512, 4096):  # below the journal's reserved room
        case = by_limit[limit]
        assert case.refreshes == 0 and case.exit == 1, case.lines
        assert [line for line in case.lines if NO_ROOM in line] == [
            f"codex-auth report: warning: no room for rotated tokens in the token journal "
            f"{tmp_path / '.codex' / 'multi-auth' / JOURNAL_NAME}: File too large: {NO_ROOM}"
        ]
    room = [line for line in by_limit[20000].lines if NO_ROOM in line]
    assert by_limit[20000].refreshes == 0 and len(room) == 1, "the accounts file (about 24 KB) has no room"
    assert by_limit[20000].exit == 1
    assert by_limit[40000].refreshes > 0, "room for some"
    assert by_limit[None].refreshes == 4
    assert figures.lost == 0 and figures.spent_twice == 0
    assert figures.problems == []


# --- 4. no clutter ------------------------------------------------------------------------------


def ours(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".codex-auth-report"))


def test_a_live_run_leaves_no_lock_file_and_no_lease_folder_it_made(pool_dir: Path, backend: Any) -> None:
    _account, server = one_account(pool_dir, backend)
    tool("report", "--live", "--json")
    assert server.stats()["refresh"]["succeeded"] == 1
    assert ours(pool_dir) == []
    leases = pool_dir / "refresh-leases"
    if leases.exists():  # our result file for codex-multi-auth's waiters stays its 20 s
        assert all(p.name.endswith(".result.json") or p.name.endswith(".made") for p in leases.iterdir())


def test_the_lease_folder_we_made_goes_once_its_result_is_settled(
    pool_dir: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_AUTH_REFRESH_LEASE_RESULT_TTL_MS", "1")
    _account, server = one_account(pool_dir, backend)
    tool("report", "--live", "--json")
    assert server.stats()["refresh"]["succeeded"] == 1
    tool("repair")
    assert not (pool_dir / "refresh-leases").exists()
    assert ours(pool_dir) == []


def test_codex_multi_auths_lease_folder_and_files_stay(pool_dir: Path, backend: Any) -> None:
    _account, server = one_account(pool_dir, backend)
    leases = pool_dir / "refresh-leases"
    leases.mkdir(mode=0o700)
    alive = leases / f"{'e' * 64}.lock"  # another token's lease, held by a live codex-multi-auth
    alive.write_text(
        json.dumps({"tokenHash": "e" * 64, "pid": os.getpid(), "acquiredAt": now(), "expiresAt": now() + 60_000})
    )
    theirs = pool_dir / "openai-codex-accounts.json.1234.5678.tmp"
    theirs.write_text("{}")
    tool("report", "--live", "--json")
    assert server.stats()["refresh"]["succeeded"] == 1
    assert leases.is_dir() and alive.exists() and theirs.exists()
    assert ours(pool_dir) == [] and not [p for p in leases.iterdir() if p.name.startswith(".codex-auth-report")]


def test_an_empty_lease_folder_codex_multi_auth_made_stays(
    pool_dir: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_AUTH_REFRESH_LEASE_RESULT_TTL_MS", "1")
    _account, server = one_account(pool_dir, backend)
    leases = pool_dir / "refresh-leases"
    leases.mkdir(mode=0o700)
    tool("report", "--live", "--json")
    tool("repair")
    assert server.stats()["refresh"]["succeeded"] == 1
    assert leases.is_dir() and list(leases.iterdir()) == [], "not ours to remove, even empty"


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_runs_lock_files_and_lease_folder_go_with_the_next_run(pool_dir: Path, backend: Any) -> None:
    account, server = one_account(pool_dir, backend)
    pid = dead_pid()
    for name in (LOCK_NAME, JOURNAL_LOCK, f"{SPEND_LOCK_PREFIX}{'a' * 64}{SPEND_LOCK_SUFFIX}"):
        (pool_dir / name).write_bytes(b"spending\n" if name.startswith(SPEND_LOCK_PREFIX) else b"")
    leases = pool_dir / "refresh-leases"
    leases.mkdir(mode=0o700)
    (leases / f".codex-auth-report.{pid}.77.made").write_bytes(b"")
    (leases / LOCK_NAME).write_bytes(b"")
    tool("report", "--json")
    assert ours(pool_dir) != [], "a default report writes (and removes) nothing"
    tool("repair")
    assert ours(pool_dir) == [] and not leases.exists()
    assert server.stats()["requests"]["refresh"] == 0
    assert stored_token(pool_dir) == account["refreshToken"]


def test_a_lock_file_another_process_holds_is_not_removed(pool_dir: Path, backend: Any) -> None:
    _account, server = one_account(pool_dir, backend)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(pool_dir / JOURNAL_LOCK)!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_SH)\nprint('held', flush=True)\nsys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        tool("report", "--live", "--json")
        assert server.stats()["refresh"]["succeeded"] == 1
        assert (pool_dir / JOURNAL_LOCK).exists(), "held by a live process: it stays"
        assert LOCK_NAME not in ours(pool_dir)
    finally:
        holder.communicate("", timeout=30)
    tool("repair")
    assert ours(pool_dir) == []
