"""collect: read the account pool from disk, read-only.

Input: codex-multi-auth's storage folder (or Codex CLI's auth.json); no stdin.
Output: one ``pool`` record, then ``account`` records in pool order, then ``flagged``
records (schemas/pool.json, account.json, flagged.json).

    codex-auth collect --dir ~/.codex/multi-auth | jq -c 'select(.kind=="account")'

Records carry facts about tokens (expiry, last refresh), never the tokens themselves:
every field below is picked by name from the stored objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from pipeline.errors import PERMISSION_DENIED
from pipeline.numbers import whole
from pipeline.pool_record import storage_problem
from pipeline.records import Record
from pipeline.storage import jwt
from pipeline.storage.identity import identity_of, token_facts
from pipeline.storage.identity import ms_or_none as _ms
from pipeline.storage.identity import text_or_none as _text
from pipeline.storage.paths import join, parent
from pipeline.storage.pool import Pool, other_pools
from pipeline.storage.quota_cache import lookup
from pipeline.storage.state import cached_reset_credits, flagged_key
from pipeline.visible import visible
from pipeline.visible import visible_or_none as _shown
from pipeline.vocabulary import plan_code, stored_code


def note_pending_tokens(pool: Pool, env: Mapping[str, str]) -> None:
    """Add the storage warning for rotated tokens that the token journal (or a refresh lease
    result) holds and storage lacks; reads only."""
    from pipeline.live.pending import may_be_waiting

    if not may_be_waiting(pool, env):
        return
    from pipeline.live.recovery import pending_note  # reads the journal and the lease results

    note = pending_note(pool, env)
    if note is not None and note not in pool.warnings:
        pool.warnings.append(note)


def collect(pool: Pool, *, release: bool = False) -> Iterator[Record]:
    """The records of a pool that :func:`pipeline.storage.pool.read_pool` has read. With
    ``release``, the pool is the records' alone: each stored account is let go once its
    record is made (``pool.accounts`` is left empty), so that a large pool's stored objects
    and its records are not all in memory at once."""
    yield pool_record(pool)
    identities = [identity_of(account) for account in pool.accounts]
    id_counts: dict[str, int] = {}
    email_counts: dict[str, int] = {}
    for account_id, email, _ in identities:
        if account_id:
            id_counts[account_id] = id_counts.get(account_id, 0) + 1
        if email:
            email_counts[email.lower()] = email_counts.get(email.lower(), 0) + 1
    stored = pool.accounts
    if release:
        pool.accounts = []
        stored.reverse()  # popped from the end, in the pool's order
    for index, (account_id, email, email_source) in enumerate(identities):
        account = stored.pop() if release else stored[index]
        entry = lookup(pool.quota, account_id, email.lower() if email else None, id_counts, email_counts)
        yield account_record(pool, index, account, account_id, email, email_source, entry)
        del account
    for index, account in enumerate(pool.flagged.accounts):
        yield flagged_record(pool, index, account)


def pool_record(pool: Pool) -> Record:
    flagged = pool.flagged
    return {
        "kind": "pool",
        "schemaVersion": 1,
        "collectedAt": pool.collected_at,
        "source": pool.source,
        "dir": str(pool.resolved.dir),
        "storage": {
            "path": str(pool.storage_path),
            "state": pool.storage.state,
            "format": pool.format,
            "recoveredFrom": str(pool.storage.recovered_from) if pool.storage.recovered_from else None,
            "details": pool.storage.details,
        },
        "flaggedStorage": {
            "path": str(flagged.path),
            "state": flagged.outcome.state,
            "format": "flagged-v1" if flagged.outcome.state in ("healthy", "recovered", "empty") else None,
            "recoveredFrom": str(flagged.outcome.recovered_from) if flagged.outcome.recovered_from else None,
            "details": flagged.outcome.details,
        },
        "quotaCache": {
            "path": str(pool.quota.path),
            "state": pool.quota.state,
            "entries": pool.quota.entries,
            "details": pool.quota.details,
        },
        "currentIndex": pool.current_index,
        "accountCount": len(pool.accounts),
        "flaggedCount": len(flagged.accounts),
        "warnings": [visible(warning) for warning in pool.warnings],
        **({"project": project_record(pool)} if pool.project is not None else {}),
    }


def project_record(pool: Pool) -> Record:
    scope = pool.project
    assert scope is not None
    return {
        "path": str(scope.given),
        "root": scope.identity,
        "key": scope.key,
        "dir": str(scope.dir) if scope.dir is not None else None,
        "scope": "project" if scope.used else "global",
        "reason": scope.reason,
    }


def account_record(
    pool: Pool,
    index: int,
    account: dict[str, Any],
    account_id: str | None,
    email: str | None,
    email_source: str | None,
    cache_entry: Record | None,
) -> Record:
    """The account's record; ``cache_entry`` is its quota from the cache (:func:`lookup`),
    the record's own."""
    access_claims = jwt.claims(account.get("accessToken"))
    quota = cache_entry
    plan = plan_code(_text(account.get("planType"))) or jwt.plan_type(access_claims)
    if plan is None and quota is not None:
        plan = quota["planType"]
    record: Record = {
        "kind": "account",
        "index": index,
        "accountId": _shown(account_id),
        "email": _shown(email),
        "emailSource": email_source,
        "label": _shown(_text(account.get("accountLabel"))),
        "workspace": _shown(_workspace(account)),
        "enabled": account.get("enabled") is not False,
        "isCurrent": index == pool.current_index,
        "addedAt": _ms(account.get("addedAt")),
        "lastUsed": _ms(account.get("lastUsed")),
        "plan": plan,
        "token": token_facts(account, access_claims),
        "rateLimit": {
            "resetTimes": _reset_times(account.get("rateLimitResetTimes")),
            "coolingDownUntil": _ms(account.get("coolingDownUntil")),
            "cooldownReason": stored_code(account.get("cooldownReason")),
        },
        "authInvalidatedAt": _ms(account.get("authInvalidatedAt")),
        "authInvalidationErrorCode": stored_code(account.get("authInvalidationErrorCode")),
        "quota": quota,
    }
    if pool.reset_credits:  # merged only when there are any: a merge copies the record
        record |= _reset_credits(pool, account_id, email)
    return record


