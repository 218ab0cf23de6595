"""Token refreshes in flight: from the moment a refresh request may spend a token until its
successor is saved (journal, then storage). A process that must end early (the exporter on
SIGTERM, with a run still going) waits for this count to reach zero first, so that stopping
it never loses a rotated token. Imports nothing heavy: the command line reads it at exit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_changed = threading.Condition()
_count = 0


@contextmanager
def spending() -> Iterator[None]:
    """Mark a refresh as in flight for the duration of the block."""
    global _count
    with _changed:
        _count += 1
    try:
        yield
    finally:
        with _changed:
            _count -= 1
            _changed.notify_all()


def in_flight() -> int:
    with _changed:
        return _count


def wait_until_saved(timeout: float) -> bool:
    """Wait until no refresh is in flight; False when ``timeout`` seconds passed first."""
    with _changed:
        return _changed.wait_for(lambda: _count == 0, timeout)
