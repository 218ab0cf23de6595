"""Median wall time of codex-auth commands on generated pools, as real processes.

    scripts/bench                      # collect, report, report --json on 5 and 1,000 accounts
    scripts/bench --runs 21 --sizes 5,1000,5000
    scripts/bench --command "report --format html"
    scripts/bench --live               # report --live on 50 accounts, backend answering after 500 ms:
                                       # default concurrency against --concurrency 1
    scripts/bench --reliability        # 200 SIGKILLs of report --live over 20 refreshing accounts,
                                       # a concurrent codex-multi-auth-style writer, the journal's cost
    scripts/bench --history            # the cost of recording one live run in the history
                                       # (ms and bytes per account) on 50 and 1,000 accounts

Pools are written by poolkit into a temporary folder (never the real home); each command
runs ``--runs`` times after one warm-up run, and the median, min and max are printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit import poolkit

DEFAULT_COMMANDS = ["collect", "report", "report --json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--sizes", default="5,1000")
    parser.add_argument("--command", action="append", help="codex-auth arguments (repeatable)")
    parser.add_argument("--live", action="store_true", help="measure report --live against the fake backend")
    parser.add_argument("--history", action="store_true", help="measure recording a live run in the history")
    parser.add_argument("--accounts", type=int, default=50, help="--live: pool size")
    parser.add_argument("--delay-ms", type=int, default=500, help="--live: the fake backend's answer delay")
    parser.add_argument("--reliability", action="store_true", help="the kill and concurrent-writer drills")
    parser.add_argument("--kills", type=int, default=200, help="--reliability: how many SIGKILLs")
    parser.add_argument("--seed", type=int, default=20261130, help="--reliability: seed of the kill moments")
    args = parser.parse_args()
    if args.reliability:
        reliability(args.kills, args.seed)
        return
    if args.history:
        for size in (50, 1000):
            history_cost(size, args.runs)
        return
    if args.live:
        live(args.accounts, args.delay_ms, args.runs)
        return
    commands = args.command or DEFAULT_COMMANDS
    exe = Path(sys.executable).parent / "codex-auth"
    available = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HOME=tmp, CODEX_HOME=f"{tmp}/.codex")
        print(f"{'command':<34} {'accounts':>8} {'median ms':>10} {'min':>8} {'max':>8}")
        for size in (int(s) for s in args.sizes.split(",")):
            pool = Path(tmp) / f"pool-{size}"
            poolkit.large_pool(pool, size, poolkit.SEED_NOW)
            for command in commands:
                if f"  {command.split()[0]} " not in available:
                    continue
                argv = [str(exe), *shlex.split(command), "--dir", str(pool), "--now", str(poolkit.SEED_NOW)]
                times = []
                for run in range(args.runs + 1):
                    start = time.perf_counter()
                    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    elapsed = (time.perf_counter() - start) * 1000
                    if done.returncode not in (0, 3):
                        sys.exit(f"{command} exited {done.returncode}")
                    if run:
                        times.append(elapsed)
                print(
                    f"{command:<34} {size:>8} {statistics.median(times):>10.1f} {min(times):>8.1f} {max(times):>8.1f}"
                )


def timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for run in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
        if run:
            times.append(elapsed)
    return times


def live(accounts: int, delay_ms: int, runs: int) -> None:
    import json

    exe = Path(sys.executable).parent / "codex-auth"
    with tempfile.TemporaryDirectory() as tmp:
        now = poolkit.now_ms()
        pool = [poolkit.account(f"live{i:03d}", now) for i in range(accounts)]
        folder = Path(tmp) / "pool"
        poolkit.write_pool(folder, poolkit.accounts_v3(pool))
        scenario = Path(tmp) / "scenario.json"
        scenario.write_text(json.dumps(poolkit.backend_scenario(pool)))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "testkit.fake_backend",
                "--scenario",
                str(scenario),
                "--delay-ms",
                str(delay_ms),
                "--max-seconds",
                "900",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            urls = json.loads(server.stdout.readline())
            env = dict(
                os.environ,
                HOME=tmp,
                CODEX_HOME=f"{tmp}/.codex",
                CODEX_AUTH_BASE_URL=urls["base_url"],
                CODEX_AUTH_TOKEN_URL=urls["token_url"],
            )
            base = [str(exe), "report", "--live", "--dir", str(folder)]
            print(f"report --live, {accounts} accounts, backend answering after {delay_ms} ms, {runs} runs each")
            results = {}
            for label, extra in (("default concurrency", []), ("--concurrency 1", ["--concurrency", "1"])):
                times = timed(base + extra, env, runs if not extra else max(1, runs // 3))
                results[label] = statistics.median(times)
                print(
                    f"  {label:<22} median {statistics.median(times) / 1000:7.2f} s   min {min(times) / 1000:6.2f} s   max {max(times) / 1000:6.2f} s"
                )
            print(f"  ratio (sequential / default): {results['--concurrency 1'] / results['default concurrency']:.1f}x")
        finally:
            server.terminate()
            server.wait(timeout=10)


def reliability(kills: int, seed: int) -> None:
    from testkit.crash import kill_drill, writer_drill

    with tempfile.TemporaryDirectory() as tmp:
        print(f"journal: {journal_cost(Path(tmp) / 'journal')}")
        started = time.monotonic()

        def progress(done: int, figures: object) -> None:
            if done % 25 == 0:
                print(f"  ... {done}/{kills} kills, {time.monotonic() - started:.0f} s", flush=True)

        figures = kill_drill(Path(tmp) / "kill", kills, seed=seed, progress=progress)
        print(f"kill drill ({time.monotonic() - started:.0f} s, a whole run {figures.run_ms:.0f} ms):")
        print(f"  kills: {figures.kills} (runs that ended before their kill: {figures.finished_before_kill})")
        print(f"  tokens the backend finished sending before a kill: {figures.sent}")
        print(f"  tokens lost (sent 100 ms or more before the kill, not in storage after the next run): {figures.lost}")
        gaps = sorted(figures.in_flight_gaps)
        print(
            f"  tokens in flight at the kill (sent less than 100 ms before it, never received): {figures.in_flight}"
            + (f", gaps {gaps[0]}..{gaps[-1]} ms, median {statistics.median(gaps):.0f} ms" if gaps else "")
        )
        print(f"  tokens rotated but never sent (the kill came first): {figures.never_sent}")
        print(f"  tokens restored from the journal by the next run: {figures.restored}")
        print(f"  recoveries: {figures.recoveries['repair']} by repair, {figures.recoveries['live']} by report --live")
        print(f"  problems (leftover locks or temporary files, invalid files, failed runs): {len(figures.problems)}")
        for line in figures.problems[:10] + figures.lost_details[:10]:
            print(f"    {line}")
        started = time.monotonic()
        writer = writer_drill(Path(tmp) / "writer", rounds=5)
        print(f"concurrent writer ({time.monotonic() - started:.0f} s, {writer.rounds} rounds of report --live):")
        print(f"  accounts the other writer added: {writer.added} ({writer.writes} saves), lost: {writer.added_lost}")
        print(
            f"  rotated tokens: {writer.rotated}, removed by its stale writes after our run: {writer.removed_by_writer},"
            f" restored from the journal: {writer.restored}, missing after the next run: {writer.missing_after_next_run}"
        )
        for line in writer.problems[:10]:
            print(f"    {line}")


def journal_cost(folder: Path, count: int = 200) -> str:
    """Median time of one journal append (line, fsync) on this machine's disk."""
    from pipeline.live.journal import Journal, Rotation

    folder.mkdir(parents=True)
    book = Journal(folder)
    access = "x" * 900  # about the size of a real access token
    times = []
    for n in range(count):
        entry = Rotation(f"{n:064x}", access, f"rt_fixture_bench_{n}", 0, "y" * 900, "acct-bench", n)
        start = time.perf_counter()
        book.append(entry)
        times.append((time.perf_counter() - start) * 1000)
    return (
        f"one append (line + fsync) median {statistics.median(times):.2f} ms, max {max(times):.2f} ms ({count} appends)"
    )


