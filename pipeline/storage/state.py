"""Our own small state file beside the pool: re-verification history of flagged accounts
(codex-multi-auth's flagged file has no such fields) and the reset credits last read with
``--reset-credits`` (``resetCredits``: count, soonest expiry and when they were read). Keys are
identities, never tokens."""

from __future__ import annotations

import os
from typing import Any

from pipeline.numbers import whole
from pipeline.records import identity_key
from pipeline.storage.files import Unreadable, read_json
from pipeline.storage.paths import StrPath
from pipeline.vocabulary import known_code

MAX_CREDITS = 100  # reset credits kept per account (the service lists a handful)


def flagged_key(account_id: str | None, email: str | None) -> str:
    """The state file's key of a flagged account: :func:`pipeline.records.identity_key` of its
    trimmed id and e-mail (stored, so it keeps its form: ``|`` when both are missing)."""
    return identity_key((account_id or "").strip(), (email or "").strip())


def load_state(path: StrPath) -> tuple[dict[str, dict[str, Any]], str | None]:
    """``(flagged history by key, warning)``; a missing file is simply empty."""
    try:
        data = read_json(path)
    except Unreadable as exc:
        return {}, None if exc.missing else f"{exc.about(os.path.basename(path))}; verification history ignored"
    flagged = data.get("flagged") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(flagged, dict):
        return {}, f"{os.path.basename(path)} is not a version 1 state file; verification history ignored"
    return {k: v for k, v in flagged.items() if isinstance(v, dict)}, None


def load_reset_credits(path: StrPath) -> dict[str, dict[str, Any]]:
    """The reset credits last read, by identity key; nothing when the file holds none (the
    verification history's loader reports a damaged file)."""
    try:
        data = read_json(path)
    except Unreadable:
        return {}
    credits = data.get("resetCredits") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(credits, dict):
        return {}
    return {k: v for k, v in credits.items() if isinstance(k, str) and isinstance(v, dict)}


def cached_reset_credits(entry: Any) -> dict[str, Any] | None:
    """A stored entry of our state file, checked, as the record's ``resetCreditDetails``."""
    if not isinstance(entry, dict):
        return None
    read_at = whole(entry.get("readAt"))
    count = whole(entry.get("availableCount"))
    soonest = whole(entry.get("soonestExpiry")) if entry.get("soonestExpiry") is not None else None
    if read_at is None or read_at <= 0 or count is None or count < 0:
        return None
    credits = [
        {
            "status": known_code(c.get("status")),
            "grantedAt": whole(c.get("grantedAt")),
            "expiresAt": whole(c.get("expiresAt")),
        }
        for c in (entry["credits"] if isinstance(entry.get("credits"), list) else [])
        if isinstance(c, dict)
    ][:MAX_CREDITS]
    return {"source": "cache", "readAt": read_at, "availableCount": count, "soonestExpiry": soonest, "credits": credits}


def stored_reset_credits(details: dict[str, Any]) -> dict[str, Any]:
    """What the state file keeps of a live read."""
    return {k: details[k] for k in ("readAt", "availableCount", "soonestExpiry", "credits")}
