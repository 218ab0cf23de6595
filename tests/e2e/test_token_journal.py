"""Regression tests for the ways a rotated token got lost (duplicates, a stale lease result,
leftovers of killed runs), and the token journal seen from the command line: the default
report's warning, `codex auth repair`, a live run restoring before it refreshes. Against the
fake ChatGPT backend on 127.0.0.1, with real pool files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.live.journal import JOURNAL_NAME, Journal, Rotation, token_hash
from testkit import poolkit
from testkit.helpers import assert_no_secrets, fixture_secrets, run_cli, snapshot_tree
from testkit.poolkit import DAY

PENDING = "1 rotated token is not in storage yet: run codex auth report --live, or codex auth repair"


def now() -> int:
    return poolkit.now_ms()


def expired(name: str, t: int, **extra: Any) -> dict[str, Any]:
    return poolkit.account(name, t, refreshed=t - 11 * DAY, lifetime=10 * DAY, **extra)


def stored(folder: Path) -> list[dict[str, Any]]:
    accounts: list[dict[str, Any]] = json.loads((folder / poolkit.ACCOUNTS_FILE).read_text())["accounts"]
    return accounts


def spend_elsewhere(server: Any, account_id: str, old: str) -> dict[str, Any]:
    """Refresh ``old`` at the backend the way a killed run did: the answer's tokens."""
    import httpx

    answer = httpx.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": old, "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"},
    ).json()
    assert server.refresh_token(account_id) == answer["refresh_token"]
    return dict(answer)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- found-item 1: duplicate records ----------------------------------------------------------


def test_duplicate_records_all_get_the_rotated_token(pool_dir: Path, backend: Any) -> None:
    t = now()
    first = expired("twin", t, lastUsed=t - 2 * DAY)
    second = dict(first, lastUsed=t - 60_000)  # same account, same token, used later: the loader keeps it
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([first, second]))
    server = backend(poolkit.backend_scenario([first]))
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    assert [a["status"] for a in report["accounts"]] == ["healthy"]
    new = server.refresh_token("acct-twin")
    assert [a["refreshToken"] for a in stored(pool_dir)] == [new, new]
    again = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    assert again["accounts"][0]["status"] == "healthy"
    stats = server.stats()
    assert stats["refresh"]["reused"] == 0 and all(n == 1 for n in stats["refreshTokensPresented"].values())


# --- found-item 2: a stale lease result holding the only copy ---------------------------------------


def _stale_result(pool_dir: Path, spent: str, answer: dict[str, Any], created: int) -> Path:
    leases = pool_dir / "refresh-leases"
    leases.mkdir(mode=0o700, exist_ok=True)
    digest = token_hash(spent)
    path = leases / f"{digest}.result.json"
    result = {"type": "success", "access": answer["access_token"], "refresh": answer["refresh_token"]}
    path.write_text(
        json.dumps({"tokenHash": digest, "createdAt": created, "result": {**result, "expires": created + DAY}})
    )
    return path


