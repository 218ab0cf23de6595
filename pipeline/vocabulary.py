"""Only known words from upstream: what of a service answer or a stored error string may
reach a record.

An upstream body can hold anything, a token included (a 401 answering ``{"detail": "<the
token>"}``). So nothing of it is copied except:

- an **error code** that is a word of :data:`KNOWN_CODES`, or has the shape of one
  (:data:`CODE_SHAPE`: lower-case letters in one to six words joined by ``_`` or ``-``, each
  word 2 to 16 letters, no digits; a token never looks like that) and is not a secret the
  run knows (:mod:`pipeline.scrubbing`); any other code becomes ``http_<status>`` (or, for
  text from storage, the known word it contains, else ``unrecognised``);
- a **display name** (a per-model limit's name such as ``GPT-5.3-Codex-Spark``): up to 64
  characters of letters, digits, spaces and ``._()+-``, with no run of 24 or more letters,
  digits and underscores (tokens are such runs) and no known secret;
- a **money amount** (a credit balance): digits with an optional sign and decimals.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline import scrubbing
from pipeline.numbers import real

KNOWN_CODES = frozenset(
    {
        # OAuth refresh (RFC 6749 and the token endpoint's own)
        "invalid_grant",
        "invalid_request",
        "invalid_client",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "refresh_token_reused",
        "refresh_token_expired",
        "refresh_token_invalidated",
        "missing_refresh",
        # the backend
        "token_invalidated",
        "token_expired",
        "invalid_token",
        "deactivated_workspace",
        "usage_not_included",
        "usage_limit_reached",
        "rate_limit_exceeded",
        "rate_limit_reached",
        "workspace_owner_credits_depleted",
        "workspace_member_credits_depleted",
        "workspace_owner_usage_limit_reached",
        "workspace_member_usage_limit_reached",
        "model_not_found",
        "unsupported_model",
        "server_error",
        # codex-multi-auth's stored reasons
        "token-invalid",
        # ours
        "timeout",
        "network_error",
        "invalid_response",
        "write_back_failed",
    }
)
CODE_SHAPE = re.compile(r"[a-z]{2,16}(?:[_-][a-z]{2,16}){0,5}")
_NAME_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_]{24,}")
_AMOUNT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,12})?")
_KNOWN_WORD = re.compile(r"[a-z_-]+")
UNRECOGNISED = "unrecognised"


def known_code(value: Any) -> str | None:
    """``value`` when it is a known code or has a code's shape, else ``None``."""
    if not isinstance(value, str):
        return None
    if value in KNOWN_CODES:
        return value
    if len(value) <= 64 and CODE_SHAPE.fullmatch(value) and not scrubbing.is_secret(value):
        return value
    return None


def upstream_code(candidates: list[Any], status: int | None) -> str | None:
    """The first acceptable code among ``candidates`` (the fields a body may name its error
    in); ``http_<status>`` when the body offered codes but none is acceptable; ``None`` when
    it offered none."""
    offered = False
    for value in candidates:
        if value is None:
            continue
        offered = True
        code = known_code(value)
        if code is not None:
            return code
    if not offered:
        return None
    return f"http_{status}" if status is not None else UNRECOGNISED


def is_generic(code: str | None) -> bool:
    """True for the codes we put in place of words we did not take (``http_401``)."""
    return code is None or code.startswith("http_") or code == UNRECOGNISED


def stored_code(value: Any) -> str | None:
    """A stored reason or error string (``flaggedReason``, ``lastError``) as a code: the
    string itself when it is one, else the first known code written in it (``refresh
    failed: invalid_grant`` gives ``invalid_grant``), else ``unrecognised``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    code = known_code(text)
    if code is not None:
        return code
    for word in _KNOWN_WORD.findall(text.lower()):
        word = str(word)
        if word in KNOWN_CODES:
            return word
    return UNRECOGNISED


def display_name(value: Any) -> str | None:
    """A short human name from upstream (a limit's name), or ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _NAME_SHAPE.fullmatch(text) or _TOKEN_RUN.search(text) or scrubbing.is_secret(text):
        return None
    return text


def amount(value: Any) -> str | None:
    """A money amount as the service sent it (``"7.10"``), or ``None``."""
    if real(value) is not None:
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if _AMOUNT.fullmatch(text) else None
