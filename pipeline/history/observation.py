"""One account as one run saw it, the way the history keeps it: a row of the ``observations``
table with its rows of ``windows``. The one type the history writes (:mod:`.samples` makes it
from the records, :mod:`.store` inserts it) and reads back (:mod:`.checks` checks every value,
:mod:`.query` streams them, :mod:`.events` derives the events). The fields are the table's
columns, under the table's names and in its order (:data:`COLUMNS`), so the SQL of both sides
is written from them. Tuples: a long history reads many of them."""

from __future__ import annotations

from typing import NamedTuple


class WindowRow(NamedTuple):
    """One quota window of an observation (a row of the ``windows`` table)."""

    key: str  # stable identity in the history: "codex/300", "codex_bengalfox/300", "spend/individual"
    name: str  # for people: "5h", "7d", "codex_bengalfox 5h", "monthly spend"
    limit: str  # the column limit_id
    minutes: int | None  # window_minutes
    used: float | None  # used_percent
    reset_at: int | None


class Observation(NamedTuple):
    """One account in one run (a row of the ``observations`` table and its windows)."""

    sampled_at: int
    account_key: str  # :func:`pipeline.records.account_key`
    idx: int  # the account's place in the pool
    account_id: str | None
    email: str | None
    enabled: bool
    status: str | None
    health_score: int | None
    plan: str | None
    probe_outcome: str | None
    probe_error: str | None
    quota_source: str | None
    credits_balance: str | None
    has_credits: bool | None
    reset_credits: int | None
    limit_reached: bool | None
    windows: tuple[WindowRow, ...] = ()
    run_id: int | None = None  # the run it came with: known once written (read back: always)


COLUMNS: tuple[str, ...] = Observation._fields[: Observation._fields.index("windows")]
"""The observation's own columns (all but ``id`` and ``run_id``), in the order of its fields."""
WINDOW_COLUMNS = ("window_key", "name", "limit_id", "window_minutes", "used_percent", "reset_at")
"""The ``windows`` table's columns of a :class:`WindowRow`, in the order of its fields."""
