"""Rules about the ``pool`` record that every stage and ``codex auth report`` share.

- Every stream starts with the ``pool`` record that ``collect`` writes; a stage fed anything
  else (an empty stream from a failed ``collect``, a filtered stream) fails instead of
  reporting on nothing (see :func:`pipeline.ndjson.read_records`).
- :func:`pool_failure` is the one rule for a pool with nothing to report: the same in
  ``render`` (the pipe) and in ``codex auth report``.
- :func:`stream_time` is the moment a stream describes: stages without ``--now`` date their
  work by it, so a saved snapshot re-renders as the report of its own moment.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pipeline.errors import PERMISSION_DENIED
from pipeline.records import Record

if TYPE_CHECKING:
    from pipeline.records import PoolRecord

EXPECTED_POOL = "expected the pool record first (the first line codex-auth collect writes)"


def stream_time(pool: Record | None) -> int | None:
    """When the stream's facts were gathered: the later of ``collectedAt`` and the live
    probe's start, or None without a pool record."""
    if not pool:
        return None
    times = [pool.get("collectedAt"), ((pool.get("probe") or {}).get("startedAt"))]
    known = [t for t in times if isinstance(t, int) and not isinstance(t, bool)]
    return max(known) if known else None


def pool_failure(pool: PoolRecord | Record | None, accounts: int, flagged: int) -> str | None:
    """Why there is no report to give (exit 1), or None. ``accounts`` and ``flagged`` are the
    numbers of account and flagged records that came with the pool record."""
    if pool is None:
        return EXPECTED_POOL
    storage = pool.get("storage") or {}
    state = storage.get("state")
    path = storage.get("path")
    details = storage.get("details")
    if pool.get("source") == "none" or state == "missing":
        return f"no account storage found in {pool.get('dir')}" + (f": {details}" if details else "")
    if state == "corrupt":
        return f"{storage_problem(details)} in {os.path.dirname(str(path))}: {details}"
    if not accounts and not flagged:
        if state == "intentional-reset":
            return f"no accounts: the pool in {pool.get('dir')} was reset on purpose ({details})"
        return (
            f"no accounts in {path}" + (f" ({details})" if details else "") + "; add one with `codex-multi-auth login`"
        )
    return None


def storage_problem(details: str | None) -> str:
    """The headline for storage that could not be used: unreadable is not corrupt."""
    if details and PERMISSION_DENIED in details:
        return "account storage cannot be read"
    return "account storage is corrupt"
