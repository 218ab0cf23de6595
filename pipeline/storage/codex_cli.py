"""Codex CLI's own login (``$CODEX_HOME/auth.json``), read as a one-account pool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.clock import parse_iso_ms
from pipeline.scrubbing import remember_tokens
from pipeline.storage import jwt
from pipeline.storage.files import Outcome, Unreadable, read_json


def load_auth_json(given: str | os.PathLike[str]) -> tuple[Outcome, list[dict[str, Any]]]:
    path = Path(given)
    """The login as an account object shaped like codex-multi-auth's (tokens included,
    in memory only), plus ``lastRefreshAt`` from ``last_refresh``."""
    try:
        data = read_json(path)
    except Unreadable as exc:
        state = "missing" if exc.missing else "corrupt"
        return Outcome(state, details=exc.about(path.name)), []
    if not isinstance(data, dict):
        return Outcome("corrupt", details=f"{path.name} is not a JSON object"), []
    tokens = data.get("tokens")
    remember_tokens(data)
    remember_tokens(tokens)
    if not isinstance(tokens, dict) or not any(
        isinstance(tokens.get(k), str) and tokens[k] for k in ("access_token", "refresh_token")
    ):
        if isinstance(data.get("OPENAI_API_KEY"), str) and data["OPENAI_API_KEY"]:
            return Outcome("empty", details=f"{path.name} holds an API-key login, not a ChatGPT account"), []
        return Outcome("empty", details=f"{path.name} holds no ChatGPT tokens"), []
    id_claims = jwt.claims(tokens.get("id_token"))
    access_claims = jwt.claims(tokens.get("access_token"))
    account: dict[str, Any] = {
        "accountId": tokens.get("account_id") if isinstance(tokens.get("account_id"), str) else None,
        "email": jwt.email(id_claims) or jwt.email(access_claims),
        "refreshToken": tokens.get("refresh_token"),
        "accessToken": tokens.get("access_token"),
        "idToken": tokens.get("id_token"),
        "enabled": True,
        "lastRefreshAt": parse_iso_ms(data.get("last_refresh")),
        "planType": jwt.plan_type(id_claims) or jwt.plan_type(access_claims),
    }
    return Outcome("healthy"), [account]
