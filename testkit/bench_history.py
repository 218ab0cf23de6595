"""Reading a large history: wall time and peak memory of ``codex auth history`` on a generated
history database of a given size (``scripts/bench --parts history-read``, or
``python -m testkit.bench_history --size-mb 500``).

The database is written in the history's own schema (made by the tool's own store) with a
year-like series: 50 accounts, a run every 15 minutes, two windows per account (5h and 7d,
used percent climbing to each reset, a rate limit at 100 %, now and then an error), until the
file reaches the size asked for (a year of such runs is about 500 MB). Each command runs as a
process of its own with its output thrown away; the peak is its resident memory (GNU time).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from testkit import poolkit

HOUR = 3_600_000
STEP = 15 * 60_000
FIVE_HOURS, WEEK = 5 * HOUR, 7 * 24 * HOUR
BATCH = 200  # runs per transaction while generating
COMMANDS = (
    ("history --daily", ["--daily"]),
    ("history --daily --account (one of 50)", ["--daily", "--account", "user07@example.com"]),
    ("history --events --account (one of 50)", ["--events", "--account", "user07@example.com"]),
    ("history (every sample, NDJSON)", ["--format", "ndjson"]),
)


def _runs(accounts: int, start: int, seed: int) -> Iterator[tuple[int, list[tuple[object, ...]]]]:
    rng = random.Random(seed)
    at = start
    while True:
        rows = []
        for n in range(accounts):
            offset = n * 997_000
            five = ((at + offset) % FIVE_HOURS) / FIVE_HOURS * 100 * (0.6 + n % 5 * 0.2)
            week = ((at + offset) % WEEK) / WEEK * 100
            status = "rate-limited" if five >= 100 else "error" if rng.random() < 0.001 else "healthy"
            rows.append(
                (
                    n,
                    min(five, 100.0),
                    at - (at + offset) % FIVE_HOURS + FIVE_HOURS,
                    round(week, 1),
                    at - (at + offset) % WEEK + WEEK,
                    status,
                )
            )
        yield at, rows
        at += STEP


def generate(path: Path, size_mb: float, accounts: int = 50, seed: int = 20261202, batch: int = BATCH) -> int:
    """Write runs into a new history at ``path`` until it holds ``size_mb`` MB; returns the runs."""
    from pipeline.history.store import HistoryStore

    with HistoryStore(path, create=True):
        pass  # the schema, WAL mode and the file's mode, as the tool makes them
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    target = size_mb * 1_000_000
    count = observation = 0
    start = poolkit.SEED_NOW - 365 * 24 * HOUR
    runs = _runs(accounts, start, seed)
    while True:
        db.execute("BEGIN")
        observations, windows = [], []
        for _ in range(batch):
            at, rows = next(runs)
            count += 1
            db.execute(
                "INSERT INTO runs(id, sampled_at, mode, model, accounts, tool_version) VALUES (?, ?, 'live', NULL, ?,"
                " 'bench')",
                (count, at, accounts),
            )
            for n, five, five_reset, week, week_reset, status in rows:
                observation += 1
                observations.append(
                    (observation, count, at, f"acct-{n:02d}|user{n:02d}@example.com", n, f"acct-{n:02d}",
                     f"user{n:02d}@example.com", 1, status, 100 if status == "healthy" else 40, "plus", "ok", None,
                     "live", None, None, None, int(status == "rate-limited"))
                )  # fmt: skip
                windows.append((observation, "codex/300", "5h", "codex", 300, five, five_reset))
                windows.append((observation, "codex/10080", "7d", "codex", 10080, week, week_reset))
        db.executemany(f"INSERT INTO observations VALUES ({', '.join('?' * 18)})", observations)
        db.executemany("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?)", windows)
        db.execute("COMMIT")
        pages, page_size = (db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "page_size"))
        if pages * page_size >= target:
            break
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return count


def measure(path: Path) -> None:
    from testkit.bench import run_once

    env = {**os.environ, "CODEX_AUTH_HISTORY": str(path)}
    size = os.path.getsize(path) / 1_000_000
    print(f"history database: {size:.0f} MB, {path}", flush=True)
    print("| command | wall s | peak MiB |")
    print("|---|---:|---:|", flush=True)
    for what, args in COMMANDS:
        sample = run_once([sys.executable, "-m", "pipeline", "history", *args], env)
        print(f"| {what} | {sample.wall_ms / 1000:.1f} | {sample.peak_mib:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=500.0, help="size of the generated history (default 500)")
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the history at this path")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="codex-auth-bench-history-") as tmp:
        path = args.keep or Path(tmp) / "history.sqlite3"
        if not path.exists():
            runs = generate(path, args.size_mb)
            print(f"generated {runs} runs of 50 accounts", flush=True)
        measure(path)


if __name__ == "__main__":
    main()
