"""What a probe run leaves beside the pool, after its last probe: the flagged accounts'
verification history and the reset credits in our state file (beside the flagged file, a
project's own), and codex-multi-auth's quota cache with the quota just read. Each file is
updated in place (:func:`pipeline.live.writeback.update_json`), scrubbed of tokens; a file
that cannot be written is a warning, never a failure of the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.live.writeback import WriteBackError, update_json
from pipeline.records import DEFAULT_MODEL, Record
from pipeline.scrubbing import scrub_value
from pipeline.storage.paths import QUOTA_CACHE_FILE, STATE_FILE
from pipeline.storage.pool import Pool


@dataclass
class SideUpdates:
    """What one run learnt: verification history by flagged key, reset credits by account key,
    and the accounts (as stored) with their new quota."""

    history: dict[str, Record] = field(default_factory=dict)
    credits: dict[str, Record] = field(default_factory=dict)
    quota: list[Record] = field(default_factory=list)


def save_side_files(pool: Pool, updates: SideUpdates, *, cached_only: bool) -> list[str]:
    """Write what changed; returns the warnings for stderr."""
    notes: list[str] = []
    folder = Path(pool.resolved.dir)
    if updates.history or (updates.credits and not cached_only and folder.is_dir()):
        try:
            update_json(
                Path(pool.flagged.path).parent / STATE_FILE,
                lambda data: scrub_value(merge_state(data, updates)),
                missing={"version": 1, "flagged": {}},
            )
        except WriteBackError as exc:
            notes.append(f"warning: verification history not saved: {exc}")
    if updates.quota and pool.source == "codex-multi-auth" and not cached_only and folder.is_dir():
        try:
            update_json(
                folder / QUOTA_CACHE_FILE,
                lambda data: scrub_value(merge_quota(data, updates.quota)),
                pretty_newline=True,
                missing={"version": 1, "byAccountId": {}, "byEmail": {}},
            )
        except WriteBackError as exc:
            notes.append(f"warning: quota cache not updated: {exc}")
    return notes


def merge_state(data: Any, updates: SideUpdates) -> Record:
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("flagged"), dict):
        data = {"version": 1, "flagged": {}}  # not ours to keep: a damaged state file starts over
    data["flagged"].update(updates.history)
    if updates.credits:
        credits = data.get("resetCredits") if isinstance(data.get("resetCredits"), dict) else {}
        data["resetCredits"] = {**credits, **updates.credits}
    merged: Record = data
    return merged


def merge_quota(data: Any, accounts: list[Record]) -> Record:
    if not isinstance(data, dict) or data.get("version") != 1:
        data = {"version": 1}  # codex-multi-auth ignores such a cache too
    by_id = data.setdefault("byAccountId", {})
    by_email = data.setdefault("byEmail", {})
    for record in accounts:
        entry = cache_entry(record["quota"])
        if record.get("accountId"):
            by_id[record["accountId"]] = entry
        if record.get("email"):
            by_email[record["email"].strip().lower()] = entry
    merged: Record = data
    return merged


def cache_entry(quota: Record) -> Record:
    """codex-multi-auth's quota-cache entry (primary/secondary as the service ordered them)."""
    entry: Record = {
        "updatedAt": quota["sampledAt"],
        "status": quota.get("httpStatus") or 200,
        "model": quota.get("model") or DEFAULT_MODEL,
    }
    if quota.get("planType"):
        entry["planType"] = quota["planType"]
    for key, window in zip(("primary", "secondary"), quota.get("windows") or [], strict=False):
        shaped: Record = {}
        if window.get("usedPercent") is not None:
            shaped["usedPercent"] = window["usedPercent"]
        if window.get("windowMinutes") is not None:
            shaped["windowMinutes"] = window["windowMinutes"]
        if window.get("resetAt") is not None:
            shaped["resetAtMs"] = window["resetAt"]
        entry[key] = shaped
    return entry
