"""What one run adds to the history: one observation per account, one row per window.
Pure: records in, plain values out. Never a token: only the facts the records hold."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipeline.forecast import account_windows
from pipeline.history.observation import Observation as Observation  # the one type, written and read
from pipeline.history.observation import WindowRow as WindowRow
from pipeline.records import Record
from pipeline.records import account_key as account_key  # where the forecast stage finds it

if TYPE_CHECKING:
    from pipeline.records import Credits, ProbeFacts, Quota, ResetCredits


def observations(records: Iterable[Record], sampled_at: int) -> list[Observation]:
    result = []
    for record in records:
        if record.get("kind") != "account":
            continue
        quota: Quota = record.get("quota") or {}
        probe: ProbeFacts = record.get("probe") or {}
        credits: Credits = quota.get("credits") or {}
        reset_credits: ResetCredits = quota.get("resetCredits") or {}
        if probe:  # a live run: when it probed; windows only from a live answer, never the cache again
            at = quota.get("sampledAt") if quota.get("source") == "live" else probe.get("at")
            windows = account_windows(quota) if quota.get("source") == "live" else []
        else:  # --record without --live: a cached sample keeps the time it was taken
            at = quota.get("sampledAt")
            windows = account_windows(quota or None)
        result.append(
            Observation(
                sampled_at=at or probe.get("at") or sampled_at,
                account_key=account_key(record),
                idx=int(record["index"]),
                account_id=record.get("accountId"),
                email=record.get("email"),
                enabled=record.get("enabled") is not False,
                status=record.get("status"),
                health_score=record.get("healthScore"),
                plan=quota.get("planType") or record.get("plan"),
                probe_outcome=probe.get("outcome"),
                probe_error=probe.get("errorCode"),
                quota_source=quota.get("source"),
                credits_balance=credits.get("balance"),
                has_credits=credits.get("hasCredits"),
                reset_credits=reset_credits.get("availableCount"),
                limit_reached=quota.get("limitReached"),
                windows=tuple(WindowRow(w.key, w.name, w.limit, w.minutes, w.used, w.reset_at) for w in windows),
            )
        )
    return result
