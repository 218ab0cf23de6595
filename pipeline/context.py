"""One run's context: its ``now``, the model whose limits count and the wall clock, built once
by the command line (from ``--now`` and ``--model``) and passed down, so no stage decides on
its own what a missing ``now`` means.

:func:`run_instant` is that one rule: ``--now`` when given; else the moment the stream
describes (its ``pool`` record, :func:`pipeline.pool_record.stream_time`), so a saved snapshot
re-renders as the report of its own moment; else the wall clock when asked.
"""

from __future__ import annotations

from pipeline.clock import Clock, now_ms, parse_instant
from pipeline.plain import Frozen
from pipeline.pool_record import stream_time
from pipeline.records import Record


def run_instant(given: int | None, pool: Record | None = None, clock: Clock = now_ms) -> int:
    """The run's instant: ``given`` (``--now``), else the stream's own time (``pool``, its
    first record), else ``clock()``."""
    if given is not None:
        return given
    stream = stream_time(pool)
    return stream if stream is not None else clock()


class RunContext(Frozen):
    """The run's ``now`` (``--now``; None: not given), its model (``--model``; None: the live
    probe's or the default) and its wall clock. A (plain, frozen) value: the default report
    loads no dataclasses."""

    __slots__ = ("clock", "model", "now")
    now: int | None
    model: str | None
    clock: Clock

    def __init__(self, now: int | None = None, model: str | None = None, clock: Clock = now_ms) -> None:
        object.__setattr__(self, "now", now)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "clock", clock)

    @classmethod
    def from_options(cls, now: str | None, model: str | None = None) -> RunContext:
        """The context of a command run with ``--now TIME`` (or none) and ``--model``."""
        return cls(parse_instant(now) if now else None, model)

    def instant(self, pool: Record | None = None) -> int:
        """This run's instant (:func:`run_instant`); without ``--now`` and a dated ``pool``,
        the clock read at this call."""
        return run_instant(self.now, pool, self.clock)
