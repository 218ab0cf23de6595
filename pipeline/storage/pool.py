"""Everything collect reads, in one place: the accounts, the flagged accounts, the quota
cache and our verification history, from codex-multi-auth's folder or Codex CLI's login."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.storage.accounts import load_accounts
from pipeline.storage.codex_cli import load_auth_json
from pipeline.storage.files import Outcome
from pipeline.storage.flagged import FlaggedFile, load_flagged
from pipeline.storage.paths import ACCOUNTS_FILE, QUOTA_CACHE_FILE, STATE_FILE, Resolved, resolve_dir
from pipeline.storage.quota_cache import QuotaCache, load_quota_cache
from pipeline.storage.state import load_reset_credits, load_state

READABLE_STATES = ("healthy", "recovered", "empty", "intentional-reset")


@dataclass
class Pool:
    collected_at: int
    resolved: Resolved
    source: str  # codex-multi-auth | codex-cli | none
    storage_path: Path
    storage: Outcome
    format: str | None
    accounts: list[dict[str, Any]]  # stored objects, credentials included (memory only)
    current_index: int | None
    flagged: FlaggedFile
    quota: QuotaCache
    history: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    reset_credits: dict[str, dict[str, Any]] = field(default_factory=dict)  # last read with --reset-credits

    @property
    def nothing_read(self) -> bool:
        """True when no file at all could be read: the only case collect fails."""
        return self.storage.state not in READABLE_STATES and self.flagged.outcome.state not in READABLE_STATES


def read_pool(env: Mapping[str, str], now_ms: int, dir_override: str | Path | None = None) -> Pool:
    resolved = resolve_dir(env, dir_override)
    folder = resolved.dir
    accounts_path = folder / ACCOUNTS_FILE
    loaded = load_accounts(accounts_path, now_ms)
    flagged = load_flagged(folder)
    quota = load_quota_cache(folder / QUOTA_CACHE_FILE)
    history, history_warning = load_state(folder / STATE_FILE)
    warnings = list(loaded.warnings) + flagged.warnings
    if history_warning:
        warnings.append(history_warning)
    if quota.state == "invalid" and quota.details:
        warnings.append(f"{quota.details}; cached quota ignored")

    source, storage_path, storage, fmt = "codex-multi-auth", accounts_path, loaded.outcome, None
    accounts, current = loaded.accounts, loaded.current_index
    if loaded.version is not None:
        fmt = f"accounts-v{loaded.version}"
    if storage.state == "missing" and not resolved.explicit:
        auth_path = resolved.codex_home / "auth.json"
        auth_outcome, auth_accounts = load_auth_json(auth_path)
        if auth_outcome.state != "missing":
            source, storage_path, storage, fmt = "codex-cli", auth_path, auth_outcome, "codex-cli-auth"
            accounts, current = auth_accounts, (0 if auth_accounts else None)
    if storage.state == "missing" and flagged.outcome.state == "missing":
        source = "none"
    return Pool(
        now_ms,
        resolved,
        source,
        storage_path,
        storage,
        fmt,
        accounts,
        current,
        flagged,
        quota,
        history,
        warnings,
        load_reset_credits(folder / STATE_FILE),
    )
