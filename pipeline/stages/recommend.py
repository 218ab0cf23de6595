"""recommend: pick the account to use next.

Input: the scored record stream. Output: every record unchanged, as it arrives, then one
``recommendation`` record (schemas/recommendation.json). Memory stays flat: only the few
facts choosing needs are kept, never the records.

How the account is chosen: :mod:`pipeline.choosing`.

    codex-auth collect | codex-auth score | codex-auth recommend | jq -c 'select(.kind=="recommendation")'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.choosing import Chooser
from pipeline.records import Record


def recommend(records: Iterable[Record], *, now: int) -> Iterator[Record]:
    """Pass every record on as it arrives (keeping only what choosing needs), then add the
    recommendation."""
    chooser = Chooser(now)
    for record in records:
        kind = record.get("kind")
        if kind == "account":
            chooser.add(record)
        elif kind == "flagged":
            chooser.flagged += 1
        elif kind == "recommendation":  # a stream recommended before gets a fresh one
            continue
        yield record
    yield chooser.recommendation()
