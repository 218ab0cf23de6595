"""The pieces that keep a refresh from spending a token it cannot keep
(pipeline/live/{locks,journal,atomic}.py): lock files that can be removed at any moment, the
journal's refusal of anything not ours, room reserved before a refresh, on real files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.live import locks
from pipeline.live.journal import (
    RESERVE_BYTES,
    Journal,
    JournalError,
    JournalRefused,
    Rotation,
    encode,
    refusal,
    token_hash,
)


def rotation(spent: str, new: str, at: int = 1_000) -> Rotation:
    return Rotation(token_hash(spent), f"access-for-{new}", new, 2_000_000, None, "acct-a", at, "refresh")


def fake_stat(mode: int, uid: int | None = None, nlink: int = 1) -> os.stat_result:
    return os.stat_result((mode, 1, 1, nlink, os.geteuid() if uid is None else uid, 0, 0, 0, 0, 0))


# --- refusal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        (stat.S_IFIFO | 0o600, "is a FIFO, not a regular file"),
        (stat.S_IFLNK | 0o777, "is a symbolic link, not a regular file"),
        (stat.S_IFCHR | 0o600, "is a character device, not a regular file"),
        (stat.S_IFBLK | 0o600, "is a block device, not a regular file"),
        (stat.S_IFSOCK | 0o600, "is a socket, not a regular file"),
        (stat.S_IFDIR | 0o700, "is a folder, not a regular file"),
    ],
)
def test_anything_but_a_regular_file_is_refused(mode: int, said: str) -> None:
    assert refusal(Path("/p/j"), fake_stat(mode)) == f"the token journal /p/j {said}"


def test_a_file_of_another_user_or_with_other_names_is_refused() -> None:
    other = os.geteuid() + 1
    assert refusal(Path("/p/j"), fake_stat(stat.S_IFREG | 0o600, uid=other)) == (
        f"the token journal /p/j belongs to another user (uid {other})"
    )
    assert refusal(Path("/p/j"), fake_stat(stat.S_IFREG | 0o600, nlink=3)) == (
        "the token journal /p/j has other names too (3 hard links)"
    )
    assert refusal(Path("/p/j"), fake_stat(stat.S_IFREG | 0o644)) is None, "a loose mode is fixed, not refused"


def test_a_refused_journal_is_neither_read_nor_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(encode(rotation("rt_fixture_planted", "rt_fixture_planted_next")))
    outside.chmod(0o644)
    folder = tmp_path / "pool"
    folder.mkdir()
    book = Journal(folder)
    book.path.symlink_to(outside)
    contents = book.read()
    assert contents.entries == [] and contents.refused and "symbolic link" in contents.refused
    with pytest.raises(JournalRefused, match="symbolic link"):
        book.append(rotation("rt_fixture_a", "rt_fixture_b"))
    with pytest.raises(JournalRefused, match="symbolic link"):
        book.reserve()
    with pytest.raises(JournalError):
        book.compact(set(), 10**13)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644 and book.path.is_symlink()


def test_a_loose_mode_is_made_0600_through_the_open_file(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    book.path.write_bytes(b"")
    book.path.chmod(0o666)
    book.append(rotation("rt_fixture_a", "rt_fixture_b"))
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600


# --- reserved room -------------------------------------------------------------------------


def test_reserved_room_is_filled_in_place(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    first = rotation("rt_fixture_a", "rt_fixture_b")
    book.append(first)
    size = book.path.stat().st_size
    with book.reserve() as room:
        assert book.path.stat().st_size == size + RESERVE_BYTES, "the room is on disk before the refresh"
        assert book.read().entries == [first] and book.read().padding == 1
        later = rotation("rt_fixture_x", "rt_fixture_y")
        book.append(later)  # another thread's entry after our room
        mine = rotation("rt_fixture_b", "rt_fixture_c")
        room.fill(mine)
    assert book.path.stat().st_size == size + RESERVE_BYTES + len(encode(later)), "no new space taken"
    contents = book.read()
    assert contents.entries == [first, mine, later] and contents.damaged == 0 and contents.padding == 0


def test_room_never_filled_is_dropped_by_the_next_compaction(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    kept = rotation("rt_fixture_a", "rt_fixture_b")
    book.append(kept)
    book.reserve().close()  # a refresh that failed: nothing spent
    assert book.read().padding == 1
    assert book.compact(set(), 10**13) == 1
    assert book.path.read_bytes() == encode(kept)


def test_compaction_waits_for_no_one_and_never_moves_reserved_room_away(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    book.append(rotation("rt_fixture_a", "rt_fixture_b"))
    with book.reserve() as room:
        assert book.compact({token_hash("rt_fixture_a")}, 10**13) == -1, "skipped while room is held"
        room.fill(rotation("rt_fixture_b", "rt_fixture_c"))
    assert [e.refresh for e in book.read().entries] == ["rt_fixture_b", "rt_fixture_c"]


def test_an_entry_larger_than_its_room_is_appended(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    big = Rotation(token_hash("rt_fixture_a"), "x" * 3000, "rt_fixture_big", None)
    with book.reserve(1024) as room:
        room.fill(big)
    contents = book.read()
    assert contents.entries == [big] and contents.padding == 1


def test_a_torn_line_before_the_room_does_not_swallow_it(tmp_path: Path) -> None:
    book = Journal(tmp_path)
    whole = encode(rotation("rt_fixture_x", "rt_fixture_y"))
    book.path.write_bytes(whole[:40])  # a crash in the middle of a line
    book.path.chmod(0o600)
    mine = rotation("rt_fixture_a", "rt_fixture_b")
    with book.reserve() as room:
        room.fill(mine)
    contents = book.read()
    assert contents.entries == [mine] and contents.damaged == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_any_mix_of_appends_and_rooms_reads_back_every_entry(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[bool, bool]]
) -> None:
    book = Journal(tmp_path_factory.mktemp("journal"))
    expected = []
    for number, (reserved, filled) in enumerate(steps):
        entry = rotation(f"rt_fixture_{number}", f"rt_fixture_{number}_next", at=number)
        if not reserved:
            book.append(entry)
            expected.append(entry)
            continue
        with book.reserve() as room:
            if filled:
                room.fill(entry)
                expected.append(entry)
    contents = book.read()
    assert contents.entries == expected and contents.damaged == 0
    assert contents.padding == sum(1 for r, f in steps if r and not f)


# --- lock files that can go at any moment ----------------------------------------------------


def test_a_free_lock_file_is_removed_a_held_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / ".codex-auth-report.lock"
    fd = locks.acquire(path, shared=True)
    assert not locks.remove_if_free(path) and path.exists()
    os.close(fd)
    assert locks.remove_if_free(path) and not path.exists()
    assert not locks.remove_if_free(path), "nothing there: nothing done"


def test_a_lock_file_that_is_not_ours_is_refused_and_never_removed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / ".codex-auth-report.lock"
    link.symlink_to(target)
    with pytest.raises(locks.LockError, match="symbolic link"):
        locks.acquire(link)
    assert not locks.remove_if_free(link) and link.is_symlink()
    fifo = tmp_path / "fifo.lock"
    os.mkfifo(fifo)
    with pytest.raises(locks.LockError, match="not a regular file"):
        locks.acquire(fifo)
    assert not locks.remove_if_free(fifo) and fifo.exists()


def test_waiting_for_a_lock_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    fd = locks.acquire(path)
    try:
        with pytest.raises(locks.LockBusy):
            locks.acquire(path, wait_s=0.05)
    finally:
        os.close(fd)
