"""codex-multi-auth's quota cache (``quota-cache.json``): the last quota seen per account."""

from __future__ import annotations

import os
from typing import Any

from pipeline.numbers import instant, real
from pipeline.plain import Plain
from pipeline.storage.files import Unreadable, read_json
from pipeline.storage.paths import StrPath


class QuotaCache(Plain):
    __slots__ = ("by_account_id", "by_email", "details", "path", "state")

    def __init__(
        self,
        path: str,
        state: str,
        by_account_id: dict[str, dict[str, Any]] | None = None,
        by_email: dict[str, dict[str, Any]] | None = None,
        details: str | None = None,
    ) -> None:
        self.path = path
        self.state = state  # ok | missing | invalid
        self.by_account_id: dict[str, dict[str, Any]] = {} if by_account_id is None else by_account_id
        self.by_email: dict[str, dict[str, Any]] = {} if by_email is None else by_email
        self.details = details

    @property
    def entries(self) -> int:
        return len(self.by_account_id) + len(self.by_email)


def _number(value: Any) -> float | None:
    return real(value)


def _entry(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    model = value.get("model")
    if instant(value.get("updatedAt")) is None or _number(value.get("status")) is None:
        return None
    if not isinstance(model, str) or not model.strip():
        return None
    return value


def load_quota_cache(given: StrPath) -> QuotaCache:
    path = os.fspath(given)
    try:
        data = read_json(path)
    except Unreadable as exc:
        return QuotaCache(
            path,
            "missing" if exc.missing else "invalid",
            details=None if exc.missing else exc.about(os.path.basename(path)),
        )
    if not isinstance(data, dict) or data.get("version") != 1:
        return QuotaCache(path, "invalid", details=f"{os.path.basename(path)} is not a version 1 quota cache")
    cache = QuotaCache(path, "ok")
    for table, key in ((cache.by_account_id, "byAccountId"), (cache.by_email, "byEmail")):
        section = data.get(key)
        if not isinstance(section, dict):
            continue
        for name, value in section.items():
            entry = _entry(value)
            if entry is not None and name.strip():
                table[name.strip() if key == "byAccountId" else name.strip().lower()] = entry
    return cache


def lookup(
    cache: QuotaCache,
    account_id: str | None,
    email: str | None,
    id_counts: dict[str, int],
    email_counts: dict[str, int],
) -> dict[str, Any] | None:
    """By accountId when it is unique in the pool, else by e-mail when that is unique."""
    if account_id and id_counts.get(account_id) == 1 and account_id in cache.by_account_id:
        return cache.by_account_id[account_id]
    if email and email_counts.get(email) == 1 and email in cache.by_email:
        return cache.by_email[email]
    return None


def windows(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The cache's primary/secondary windows as record windows (position says nothing)."""
    result = []
    for key in ("primary", "secondary"):
        window = entry.get(key)
        if not isinstance(window, dict):
            continue
        minutes, used, reset = (
            real(window.get("windowMinutes")),
            real(window.get("usedPercent")),
            real(window.get("resetAtMs")),
        )
        if minutes is None and used is None and reset is None:
            continue
        result.append(
            {
                "windowMinutes": round(minutes) if minutes is not None and minutes >= 0 else None,
                "usedPercent": max(0, used) if used is not None else None,
                "resetAt": instant(reset),
            }
        )
    return result
