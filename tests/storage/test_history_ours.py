"""History writes touch only what is ours (each case changed the file in an earlier version):
``--history`` on a symbolic link to a 0644 file is refused, the target's mode and bytes left as
they are; another program's SQLite database (schema version 0, tables of its own) and a
database of a newer schema are refused before any pragma or write changes them: the same
bytes, the same mode, the same journal mode, no ``-wal`` file, no table added. Real SQLite
files in a temporary folder."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from pipeline.errors import HistoryError
from pipeline.history.store import HistoryStore, record_run
from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)


def fingerprint(path: Path) -> tuple[str, int, list[str]]:
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        stat.S_IMODE(os.lstat(path).st_mode),
        sorted(p.name for p in path.parent.iterdir()),
    )


def journal_mode(path: Path) -> str:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        db.close()


def foreign(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes(body) VALUES ('my own data')")
    db.commit()
    db.close()
    os.chmod(path, 0o644)
    return path


def newer(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, future TEXT)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("make", [foreign, newer], ids=["another-program", "newer-schema"])
def test_a_database_not_ours_is_refused_unchanged(seed_pool: Path, tmp_path: Path, make: object) -> None:
    path = make(tmp_path / "db" / "other.sqlite3")  # type: ignore[operator]
    before = fingerprint(path)
    assert journal_mode(path) == "delete"
    done = run_cli(["report", "--record", "--history", str(path), "--now", NOW], validate=False)
    assert done.stdout, "the report is still written"
    lines = [line for line in done.stderr.splitlines() if str(path) in line]
    assert len(lines) == 1 and "left as it is" in lines[0], done.stderr
    assert fingerprint(path) == before, "bytes, mode and the folder's files are the same"
    assert journal_mode(path) == "delete", "not switched to WAL"
    for command in (["history"], ["history", "--prune", "--keep", "1d"], ["forecast"]):
        run_cli([*command, "--history", str(path), "--now", NOW], expect=None, validate=False)
        assert fingerprint(path) == before, command
    with pytest.raises(HistoryError, match="left as it is"):
        HistoryStore(path, create=True)
    assert fingerprint(path) == before and journal_mode(path) == "delete"


def test_an_empty_file_becomes_a_history(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.touch(mode=0o600)
    assert record_run(path, int(NOW), "live", None, []) >= 1
    assert journal_mode(path) == "wal"


def test_a_link_to_a_0644_file_is_not_written_through(seed_pool: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "real.sqlite3"
    run_cli(["report", "--record", "--history", str(target), "--now", NOW], validate=False)
    os.chmod(target, 0o644)
    before = fingerprint(target)
    link = tmp_path / "link.sqlite3"
    link.symlink_to(target)
    done = run_cli(["report", "--record", "--history", str(link), "--now", NOW], validate=False)
    assert done.stdout
    lines = [line for line in done.stderr.splitlines() if "symbolic link" in line]
    assert len(lines) == 1 and str(link) in lines[0], done.stderr
    assert fingerprint(target) == before, "the target keeps its mode (0644) and its bytes"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert link.is_symlink()
    # a link to a file that is not a database at all: its bytes stay too
    other = elsewhere / "notes.txt"
    other.write_text("not yours\n")
    os.chmod(other, 0o644)
    link2 = tmp_path / "link2.sqlite3"
    link2.symlink_to(other)
    run_cli(["report", "--record", "--history", str(link2), "--now", NOW], validate=False)
    run_cli(["history", "--prune", "--keep", "1d", "--history", str(link2)], expect=1, validate=False)
    assert other.read_text() == "not yours\n" and stat.S_IMODE(os.stat(other).st_mode) == 0o644
    # reading through a link works and changes neither mode nor content (SQLite's read of a
    # WAL database makes its -shm file beside it, with the database's mode)
    read = run_cli(["history", "--history", str(link), "--format", "ndjson"], validate=False)
    assert read.stdout and fingerprint(target)[:2] == before[:2]


def test_a_loose_mode_on_our_own_file_is_tightened(seed_pool: Path, tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    run_cli(["report", "--record", "--history", str(path), "--now", NOW], validate=False)
    os.chmod(path, 0o644)
    run_cli(["report", "--record", "--history", str(path), "--now", NOW], validate=False)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
