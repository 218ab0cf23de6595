"""Our own small state file beside the pool: re-verification history of flagged accounts
(codex-multi-auth's flagged file has no such fields). Keys are identities, never tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.storage.files import Unreadable, read_json


def flagged_key(account_id: str | None, email: str | None) -> str:
    return f"{(account_id or '').strip()}|{(email or '').strip().lower()}"


def load_state(path: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """``(flagged history by key, warning)``; a missing file is simply empty."""
    try:
        data = read_json(path)
    except Unreadable as exc:
        return {}, None if exc.missing else f"{exc.about(path.name)}; verification history ignored"
    flagged = data.get("flagged") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(flagged, dict):
        return {}, f"{path.name} is not a version 1 state file; verification history ignored"
    return {k: v for k, v in flagged.items() if isinstance(v, dict)}, None
