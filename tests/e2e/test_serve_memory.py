"""The always-on commands keep nothing of a refresh once the next one has replaced it: on a
pool that changes between refreshes (the quota cache swapped back and forth, so thresholds
are crossed and windows reset each time), the count of live objects after a refresh is the
same as two refreshes earlier, for ``serve``'s exporter (every rendered form, the forecast)
and for ``watch`` (the events of each change). A snapshot, an event, a rendered page or a
registered token kept per refresh would add thousands of objects. And their heap gives a freed
large buffer back, where glibc on its own would keep the next ones resident."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.in_process import HistoryOptions
from pipeline.service.exporter import Exporter
from pipeline.service.forecast_hook import ForecastHook
from pipeline.service.snapshots import Refresher, RefreshLoop
from pipeline.service.watch import Watch
from testkit import poolkit
from testkit.bench_serving import changed_cache, swap_in
from testkit.helpers import ROOT

ACCOUNTS = 200


def live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def exporter_loop(loop: RefreshLoop) -> Callable[[], int]:
    exporter = Exporter(loop)
    return lambda: len(exporter.metrics_body()) + len(exporter.page())


def watch_loop(loop: RefreshLoop) -> Callable[[], int]:
    out = io.StringIO()
    watch = Watch(
        terminal=False,
        out=out,
        thresholds=(25, 10, 5),
        min_healthy=150,
        runner=None,
        render=str,
        interval=1,
        title="t",
    )
    loop.on_run = watch.after_run

    def written() -> int:
        size = len(out.getvalue())
        out.seek(0)
        out.truncate()  # what a reader took away
        return size

    return written


@pytest.mark.parametrize("command", [exporter_loop, watch_loop], ids=["serve", "watch"])
def test_refreshes_leave_no_objects_behind(pool_dir: Path, command: Callable[[RefreshLoop], Callable[[], int]]) -> None:
    now = poolkit.now_ms()
    poolkit.real_pool(pool_dir, ACCOUNTS, now)
    original, changed = changed_cache(pool_dir)
    refresher = Refresher(env=os.environ, storage_dir=str(pool_dir), now=now)
    loop = RefreshLoop(refresher, 1.0, hook=ForecastHook(HistoryOptions(None, False)))
    served = command(loop)
    counts, sizes = [], []
    for run in range(6):
        swap_in(pool_dir, changed if run % 2 else original)
        snapshot, assessment = loop.run_once()
        assert snapshot is not None and assessment is not None and assessment.ok
        sizes.append(served())
        counts.append(live_objects())
    assert all(sizes), "each refresh was served (rendered, or its events written)"
    assert counts[4] == counts[2] and counts[5] == counts[3], f"live objects per refresh: {counts}"


# A snapshot's rendered /metrics of 30 MB freed, then the next one of 20 MB made and freed:
# how many MiB stay resident (glibc keeps the second in its heap once the first has raised
# the size from which it maps buffers; the always-on commands fix that size).
HEAP = """
import sys
from pipeline.cli.refreshing import make_refresher
def resident():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
if sys.argv[1] == "always-on":
    make_refresher(False, None, None)
last = b"x" * (30 << 20)
del last
before = resident()
body = b"y" * (20 << 20)
del body
print(resident() - before)
"""


def kept_mib(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", HEAP, mode], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout)


def test_an_always_on_command_gives_freed_buffers_back() -> None:
    if not sys.platform.startswith("linux") or kept_mib("plain") < 15:
        pytest.skip("this C library gives freed buffers back on its own")
    assert kept_mib("always-on") <= 2
