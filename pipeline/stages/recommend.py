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
from pipeline.context import run_instant
from pipeline.records import Record, account_of, as_record


def recommend(records: Iterable[Record], *, now: int | None) -> Iterator[Record]:
    """Pass every record on as it arrives (keeping only what choosing needs), then add the
    recommendation. ``now`` None: the moment the stream describes
    (:func:`pipeline.context.run_instant`)."""
    chooser: Chooser | None = None
    pool: Record | None = None
    flagged = 0
    for record in records:
        kind = record.get("kind")
        if kind == "pool":
            pool = pool or record
        elif kind == "account":
            if chooser is None:
                chooser = Chooser(run_instant(now, pool))
            chooser.add(account_of(record))
        elif kind == "flagged":
            flagged += 1
        elif kind == "recommendation":  # a stream recommended before gets a fresh one
            continue
        yield record
    if chooser is None:
        chooser = Chooser(run_instant(now, pool))
    chooser.flagged = flagged
    yield as_record(chooser.recommendation())
