"""Where codex-multi-auth keeps its files, resolved the way codex-multi-auth resolves them.

Paths here and in the storage readers are strings (``os.path``): pathlib costs a default
report more to import and use than the rest of its storage reading. Every function that takes
a path also takes a :class:`os.PathLike` (``StrPath``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeAlias

from pipeline.plain import Frozen

StrPath: TypeAlias = "str | os.PathLike[str]"

ACCOUNTS_FILE = "openai-codex-accounts.json"
LEGACY_ACCOUNTS_FILE = "codex-accounts.json"
FLAGGED_FILE = "openai-codex-flagged-accounts.json"
LEGACY_FLAGGED_FILE = "openai-codex-blocked-accounts.json"
QUOTA_CACHE_FILE = "quota-cache.json"
STATE_FILE = "codex-auth-report-state.json"  # ours: flagged re-verification history
RESET_MARKER_SUFFIX = ".reset-intent"
WAL_SUFFIX = ".wal"
BACKUP_SUFFIXES = (".bak", ".bak.1", ".bak.2")
_SIGNAL_FILES = (ACCOUNTS_FILE, LEGACY_ACCOUNTS_FILE, "settings.json", "config.json", "dashboard-settings.json")


def present(path: StrPath) -> bool:
    """Whether ``path`` exists (False, never an error, when a folder on the way is closed to us)."""
    return os.path.exists(path)


def is_folder(path: StrPath) -> bool:
    return os.path.isdir(path)


def is_regular(path: StrPath) -> bool:
    return os.path.isfile(path)


def join(folder: str, name: str) -> str:
    """``folder / name`` for string paths."""
    return os.path.join(folder, name)


def parent(path: str) -> str:
    """The folder holding ``path`` (``Path(path).parent``, as a string)."""
    return os.path.dirname(path) or "."


def name(path: str) -> str:
    """The last part of ``path`` (``Path(path).name``)."""
    return os.path.basename(path)


def absolute(path: StrPath) -> str:
    """``Path(path).absolute()``, as a string (no symbolic link resolved, ``..`` kept)."""
    text = clean(os.fspath(path))
    if os.path.isabs(text):
        return text
    return os.getcwd() if text == "." else os.path.join(os.getcwd(), text)


class Resolved(Frozen):
    """The storage folder, and how it was found (for messages)."""

    __slots__ = ("codex_home", "dir", "explicit", "how")
    dir: str
    how: str
    explicit: bool  # chosen by --dir or CODEX_MULTI_AUTH_DIR: no auth.json fallback
    codex_home: str

    def __init__(self, dir: str, how: str, explicit: bool, codex_home: str) -> None:
        object.__setattr__(self, "dir", dir)
        object.__setattr__(self, "how", how)
        object.__setattr__(self, "explicit", explicit)
        object.__setattr__(self, "codex_home", codex_home)


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def user_home(env: Mapping[str, str]) -> str:
    home = _env(env, "HOME")
    return clean(home if home else os.path.expanduser("~"))


def codex_home(env: Mapping[str, str]) -> str:
    value = _env(env, "CODEX_HOME")
    return clean(value) if value else join(user_home(env), ".codex")


def clean(path: str) -> str:
    """``str(Path(path))``: repeated and trailing slashes and ``.`` parts dropped (``..`` kept)."""
    if not path:
        return "."
    cleaned = "/".join(part for part in path.split("/") if part not in ("", "."))
    if path.startswith("/"):
        return "//" + cleaned if path.startswith("//") and not path.startswith("///") else "/" + cleaned
    return cleaned or "."


def has_account_storage(folder: StrPath) -> bool:
    """True when the folder holds an accounts file, its WAL, or one of its backups."""
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        for base in (ACCOUNTS_FILE, LEGACY_ACCOUNTS_FILE):
            if name in (base, base + WAL_SUFFIX):
                return True
            if (
                name.startswith(base + ".")
                and not name.endswith(".tmp")
                and ".rotate." not in name
                and is_regular(os.path.join(folder, name))
            ):
                return True
    return False


def _has_signals(folder: str) -> bool:
    return any(present(join(folder, name)) for name in _SIGNAL_FILES) or is_folder(join(folder, "projects"))


def resolve_dir(env: Mapping[str, str], override: StrPath | None = None) -> Resolved:
    """``--dir``, else ``CODEX_MULTI_AUTH_DIR``, else codex-multi-auth's own search."""
    home_codex = codex_home(env)
    if override is not None:
        return Resolved(absolute(override), "--dir", True, home_codex)
    explicit = _env(env, "CODEX_MULTI_AUTH_DIR")
    if explicit:
        return Resolved(absolute(explicit), "CODEX_MULTI_AUTH_DIR", True, home_codex)
    home = user_home(env)
    primary = join(home_codex, "multi-auth")
    default_codex = join(home, ".codex")
    if _env(env, "CODEX_HOME") and os.path.normpath(home_codex) != os.path.normpath(default_codex):
        return Resolved(primary, "CODEX_HOME", False, home_codex)
    candidates: list[str] = []
    for candidate in (
        primary,
        join(home, "DevTools/config/codex/multi-auth"),
        join(default_codex, "multi-auth"),
        default_codex,
    ):
        if all(os.path.normpath(candidate) != os.path.normpath(seen) for seen in candidates):
            candidates.append(candidate)
    for candidate in candidates:
        if has_account_storage(candidate):
            how = "default" if candidate == primary else "fallback"
            return Resolved(candidate, how, False, home_codex)
    if _has_signals(primary):
        return Resolved(primary, "default", False, home_codex)
    for candidate in candidates[1:]:
        if _has_signals(candidate):
            return Resolved(candidate, "fallback", False, home_codex)
    return Resolved(primary, "default", False, home_codex)
