"""Putting rotated tokens into storage, and the other writes live mode makes.

Every write goes through :func:`pipeline.live.atomic.update`: re-read the file as it is on disk
now, change only our fields, replace it atomically, and merge again when another process
wrote it meanwhile, so that fields another process wrote survive and a reader never sees half
a file. Files keep the layout their owners write (2-space JSON, no final newline for the
accounts, flagged and ``auth.json`` files).

Rotated tokens go into **every** record that holds the spent refresh token, in every file it
appears in: the accounts file (duplicates included: codex-multi-auth keeps whichever copy was
used last), the flagged file and Codex CLI's ``auth.json``. A record is found by the hash of
its refresh token, and follows the journal's chain (a record holding a token spent twice
since gets the newest tokens), so a stale copy put back by another writer is brought forward.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.live import atomic
from pipeline.live.atomic import WriteError
from pipeline.live.journal import Rotation, token_hash

ACCOUNTS, FLAGGED, CODEX_CLI = "accounts", "flagged", "codex-cli"
MAX_CHAIN = 64

WriteBackError = WriteError  # the name callers know


@dataclass(frozen=True)
class Target:
    """A file that can hold refresh tokens, and its format."""

    path: Path
    kind: str  # accounts | flagged | codex-cli


def writable(path: Path) -> str | None:
    """Why ``path`` cannot be replaced atomically, or None when it can."""
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    if path.exists() and not os.access(path, os.R_OK):
        return f"{path} is not readable"
    return None


def _parse(path: Path, raw: bytes | None) -> Any:
    if raw is None:
        raise WriteError(f"{path} has disappeared")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WriteError(f"{path} cannot be read back before writing ({exc.__class__.__name__})") from None


def _dump(data: Any, newline: bool = False) -> bytes:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if _LONE_SURROGATE.search(text):  # stored half of a surrogate pair: keep it escaped, as it was
        text = json.dumps(data, indent=2)
    return (text + ("\n" if newline else "")).encode("utf-8")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def update_json(path: Path, change: Callable[[Any], Any], *, pretty_newline: bool = False, missing: Any = None) -> None:
    """Re-read ``path``, apply ``change`` in place (or take what it returns, when it returns
    something), write it back in the same layout. ``missing``: the content to start from when
    the file does not exist yet (else a missing file is an error)."""

    def apply(raw: bytes | None) -> bytes:
        data = json.loads(json.dumps(missing)) if raw is None and missing is not None else _parse(path, raw)
        replaced = change(data)
        return _dump(replaced if replaced is not None else data, pretty_newline)

    atomic.update(path, apply)


# --- rotated tokens --------------------------------------------------------------------


def _nonblank(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def records(kind: str, data: Any) -> list[dict[str, Any]]:
    """The token-holding objects of a parsed file."""
    if kind == CODEX_CLI:
        tokens = data.get("tokens") if isinstance(data, dict) else None
        return [tokens] if isinstance(tokens, dict) else []
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        return []
    return [a for a in accounts if isinstance(a, dict)]


def refresh_of(kind: str, record: Mapping[str, Any]) -> str | None:
    return _nonblank(record.get("refresh_token" if kind == CODEX_CLI else "refreshToken"))


def newest(rotations: Mapping[str, Rotation], spent: str) -> Rotation | None:
    """The last rotation of the chain that starts by spending ``spent`` (None: not spent)."""
    found = None
    key = spent
    for _ in range(MAX_CHAIN):
        rotation = rotations.get(key)
        if rotation is None:
            break
        found = rotation
        if rotation.next == key:
            break  # the answer kept the refresh token: nothing was spent
        key = rotation.next
    return found


def _put(kind: str, record: dict[str, Any], rotation: Rotation, now: int) -> None:
    if kind == CODEX_CLI:
        record["access_token"] = rotation.access
        record["refresh_token"] = rotation.refresh
        if rotation.id_token:
            record["id_token"] = rotation.id_token
        return
    record["refreshToken"] = rotation.refresh
    record["accessToken"] = rotation.access
    record["expiresAt"] = rotation.expires
    if rotation.id_token and "idToken" in record:
        record["idToken"] = rotation.id_token


@dataclass
class Applied:
    records: int = 0  # records given newer tokens
    spent: set[str] | None = None  # the spent hashes they held


def apply(target: Target, rotations: Mapping[str, Rotation], now: int) -> Applied:
    """Give every record of ``target`` that holds a spent refresh token the newest tokens of
    its chain. Writes only when something changes; raises :class:`WriteError`."""
    result = Applied(0, set())

    def change(raw: bytes | None) -> bytes | None:
        result.records, result.spent = 0, set()
        if raw is None:
            return None  # nothing to give tokens to
        data = _parse(target.path, raw)
        for record in records(target.kind, data):
            token = refresh_of(target.kind, record)
            if token is None:
                continue
            spent = token_hash(token)
            rotation = newest(rotations, spent)
            if rotation is None:
                continue
            _put(target.kind, record, rotation, now)
            result.records += 1
            result.spent.add(spent)
        if not result.records:
            return None
        if target.kind == CODEX_CLI and isinstance(data, dict):
            data["last_refresh"] = datetime.fromtimestamp(now / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return _dump(data)

    def rescue(new: bytes, theirs: bytes, ours: bytes | None) -> bytes:
        return _rescue_added(target.kind, new, theirs, ours)

    atomic.update(target.path, change, rescue=None if target.kind == CODEX_CLI else rescue)
    return result


def _account_key(record: Mapping[str, Any]) -> str | None:
    return _nonblank(record.get("accountId")) or _nonblank(record.get("email"))


def _rescue_added(kind: str, new: bytes, theirs: bytes, ours: bytes | None) -> bytes:
    """``new`` with the accounts another writer had added in ``theirs`` (absent from ``ours``,
    the file we had merged with) put back where ``new`` lacks them: that writer may have read
    our file in the moment it stood in place of its own, and saved without them. Accounts are
    known by their accountId (else e-mail); one with neither is left as it is."""
    try:
        data, their_data = json.loads(new), json.loads(theirs)
        our_data = json.loads(ours) if ours is not None else None
    except ValueError:  # not JSON (or not UTF-8): nothing we can put back
        return new
    accounts = data.get("accounts") if isinstance(data, dict) else None
    their_accounts = their_data.get("accounts") if isinstance(their_data, dict) else None
    if not isinstance(accounts, list) or not isinstance(their_accounts, list):
        return new
    known = {_account_key(a) for a in records("accounts", our_data)} if our_data is not None else set()
    present = {_account_key(a) for a in records("accounts", data)}
    added = [
        a for a in records("accounts", their_data) if (k := _account_key(a)) and k not in known and k not in present
    ]
    if not added:
        return new
    accounts.extend(added)
    return _dump(data)


def held(target: Target) -> list[tuple[str, dict[str, Any]]]:
    """(hash of the refresh token, record) for every record of ``target`` now (read-only;
    empty when the file is missing or unreadable)."""
    try:
        seen = atomic.read_seen(target.path)
    except WriteError:
        return []
    if seen is None:
        return []
    try:
        data = json.loads(seen.data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return []
    found = []
    for record in records(target.kind, data):
        token = refresh_of(target.kind, record)
        if token is not None:
            found.append((token_hash(token), record))
    return found


def find_account(
    target: Target, spent: str, account_id: str | None, email: str | None
) -> tuple[str, dict[str, Any]] | None:
    """The record that holds the refresh token with hash ``spent``; else the one with the same
    identity (another process has rotated its token since we read the file); else None."""
    holding = held(target)
    for digest, record in holding:
        if digest == spent:
            return digest, record
    for digest, record in holding:
        if target.kind == CODEX_CLI:
            return digest, record
        same_id = account_id and _nonblank(record.get("accountId")) == account_id
        same_email = email and (_nonblank(record.get("email")) or "").lower() == email.lower()
        if (
            (account_id and email and same_id and same_email)
            or (same_id and not email)
            or (same_email and not account_id)
        ):
            return digest, record
    return None


def stored_tokens(record: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The tokens of a stored record, in the shape refresh answers have."""
    if kind == CODEX_CLI:
        return {"access": record.get("access_token"), "refresh": refresh_of(kind, record), "expires": None}
    expires = record.get("expiresAt")
    return {
        "access": record.get("accessToken"),
        "refresh": refresh_of(kind, record),
        "expires": expires if isinstance(expires, (int, float)) and not isinstance(expires, bool) else None,
    }
