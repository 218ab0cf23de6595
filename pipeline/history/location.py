"""Where the history lives (no sqlite3 here: a default report resolves nothing else)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def default_path(env: Mapping[str, str]) -> Path:
    """``CODEX_AUTH_HISTORY``, else ``$XDG_STATE_HOME/codex-auth-report/history.sqlite3``
    (``XDG_STATE_HOME`` defaults to ``~/.local/state``)."""
    explicit = env.get("CODEX_AUTH_HISTORY")
    if explicit:
        return Path(explicit).expanduser()
    state = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(state) / "codex-auth-report" / "history.sqlite3"


def history_path(env: Mapping[str, str], option: str | None, disabled: bool) -> Path | None:
    """``--history PATH`` / ``--no-history`` / the default."""
    if disabled:
        return None
    return Path(option).expanduser() if option else default_path(env)