def history_cost(accounts: int, runs: int) -> None:
    """Record ``runs`` live-like snapshots of a pool (two windows per account) into a fresh
    history, in-process, after ``runs`` earlier snapshots: the median time of one recording
    (observations built from the records, one transaction) and the file growth per run."""
    from pipeline.history.samples import observations
    from pipeline.history.store import record_run
    from pipeline.scoring import score_account

    with tempfile.TemporaryDirectory() as tmp:
        now = poolkit.now_ms()
        records = []
        for i in range(accounts):
            record = {
                "kind": "account",
                "index": i,
                "accountId": f"acct-{i:05d}",
                "email": f"user{i:05d}@example.com",
                "enabled": True,
                "plan": "plus",
                "quota": {
                    "source": "live",
                    "sampledAt": now,
                    "windows": [
                        {"windowMinutes": 300, "usedPercent": i % 100, "resetAt": now + 3_600_000},
                        {"windowMinutes": 10080, "usedPercent": (3 * i) % 100, "resetAt": now + 86_400_000},
                    ],
                    "credits": {"hasCredits": True, "unlimited": False, "balance": "12.50"},
                },
                "probe": {"outcome": "ok", "at": now},
            }
            records.append(score_account(record, now, "gpt-5-codex"))
        db = Path(tmp) / "state" / "history.sqlite3"

        def files_size() -> int:
            return sum(p.stat().st_size for p in db.parent.iterdir())

        for run in range(runs):  # earlier history
            record_run(db, now - (runs - run) * 300_000, "live", None, observations(records, now))
        before = files_size()
        times = []
        for run in range(runs):
            started = time.perf_counter()
            record_run(db, now + run * 300_000, "live", None, observations(records, now + run * 300_000))
            times.append((time.perf_counter() - started) * 1000)
        import sqlite3

        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        grown = (files_size() - before) / runs
        median = statistics.median(times)
        print(
            f"history, {accounts} accounts: {median:.1f} ms per run ({median / accounts * 1000:.0f} us per account), "
            f"{grown / 1024:.1f} KB per run ({grown / accounts:.0f} bytes per account)"
        )


if __name__ == "__main__":
    main()
