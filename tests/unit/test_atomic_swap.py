"""The swap at the heart of every write to a file another program also writes: what it
displaced is compared by inode *and* size and mtime, since a replaced file's inode is free
and another writer's next file may get the same number."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.live import atomic


def identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def test_ids_reads_inode_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_bytes(b'{"accounts": []}')
    assert atomic._ids(path) == identity(path)
    assert atomic._ids(tmp_path / "missing") is None


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="renameat2 is Linux only")
def test_a_file_with_the_same_inode_but_other_bytes_is_put_straight_back(tmp_path: Path) -> None:
    target = tmp_path / "accounts.json"
    target.write_bytes(b'{"accounts": ["ann"]}')
    expected = identity(target)
    # Another writer's file under the same inode number (an inode freed by a replace and
    # given again): here the same file rewritten with more bytes.
    os.utime(target, ns=(expected[3] + 10_000_000, expected[3] + 10_000_000))
    target.write_bytes(b'{"accounts": ["ann", "w-00001"]}')
    assert identity(target)[1] == expected[1]
    temp = tmp_path / "ours.tmp"
    temp.write_bytes(b'{"accounts": ["ann-rotated"]}')
    outcome = atomic.swap(temp, target, expected)
    if outcome == "unsupported":
        pytest.skip("this file system cannot exchange two paths")
    assert outcome == "slipped"
    assert target.read_bytes() == b'{"accounts": ["ann", "w-00001"]}', "the other writer's file is in place"
    assert temp.read_bytes() == b'{"accounts": ["ann-rotated"]}', "ours is back under its temporary name"


def test_the_file_we_merged_with_is_swapped_out(tmp_path: Path) -> None:
    target = tmp_path / "accounts.json"
    target.write_bytes(b'{"accounts": ["ann"]}')
    expected = identity(target)
    temp = tmp_path / "ours.tmp"
    temp.write_bytes(b'{"accounts": ["ann-rotated"]}')
    outcome = atomic.swap(temp, target, expected)
    if outcome == "unsupported":
        pytest.skip("this file system cannot exchange two paths")
    assert outcome == "done"
    assert target.read_bytes() == b'{"accounts": ["ann-rotated"]}'
    assert temp.read_bytes() == b'{"accounts": ["ann"]}'
