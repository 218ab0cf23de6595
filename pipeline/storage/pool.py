"""Everything collect reads, in one place: the accounts, the flagged accounts, the quota
cache and our verification history, from codex-multi-auth's folder or Codex CLI's login."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipeline.plain import Plain
from pipeline.storage.accounts import load_accounts
from pipeline.storage.files import Outcome
from pipeline.storage.flagged import FlaggedFile, load_flagged
from pipeline.storage.paths import (
    ACCOUNTS_FILE,
    QUOTA_CACHE_FILE,
    STATE_FILE,
    Resolved,
    StrPath,
    has_account_storage,
    join,
    resolve_dir,
)
from pipeline.storage.quota_cache import QuotaCache, load_quota_cache
from pipeline.storage.state import load_reset_credits, load_state

if TYPE_CHECKING:
    from pipeline.storage.projects import ProjectScope

PROJECT_VAR = "CODEX_AUTH_PROJECT"  # the project whose pool to read, like --project
READABLE_STATES = ("healthy", "recovered", "empty", "intentional-reset")


class Pool(Plain):
    __slots__ = (
        "accounts",
        "collected_at",
        "current_index",
        "flagged",
        "format",
        "history",
        "project",
        "quota",
        "reset_credits",
        "resolved",
        "source",
        "storage",
        "storage_path",
        "warnings",
    )

    def __init__(
        self,
        collected_at: int,
        resolved: Resolved,
        source: str,
        storage_path: str,
        storage: Outcome,
        format: str | None,
        accounts: list[dict[str, Any]],
        current_index: int | None,
        flagged: FlaggedFile,
        quota: QuotaCache,
        history: dict[str, dict[str, Any]],
        warnings: list[str] | None = None,
        reset_credits: dict[str, dict[str, Any]] | None = None,
        project: ProjectScope | None = None,
    ) -> None:
        self.collected_at = collected_at
        self.resolved = resolved
        self.source = source  # codex-multi-auth | codex-cli | none
        self.storage_path = storage_path
        self.storage = storage
        self.format = format
        self.accounts = accounts  # stored objects, credentials included (memory only)
        self.current_index = current_index
        self.flagged = flagged
        self.quota = quota
        self.history = history
        self.warnings: list[str] = [] if warnings is None else warnings
        # last read with --reset-credits
        self.reset_credits: dict[str, dict[str, Any]] = {} if reset_credits is None else reset_credits
        self.project = project  # asked for with --project or CODEX_AUTH_PROJECT

    @property
    def nothing_read(self) -> bool:
        """True when no file at all could be read: the only case collect fails."""
        return self.storage.state not in READABLE_STATES and self.flagged.outcome.state not in READABLE_STATES


def read_pool(
    env: Mapping[str, str],
    now_ms: int,
    dir_override: StrPath | None = None,
    project: StrPath | None = None,
    *,
    tokens: bool = True,
) -> Pool:
    """The pool in the multi-auth folder (``--dir``, ``CODEX_MULTI_AUTH_DIR`` or the default
    search); with ``project`` (or ``CODEX_AUTH_PROJECT``) the pool codex-multi-auth uses for
    that project: its ``projects/<key>/`` pool, or the global one when its rules say so.
    ``tokens`` False: for a run that sends no token (the access tokens kept as their claims,
    see :func:`pipeline.storage.accounts.load_accounts`)."""
    resolved = resolve_dir(env, dir_override)
    if project is None and env.get(PROJECT_VAR, "").strip():
        project = env[PROJECT_VAR].strip()
    scope = None
    if project is not None:
        from pipeline.storage.projects import resolve_project

        scope = resolve_project(env, resolved.dir, project)
    folder = os.fspath(scope.dir) if scope is not None and scope.used and scope.dir is not None else resolved.dir
    accounts_path = join(folder, ACCOUNTS_FILE)
    loaded = load_accounts(accounts_path, now_ms, tokens=tokens)
    flagged = load_flagged(folder)
    quota = load_quota_cache(join(resolved.dir, QUOTA_CACHE_FILE))  # one cache for every pool of the folder
    history, history_warning = load_state(join(folder, STATE_FILE))
    warnings = list(loaded.warnings) + flagged.warnings
    if history_warning:
        warnings.append(history_warning)
    if quota.state == "invalid" and quota.details:
        warnings.append(f"{quota.details}; cached quota ignored")
    if scope is not None and not scope.used and scope.dir is not None and has_account_storage(scope.dir):
        warnings.append(
            f"codex-multi-auth uses the global pool for {scope.identity}: {scope.reason}; "
            f"its project pool {scope.key} was not read (--dir {scope.dir} reads it)"
        )

    source, storage_path, storage, fmt = "codex-multi-auth", accounts_path, loaded.outcome, None
    accounts, current = loaded.accounts, loaded.current_index
    if loaded.version is not None:
        fmt = f"accounts-v{loaded.version}"
    if storage.state == "missing" and not resolved.explicit and scope is None:
        from pipeline.storage.codex_cli import load_auth_json  # the Codex CLI's login: only without a pool

        auth_path = join(resolved.codex_home, "auth.json")
        auth_outcome, auth_accounts = load_auth_json(auth_path)
        if auth_outcome.state != "missing":
            source, storage_path, storage, fmt = "codex-cli", auth_path, auth_outcome, "codex-cli-auth"
            accounts, current = auth_accounts, (0 if auth_accounts else None)
    if storage.state == "missing" and flagged.outcome.state == "missing":
        source = "none"
    pool = Pool(
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
        load_reset_credits(join(folder, STATE_FILE)),
    )
    pool.project = scope
    return pool


def other_pools(pool: Pool, now_ms: int) -> list[tuple[str, int]]:
    """The project pools beside a global pool that is missing: (key, account count)."""
    if pool.project is not None and pool.project.used:
        return []
    from pipeline.storage.projects import project_pools

    found = []
    for key, folder in project_pools(pool.resolved.dir):
        found.append((key, len(load_accounts(os.path.join(folder, ACCOUNTS_FILE), now_ms).accounts)))
    return found
