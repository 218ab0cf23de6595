"""Bulk work without the cyclic garbage collector.

Building a report keeps every account's records alive until the end, so each of Python's
full collections walks all of them again: on 100,000 accounts that was 21 full collections
and about a quarter of the run. The records hold no reference cycles, so nothing is lost by
pausing the collector while they are built; reference counting still frees everything else.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (as it was afterwards)."""
    pause = Pause()
    try:
        yield
    finally:
        pause.end()


class Pause:
    """The collector paused from the making of this object until :meth:`end`, for work that
    goes on after the function that started it has returned (a report whose pieces are made
    as they are written): re-enabling it in between would start a collection that walks every
    record made so far (about a twentieth of a 100,000-account report). Ends by itself when
    it is let go, so a caller that drops the pieces unread does not leave the collector off."""

    __slots__ = ("_resume",)

    def __init__(self) -> None:
        self._resume = gc.isenabled()
        gc.disable()

    def end(self) -> None:
        """Restore the collector as it was (once)."""
        if self._resume:
            self._resume = False
            gc.enable()

    def __del__(self) -> None:
        self.end()

    def around(self, parts: Iterable[bytes]) -> Iterator[bytes]:
        """``parts``, after which (or when they are let go) the pause ends."""
        try:
            yield from parts
        finally:
            self.end()


_keeping = False  # set by the process's own entry point: see keep_what_is_loaded


@contextmanager
def loading() -> Iterator[None]:
    """Modules loading (a command's, imported when it runs): the collector paused while they
    do, and in a process whose entry point called :func:`keep_what_is_loaded`, what they
    defined moved out of its reach afterwards as start-up's was (the collection as the
    process exits would walk it all again: a sixth of a default report)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _keeping:  # before the collector is back: its first collection would walk them all
            gc.freeze()
        if was_enabled:
            gc.enable()


def keep_what_is_loaded() -> None:
    """Move every object alive now (click, the standard library, our modules loaded so far) out
    of the collector's reach for the rest of the process (:func:`gc.freeze`): they live as long
    as it does, and each collection while a command's modules load would walk them again
    (about a fifth of what a default report adds to ``import click``). Only a process's own
    entry point calls this, never a library caller: what is frozen is never collected. The
    modules loaded later under :func:`loading` are kept the same way."""
    global _keeping
    _keeping = True
    gc.freeze()
