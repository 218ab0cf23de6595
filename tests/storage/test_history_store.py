"""The history database on disk: where it goes, its modes, WAL, the schema version, no token
in its bytes, two writers at once, and damaged files that never block the report."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import HistoryError
from pipeline.history.samples import Observation, WindowRow
from pipeline.history.store import SCHEMA_VERSION, HistoryStore, record_run
from testkit import poolkit
from testkit.helpers import ROOT, fixture_secrets, run_cli

NOW = str(poolkit.SEED_NOW)


def default_db(home: Path) -> Path:
    return home / ".local" / "state" / "codex-auth-report" / "history.sqlite3"


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_recorded_run_lands_private_in_wal_mode_without_tokens(seed_pool: Path, isolated_home: Path) -> None:
    run_cli(["report", "--now", NOW], validate=False)
    assert not default_db(isolated_home).exists(), "a default run records nothing"
    run_cli(["report", "--record", "--now", NOW], validate=False)
    db = default_db(isolated_home)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        rows = conn.execute("SELECT email, status, health_score, plan FROM observations ORDER BY idx").fetchall()
    assert rows[0] == ("alice@example.com", "healthy", 100, "pro")
    assert [r[1] for r in rows] == ["healthy", "healthy", "warning", "rate-limited"]
    assert count(db, "windows") == 8 and count(db, "runs") == 1
    secrets = fixture_secrets(seed_pool)
    assert secrets
    for part in db.parent.iterdir():
        data = part.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"a fixture token is in {part.name}"
        for marker in poolkit.FAKE_MARKERS:
            assert marker.encode() not in data


def test_history_option_and_environment_choose_the_file(
    seed_pool: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "deep" / "h.sqlite3"
    run_cli(["report", "--record", "--history", str(chosen), "--now", NOW], validate=False)
    assert count(chosen, "runs") == 1
    monkeypatch.setenv("CODEX_AUTH_HISTORY", str(tmp_path / "env.sqlite3"))
    run_cli(["report", "--record", "--now", NOW], validate=False)
    assert count(tmp_path / "env.sqlite3", "observations") == 4
    result = run_cli(["report", "--record", "--no-history"], validate=False, expect=2)
    assert "--record conflicts with --no-history" in result.stderr


def test_an_old_schema_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    sqlite3.connect(db).close()  # an empty database: schema version 0
    os.chmod(db, 0o644)
    record_run(db, 1, "live", None, [])
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600, "a readable-by-others file is made private"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match="newer version"):
        record_run(db, 2, "live", None, [])


WRITER = """
import sys
from pathlib import Path
from pipeline.history.samples import Observation, WindowRow
from pipeline.history.store import record_run
name, path, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
for i in range(runs):
    rows = [Observation(1000 + i, f"{name}-{a}", a, f"{name}-{a}", None, True, "healthy", 100, "plus", "ok", None,
            "live", None, None, None, None, (WindowRow("codex/300", "5h", "codex", 300, float(i), 5000),))
            for a in range(20)]
    record_run(path, 1000 + i, "live", None, rows)
"""


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    db = tmp_path / "state" / "history.sqlite3"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, name, str(db), "40"], cwd=ROOT, stderr=subprocess.PIPE)
        for name in ("cron-a", "cron-b")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    assert count(db, "runs") == 80
    assert count(db, "observations") == 80 * 20
    assert count(db, "windows") == 80 * 20
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("damage", ["garbage", "folder", "fifo"])
def test_a_damaged_history_never_blocks_the_report(seed_pool: Path, isolated_home: Path, damage: str) -> None:
    db = default_db(isolated_home)
    db.parent.mkdir(parents=True)
    if damage == "garbage":
        db.write_bytes(b"this is not a database\x00" * 300)
    elif damage == "fifo":
        os.mkfifo(db)  # SQLite would wait for ever on its first read
    else:
        db.mkdir()
    clean = run_cli(["report", "--now", NOW], validate=False).stdout
    for command in (["report", "--record"], ["forecast", "--record"], ["forecast"]):
        result = run_cli([*command, "--now", NOW], validate=False)
        assert result.exit_code == 0
        lines = [line for line in result.stderr.splitlines() if "history" in line]
        assert len(lines) == 1 and str(db) in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        if command[0] == "report":
            assert result.stdout == clean
        else:
            assert "Usable now:" in result.text
    if damage == "garbage":
        assert db.read_bytes().startswith(b"this is not a database"), "the damaged file is left as it was"
    gate = run_cli(["report", "--record", "--min-healthy", "9", "--now", NOW], validate=False, expect=3)
    assert "history" in gate.stderr, "the exit code stays the report's own"
    listed = run_cli(["history"], validate=False, expect=1)
    assert listed.stderr.startswith("codex-auth history: ") and len(listed.stderr.strip().splitlines()) == 1


def test_a_read_only_history_is_one_line(tmp_path: Path) -> None:
    """Run in a child with a user that file modes bind (root ignores them)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "history.sqlite3"
    record_run(db, 1, "live", None, [])
    os.chmod(db, 0o444)
    os.chmod(folder, 0o555)
    os.chmod(tmp_path, 0o755)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            if os.getuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                record_run(
                    db,
                    2,
                    "live",
                    None,
                    [
                        Observation(
                            2,
                            "k",
                            0,
                            None,
                            None,
                            True,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            (WindowRow("codex/300", "5h", "codex", 300, 1.0, 9),),
                        )
                    ],
                )
                message = "written"
            except HistoryError as error:
                message = f"error:{error}"
            os.write(write, message.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    os.chmod(folder, 0o755)
    assert message.startswith(f"error:{db}: "), message
    assert "\n" not in message
    assert count(db, "runs") == 1


def test_prune_keeps_the_recent_runs(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    day = 86_400_000
    for age in (100, 50, 1):
        record_run(db, poolkit.SEED_NOW - age * day, "live", None, [])
    result = run_cli(["history", "--history", str(db), "--prune", "--keep", "90d", "--now", NOW], validate=False)
    assert "pruned 1 run older than 90d" in result.stderr
    assert count(db, "runs") == 2
    with HistoryStore(db, create=False) as store:
        assert [r["sampled_at"] for r in store.runs(None, None)] == [
            poolkit.SEED_NOW - 50 * day,
            poolkit.SEED_NOW - day,
        ]
    assert run_cli(["history", "--prune"], validate=False, expect=2).exit_code == 2
    assert json.loads(run_cli(["history", "--history", str(db), "--format", "json"], validate=False).stdout) == []
