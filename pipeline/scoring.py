"""Scoring one account: the policy's assessment (:mod:`pipeline.policy`) written into the
record as ``status``, ``healthScore``, ``rateLimited``, ``rateLimitResetAt``, ``reasons`` and
``factors``. Used by the ``score`` stage and by the View for accounts not yet scored."""

from __future__ import annotations

from pipeline.policy import assess
from pipeline.records import Record, account_of

SCORE_FIELDS = ("status", "healthScore", "rateLimited", "rateLimitResetAt", "reasons", "factors", "annotations")


def is_scored(record: Record) -> bool:
    """Whether ``score`` has been here: a status and a whole-number health score (a record
    with only one of them, or a score of the wrong type, is scored again)."""
    score = record.get("healthScore")
    return "status" in record and isinstance(score, int) and not isinstance(score, bool)


def score_account(
    record: Record,
    now: int,
    model: str,
    *,
    own: bool = False,
    factors: bool = True,
    leave_out: frozenset[str] = frozenset(),
) -> Record:
    """The record scored: a copy, or with ``own`` (a record no one else holds) the record
    itself, in the record's own order less what scoring writes anew, then that. ``factors``
    False (a report that shows none: no ``--explain``) leaves the ``factors`` list out;
    ``leave_out`` names members the copy leaves out (what a report's view would drop: the
    copy is then the only one made)."""
    result = assess(account_of(record), now, model)
    annotations = record.get("annotations", _NONE)
    if leave_out:
        scored = {k: v for k, v in record.items() if k not in leave_out and k not in _SCORE_SET}
    else:
        scored = record if own else dict(record)
        for name in SCORE_FIELDS:
            scored.pop(name, None)
    scored["status"] = result.status
    scored["healthScore"] = result.score
    scored["rateLimited"] = result.rate_limited
    scored["rateLimitResetAt"] = result.rate_limit_reset_at
    scored["reasons"] = result.reasons
    if factors:
        scored["factors"] = [
            {"code": f.code, "points": f.points, "reason": f.reason, "detail": f.detail, "decides": f.decides}
            for f in result.factors
        ]
    if annotations is not _NONE:
        scored["annotations"] = annotations
    return scored


_NONE = object()
_SCORE_SET = frozenset(SCORE_FIELDS)