def test_a_stale_lease_result_is_the_token_not_garbage(pool_dir: Path, backend: Any) -> None:
    t = now()
    account = expired("leased", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = backend(poolkit.backend_scenario([account]))
    answer = spend_elsewhere(server, "acct-leased", account["refreshToken"])
    result_file = _stale_result(pool_dir, account["refreshToken"], answer, t - 25_000)  # 25 s old

    before = snapshot_tree(pool_dir)
    default = run_cli(["report", "--json"], validate=False)
    assert f"codex-auth report: warning: {PENDING}" in default.stderr
    assert json.loads(default.stdout)["storage"]["warnings"] == [PENDING]
    assert PENDING in run_cli(["report"], validate=False).text, "in the text report's Warnings too"
    assert snapshot_tree(pool_dir) == before, "a default report writes nothing"

    live = run_cli(["report", "--live", "--json"], validate=False)
    assert json.loads(live.stdout)["accounts"][0]["status"] == "healthy"
    assert "restored 1 rotated token from the journal" in live.stderr
    assert "storage" not in json.loads(live.stdout) or not json.loads(live.stdout)["storage"].get("warnings")
    stats = server.stats()
    assert stats["refresh"]["reused"] == 0, "the spent token was not presented again"
    assert stats["refreshTokensPresented"].get(token_hash(account["refreshToken"])) == 1
    assert stored(pool_dir)[0]["refreshToken"] == server.refresh_token("acct-leased")
    assert not result_file.exists(), "deleted once storage holds its token (or a newer one)"


# --- found-item 3: leftovers of killed runs ---------------------------------------------------------


def test_leftover_locks_and_temporary_files_of_dead_runs_block_nothing(
    pool_dir: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_AUTH_REFRESH_LEASE_WAIT_MS", "1")  # a lock honoured would fail the refresh
    t = now()
    account = expired("leftover", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = backend(poolkit.backend_scenario([account]))
    leases = pool_dir / "refresh-leases"
    leases.mkdir(mode=0o700)
    digest = token_hash(account["refreshToken"])
    pid = dead_pid()
    (leases / f"{digest}.lock").write_text(
        json.dumps({"tokenHash": digest, "pid": pid, "acquiredAt": t, "expiresAt": t + 3_600_000, "nonce": "n"})
    )
    ours = pool_dir / f".{poolkit.ACCOUNTS_FILE}.codex-auth-report.{pid}.77.0123abcd.tmp"
    ours.write_text(json.dumps({"refreshToken": "rt_fixture_in_a_leftover_temp"}))
    theirs = pool_dir / f"{poolkit.ACCOUNTS_FILE}.{os.getpid()}.{t}.89abcdef.tmp"
    theirs.write_text("{}")
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    assert report["accounts"][0]["status"] == "healthy"
    assert server.stats()["refresh"]["succeeded"] == 1
    assert not (leases / f"{digest}.lock").exists()
    assert not ours.exists(), "our dead run's temporary file (it may hold a token) is gone"
    assert theirs.exists(), "codex-multi-auth's temporary files are not ours to delete"


# --- killed between the journal and storage ----------------------------------------------------------


def _killed_after_journal(pool_dir: Path, server: Any, account: dict[str, Any], t: int) -> str:
    answer = spend_elsewhere(server, account["accountId"], account["refreshToken"])
    Journal(pool_dir).append(
        Rotation(
            token_hash(account["refreshToken"]),
            answer["access_token"],
            answer["refresh_token"],
            t + 120_000,
            answer["id_token"],
            account["accountId"],
            t,
        )
    )
    return str(answer["refresh_token"])


def test_repair_puts_the_journal_into_storage(pool_dir: Path, backend: Any) -> None:
    t = now()
    accounts = [expired("crashed", t), poolkit.account("fine", t)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    flagged_copy = dict(accounts[0])
    poolkit.write_flagged(pool_dir, [flagged_copy])
    server = backend(poolkit.backend_scenario(accounts))
    new = _killed_after_journal(pool_dir, server, accounts[0], t)

    collect = run_cli(["collect"])
    assert f"codex-auth collect: warning: {PENDING}" in collect.stderr
    assert collect.records[0]["warnings"] == [PENDING]

    before = {path.name: path.read_bytes() for path in sorted(pool_dir.iterdir()) if path.is_file()}
    dry = run_cli(["repair", "--dry-run"], validate=False)
    assert dry.stderr.splitlines() == [
        f"codex-auth repair: would restore 1 rotated token into {pool_dir / poolkit.ACCOUNTS_FILE}",
        f"codex-auth repair: would restore 1 rotated token into {pool_dir / poolkit.FLAGGED_FILE}",
    ]
    after = {path.name: path.read_bytes() for path in sorted(pool_dir.iterdir()) if path.is_file()}
    assert after == before, "--dry-run writes and removes nothing"

    repaired = run_cli(["repair"], validate=False)
    assert repaired.stderr == "codex-auth repair: restored 1 rotated token from the journal\n"
    assert [a["refreshToken"] for a in stored(pool_dir)] == [new, accounts[1]["refreshToken"]]
    flagged = json.loads((pool_dir / poolkit.FLAGGED_FILE).read_text())["accounts"]
    assert flagged[0]["refreshToken"] == new, "the flagged file's copy too"
    assert server.stats()["requests"]["refresh"] == 1, "repair probes nothing"
    assert run_cli(["repair"], validate=False).stderr == (
        "codex-auth repair: nothing to repair: storage holds every rotated token\n"
    )
    assert run_cli(["repair", "--dry-run"], validate=False).stderr == (
        "codex-auth repair: nothing to repair: storage holds every rotated token (dry run: nothing written)\n"
    )
    assert "warnings" not in (json.loads(run_cli(["report", "--json"], validate=False).stdout)["storage"])
    secrets = fixture_secrets(pool_dir) | {new}
    for text in (repaired.stderr, collect.stderr):
        assert_no_secrets(text, secrets)


def test_a_live_run_restores_before_it_refreshes(pool_dir: Path, backend: Any) -> None:
    t = now()
    account = expired("restored", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = backend(poolkit.backend_scenario([account]))
    new = _killed_after_journal(pool_dir, server, account, t)
    live = run_cli(["report", "--live", "--json"], validate=False)
    assert live.stderr.startswith("codex-auth report: restored 1 rotated token from the journal\n")
    assert json.loads(live.stdout)["accounts"][0]["status"] == "healthy"
    stats = server.stats()
    assert stats["refresh"]["reused"] == 0
    assert stats["refreshTokensPresented"].get(token_hash(new)) == 1, "the restored token was the one refreshed"
    assert stored(pool_dir)[0]["refreshToken"] == server.refresh_token("acct-restored")
    assert (pool_dir / JOURNAL_NAME).exists(), "recent entries stay a while, against stale writers"


def test_repair_fails_loudly_when_storage_cannot_be_written(pool_dir: Path, backend: Any) -> None:
    t = now()
    account = expired("damaged", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = backend(poolkit.backend_scenario([account]))
    _killed_after_journal(pool_dir, server, account, t)
    # the accounts file is damaged and the pool is read from its backup: not ours to write into
    (pool_dir / (poolkit.ACCOUNTS_FILE + ".bak")).write_text((pool_dir / poolkit.ACCOUNTS_FILE).read_text())
    (pool_dir / poolkit.ACCOUNTS_FILE).write_text("{ damaged")
    result = run_cli(["repair"], expect=1, validate=False)
    assert "codex-auth repair: ERROR: cannot restore rotated tokens into" in result.stderr
    assert "not in a state to write to" in result.stderr
    assert (pool_dir / poolkit.ACCOUNTS_FILE).read_text() == "{ damaged", "nothing written"


def test_repair_with_nothing_to_do(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("calm", now())]))
    before = snapshot_tree(pool_dir)
    result = run_cli(["repair"], validate=False)
    assert result.stderr == "codex-auth repair: nothing to repair: storage holds every rotated token\n"
    assert snapshot_tree(pool_dir) == before


@pytest.mark.parametrize("args", [["repair"], ["report", "--live"], ["report"]])
def test_a_journal_line_nested_too_deeply_is_a_damaged_line_not_a_crash(
    pool_dir: Path, backend: Any, args: list[str]
) -> None:
    """A journal line of 100,000 ``[`` (damage, or a planted file) used to end every command that
    reads the journal in ``internal error: RecursionError``."""
    t = now()
    account = expired("deep", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    server = backend(poolkit.backend_scenario([account]))
    good = Rotation(token_hash("rt_fixture_gone"), "access-gone", "rt_fixture_gone_next", t + DAY, None, "acct-x", t)
    journal = pool_dir / JOURNAL_NAME
    Journal(pool_dir).append(good)
    with journal.open("ab") as out:
        out.write(b"[" * 100_000 + b"\n")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    damaged = [line for line in done.stderr.splitlines() if f"{journal}:2" in line]
    if args == ["report"]:
        assert damaged == [], "a default report reads the journal, and writes and says nothing of it"
        return
    assert damaged == [
        f"codex-auth {args[0]}: warning: {journal}:2: not an entry of the token journal (torn by a crash or damaged): "
        "nothing to do, it is left out and dropped at the next compaction"
    ], done.stderr
    if args == ["report", "--live"]:
        assert server.stats()["refresh"]["succeeded"] == 1, "the account is refreshed as usual"
    assert b"[[[" not in journal.read_bytes(), "dropped by the compaction"


def test_the_index_a_live_run_leaves_answers_for_storage_as_it_is(pool_dir: Path, backend: Any) -> None:
    """A live run's last compaction leaves the journal's index (its entries are recent, so
    they stay); the default reports after it read the index, and still see a stale writer
    that puts the spent token back, and an entry appended since."""
    from pipeline.live.journal_index import INDEX_NAME

    t = now()
    account = expired("indexed", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    backend(poolkit.backend_scenario([account]))
    run_cli(["report", "--live", "--json"], validate=False)
    assert (pool_dir / JOURNAL_NAME).exists() and (pool_dir / INDEX_NAME).exists()
    assert (pool_dir / INDEX_NAME).stat().st_mode & 0o777 == 0o600
    assert PENDING not in run_cli(["report"], validate=False).stderr
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))  # a stale writer: the spent token is back
    assert f"warning: {PENDING}" in run_cli(["report"], validate=False).stderr
    other = poolkit.account("appended", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account, other]))
    Journal(pool_dir).append(
        Rotation(token_hash(other["refreshToken"]), "access-next", "rt_fixture_next", t + DAY, None, "acct-x", t)
    )
    two = "2 rotated tokens are not in storage yet: run codex auth report --live, or codex auth repair"
    assert f"warning: {two}" in run_cli(["report"], validate=False).stderr
    assert_no_secrets((pool_dir / INDEX_NAME).read_bytes().decode("latin-1"), fixture_secrets(pool_dir))
