"""One observation type for the history (pipeline/history/observation.py): what a run writes is
what the reader gives back, field for field, through a real SQLite file; its fields are the
table's columns; and a file written the old way (schema 1, rows inserted with the previous
writer's own column list) still reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipeline.history.observation import COLUMNS, WINDOW_COLUMNS, Observation, WindowRow
from pipeline.history.query import Query, Tally, daily, observations, samples
from pipeline.history.samples import observations as observations_of
from pipeline.history.store import MIGRATIONS, SCHEMA_VERSION, HistoryStore, record_run

AT = 1_772_548_200_000  # 2026-03-03T14:30:00Z
HOUR = 3_600_000

RECORD = {
    "kind": "account",
    "index": 3,
    "accountId": "acct-ann",
    "email": "ann@example.com",
    "enabled": True,
    "status": "warning",
    "healthScore": 71,
    "plan": "plus",
    "quota": {
        "source": "live",
        "sampledAt": AT - 60_000,
        "planType": "pro",
        "limitReached": False,
        "windows": [
            {"windowMinutes": 300, "usedPercent": 42.5, "resetAt": AT + HOUR},
            {"windowMinutes": 10080, "usedPercent": 7, "resetAt": AT + 90 * HOUR},
        ],
        "credits": {"hasCredits": True, "balance": "12.50"},
        "resetCredits": {"availableCount": 2},
    },
    "probe": {"outcome": "ok", "at": AT, "errorCode": None},
}


def read_back(path: Path) -> tuple[list[Observation], int]:
    tally = Tally()
    with HistoryStore(path, create=False) as store:
        return list(observations(store, Query(), tally)), tally.bad


def test_an_observation_reads_back_as_it_was_written(tmp_path: Path) -> None:
    written = observations_of([{"kind": "pool"}, RECORD], AT)
    assert len(written) == 1 and written[0].run_id is None  # a run's id is the store's to give
    obs = written[0]
    assert (obs.idx, obs.plan, obs.quota_source, obs.credits_balance, obs.reset_credits) == (
        3,
        "pro",
        "live",
        "12.50",
        2,
    )
    assert [w.name for w in obs.windows] == ["5h", "7d"]
    path = tmp_path / "history.sqlite3"
    run = record_run(path, AT, "live", "gpt-5-codex", written)
    read, bad = read_back(path)
    assert bad == 0
    assert read == [obs._replace(run_id=run, windows=tuple(sorted(obs.windows)))]  # the reader lists them by key
    assert all(type(w) is WindowRow for w in read[0].windows)


def test_the_fields_are_the_tables_columns_and_flags_are_stored_as_integers(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    record_run(path, AT, "live", None, observations_of([RECORD], AT))
    with sqlite3.connect(path) as db:
        table = [row[1] for row in db.execute("PRAGMA table_info(observations)")]
        windows = [row[1] for row in db.execute("PRAGMA table_info(windows)")]
        flags = db.execute("SELECT typeof(enabled), enabled, has_credits, limit_reached FROM observations").fetchone()
    assert table == ["id", "run_id", *COLUMNS]
    assert windows == ["observation_id", *WINDOW_COLUMNS]
    assert flags == ("integer", 1, 1, 0)


# The schema of the first version, and its writer's INSERT, as they were: a file it wrote.
OLD_INSERT = (
    "INSERT INTO observations(id, run_id, sampled_at, account_key, idx, account_id, email, enabled, status,"
    " health_score, plan, probe_outcome, probe_error, quota_source, credits_balance, has_credits,"
    " reset_credits, limit_reached) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def old_history(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version = 1")
        for run, at in ((1, AT), (2, AT + HOUR)):
            db.execute("INSERT INTO runs VALUES (?, ?, 'live', NULL, 1, '0.9.0')", (run, at))
            db.execute(
                OLD_INSERT,
                (run, run, at, "acct-bob|bob@example.com", 0, "acct-bob", "bob@example.com", 1, "healthy", 90,
                 "plus", "ok", None, "live", None, None, None, 0),
            )  # fmt: skip
            db.execute(
                "INSERT INTO windows VALUES (?, 'codex/300', '5h', 'codex', 300, ?, ?)",
                (run, 20.0 * run, AT + 5 * HOUR),
            )


def test_a_history_of_the_first_schema_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_history(path)
    read, bad = read_back(path)
    assert bad == 0
    window = WindowRow("codex/300", "5h", "codex", 300, 20, AT + 5 * HOUR)
    first = Observation(AT, "acct-bob|bob@example.com", 0, "acct-bob", "bob@example.com", True, "healthy", 90,
                        "plus", "ok", None, "live", None, None, None, False, (window,), 1)  # fmt: skip
    assert read == [first, first._replace(sampled_at=AT + HOUR, run_id=2, windows=(window._replace(used=40),))]
    with HistoryStore(path, create=False) as store:
        rows = list(samples(store, Query(), Tally()))
        days = list(daily(store, Query(), Tally()))
    assert [(r["index"], r["enabled"], r["usedPercent"]) for r in rows] == [(0, True, 20), (0, True, 40)]
    assert days[0]["runs"] == 2 and days[0]["healthy"] == 1
    # a new run brings the file to the current schema and keeps the old rows beside the new
    record_run(path, AT + 2 * HOUR, "live", None, observations_of([RECORD], AT + 2 * HOUR))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    read, bad = read_back(path)
    assert bad == 0 and sorted((o.run_id, o.email) for o in read) == [
        (1, "bob@example.com"),
        (2, "bob@example.com"),
        (3, "ann@example.com"),
    ]
