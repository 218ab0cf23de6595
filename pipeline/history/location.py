"""Where the history lives (no sqlite3 here: a default report resolves nothing else, and no
pathlib: the location is a string until a command opens the history)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def default_location(env: Mapping[str, str]) -> str:
    """``CODEX_AUTH_HISTORY``, else ``$XDG_STATE_HOME/codex-auth-report/history.sqlite3``
    (``XDG_STATE_HOME`` defaults to ``~/.local/state``)."""
    explicit = env.get("CODEX_AUTH_HISTORY")
    if explicit:
        return _user_path(explicit)
    state = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return _user_path(os.path.join(state, "codex-auth-report", "history.sqlite3"))


def default_path(env: Mapping[str, str]) -> Path:
    """:func:`default_location` as a :class:`~pathlib.Path`."""
    from pathlib import Path

    return Path(default_location(env))


def history_path(env: Mapping[str, str], option: str | None, disabled: bool) -> str | None:
    """``--history PATH`` / ``--no-history`` / the default."""
    if disabled:
        return None
    return _user_path(option) if option else default_location(env)


def _user_path(path: str) -> str:
    """``str(Path(path).expanduser())``."""
    from pipeline.storage.paths import clean

    return clean(os.path.expanduser(path))
