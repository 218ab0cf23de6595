"""The token journal, the writes that keep other writers' changes, the refresh lease's
leftovers, and restoring tokens storage lacks (pipeline/live/{journal,atomic,lease,recovery}.py),
on real files in temporary folders."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from pipeline.live import atomic, journal, journal_index, processes
from pipeline.live.journal import Journal, Rotation, decode, encode, token_hash
from pipeline.live.lease import Lease
from pipeline.live.recovery import pending_note, restore
from pipeline.live.writeback import ACCOUNTS, CODEX_CLI, FLAGGED, Target, apply
from pipeline.storage.pool import read_pool
from testkit import poolkit


def rotation(spent_token: str, new: str, at: int = 1_000, account: str | None = "acct-a") -> Rotation:
    return Rotation(token_hash(spent_token), f"access-for-{new}", new, 2_000_000, None, account, at, "refresh")


# --- the journal ---------------------------------------------------------------------------


def test_an_entry_round_trips_and_never_holds_the_spent_token(tmp_path: Path) -> None:
    entry = rotation("rt_fixture_old_spent", "rt_fixture_new_one")
    book = Journal(tmp_path)
    book.append(entry)
    raw = book.path.read_text()
    assert "rt_fixture_old_spent" not in raw, "the spent token is a hash, never itself"
    assert json.loads(raw)["spent"] == token_hash("rt_fixture_old_spent")
    assert book.read().entries == [entry]


def test_the_journal_is_0600(tmp_path: Path) -> None:
    Journal(tmp_path).append(rotation("rt_fixture_a", "rt_fixture_b"))
    assert stat.S_IMODE(os.stat(tmp_path / journal.JOURNAL_NAME).st_mode) == 0o600


def test_append_fsyncs_the_file_and_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    book = Journal(tmp_path)
    book.append(rotation("rt_fixture_a", "rt_fixture_b"))
    assert synced == ["file", "folder"]
    book.append(rotation("rt_fixture_b", "rt_fixture_c"))
    assert synced == ["file", "folder", "file"], "the folder once per process, the file every time"


def test_a_torn_last_line_is_ignored_and_does_not_swallow_the_next(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    first = rotation("rt_fixture_a", "rt_fixture_b")
    book.append(first)
    whole = encode(rotation("rt_fixture_x", "rt_fixture_y"))
    with open(book.path, "ab") as handle:
        handle.write(whole[: len(whole) // 2])  # a crash in the middle of a line
    assert book.read().entries == [first] and book.read().damaged == 1
    after = rotation("rt_fixture_b", "rt_fixture_c")
    book.append(after)
    contents = book.read()
    assert contents.entries == [first, after] and contents.damaged == 1


def test_a_line_whose_checksum_does_not_match_is_ignored(tmp_path: Path) -> None:
    line = encode(rotation("rt_fixture_a", "rt_fixture_b"))
    data = json.loads(line)
    data["refresh"] = "rt_fixture_tampered"
    assert decode(json.dumps(data).encode()) is None
    assert decode(line) is not None
    assert decode(b"not json") is None and decode(b"[1]") is None


def test_compaction_keeps_what_storage_lacks_and_what_is_recent(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    settled_old = rotation("rt_fixture_1", "rt_fixture_2", at=1_000)
    settled_recent = rotation("rt_fixture_3", "rt_fixture_4", at=10_000_000)
    waiting_old = rotation("rt_fixture_5", "rt_fixture_6", at=1_000)
    for entry in (settled_old, settled_recent, waiting_old):
        book.append(entry)
    with open(book.path, "ab") as handle:
        handle.write(b'{"torn": ')
    now = 10_000_000 + 60_000
    left = book.compact({settled_old.spent, settled_recent.spent}, now)
    assert left == 2
    assert book.read().entries == [settled_recent, waiting_old] and book.read().damaged == 0
    assert stat.S_IMODE(os.stat(book.path).st_mode) == 0o600
    assert book.compact({settled_recent.spent, waiting_old.spent}, now + journal.KEEP_SETTLED_MS) == 0
    assert not book.path.exists(), "an empty journal is removed"


# --- writes that keep other writers' changes ---------------------------------------------------


def _pool_file(path: Path, accounts: list[dict[str, Any]]) -> None:
    poolkit.write_json(path, {"version": 3, "accounts": accounts})


def test_a_change_made_between_our_read_and_our_rename_is_merged(tmp_path: Path) -> None:
    path = tmp_path / "openai-codex-accounts.json"
    _pool_file(path, [{"accountId": "a"}])
    calls = 0

    def change(raw: bytes | None) -> bytes:
        nonlocal calls
        calls += 1
        data = json.loads(raw or b"{}")
        if calls == 1:  # another program saves (temporary file + rename) while we work
            other = json.loads(raw or b"{}")
            other["accounts"].append({"accountId": "added-by-other"})
            temp = tmp_path / "other.tmp"
            temp.write_text(json.dumps(other))
            os.replace(temp, path)
        data["accounts"][0]["ours"] = True
        return json.dumps(data).encode()

    assert atomic.update(path, change) is True
    after = json.loads(path.read_text())
    assert calls == 2, "merged again with the file as it was then"
    assert [a["accountId"] for a in after["accounts"]] == ["a", "added-by-other"]
    assert after["accounts"][0]["ours"] is True


def test_a_file_that_slips_in_between_the_check_and_the_swap_is_swapped_back_and_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "openai-codex-accounts.json"
    _pool_file(path, [{"accountId": "a"}])
    real = atomic.exchange
    slipped = False

    def exchange(first: Path, second: Path) -> bool:
        nonlocal slipped
        if not slipped:  # the other program's rename lands just before our swap
            slipped = True
            temp = tmp_path / "other.tmp"
            temp.write_text(json.dumps({"version": 3, "accounts": [{"accountId": "a"}, {"accountId": "late"}]}))
            os.replace(temp, path)
        return real(first, second)

    monkeypatch.setattr(atomic, "exchange", exchange)

    def change(raw: bytes | None) -> bytes:
        data = json.loads(raw or b"{}")
        data["accounts"][0]["ours"] = True
        return json.dumps(data).encode()

    assert atomic.update(path, change) is True
    after = json.loads(path.read_text())
    assert [a["accountId"] for a in after["accounts"]] == ["a", "late"], "the late writer's account survived"
    assert after["accounts"][0]["ours"] is True
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_nothing_to_change_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("{}")
    before = os.stat(path)
    assert atomic.update(path, lambda raw: None) is False
    assert os.stat(path).st_ino == before.st_ino


# --- leftovers of dead processes ------------------------------------------------------------------


def test_a_lease_lock_of_a_live_process_is_honoured(tmp_path: Path) -> None:
    from pipeline.live.lease import LeaseTimeout

    lease = Lease(tmp_path / "refresh-leases", wait_ms=1, poll_ms=1)
    lease.folder.mkdir()
    token = "rt_fixture_busy_token"
    pid, started = processes.me()
    owner = {"tokenHash": token_hash(token), "pid": pid, "startTime": started, "expiresAt": 10**13, "nonce": "y"}
    (lease.folder / f"{token_hash(token)}.lock").write_text(json.dumps(owner))
    with pytest.raises(LeaseTimeout):
        lease.acquire(token)


def test_a_lock_left_by_a_reboot_is_dead(tmp_path: Path) -> None:
    pid, started = processes.me()
    assert processes.alive(pid, started, processes.boot_id())
    assert not processes.alive(pid, started, "another-boot") or processes.boot_id() is None
    assert not processes.alive(pid, "1")  # the same pid, started at another time


# --- every record holding the spent token ----------------------------------------------------------


def test_every_record_and_file_holding_the_spent_token_gets_the_new_one(tmp_path: Path) -> None:
    spent, new = "rt_fixture_spent_dup", "rt_fixture_new_dup"
    accounts = tmp_path / "openai-codex-accounts.json"
    _pool_file(
        accounts,
        [
            {"accountId": "a", "refreshToken": spent, "lastUsed": 1},
            {"accountId": "b", "refreshToken": "rt_fixture_other"},
            {"accountId": "a", "refreshToken": spent, "lastUsed": 2},
        ],
    )
    flagged = tmp_path / "openai-codex-flagged-accounts.json"
    poolkit.write_json(flagged, {"version": 1, "accounts": [{"accountId": "a", "refreshToken": spent}]})
    auth = tmp_path / "auth.json"
    poolkit.write_json(auth, {"tokens": {"refresh_token": spent, "access_token": "old", "account_id": "a"}})
    rotations = {token_hash(spent): rotation(spent, new)}
    assert apply(Target(accounts, ACCOUNTS), rotations, 5).records == 2
    assert apply(Target(flagged, FLAGGED), rotations, 5).records == 1
    assert apply(Target(auth, CODEX_CLI), rotations, 5).records == 1
    stored = json.loads(accounts.read_text())["accounts"]
    assert [a["refreshToken"] for a in stored] == [new, "rt_fixture_other", new]
    assert json.loads(flagged.read_text())["accounts"][0]["refreshToken"] == new
    assert json.loads(auth.read_text())["tokens"]["refresh_token"] == new
    assert not accounts.read_text().endswith("\n"), "codex-multi-auth's layout kept"


def test_a_chain_of_rotations_brings_a_stale_copy_to_the_newest(tmp_path: Path) -> None:
    accounts = tmp_path / "openai-codex-accounts.json"
    _pool_file(accounts, [{"accountId": "a", "refreshToken": "rt_fixture_t0"}])
    first, second = rotation("rt_fixture_t0", "rt_fixture_t1"), rotation("rt_fixture_t1", "rt_fixture_t2")
    apply(Target(accounts, ACCOUNTS), {first.spent: first, second.spent: second}, 5)
    assert json.loads(accounts.read_text())["accounts"][0]["refreshToken"] == "rt_fixture_t2"


# --- recovery -------------------------------------------------------------------------------


def test_restore_puts_journal_tokens_into_storage_and_then_compacts(pool_dir: Path) -> None:
    t = poolkit.now_ms()
    account = poolkit.account("j", t)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    entry = rotation(account["refreshToken"], "rt_fixture_from_journal", at=t - 3_600_000)
    Journal(pool_dir).append(entry)
    env = dict(os.environ)
    pool = read_pool(env, t)
    assert pending_note(pool, env) == (
        "1 rotated token is not in storage yet: run codex auth report --live, or codex auth repair"
    )
    result = restore(pool, env, t)
    assert (result.restored, result.failures, result.waiting) == (1, [], 0)
    stored = json.loads((pool_dir / poolkit.ACCOUNTS_FILE).read_text())["accounts"][0]
    assert stored["refreshToken"] == "rt_fixture_from_journal" and stored["accessToken"] == entry.access
    assert pending_note(read_pool(env, t), env) is None
    assert not (pool_dir / journal.JOURNAL_NAME).exists(), "settled and old: compacted away"


def test_a_large_settled_journal_is_scanned_not_decoded(pool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A default report's warning decodes only the entries spending a token storage holds:
    the others (settled, waiting for compaction) cost a pass over their bytes."""
    t = poolkit.now_ms()
    accounts = [poolkit.account(f"s{i}", t, real_shaped=True) for i in range(3)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    book = Journal(pool_dir)
    for n in range(300):  # tokens spent long ago: storage holds none of them
        book.append(rotation(f"rt_fixture_gone_{n}", f"rt_fixture_later_{n}", at=t - 3_600_000))
    # an entry whose account id quotes a stored token's hash as a JSON member: not a spent hash
    quoted = f'"spent":"{token_hash(accounts[2]["refreshToken"])}"'
    book.append(rotation("rt_fixture_gone_x", "rt_fixture_later_x", account=quoted))
    book.append(rotation(accounts[1]["refreshToken"], "rt_fixture_newer_1", at=t - 3_600_000))
    decoded: list[bytes] = []
    real = journal.decode

    def counting(line: bytes) -> Rotation | None:
        decoded.append(line)
        return real(line)

    monkeypatch.setattr(journal, "decode", counting)
    env = dict(os.environ)
    assert pending_note(read_pool(env, t), env) == (
        "1 rotated token is not in storage yet: run codex auth report --live, or codex auth repair"
    )
    assert len(decoded) == 1 and b"rt_fixture_newer_1" in decoded[0]
    decoded.clear()
    assert len(book.read().entries) == 302 and len(decoded) == 302, "a live run still reads every entry"


# --- the journal's index ---------------------------------------------------------------------

PENDING_ONE = "1 rotated token is not in storage yet: run codex auth report --live, or codex auth repair"


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the passes over the journal (Journal.read)."""
    passes: list[int] = []
    real = Journal.read

    def counting(self: Journal, wanted: Any = None) -> journal.Contents:
        passes.append(1)
        return real(self, wanted)

    monkeypatch.setattr(Journal, "read", counting)
    return passes


def _indexed_pool(pool_dir: Path, settled: int = 50) -> tuple[dict[str, Any], Journal, int]:
    """A pool of one account whose stored token the journal has a newer one for, beside
    ``settled`` entries storage no longer needs; compacted (nothing old enough to drop), so
    the index describes the journal."""
    t = poolkit.now_ms()
    account = poolkit.account("ix", t, real_shaped=True)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    book = Journal(pool_dir)
    for n in range(settled):
        book.append(rotation(f"rt_fixture_old_{n}", f"rt_fixture_next_{n}", at=t))
    book.append(rotation(account["refreshToken"], "rt_fixture_waiting", at=t))
    assert book.compact(set(), t) == settled + 1
    return account, book, t


def test_a_default_reports_warning_reads_the_index_not_the_journal(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _account, book, t = _indexed_pool(pool_dir)
    assert stat.S_IMODE(os.stat(book.folder / journal_index.INDEX_NAME).st_mode) == 0o600
    passes = _reads(monkeypatch)
    env = dict(os.environ)
    assert pending_note(read_pool(env, t), env) == PENDING_ONE
    assert passes == [], "the index answered: no pass over the journal"


def test_an_index_that_disagrees_with_the_journal_is_not_trusted(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, book, t = _indexed_pool(pool_dir)
    passes = _reads(monkeypatch)
    env = dict(os.environ)
    # an entry appended since the index was made: the index no longer describes the journal
    other = poolkit.account("iy", t, real_shaped=True)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account, other]))
    book.append(rotation(other["refreshToken"], "rt_fixture_waiting_2", at=t))
    assert pending_note(read_pool(env, t), env) == (
        "2 rotated tokens are not in storage yet: run codex auth report --live, or codex auth repair"
    )
    assert len(passes) == 1
    # reserved room filled in place after a compaction: the reservation changed the journal
    assert book.compact(set(), t) == 52
    third = poolkit.account("iz", t, real_shaped=True)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account, other, third]))
    with book.reserve() as room:
        room.fill(rotation(third["refreshToken"], "rt_fixture_waiting_3", at=t))
    passes.clear()
    assert pending_note(read_pool(env, t), env) == (
        "3 rotated tokens are not in storage yet: run codex auth report --live, or codex auth repair"
    )
    assert len(passes) == 1


def test_a_journal_rewritten_to_the_same_size_and_time_is_read_again(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Size and mtime put back after a change (a restore from a backup, say): the index's
    ctime and the hash of the journal's tail still tell."""
    account, book, t = _indexed_pool(pool_dir)
    before = os.stat(book.path)
    data = book.path.read_bytes()
    waiting_spent = token_hash(account["refreshToken"]).encode()
    book.path.write_bytes(data.replace(waiting_spent, b"0" * 64))  # the waiting entry now damaged
    os.utime(book.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    passes = _reads(monkeypatch)
    env = dict(os.environ)
    assert pending_note(read_pool(env, t), env) is None
    assert len(passes) == 1


@pytest.mark.parametrize("damage", ["truncated", "garbage", "symlink", "other-journal"])
def test_a_damaged_index_costs_a_pass_never_a_wrong_answer(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    _account, book, t = _indexed_pool(pool_dir)
    index = book.folder / journal_index.INDEX_NAME
    if damage == "truncated":
        index.write_bytes(index.read_bytes()[:-5])
    elif damage == "garbage":
        index.write_bytes(b"\x00" * 100)
    elif damage == "symlink":
        moved = index.with_name("elsewhere")
        index.rename(moved)
        index.symlink_to(moved)
    else:  # a valid index of another journal (one of settled entries only) put in its place
        other = pool_dir / "other"
        other.mkdir()
        Journal(other).append(rotation("rt_fixture_elsewhere", "rt_fixture_elsewhere_2", at=t))
        assert Journal(other).compact(set(), t) == 1
        os.replace(other / journal_index.INDEX_NAME, index)
    passes = _reads(monkeypatch)
    env = dict(os.environ)
    assert pending_note(read_pool(env, t), env) == PENDING_ONE
    assert len(passes) == 1


def test_the_index_answers_for_storage_as_it_is_now(pool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index holds the journal's spent hashes, not the answer: storage put back to a spent
    token after the index was made (an older copy restored) still shows as waiting."""
    account, _book, t = _indexed_pool(pool_dir)
    passes = _reads(monkeypatch)
    env = dict(os.environ)
    renewed = dict(account, refreshToken="rt_fixture_waiting")
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([renewed]))
    assert pending_note(read_pool(env, t), env) is None
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    assert pending_note(read_pool(env, t), env) == PENDING_ONE
    assert passes == []


def test_a_journal_compacted_away_takes_its_index_with_it(pool_dir: Path) -> None:
    account, book, t = _indexed_pool(pool_dir, settled=3)
    assert (book.folder / journal_index.INDEX_NAME).exists()
    spent = {token_hash(f"rt_fixture_old_{n}") for n in range(3)} | {token_hash(account["refreshToken"])}
    assert book.compact(spent, t + journal.KEEP_SETTLED_MS) == 0
    assert not book.path.exists() and not (book.folder / journal_index.INDEX_NAME).exists()


def test_a_compaction_killed_before_its_index_leaves_an_index_nobody_trusts(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL between the journal's rewrite and the new index: the old index names the old
    file (another inode), so the warning reads the journal and counts what it holds."""
    _account, book, t = _indexed_pool(pool_dir, settled=5)
    monkeypatch.setattr(journal_index, "write", lambda folder, spent: None)  # the process died here
    settled = {token_hash(f"rt_fixture_old_{n}") for n in range(5)}
    assert book.compact(settled, t + journal.KEEP_SETTLED_MS) == 1
    assert (book.folder / journal_index.INDEX_NAME).exists(), "the old index is still there"
    passes = _reads(monkeypatch)
    env = dict(os.environ)
    assert pending_note(read_pool(env, t), env) == PENDING_ONE
    assert len(passes) == 1