def _reset_credits(pool: Pool, account_id: str | None, email: str | None) -> Record:
    """The reset credits last read with --reset-credits (our state file), when there are any:
    the default report shows them without asking the service."""
    entries = pool.reset_credits
    if not entries:
        return {}
    details = cached_reset_credits(entries.get(flagged_key(account_id, email)))
    return {"resetCreditDetails": details} if details is not None else {}


def flagged_record(pool: Pool, index: int, account: dict[str, Any]) -> Record:
    account_id, email, _ = identity_of(account)
    history = pool.history.get(flagged_key(account_id, email), {})
    count = whole(history.get("verificationCount"))
    return {
        "kind": "flagged",
        "index": index,
        "accountId": _shown(account_id),
        "email": _shown(email),
        "label": _shown(_text(account.get("accountLabel"))),
        "flaggedAt": _ms(account.get("flaggedAt")),
        "flaggedReason": stored_code(account.get("flaggedReason")),
        "lastError": stored_code(account.get("lastError")),
        "lastVerified": _ms(history.get("lastVerified")),
        "verificationCount": count if count is not None and count >= 0 else 0,
    }


def messages(pool: Pool) -> list[str]:
    """What a person should read on stderr about this pool (empty when all is well)."""
    lines = []
    storage = pool.storage
    where = f"{pool.storage_path}"
    if storage.state == "missing":
        if pool.source == "none":
            folder = parent(pool.storage_path)
            if os.path.isdir(folder):
                found = "no accounts file, WAL or backup in it"
            elif os.path.exists(folder):
                found = "it is a file, not a folder"
            else:
                found = "the folder does not exist"
            scope = pool.project
            if scope is not None and scope.used:
                lines.append(
                    f"no account storage for the project {scope.identity} in {scope.dir} (its key {scope.key}): "
                    f"{found}; log in with codex-multi-auth in that project, or leave out --project for the global pool"
                )
                lines.extend(f"warning: {warning}" for warning in pool.warnings)
                return lines
            if scope is not None:
                lines.append(f"for {scope.given}, codex-multi-auth uses the global pool: {scope.reason}")
            fallback = (
                ""
                if pool.resolved.explicit or scope is not None
                else f", nor a Codex CLI login at {join(pool.resolved.codex_home, 'auth.json')}"
            )
            others = other_pools(pool, pool.collected_at)
            if others:
                listed = ", ".join(f"{key} ({count} account{'s' if count != 1 else ''})" for key, count in others)
                hint = (
                    f"; codex-multi-auth keeps per-project pools there: {listed}; "
                    "read one with --project PATH (the project's folder) or CODEX_AUTH_PROJECT, "
                    f"or --dir {join(folder, 'projects')}/KEY"
                )
            else:
                hint = "; log in with codex-multi-auth, or point --dir or CODEX_MULTI_AUTH_DIR at your pool"
            lines.append(
                f"no account storage found in {folder} (chosen by {pool.resolved.how}): {found}{fallback}{hint}"
            )
        else:
            lines.append(f"no accounts file: {storage.details}")
    elif storage.state == "corrupt":
        lines.append(f"{storage_problem(storage.details)} in {parent(pool.storage_path)}: {storage.details}")
    elif storage.state == "empty":
        lines.append(f"the pool has no accounts: {where}" + (f" ({storage.details})" if storage.details else ""))
    elif storage.state == "intentional-reset":
        lines.append(f"the pool was reset on purpose and has no accounts: {storage.details} in {pool.resolved.dir}")
    elif storage.state == "recovered":
        lines.append(f"recovered accounts: {storage.details} (no file was changed; run codex-multi-auth to repair it)")
    flagged = pool.flagged.outcome
    if flagged.state == "corrupt":
        what = "cannot be read" if PERMISSION_DENIED in (flagged.details or "") else "is corrupt"
        lines.append(f"flagged accounts file {what} in {parent(pool.flagged.path)}: {flagged.details}")
    elif flagged.state == "recovered":
        lines.append(f"recovered flagged accounts: {flagged.details} (no file was changed)")
    lines.extend(f"warning: {warning}" for warning in pool.warnings)
    return lines


def _workspace(account: dict[str, Any]) -> str | None:
    spaces = account.get("workspaces")
    if not isinstance(spaces, list) or not spaces:
        return None
    position = whole(account.get("currentWorkspaceIndex"))
    if position is None or not 0 <= position < len(spaces):
        position = 0
    chosen = spaces[position] if isinstance(spaces[position], dict) else None
    return _text(chosen.get("name")) if chosen else None


def _reset_times(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(key): ms for key, raw in value.items() if (ms := _ms(raw)) is not None}
