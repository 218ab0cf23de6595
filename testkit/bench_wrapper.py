"""The cost of the ``codex`` wrapper's hand-off: a stand-in next ``codex`` (``#!/bin/sh``,
``exit 0``) started directly, through the installed console script and through ``bin/codex``
(which starts Python twice: ``python3``, then the checkout's virtual environment), beside a bare
Python start-up, interleaved run by run so that a busy machine weighs on all of them alike.

    scripts/bench --wrapper            # 41 runs each
    scripts/bench --wrapper --runs 11

The hand-off cost is the median through the wrapper minus the median of the stand-in alone:
what every `codex` command that is not ours pays for the wrapper being on PATH.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def measure(runs: int) -> dict[str, float]:
    """Median wall ms of each way of starting the stand-in."""
    with tempfile.TemporaryDirectory(prefix="codex-auth-bench-wrapper-") as tmp:
        standin = Path(tmp) / "next" / "codex"
        standin.parent.mkdir()
        standin.write_text("#!/bin/sh\nexit 0\n")
        standin.chmod(0o755)
        console = Path(sys.executable).parent / "codex"
        ways = {
            "next codex alone": [str(standin), "exec"],
            "python -c pass (the floor)": [sys.executable, "-c", "pass"],
            "through the console script": [str(console), "exec"],
            "through bin/codex": [str(ROOT / "bin" / "codex"), "exec"],
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for argv in ways.values():  # warm-up
            path = os.pathsep.join([str(Path(argv[0]).parent), str(standin.parent), "/usr/bin", "/bin"])
            _once(argv, dict(os.environ, PATH=path))
        for _ in range(runs):
            for name, argv in ways.items():
                path = os.pathsep.join([str(Path(argv[0]).parent), str(standin.parent), "/usr/bin", "/bin"])
                times[name].append(_once(argv, dict(os.environ, PATH=path)))
    return {name: statistics.median(values) for name, values in times.items()}


def report(runs: int) -> None:
    medians = measure(runs)
    alone = medians["next codex alone"]
    print(f"wrapper hand-off, median of {runs} runs (a stand-in next codex that exits at once):")
    for name, ms in medians.items():
        extra = f"  (hand-off cost {ms - alone:+.1f} ms)" if name.startswith("through") else ""
        print(f"  {name:<28} {ms:7.1f} ms{extra}")


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else 41)
