"""codex-multi-auth's flagged-accounts file: accounts moved aside after a hard auth failure."""

from __future__ import annotations

import os
from typing import Any

from pipeline.numbers import whole
from pipeline.plain import Plain
from pipeline.scrubbing import remember_tokens
from pipeline.storage.files import Outcome, Unreadable, load_with_recovery
from pipeline.storage.paths import FLAGGED_FILE, LEGACY_FLAGGED_FILE, StrPath, present


class FlaggedFile(Plain):
    __slots__ = ("accounts", "outcome", "path", "warnings")

    def __init__(
        self,
        outcome: Outcome,
        path: str,
        accounts: list[dict[str, Any]] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.outcome = outcome
        self.path = path
        self.accounts: list[dict[str, Any]] = [] if accounts is None else accounts
        self.warnings: list[str] = [] if warnings is None else warnings


def load_flagged(folder: StrPath) -> FlaggedFile:
    path = os.path.join(folder, FLAGGED_FILE)
    legacy = os.path.join(folder, LEGACY_FLAGGED_FILE)
    warnings: list[str] = []
    outcome, value = load_with_recovery(path, lambda d: _normalize(d, warnings), wal=False, is_empty=lambda v: not v)
    if outcome.state == "missing" and present(legacy):
        # codex-multi-auth migrates the old name on its next load; until then we read it.
        outcome, value = load_with_recovery(
            legacy, lambda d: _normalize(d, warnings), wal=False, is_empty=lambda v: not v
        )
        path = legacy
    return FlaggedFile(outcome, path, value or [], warnings)


def _normalize(data: Any, warnings: list[str]) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise Unreadable("is not a JSON object")
    version = whole(data.get("version"))
    if version != 1:
        shown = version if version is not None else "(not a whole number)"
        raise Unreadable(f"has unknown format version {shown} (known: 1)")
    raw = data.get("accounts")
    if not isinstance(raw, list):
        raise Unreadable("has no accounts list")
    # One record per refresh token, the last one winning (codex-multi-auth's rule).
    by_token: dict[str, dict[str, Any]] = {}
    for position, account in enumerate(raw):
        remember_tokens(account)
        token = account.get("refreshToken") if isinstance(account, dict) else None
        if not isinstance(token, str) or not token.strip():
            warnings.append(f"flagged accounts[{position}] has no refresh token; skipped")
            continue
        by_token[token.strip()] = account
    return list(by_token.values())
