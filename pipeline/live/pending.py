"""The question every run asks, cheaply: could a rotated token be waiting outside storage?

It takes a stat call or two and imports nothing heavy, so a default report pays almost
nothing for it; only when a token journal or a lease folder is there does the run read them
(:mod:`pipeline.live.recovery`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipeline.storage.paths import StrPath, parent
from pipeline.storage.pool import Pool

JOURNAL_NAME = "codex-auth-report-token-journal.ndjson"


def journal_folder(pool: Pool) -> str:
    """Where the journal lives: beside the storage file (the pool folder, or Codex CLI's home)."""
    return parent(pool.storage_path) if pool.source != "none" else pool.resolved.dir


def lease_folder(pool_dir: StrPath, env: Mapping[str, str]) -> str:
    """codex-multi-auth's refresh-lease folder (``CODEX_AUTH_REFRESH_LEASE_DIR`` overrides it)."""
    folder = env.get("CODEX_AUTH_REFRESH_LEASE_DIR", "").strip()
    return folder if folder else os.path.join(pool_dir, "refresh-leases")


def leases_enabled(env: Mapping[str, str]) -> bool:
    return env.get("CODEX_AUTH_REFRESH_LEASE", "1").strip() != "0"


def may_be_waiting(pool: Pool, env: Mapping[str, str]) -> bool:
    """False when no rotated token can be waiting: no journal, and no lease folder to hold a
    result (Codex CLI knows no lease)."""
    if pool.source == "none":
        return False
    if os.path.exists(os.path.join(journal_folder(pool), JOURNAL_NAME)):
        return True
    if pool.source == "codex-cli" or not leases_enabled(env):
        return False
    return os.path.isdir(lease_folder(pool.resolved.dir, env))
