"""recommend: pick the account to use next.

Input: the scored record stream. Output: every record unchanged, then one
``recommendation`` record (schemas/recommendation.json).

How the account is chosen: :mod:`pipeline.choosing`.

    codex-auth collect | codex-auth score | codex-auth recommend | jq -c 'select(.kind=="recommendation")'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.choosing import recommendation
from pipeline.records import Record


def recommend(records: Iterable[Record], *, now: int) -> Iterator[Record]:
    accounts: list[Record] = []
    flagged = 0
    for record in records:
        kind = record.get("kind")
        if kind == "account":
            accounts.append(record)
        elif kind == "flagged":
            flagged += 1
        if kind != "recommendation":  # a stream recommended before gets a fresh one
            yield record
    yield recommendation(accounts, now, flagged)
