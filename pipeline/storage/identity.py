"""Who an account is and what its tokens say, as the records show it: the account id and
e-mail (stored, else from the access token's claims) and facts about the tokens (expiry,
last refresh), never the tokens themselves. Shared by ``collect`` and the live probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.numbers import instant
from pipeline.storage import jwt

if TYPE_CHECKING:
    from pipeline.records import TokenFacts


def token_facts(account: dict[str, Any], access_claims: dict[str, Any] | None) -> TokenFacts:
    access = account.get("accessToken")
    expires = ms_or_none(account.get("expiresAt")) or jwt.instant_ms(access_claims, "exp")
    refreshed, source = ms_or_none(account.get("lastRefreshAt")), "last_refresh"
    if refreshed is None:
        refreshed, source = jwt.instant_ms(access_claims, "iat"), "access-token-iat"
    return {
        # bytes: the stand-in of a token (pipeline.storage.jwt.stand_in), never blank
        "hasAccessToken": isinstance(access, (str, bytes)) and bool(access.strip()),
        "hasRefreshToken": isinstance(account.get("refreshToken"), str) and bool(account["refreshToken"].strip()),
        "accessExpiresAt": expires,
        "lastRefreshAt": refreshed,
        "lastRefreshSource": source if refreshed is not None else None,
    }


def identity_of(account: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(accountId, email, where the e-mail came from), as the records show them. The access
    token is decoded only when the stored id or e-mail is missing."""
    account_id = text_or_none(account.get("accountId"))
    email = text_or_none(account.get("email"))
    if account_id and email:
        return account_id, email, "stored"
    claims = jwt.claims(account.get("accessToken"))
    account_id = account_id or jwt.account_id(claims)
    if email:
        return account_id, email, "stored"
    email = jwt.email(claims)
    return account_id, email, "token" if email else None


ms_or_none = instant
"""Positive epoch milliseconds up to the end of the year 9999 as an int; anything else
(bools, NaN, 10^30, 2^63 - 1) None (:func:`pipeline.numbers.instant` itself: a layer less on
each of the half dozen a record reads)."""


def text_or_none(value: Any) -> str | None:
    """A string with its surrounding white space removed; blank or not a string: None."""
    if not isinstance(value, str):
        return None
    value = value.strip()  # once: this runs a dozen times for each account
    return value or None
