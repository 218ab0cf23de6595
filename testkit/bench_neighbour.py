"""``codex-auth report --json`` beside codex-multi-auth's own ``report --json`` on the same pool
folders (5, 1,000 and 10,000 real-shaped accounts), run by run, as real processes; first the
round trip of :func:`testkit.neighbour.roundtrip` (its pool, our live write-back, its loaders).

    scripts/bench --neighbour ~/src/codex-multi-auth          # a built checkout of it
    scripts/bench --neighbour ~/src/codex-multi-auth --runs 5

codex-multi-auth is not published on npm; build a checkout of its repository once (Node 18.17+):
``npm install --ignore-scripts && npx tsc``, which writes ``dist/`` beside ``scripts/``. Both
tools read the same folder through ``CODEX_MULTI_AUTH_DIR``, with ``HOME`` in a temporary folder
and ``CI=1`` (which skips codex-multi-auth's first-run setup), offline (no ``--live``). Each
figure is the median wall time and the peak memory of the process; the pools are written by
:func:`testkit.poolkit.real_pool` for the present moment, which both tools take as now.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit import neighbour, poolkit
from testkit.bench import Sample, run_once

SIZES = (5, 1000, 10_000)


def _digest(folder: Path) -> str:
    """What the pool folder holds, to prove neither tool changed it."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _counts(argv: list[str], env: dict[str, str]) -> int:
    """How many accounts of the pool file the tool says it read (flagged ones are in their own file)."""
    out = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False).stdout
    accounts = json.loads(out)["accounts"]
    return int(accounts["total"]) if isinstance(accounts, dict) else len(accounts)


def main(checkout: Path, runs: int) -> None:
    checkout = neighbour.built(checkout)
    script = checkout / neighbour.ENTRY
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    version = neighbour.version(checkout)
    exe = str(Path(sys.executable).parent / "codex-auth")
    trip = neighbour.roundtrip(checkout)
    print(
        f"round trip: codex-multi-auth saved {trip.accounts} expired accounts, report --live rotated"
        f" {trip.rotated} refresh tokens, its loaders read {trip.seen_by_neighbour} as written"
        f" (storage health {trip.health}; problems: {len(trip.problems)})"
    )
    print(f"codex-multi-auth {version} (node {node}) beside codex-auth, report --json, offline")
    print("| accounts | codex-auth | peak | codex-multi-auth | peak | accounts read (ours / theirs) |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |", flush=True)
    with tempfile.TemporaryDirectory(prefix="codex-auth-bench-neighbour-") as tmp:
        for size in SIZES:
            home = Path(tmp) / f"home-{size}"
            folder = home / ".codex" / "multi-auth"
            now = int(time.time() * 1000)
            poolkit.real_pool(folder, size, now)
            env = {
                **neighbour.environment(folder, home),
                "CODEX_HOME": str(home / ".codex"),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_CACHE_HOME": str(home / ".cache"),
                "XDG_STATE_HOME": str(home / ".state"),
                "NO_COLOR": "1",
            }
            ours = [exe, "report", "--json", "--now", str(now)]
            theirs = ["node", str(script), "report", "--json"]
            before = _digest(folder)
            read = f"{_counts(ours, env)} / {_counts(theirs, env)}"
            times = runs if size <= 1000 else 1
            samples: dict[str, list[Sample]] = {"ours": [], "theirs": []}
            for _ in range(times):
                samples["ours"].append(run_once(ours, env))
                samples["theirs"].append(run_once(theirs, env))
            if _digest(folder) != before:
                sys.exit(f"bench --neighbour: the pool folder of {size} accounts changed during the runs")
            cells = []
            for name in ("ours", "theirs"):
                wall = statistics.median(s.wall_ms for s in samples[name])
                peak = max(s.peak_mib for s in samples[name])
                cells += [f"{wall / 1000:.2f} s" if wall >= 1000 else f"{wall:.0f} ms", f"{peak:.0f} MiB"]
            print(f"| {size:,} | {' | '.join(cells)} | {read} |", flush=True)
    print(
        f"median of {runs} runs (1 at 10,000 accounts); load at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
