"""The writes live mode makes, all of the same shape: under a lock, re-read the file as it is
on disk now, change only our fields, and replace it atomically (temporary file in the same
folder, fsync, rename, fsync the folder, mode 0600), so that fields another process wrote
meanwhile survive and a reader never sees half a file.

Rotated refresh tokens are single-use: losing one breaks the account. Every failure here is
raised as :class:`WriteBackError` and must be reported loudly by the caller.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.output import replace_atomically
from pipeline.storage.files import parse_json, read_regular

LOCK_NAME = ".codex-auth-report.lock"
_thread_lock = threading.RLock()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class WriteBackError(Exception):
    """A file could not be updated; the message names it and says why (never a token)."""


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Serialise our writers: threads of this process, and other codex-auth-report processes
    (an advisory lock on a small file beside the pool)."""
    with _thread_lock:
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise WriteBackError(f"cannot lock {folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def writable(path: Path) -> str | None:
    """Why ``path`` cannot be replaced atomically, or None when it can."""
    folder = path.parent
    if not folder.is_dir():
        return f"{folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder} is not writable"
    if path.exists() and not os.access(path, os.R_OK):
        return f"{path} is not readable"
    return None


def write_atomic(path: Path, text: str) -> None:
    try:
        replace_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise WriteBackError(f"cannot write {path}: {exc.strerror or exc}") from None


def _read(path: Path) -> Any:
    try:
        return parse_json(read_regular(path).decode("utf-8-sig"))
    except FileNotFoundError:
        raise WriteBackError(f"{path} has disappeared") from None
    except (OSError, ValueError) as exc:
        raise WriteBackError(f"{path} cannot be read back before writing ({exc.__class__.__name__})") from None


def update_json(path: Path, change: Callable[[Any], Any], *, pretty_newline: bool = False, missing: Any = None) -> None:
    """Re-read ``path``, apply ``change`` in place (or take what it returns, when it returns
    something), write it back in the same layout (codex-multi-auth and Codex CLI write
    2-space JSON without a final newline). ``missing``: the content to start from when the
    file does not exist yet (else a missing file is an error)."""
    with locked(path.parent):
        data = json.loads(json.dumps(missing)) if missing is not None and not path.exists() else _read(path)
        replaced = change(data)
        if replaced is not None:
            data = replaced
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if _LONE_SURROGATE.search(text):  # stored half of a surrogate pair: keep it escaped, as it was
            text = json.dumps(data, indent=2)
        write_atomic(path, text + ("\n" if pretty_newline else ""))


# --- rotated tokens --------------------------------------------------------------------


def _nonblank(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _find(accounts: list[Any], old_refresh: str, account_id: str | None, email: str | None) -> dict[str, Any]:
    for account in accounts:
        if isinstance(account, dict) and _nonblank(account.get("refreshToken")) == old_refresh.strip():
            return account
    # Not found by token: another writer changed it. Find the identity instead.
    for account in accounts:
        if not isinstance(account, dict):
            continue
        same_id = account_id and _nonblank(account.get("accountId")) == account_id
        same_email = email and (_nonblank(account.get("email")) or "").lower() == email.lower()
        if (
            (account_id and email and same_id and same_email)
            or (same_id and not email)
            or (same_email and not account_id)
        ):
            return account
    raise WriteBackError("the account is no longer in the file")


def save_pool_tokens(
    path: Path, old_refresh: str, account_id: str | None, email: str | None, tokens: dict[str, Any]
) -> None:
    """Write rotated tokens into codex-multi-auth's accounts or flagged file."""

    def change(data: Any) -> None:
        accounts = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(accounts, list):
            raise WriteBackError(f"{path} no longer holds an accounts list")
        account = _find(accounts, old_refresh, account_id, email)
        account["refreshToken"] = tokens["refresh"]
        account["accessToken"] = tokens["access"]
        account["expiresAt"] = tokens["expires"]

    try:
        update_json(path, change)
    except WriteBackError as exc:
        raise WriteBackError(
            f"rotated tokens for {email or account_id or 'an account'} not saved to {path}: {exc}"
        ) from None


def save_codex_cli_tokens(path: Path, tokens: dict[str, Any], now_ms: int) -> None:
    """Write rotated tokens into Codex CLI's auth.json, as Codex CLI itself does."""

    def change(data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), dict):
            raise WriteBackError(f"{path} no longer holds tokens")
        data["tokens"]["access_token"] = tokens["access"]
        data["tokens"]["refresh_token"] = tokens["refresh"]
        if tokens.get("id_token"):
            data["tokens"]["id_token"] = tokens["id_token"]
        data["last_refresh"] = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    try:
        update_json(path, change)
    except WriteBackError as exc:
        raise WriteBackError(f"rotated tokens not saved to {path}: {exc}") from None


def stored_tokens(
    path: Path, old_refresh: str, account_id: str | None, email: str | None, *, codex_cli: bool
) -> dict[str, Any] | None:
    """The tokens on disk now for this account, when another process has rotated them since
    we read the file (so we must not spend the old refresh token)."""
    with locked(path.parent):
        try:
            data = _read(path)
        except WriteBackError:
            return None
    if codex_cli:
        stored = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(stored, dict):
            return None
        refresh = _nonblank(stored.get("refresh_token"))
        access = stored.get("access_token")
        expires = None
    else:
        accounts = data.get("accounts") if isinstance(data, dict) else None
        if not isinstance(accounts, list):
            return None
        try:
            account = _find(accounts, old_refresh, account_id, email)
        except WriteBackError:
            return None
        refresh = _nonblank(account.get("refreshToken"))
        access = account.get("accessToken")
        expires = account.get("expiresAt")
    if refresh is None or refresh == old_refresh.strip():
        return None
    return {"refresh": refresh, "access": access, "expires": expires if isinstance(expires, (int, float)) else None}
