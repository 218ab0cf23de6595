"""History rows of the wrong type or range (a ``reset_at`` of text, a ``used_percent`` of
1e308, a sampled time of text, an ``enabled`` of 7, a blob for an e-mail, text that is not
UTF-8): ``history`` in every
kind and format and ``forecast`` skip them, say how many in one line, and never end in an
internal error (an earlier version did). The rows are written by the tool itself into a real
SQLite file, then damaged with SQL as another program would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import run_cli

NOW = poolkit.SEED_NOW
HOUR = 3_600_000
DAMAGE = {
    "reset_at text": "UPDATE windows SET reset_at = 'soon' WHERE observation_id = (SELECT min(id) FROM observations) AND window_key = 'codex/300'",
    "used 1e308": "UPDATE windows SET used_percent = 1e308 WHERE observation_id = (SELECT min(id) FROM observations)",
    "used negative": "UPDATE windows SET used_percent = -5 WHERE observation_id = (SELECT max(id) FROM observations)",
    "sampled_at text": "UPDATE observations SET sampled_at = 'yesterday' WHERE id = (SELECT min(id) FROM observations)",
    "sampled_at huge": "UPDATE observations SET sampled_at = 9.9e300 WHERE id = (SELECT max(id) FROM observations)",
    "enabled 7": "UPDATE observations SET enabled = 7 WHERE id = (SELECT min(id) FROM observations)",
    "email blob": "UPDATE observations SET email = x'00ff' WHERE id = (SELECT min(id) FROM observations)",
    "run text": "UPDATE runs SET sampled_at = 'x' WHERE id = (SELECT max(id) FROM runs)",
    # text that is not UTF-8 (SQLite keeps the bytes it is given as TEXT)
    "email not utf-8": "UPDATE observations SET email = CAST(x'61ff62c0' AS TEXT) WHERE id = (SELECT min(id) FROM observations)",
    "key not utf-8": "UPDATE observations SET account_key = CAST(x'ff' AS TEXT) WHERE id = (SELECT max(id) FROM observations)",
    "window not utf-8": "UPDATE windows SET name = CAST(x'80' AS TEXT) WHERE observation_id = (SELECT min(id) FROM observations)",
    "status not utf-8": "UPDATE observations SET status = CAST(x'c3' AS TEXT) WHERE id = (SELECT min(id) FROM observations)",
}


@pytest.fixture
def recorded(seed_pool: Path, tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite3"
    for hours in range(4):
        run_cli(["report", "--record", "--history", str(path), "--now", str(NOW + hours * HOUR)], validate=False)
    return path


def damage(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute(sql).rowcount >= 1


def no_traceback(stderr: str) -> list[str]:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return [line for line in stderr.splitlines() if "skipped" in line]


@pytest.mark.parametrize("name", DAMAGE)
def test_history_skips_and_counts_bad_rows(recorded: Path, name: str) -> None:
    damage(recorded, DAMAGE[name])
    for kind in ([], ["--events"], ["--daily"]):
        for fmt in ("ndjson", "json", "csv", "text"):
            done = run_cli(["history", "--history", str(recorded), "--format", fmt, *kind], expect=0, validate=False)
            skipped = no_traceback(done.stderr)
            assert len(skipped) <= 1, done.stderr
            assert done.stdout, f"{name} {kind} {fmt}: the good rows are still written"
    # the samples read every observation and window; the events every run too
    kind = ["--events"] if name == "run text" else []
    done = run_cli(["history", "--history", str(recorded), *kind], validate=False)
    skipped = no_traceback(done.stderr)
    assert len(skipped) == 1 and skipped[0].startswith("codex-auth history: skipped "), done.stderr
    assert "wrong type or out of range" in skipped[0]


def test_the_count_is_exact(recorded: Path) -> None:
    with sqlite3.connect(recorded) as db:
        windows = db.execute("SELECT count(*) FROM windows").fetchone()[0]
        db.execute("UPDATE windows SET used_percent = 'lots' WHERE window_key = 'codex/300'")
        bad = db.execute("SELECT count(*) FROM windows WHERE used_percent = 'lots'").fetchone()[0]
    assert 0 < bad < windows
    done = run_cli(["history", "--history", str(recorded)], validate=False)
    assert f"codex-auth history: skipped {bad} rows of {recorded} " in done.stderr
    assert len(done.stdout.splitlines()) == windows - bad


@pytest.mark.parametrize("name", DAMAGE)
def test_forecast_never_crashes_on_bad_rows(recorded: Path, name: str) -> None:
    damage(recorded, DAMAGE[name])
    for fmt in ("text", "json"):
        done = run_cli(
            ["forecast", "--history", str(recorded), "--now", str(NOW + 5 * HOUR), "--format", fmt], validate=False
        )
        no_traceback(done.stderr)
        assert done.stdout


def test_forecast_says_how_many_rows_it_skipped(recorded: Path) -> None:
    damage(recorded, "UPDATE windows SET reset_at = 'soon'")
    done = run_cli(["forecast", "--history", str(recorded), "--now", str(NOW + 5 * HOUR)], validate=False)
    lines = [line for line in done.stderr.splitlines() if "skipped" in line]
    assert len(lines) == 1 and "wrong type or out of range" in lines[0], done.stderr


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE windows SET used_percent = 'lots' WHERE window_key = 'codex/300'",
        "UPDATE windows SET used_percent = 1001 WHERE window_key = 'codex/10080'",
        "UPDATE windows SET reset_at = 2.5 WHERE window_key = 'codex/300'",
        "UPDATE windows SET window_key = CAST(x'80' AS TEXT) WHERE window_key = 'codex/300'",
        # a blob that is valid UTF-8: the key is read as bytes, but a blob is still no text
        "UPDATE windows SET window_key = CAST('codex/300' AS BLOB) WHERE window_key = 'codex/300'",
        "UPDATE observations SET sampled_at = sampled_at + 0.5",
    ],
)
def test_the_forecast_counts_exactly_the_rows_it_skips(recorded: Path, sql: str) -> None:
    # the forecast checks its rows in SQL; the count is the number of window rows damaged
    with sqlite3.connect(recorded) as db:
        before = set(db.execute("SELECT observation_id, CAST(window_key AS BLOB) FROM windows"))
        db.execute(sql)
        after = set(db.execute("SELECT observation_id, CAST(window_key AS BLOB) FROM windows"))
        bad = db.execute(
            "SELECT count(*) FROM windows w JOIN observations o ON o.id = w.observation_id"
            " WHERE typeof(w.used_percent) NOT IN ('integer', 'real', 'null') OR w.used_percent > 1000"
            " OR typeof(w.reset_at) NOT IN ('integer', 'null') OR typeof(o.sampled_at) != 'integer'"
            " OR CAST(w.window_key AS BLOB) = x'80' OR typeof(w.window_key) != 'text'"
        ).fetchone()[0]
    assert bad > 0 and len(before) == len(after)
    done = run_cli(["forecast", "--history", str(recorded), "--now", str(NOW + 5 * HOUR)], validate=False)
    assert f"forecast: history: skipped {bad} rows of {recorded} " in done.stderr, done.stderr
