"""Median wall time of codex-auth commands on generated pools, as real processes.

    scripts/bench                      # collect, report, report --json on 5 and 1,000 accounts
    scripts/bench --runs 21 --sizes 5,1000,5000
    scripts/bench --command "report --format html"

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import poolkit  # noqa: E402

DEFAULT_COMMANDS = ["collect", "report", "report --json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--sizes", default="5,1000")
    parser.add_argument("--command", action="append", help="codex-auth arguments (repeatable)")
    args = parser.parse_args()
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
                print(f"{command:<34} {size:>8} {statistics.median(times):>10.1f} {min(times):>8.1f} {max(times):>8.1f}")


if __name__ == "__main__":
    main()
