"""``repair`` on a large token journal: wall time and peak memory of ``codex-auth repair`` on
journals of growing size beside a real-shaped pool (``scripts/bench --parts repair``, or
``python -m testkit.bench_journal --sizes-mb 25,50,100``).

The journal is what a long life of live runs leaves: each account's refresh tokens rotated
again and again, one entry a rotation (real-shaped access and id tokens, about 4 KB a line),
hours apart and older than the journal keeps settled entries. Storage holds the last token of
each chain (those entries are settled: compaction drops them), except for one account in a
hundred whose record still holds its chain's first token (a run killed before it saved): repair
walks those chains and restores their last tokens. Each run starts from the same files (the
pool and the journal are copied back before it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import orjson

from pipeline.live.journal import Rotation, encode, token_hash
from pipeline.live.pending import JOURNAL_NAME
from testkit import poolkit
from testkit.bench import Sample, run_once

HOUR = 3_600_000
ACCOUNTS = 1000
PENDING_EVERY = 100  # one account in this many still holds its chain's first token


def write_journal(pool: Path, size_mb: float, now: int) -> int:
    """A journal of about ``size_mb`` MB beside ``pool`` (see the module docstring); the
    accounts file is rewritten so that each record holds its chain's last token, or (one in
    :data:`PENDING_EVERY`) its first. Returns how many entries it holds."""
    path = pool / poolkit.ACCOUNTS_FILE
    data = orjson.loads(path.read_bytes())
    accounts = data["accounts"]
    sample = encode(_rotation(accounts[0], 0, 0, now))
    total = max(1, round(size_mb * 1e6 / len(sample)))
    entries = 0
    with open(pool / JOURNAL_NAME, "wb") as out:
        for k, account in enumerate(accounts):
            chain = total // len(accounts) + (k < total % len(accounts))
            if not chain:
                continue
            for j in range(chain):
                out.write(encode(_rotation(account, k, j, now - (chain - j) * HOUR)))
                entries += 1
            account["refreshToken"] = _refresh(k, chain if k % PENDING_EVERY else 0)
    os.chmod(pool / JOURNAL_NAME, 0o600)
    poolkit.write_json(path, data)
    return entries


def _refresh(k: int, j: int) -> str:
    return poolkit.real_refresh_token(f"chain-{k}-{j}")


def _rotation(account: dict[str, object], k: int, j: int, at: int) -> Rotation:
    account_id = str(account.get("accountId"))
    email = str(account.get("email"))
    return Rotation(
        token_hash(_refresh(k, j)),
        poolkit.real_access_token(account_id=account_id, email=email, issued_ms=at, expires_ms=at + 10 * 24 * HOUR),
        _refresh(k, j + 1),
        at + 10 * 24 * HOUR,
        poolkit.real_id_token(account_id=account_id, email=email, issued_ms=at),
        account_id,
        at,
    )


def measure(size_mb: float, runs: int, tmp: Path, exe: str, env: dict[str, str]) -> tuple[int, int, Sample]:
    """(entries, journal bytes, median run) of ``repair`` on a fresh copy each run."""
    pristine = tmp / f"pristine-{size_mb:g}"
    poolkit.real_pool(pristine, ACCOUNTS, poolkit.now_ms())
    entries = write_journal(pristine, size_mb, poolkit.now_ms())
    size = (pristine / JOURNAL_NAME).stat().st_size
    work = tmp / "pool"
    samples = []
    for _ in range(runs):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(pristine, work)
        samples.append(run_once([exe, "repair", "--dir", str(work)], env))
    left = (work / JOURNAL_NAME).stat().st_size if (work / JOURNAL_NAME).exists() else 0
    if left >= size:
        sys.exit(f"repair did not compact the journal ({left} of {size} bytes left)")
    shutil.rmtree(pristine)
    return (
        entries,
        size,
        Sample(
            statistics.median(s.wall_ms for s in samples),
            max(s.peak_mib for s in samples),
            statistics.median(s.cpu_ms for s in samples),
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", default="25,50,100", help="journal sizes in MB (default 25,50,100)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    args = parser.parse_args(argv)
    exe = str(Path(sys.executable).parent / "codex-auth")
    print("| journal | entries | repair | CPU | peak MiB | per MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="codex-auth-bench-journal-") as folder:
        tmp = Path(folder)
        env = dict(os.environ, HOME=folder, CODEX_HOME=f"{folder}/.codex", NO_COLOR="1")
        env.pop("CODEX_MULTI_AUTH_DIR", None)
        for size_mb in (float(s) for s in args.sizes_mb.split(",") if s.strip()):
            entries, size, sample = measure(size_mb, args.runs, tmp, exe, env)
            print(
                f"| {size / 1e6:.0f} MB | {entries:,} | {sample.wall_ms / 1000:.2f} s | {sample.cpu_ms / 1000:.2f} s "
                f"| {sample.peak_mib:.0f} | {sample.cpu_ms / (size / 1e6):.0f} ms CPU |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
