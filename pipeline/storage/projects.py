"""Per-project pools, found by codex-multi-auth's own rules (2.8.7, `lib/storage/paths.ts`,
`lib/runtime/storage-scope.ts`, `lib/config.ts`, `lib/codex-cli/state.ts`).

* A project pool lives in ``<multi-auth folder>/projects/<key>/`` (its accounts file, its
  flagged file; the quota cache and the refresh leases stay in the multi-auth folder itself).
* codex-multi-auth uses it only when ``perProjectAccounts`` is on (``CODEX_AUTH_PER_PROJECT_ACCOUNTS``,
  else the setting in ``settings.json`` or ``config.json``; on by default) and Codex CLI sync is
  off (``CODEX_MULTI_AUTH_SYNC_CODEX_CLI=0``, or the older ``CODEX_AUTH_SYNC_CODEX_CLI=0``; on by
  default): otherwise every project shares the global pool.
* The project of a folder is the nearest folder at or above it holding ``.git``, else the
  nearest holding one of ``package.json``, ``Cargo.toml``, ``go.mod``, ``pyproject.toml``,
  ``.codex``; none: the global pool.
* A linked Git worktree (``.git`` is a file pointing into ``<repo>/.git/worktrees/<name>``,
  whose ``gitdir`` points back at it) is keyed by its main repository's folder.
* The key: the folder's base name with every run of characters other than letters, digits,
  ``.``, ``_`` and ``-`` made one ``-``, dashes trimmed from both ends (``project`` when
  nothing is left), cut to 40 characters; a dash; the first 12 hex digits of the SHA-256 of
  the folder's absolute path (``.`` and ``..`` collapsed, symbolic links kept).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECTS_DIR = "projects"
PROJECT_MARKERS = (".git", "package.json", "Cargo.toml", "go.mod", "pyproject.toml", ".codex")
KEY_HASH_DIGITS = 12
NAME_LIMIT = 40
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


def _exists(path: str) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def _absolute(path: str) -> str:
    """An absolute path with ``.``/``..`` collapsed and symbolic links kept (Node's ``resolve``)."""
    return os.path.abspath(path)


def find_project_root(start: str | os.PathLike[str]) -> str | None:
    current = _absolute(os.fspath(start))
    first_marker: str | None = None
    while True:
        if _exists(os.path.join(current, ".git")):
            return current
        if first_marker is None and any(_exists(os.path.join(current, m)) for m in PROJECT_MARKERS):
            first_marker = current
        parent = os.path.dirname(current)
        if parent == current:
            return first_marker
        current = parent


def _gitdir_pointer(text: str) -> str | None:
    first = text.splitlines()[0].strip() if text.strip() else ""
    match = re.match(r"^gitdir:\s*(.+)$", first, re.IGNORECASE)
    value = match.group(1).strip() if match else ""
    return value or None


def _resolve_from(base: str, pointer: str) -> str:
    pointer = pointer.strip().replace("\\", "/")
    if not pointer:
        return base
    return pointer if os.path.isabs(pointer) else _absolute(os.path.join(base, pointer))


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _canonical(path: str) -> str:
    try:
        return os.path.realpath(path, strict=True)
    except (OSError, ValueError):
        return _absolute(path)


def identity_root(project_root: str) -> str:
    """The folder a project's key is made from: the project itself, or for a linked Git
    worktree the main repository's folder."""
    git_entry = os.path.join(project_root, ".git")
    if not os.path.isfile(git_entry):  # missing, or a folder: an ordinary repository
        return project_root
    text = _read(git_entry)
    pointer = _gitdir_pointer(text) if text is not None else None
    if pointer is None:
        return project_root
    git_dir = _resolve_from(project_root, pointer)
    if "/.git/worktrees/" not in git_dir.replace("\\", "/").lower():
        return project_root
    back_ref_text = _read(os.path.join(git_dir, "gitdir"))
    if back_ref_text is None or not back_ref_text.strip():
        return project_root
    back_ref = _resolve_from(git_dir, back_ref_text.strip())
    if _canonical(back_ref) != _canonical(os.path.join(project_root, ".git")):
        return project_root
    common_text = _read(os.path.join(git_dir, "commondir"))
    common = _resolve_from(git_dir, common_text.strip()) if common_text and common_text.strip() else git_dir
    if not _absolute(git_dir).rstrip("/").startswith(_absolute(common).rstrip("/") + "/worktrees/"):
        return project_root
    repository = os.path.dirname(common)
    return repository if _exists(os.path.join(repository, ".git")) else project_root


def project_key(folder: str) -> str:
    import hashlib

    normalized = _absolute(folder)
    digest = hashlib.sha256(os.fsencode(normalized)).hexdigest()[:KEY_HASH_DIGITS]
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", os.path.basename(normalized)).strip("-") or "project"
    return f"{name[:NAME_LIMIT]}-{digest}"


def _flag(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def per_project_setting(env: Mapping[str, str], folder: Path) -> tuple[bool, str]:
    """``perProjectAccounts`` as codex-multi-auth reads it, and where the answer came from."""
    from_env = _flag(env.get("CODEX_AUTH_PER_PROJECT_ACCOUNTS"))
    if from_env is not None:
        return from_env, "CODEX_AUTH_PER_PROJECT_ACCOUNTS"
    config_path = env.get("CODEX_MULTI_AUTH_CONFIG_PATH", "").strip()
    sources: list[tuple[Path, str | None]] = []
    if config_path and _exists(config_path):
        sources.append((Path(config_path), None))
    else:
        sources += [(folder / "settings.json", "pluginConfig"), (folder / "config.json", None)]
    for path, section in sources:
        data = _json_object(path)
        if data is None:
            continue
        config = data.get(section) if section else data
        if isinstance(config, dict):
            value = config.get("perProjectAccounts")
            return (value, str(path)) if isinstance(value, bool) else (True, "the default")
    return True, "the default"


def codex_cli_sync(env: Mapping[str, str]) -> tuple[bool, str]:
    for name in ("CODEX_MULTI_AUTH_SYNC_CODEX_CLI", "CODEX_AUTH_SYNC_CODEX_CLI"):
        value = env.get(name, "").strip()
        if value in ("0", "1"):
            return value == "1", name
    return True, "the default"


@dataclass(frozen=True)
class ProjectScope:
    """Which pool codex-multi-auth uses for a project folder, and why."""

    given: Path  # the folder asked about
    root: str | None  # its project folder (None: no project found)
    identity: str | None  # the folder the key is made from
    key: str | None
    dir: Path | None  # <multi-auth folder>/projects/<key>
    used: bool  # True: codex-multi-auth uses dir; False: the global pool
    reason: str | None  # why the global pool, when not used


def resolve_project(
    env: Mapping[str, str], pool_folder: str | os.PathLike[str], project: str | os.PathLike[str]
) -> ProjectScope:
    folder = Path(pool_folder)
    given = Path(_absolute(os.fspath(project)))
    root = find_project_root(given)
    if root is None:
        markers = ", ".join(PROJECT_MARKERS)
        return ProjectScope(
            given, None, None, None, None, False, f"no project folder at or above it (none of {markers})"
        )
    identity = identity_root(root)
    key = project_key(identity)
    pool_dir = folder / PROJECTS_DIR / key
    per_project, per_project_from = per_project_setting(env, folder)
    sync, sync_from = codex_cli_sync(env)
    reason = None
    if sync:
        reason = f"Codex CLI sync is on ({sync_from}; CODEX_MULTI_AUTH_SYNC_CODEX_CLI=0 turns it off)"
    elif not per_project:
        reason = f"perProjectAccounts is off ({per_project_from})"
    return ProjectScope(given, root, identity, key, pool_dir, reason is None, reason)


def project_pools(folder: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """The project pools under a multi-auth folder: (key, folder), sorted by key."""
    from pipeline.storage.paths import has_account_storage

    try:
        entries = sorted(os.scandir(os.path.join(folder, PROJECTS_DIR)), key=lambda entry: entry.name)
    except OSError:
        return []
    return [(e.name, Path(e.path)) for e in entries if e.is_dir() and has_account_storage(Path(e.path))]
