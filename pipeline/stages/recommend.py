"""recommend: pick the account to use next.

Input: the scored record stream. Output: every record unchanged, then one
``recommendation`` record (schemas/recommendation.json).

How the account is chosen: :mod:`pipeline.choosing`.

    codex-auth collect | codex-auth score | codex-auth recommend | jq -c 'select(.kind=="recommendation")'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.choosing import recommendation
from pipeline.clock import now_ms
from pipeline.pool_rules import stream_time
from pipeline.records import Record


def recommend(records: Iterable[Record], *, now: int | None) -> Iterator[Record]:
    """``now`` None: the moment the stream describes (:func:`pipeline.pool_rules.stream_time`)."""
    accounts: list[Record] = []
    flagged = 0
    for record in records:
        kind = record.get("kind")
        if kind == "pool" and now is None:
            now = stream_time(record)
        if kind == "account":
            accounts.append(record)
        elif kind == "flagged":
            flagged += 1
        if kind != "recommendation":  # a stream recommended before gets a fresh one
            yield record
    yield recommendation(accounts, now if now is not None else now_ms(), flagged)
