"""Where codex-multi-auth keeps its files, resolved the way codex-multi-auth resolves them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pipeline.plain import Frozen

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


def present(path: Path) -> bool:
    """``path.exists()`` that says False, not raises, when a folder on the way is closed to us."""
    try:
        return path.exists()
    except OSError:
        return False


def is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def is_regular(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


class Resolved(Frozen):
    """The storage folder, and how it was found (for messages)."""

    __slots__ = ("codex_home", "dir", "explicit", "how")
    dir: Path
    how: str
    explicit: bool  # chosen by --dir or CODEX_MULTI_AUTH_DIR: no auth.json fallback
    codex_home: Path

    def __init__(self, dir: Path, how: str, explicit: bool, codex_home: Path) -> None:
        object.__setattr__(self, "dir", dir)
        object.__setattr__(self, "how", how)
        object.__setattr__(self, "explicit", explicit)
        object.__setattr__(self, "codex_home", codex_home)


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def user_home(env: Mapping[str, str]) -> Path:
    home = _env(env, "HOME")
    return Path(home) if home else Path(os.path.expanduser("~"))


def codex_home(env: Mapping[str, str]) -> Path:
    value = _env(env, "CODEX_HOME")
    return Path(value) if value else user_home(env) / ".codex"


def has_account_storage(folder: Path) -> bool:
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
                and is_regular(folder / name)
            ):
                return True
    return False


def _has_signals(folder: Path) -> bool:
    return any(present(folder / name) for name in _SIGNAL_FILES) or is_folder(folder / "projects")


def resolve_dir(env: Mapping[str, str], override: str | os.PathLike[str] | None = None) -> Resolved:
    """``--dir``, else ``CODEX_MULTI_AUTH_DIR``, else codex-multi-auth's own search."""
    home_codex = codex_home(env)
    if override is not None:
        return Resolved(Path(override).absolute(), "--dir", True, home_codex)
    explicit = _env(env, "CODEX_MULTI_AUTH_DIR")
    if explicit:
        return Resolved(Path(explicit).absolute(), "CODEX_MULTI_AUTH_DIR", True, home_codex)
    home = user_home(env)
    primary = home_codex / "multi-auth"
    default_codex = home / ".codex"
    if _env(env, "CODEX_HOME") and os.path.normpath(home_codex) != os.path.normpath(default_codex):
        return Resolved(primary, "CODEX_HOME", False, home_codex)
    candidates: list[Path] = []
    for candidate in (primary, home / "DevTools/config/codex/multi-auth", default_codex / "multi-auth", default_codex):
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
