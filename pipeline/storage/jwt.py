"""Read (never verify) the claims of the JWTs the OAuth service issues."""

from __future__ import annotations

import binascii
from typing import Any

import orjson

from pipeline.numbers import instant, real
from pipeline.vocabulary import plan_code

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"
_URLSAFE = bytes.maketrans(b"-_", b"+/")  # base64url to base64, as base64.urlsafe_b64decode does


def claims(token: object) -> dict[str, Any] | None:
    """The payload of a three-part JWT (or of a :func:`stand_in`), or None when the token is not one."""
    if type(token) is bytes:  # a stand_in: the claims' JSON, no base64 to undo (storage holds str)
        value: dict[str, Any] = orjson.loads(token)
        return value
    return _claims(token)[0]


def _claims(token: object) -> tuple[dict[str, Any] | None, bool]:
    """:func:`claims`, and whether orjson parsed them (then orjson writes them back exactly:
    it reads no NaN, no infinity and no integer beyond 64 bits)."""
    if not isinstance(token, str):
        return None, False
    # exactly two dots: found from the left (str.find is a memchr, str.count a loop over all of it)
    start = token.find(".") + 1
    stop = token.find(".", start) if start else -1
    if stop == -1 or token.find(".", stop + 1) != -1:
        return None, False
    part = token[start:stop]
    if not part:
        return None, False
    payload = part + "=" * (-len(part) % 4)
    try:
        raw = binascii.a2b_base64(payload.encode("ascii").translate(_URLSAFE))
    except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
        return None, False
    exact = True
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:  # what orjson refuses, the standard parser may take (NaN)
        import json

        exact = False
        try:
            decoded = json.loads(raw)
        except ValueError:
            return None, False
    return (decoded, exact) if isinstance(decoded, dict) else (None, False)


def _auth(payload: dict[str, Any]) -> dict[str, Any]:
    value = payload.get(AUTH_CLAIM)
    return value if isinstance(value, dict) else {}


def account_id(payload: dict[str, Any] | None) -> str | None:
    if not payload:
        return None
    value = _auth(payload).get("chatgpt_account_id")
    return value if isinstance(value, str) and value.strip() else None


def plan_type(payload: dict[str, Any] | None) -> str | None:
    if not payload:
        return None
    value = _auth(payload).get("chatgpt_plan_type")
    return plan_code(value)


def email(payload: dict[str, Any] | None) -> str | None:
    """The e-mail claim, lower-cased, from wherever the service put it."""
    if not payload:
        return None
    profile = payload.get(PROFILE_CLAIM)
    auth = _auth(payload)
    for value in (
        payload.get("email"),
        profile.get("email") if isinstance(profile, dict) else None,
        auth.get("email"),
        auth.get("chatgpt_user_email"),
        payload.get("preferred_username"),
    ):
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()
    return None


def instant_ms(payload: dict[str, Any] | None, claim: str) -> int | None:
    """A NumericDate claim (exp, iat: seconds) as milliseconds."""
    if not payload:
        return None
    value = real(payload.get(claim))
    if value is None or value <= 0:
        return None
    return instant(value * 1000)


_READ = ("exp", "iat", "email", "preferred_username")
_READ_AUTH = ("chatgpt_account_id", "chatgpt_plan_type", "email", "chatgpt_user_email")


def stand_in(token: object) -> bytes | None:
    """For an access token that this run reads but never sends (a default report): bytes, the
    JSON of the claims this module reads (tokens read from storage are str), that
    :func:`claims` reads as it reads the token, so that every function here answers the same
    for it, in a tenth of the memory (real access tokens are 1.5 to 2 KB) and without a second
    base64 pass. None when the token is not a JWT or the claims do not survive the copy."""
    payload, exact = _claims(token)
    if payload is None:
        return None
    small = {key: payload[key] for key in _READ if key in payload}
    for claim, keys in ((AUTH_CLAIM, _READ_AUTH), (PROFILE_CLAIM, ("email",))):
        if claim in payload:
            value = payload[claim]
            small[claim] = {key: value[key] for key in keys if key in value} if isinstance(value, dict) else value
    try:
        encoded = orjson.dumps(small)
    except TypeError:
        return None
    if not exact and orjson.loads(encoded) != small:  # a claim orjson cannot write as it was read (NaN, say)
        return None
    return bytes(memoryview(encoded))  # a copy of its size: orjson's answer keeps the room it grew
