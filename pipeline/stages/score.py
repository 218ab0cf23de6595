"""score: give every account a ``status``, a ``healthScore`` and the ``reasons`` for them.

Input: the record stream (schemas/*.json). Output: the same stream, each ``account`` record
with ``status``, ``healthScore`` (0-100, higher is better), ``reasons`` and ``factors``
added; other records pass through unchanged. The policy is :mod:`pipeline.policy`.

    codex-auth collect | codex-auth score --now 2026-03-03T14:30:00Z | jq -c 'select(.kind=="account") | [.email,.status,.healthScore]'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.context import run_instant
from pipeline.records import DEFAULT_MODEL, Record
from pipeline.scoring import score_account


def score(
    records: Iterable[Record],
    *,
    now: int | None,
    model: str | None = None,
    own: bool = False,
    factors: bool = True,
    leave_out: frozenset[str] = frozenset(),
) -> Iterator[Record]:
    """Score each account at ``now`` (None: the moment the stream describes, see
    :func:`pipeline.pool_record.stream_time`). The model (whose rate limits count) is the live
    probe's when the pool record names one, else ``model``, else the default model. With
    ``own`` (records made for this stream alone, as collect makes them in-process) each
    account is scored in place instead of copied. ``factors`` False (an in-process report
    without ``--explain``, whose formats show none) leaves each account's ``factors`` out;
    ``leave_out``: members each scored account is made without
    (:func:`pipeline.scoring.score_account`)."""
    current_model = model or DEFAULT_MODEL
    pool: Record | None = None
    when = now
    for record in records:
        kind = record.get("kind")
        if kind == "pool":
            probe = record.get("probe") or {}
            current_model = probe.get("model") or current_model
            pool = pool or record
        elif kind == "account":
            if when is None:
                when = run_instant(now, pool)
            record = score_account(record, when, current_model, own=own, factors=factors, leave_out=leave_out)
        yield record
