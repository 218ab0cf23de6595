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
from pipeline.clock import now_ms
from pipeline.pool_record import stream_time
from pipeline.records import Record


def recommend(records: Iterable[Record], *, now: int | None) -> Iterator[Record]:
    """Pass every record on as it arrives (keeping only what choosing needs), then add the
    recommendation. ``now`` None: the moment the stream describes
    (:func:`pipeline.pool_record.stream_time`)."""
    chooser: Chooser | None = None
    flagged = 0
    for record in records:
        kind = record.get("kind")
        if kind == "pool" and now is None:
            now = stream_time(record)
        if kind == "account":
            if chooser is None:
                chooser = Chooser(now if now is not None else now_ms())
            chooser.add(record)
        elif kind == "flagged":
            flagged += 1
        elif kind == "recommendation":  # a stream recommended before gets a fresh one
            continue
        yield record
    if chooser is None:
        chooser = Chooser(now if now is not None else now_ms())
    chooser.flagged = flagged
    yield chooser.recommendation()
