"""History reads stream (an earlier version held about 3.5 KB per stored row: 55 MB of history
peaked near 780 MB, 725 MB ended in MemoryError): the samples come in the time index's order
with no sort before the first row, and the peak memory of ``history --daily``, ``--events``
and every sample is the same on a history ten times larger. Real SQLite files written in the
history's own schema (testkit/bench_history.py), each command a process of its own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.history import query
from testkit.bench_history import generate
from testkit.helpers import ROOT


def peak_mib(args: list[str], path: Path) -> float:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "history", "--history", str(path), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    return usage.ru_maxrss / 1024


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("histories")
    small, large = folder / "small.sqlite3", folder / "large.sqlite3"
    generate(small, 1.5, batch=10)
    generate(large, 15, batch=100)
    return small, large


@pytest.mark.parametrize(
    "args", [["--daily"], ["--events", "--account", "user07@example.com"], ["--format", "csv"]], ids=str
)
def test_memory_is_flat_in_the_size_of_the_history(histories: tuple[Path, Path], args: list[str]) -> None:
    small, large = histories
    assert os.path.getsize(large) > 8 * os.path.getsize(small)
    grew = peak_mib(args, large) - peak_mib(args, small)
    assert grew < 12, f"history {' '.join(args)}: peak grew by {grew:.1f} MiB on a history ten times larger"


def test_the_samples_come_in_index_order_without_a_sort(histories: tuple[Path, Path]) -> None:
    db = sqlite3.connect(histories[0])
    db.create_function("folded", 1, lambda value: value)
    samples = "EXPLAIN QUERY PLAN " + query.observations_sql(query.SAMPLE_ORDER)
    plan = " / ".join(row[3] for row in db.execute(samples, (None, 1, 2**40)))
    assert "USING INDEX observations_time" in plan and "TEMP B-TREE" not in plan, plan
    db.close()
