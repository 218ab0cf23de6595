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
- a **money amount** (a credit balance): digits with an optional sign and decimals;
- a **plan identifier** (:func:`plan_code`): an open set (``k12``, ``ent26`` and new ones every
  month), so any lower-case word of letters, digits and ``_`` up to 40 characters that starts
  with a letter and is no known secret.

"No known secret" is checked on the text as sent and on its copies with ``-`` and ``_``
swapped (a header name is normalised that way, and so would a token be).
"""

from __future__ import annotations

import re
from functools import cache

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
CODE_SHAPE = r"[a-z]{2,16}(?:[_-][a-z]{2,16}){0,5}"
_NAME_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_]{24,}")
_AMOUNT = r"-?[0-9]{1,15}(?:\.[0-9]{1,12})?"
_KNOWN_WORD = r"[a-z_-]+"
_PLAN_SHAPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
UNRECOGNISED = "unrecognised"
# Display names of the plans we know (the identifier is shown as it is for the others).
PLAN_NAMES = {
    "free": "Free",
    "go": "Go",
    "plus": "Plus",
    "pro": "Pro",
    "prolite": "Pro Lite",
    "team": "Team",
    "business": "Business",
    "enterprise": "Enterprise",
    "edu": "Edu",
    "education": "Edu",
    "edu_plus": "Edu Plus",
    "edu_pro": "Edu Pro",
    "k12": "K-12",
    "free_workspace": "Free workspace",
    "self_serve_business_usage_based": "Business (usage-based)",
    "self_serve_business_prolite": "Business Pro Lite",
    "enterprise_cbp_usage_based": "Enterprise (usage-based)",
    "enterprise_cbp_automation": "Enterprise automation",
}


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """The shapes a default report rarely needs, compiled when first used (not at start-up)."""
    return re.compile(pattern)


def holds_secret(text: str) -> bool:
    """True when ``text``, or a copy of it with ``-`` and ``_`` swapped either way, holds a
    secret the run knows."""
    if len(text) < scrubbing.MIN_SECRET:  # shorter than any registered secret (most plans and names)
        return False
    return any(scrubbing.is_secret(variant) for variant in {text, text.replace("-", "_"), text.replace("_", "-")})


def plan_code(value: object) -> str | None:
    """A plan identifier of safe shape (:data:`_PLAN_SHAPE`, not a known secret), else ``None``.
    Plans are an open set: an unknown one is kept and shown as it is."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _PLAN_SHAPE.fullmatch(text) or holds_secret(text):
        return None
    return text


def plan_name(code: str | None) -> str | None:
    """``Pro Lite`` for ``prolite``; the identifier itself for a plan we have no name for."""
    if not code:
        return None
    return PLAN_NAMES.get(code, code)


def known_code(value: object) -> str | None:
    """``value`` when it is a known code or has a code's shape, else ``None``."""
    if not isinstance(value, str):
        return None
    if value in KNOWN_CODES:
        return value
    if len(value) <= 64 and _compiled(CODE_SHAPE).fullmatch(value) and not holds_secret(value):
        return value
    return None


def upstream_code(candidates: list[object], status: int | None) -> str | None:
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


def stored_code(value: object) -> str | None:
    """A stored reason or error string (``flaggedReason``, ``lastError``) as a code: the
    string itself when it is one, else the first known code written in it (``refresh
    failed: invalid_grant`` gives ``invalid_grant``), else ``unrecognised``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    code = known_code(text)
    if code is not None:
        return code
    for word in _compiled(_KNOWN_WORD).findall(text.lower()):
        word = str(word)
        if word in KNOWN_CODES:
            return word
    return UNRECOGNISED


def display_name(value: object) -> str | None:
    """A short human name from upstream (a limit's name), or ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _NAME_SHAPE.fullmatch(text) or _TOKEN_RUN.search(text) or holds_secret(text):
        return None
    return text


def amount(value: object) -> str | None:
    """A money amount as the service sent it (``"7.10"``), or ``None``."""
    if real(value) is not None:
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if _compiled(_AMOUNT).fullmatch(text) else None
