"""One reader of the wall clock: no module in ``pipeline/`` but ``pipeline/clock.py`` reads it
(``time.time``, ``time.time_ns``, ``datetime.now``, ``datetime.utcnow``, ``date.today``, or
``time.localtime``/``gmtime``/``ctime`` without an argument), so the run's ``now`` comes from one
place (:class:`pipeline.context.RunContext`). Monotonic timers for durations and timeouts
(``time.monotonic``, ``time.perf_counter``, ``time.sleep``) are allowed anywhere."""

from __future__ import annotations

import ast

from testkit.helpers import ROOT

PACKAGE = ROOT / "pipeline"
CLOCK_MODULE = PACKAGE / "clock.py"

WALL_CLOCK = {"time": {"time", "time_ns"}, "datetime": {"now", "utcnow", "today"}, "date": {"today"}}
"""Module or class name, and the attributes of it that read the wall clock."""
ARGUMENT_OR_CLOCK = {"localtime", "gmtime", "ctime", "asctime", "strftime"}
"""``time`` functions that read the clock when the time is left out."""


def _owner(node: ast.expr) -> str | None:
    """``time`` for ``time.x``, ``datetime`` for ``datetime.x`` and ``datetime.datetime.x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def clock_reads(source: str, filename: str = "<test>") -> list[tuple[int, str]]:
    """Each wall-clock read in the source (a call or a reference, such as ``clock=time.time``),
    with its line."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if alias.name in WALL_CLOCK["time"] and node.module == "time":
                    found.append((node.lineno, f"from time import {alias.name}"))
        elif isinstance(node, ast.Attribute):
            owner = _owner(node.value)
            if owner is not None and node.attr in WALL_CLOCK.get(owner, ()):
                found.append((node.lineno, f"{owner}.{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, name = _owner(node.func.value), node.func.attr
            needed = 2 if name == "strftime" else 1  # strftime(format) reads the clock
            if owner == "time" and name in ARGUMENT_OR_CLOCK and len(node.args) < needed:
                found.append((node.lineno, f"time.{name}() without a time"))
    return sorted(found)


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != CLOCK_MODULE
        for line, what in clock_reads(path.read_text(), str(path))
    ]
    assert offenders == [], "read the clock through pipeline.clock (or the run's context):\n" + "\n".join(offenders)


def test_the_clock_module_is_where_the_reads_are() -> None:
    assert clock_reads(CLOCK_MODULE.read_text()), "the scan no longer sees the one reader it allows"


def test_the_scan_sees_every_way_in() -> None:
    source = """
import time, datetime
from datetime import date
from time import time_ns
a = time.time()
b = datetime.datetime.now(tz=None)
c = date.today()
clock = time.time
d = time.strftime("%Y")
e = time.localtime()
ok = (time.monotonic(), time.perf_counter(), time.strftime("%Y", time.gmtime(0)), time.gmtime(0))
"""
    reads = [what for _, what in clock_reads(source)]
    assert reads == [
        "from time import time_ns",
        "time.time",
        "datetime.now",
        "date.today",
        "time.time",
        "time.strftime() without a time",
        "time.localtime() without a time",
    ]
