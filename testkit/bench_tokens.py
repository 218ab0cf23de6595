"""``scripts/bench --reliability``, the token guard's part: live runs at once on a Codex CLI
login and on a pool with codex-multi-auth's lease off (:func:`testkit.race.race_drill`),
SIGKILLs with the lease off (:func:`testkit.crash.kill_drill`), and runs under file-size
limits (:func:`testkit.race.disk_drill`). Prints drills run, tokens spent twice (the target
is 0) and tokens lost (0)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path


def guard_cost(folder: Path, count: int = 100) -> str:
    """Median cost of what a refresh now does besides the request: our lock taken and dropped,
    room reserved (spaces + fsync), a new copy of a 100 KB storage file proven to fit, and the
    entry written into the room (+ fsync); against a plain journal append."""
    from pipeline.live import atomic, locks
    from pipeline.live.journal import Journal, Rotation

    folder.mkdir(parents=True)
    storage = folder / "accounts.json"
    storage.write_bytes(b"x" * 100_000)
    book = Journal(folder)
    access = "x" * 900
    plain, guarded = [], []
    for n in range(count):
        entry = Rotation(f"{n:064x}", access, f"rt_fixture_bench_{n}", 0, "y" * 900, "acct-bench", n)
        start = time.perf_counter()
        book.append(entry)
        plain.append((time.perf_counter() - start) * 1000)
        entry = Rotation(f"{n + count:064x}", access, f"rt_fixture_bench_g{n}", 0, "y" * 900, "acct-bench", n)
        start = time.perf_counter()
        lock_path = folder / f"{locks.SPEND_LOCK_PREFIX}{n:064x}{locks.SPEND_LOCK_SUFFIX}"
        fd = locks.acquire(lock_path)
        with book.reserve() as room:
            assert atomic.prove_room(storage, 16384) is None
            room.fill(entry)
        locks.release(fd, lock_path)
        guarded.append((time.perf_counter() - start) * 1000)
    return (
        f"per refresh: lock + reserved room + room proof + entry {statistics.median(guarded):.2f} ms median "
        f"(max {max(guarded):.2f}), a plain append {statistics.median(plain):.2f} ms ({count} of each)"
    )


def drills(folder: Path, *, rounds: int = 30, kills: int = 50, seed: int = 20261202) -> tuple[int, int, int]:
    """Run them all; (drills run, tokens spent twice, tokens lost)."""
    from testkit.crash import kill_drill
    from testkit.race import disk_drill, race_drill

    print(f"token guard cost: {guard_cost(folder / 'cost')}")
    runs = twice = lost = 0
    for kind, processes in (("codex-cli", 4), ("pool", 4)):
        started = time.monotonic()
        race = race_drill(folder / f"race-{kind}", kind, rounds=rounds, processes=processes, accounts=4)
        print(f"live runs at once, {kind} ({time.monotonic() - started:.0f} s, lease off): {race.summary()}")
        for line in race.problems[:10]:
            print(f"    {line}")
        runs += race.rounds
        twice += race.spent_twice
        lost += race.lost
    started = time.monotonic()
    killed = kill_drill(folder / "kill-no-lease", kills, seed=seed, lease=False)
    print(f"kill drill with the lease off ({time.monotonic() - started:.0f} s): {killed.summary()}")
    for line in killed.problems[:10] + killed.lost_details[:10]:
        print(f"    {line}")
    runs += killed.kills
    twice += killed.reused
    lost += killed.lost
    started = time.monotonic()
    limits: list[int | None] = [512, 2048, 4096, 8192, 16384, 20000, 24000, 32000, 40000, 60000, 100000, None]
    disk = disk_drill(folder / "disk", limits * 3, accounts=6, pad=3000)
    print(f"file-size limits ({time.monotonic() - started:.0f} s): {disk.summary()}")
    for line in disk.problems[:10]:
        print(f"    {line}")
    runs += disk.runs
    twice += disk.spent_twice
    lost += disk.lost
    print(f"token guard drills: {runs} drills run, {twice} tokens spent twice, {lost} tokens lost")
    return runs, twice, lost


def settled_journal(folder: Path, megabytes: float, now: int) -> int:
    """A token journal of about ``megabytes`` beside the pool in ``folder``: real-shaped
    entries whose spent tokens storage no longer holds (settled, waiting for compaction),
    written as one file (no fsync per entry). Returns the number of entries."""
    import os

    from pipeline.live.journal import Rotation, encode, token_hash
    from pipeline.live.pending import JOURNAL_NAME
    from testkit import poolkit

    path = folder / JOURNAL_NAME
    target = int(megabytes * 1_000_000)
    count = written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < target:
            access = poolkit.real_access_token(
                account_id=f"acct-j{count}", email=f"j{count}@example.com", issued_ms=now, expires_ms=now + 1
            )
            refresh = poolkit.real_refresh_token(f"journal-{count}")
            line = encode(
                Rotation(
                    token_hash(f"rt_spent_{count}"), access, refresh, now, access, f"acct-j{count}", now - 3_600_000
                )
            )
            written += os.write(fd, line)
            count += 1
    finally:
        os.close(fd)
    return count
