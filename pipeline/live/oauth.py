"""The OAuth token endpoint: spend a refresh token, get the rotated tokens back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from pipeline.live.endpoints import Endpoints
from pipeline.live.wire import code, error_code, json_body
from pipeline.numbers import whole
from pipeline.policy import HARD_REFRESH_ERRORS
from pipeline.scrubbing import remember
from pipeline.vocabulary import is_generic

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"


@dataclass(frozen=True)
class Refreshed:
    ok: bool
    tokens: dict[str, Any] | None = None  # access, refresh, expires (ms), id_token
    status: int | None = None
    code: str | None = None
    detail: str = ""
    spent: bool = False  # the request may have spent the refresh token without us learning the new one


def refresh(client: httpx.Client, endpoints: Endpoints, refresh_token: str, now: int) -> Refreshed:
    remember(refresh_token)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID}
    try:
        response = client.post(endpoints.token_url, data=form, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        return Refreshed(
            False,
            code="timeout",
            detail=f"no answer from the token endpoint within {endpoints.timeout_ms} ms",
            spent=True,
        )
    except httpx.RequestError as exc:
        spent = not isinstance(exc, httpx.ConnectError)
        return Refreshed(
            False, code="network_error", detail=f"token endpoint unreachable ({type(exc).__name__})", spent=spent
        )
    body = json_body(response.content)
    if isinstance(body, dict):
        # Whatever looks like a token in the answer is one the output must never show.
        remember(body.get("access_token"), body.get("refresh_token"), body.get("id_token"))
    if response.status_code >= 300:
        found = error_code(body, response.status_code)
        grant = code(body.get("error")) if isinstance(body, dict) else None
        if grant == "invalid_grant" and found not in HARD_REFRESH_ERRORS:
            # OAuth's own code says it all; a vendor sub-code we do not know adds nothing.
            found = grant
        return Refreshed(
            False,
            status=response.status_code,
            code=found,
            detail=f"token endpoint answered {response.status_code}" + ("" if is_generic(found) else f" {found}"),
        )
    access = body.get("access_token") if isinstance(body, dict) else None
    expires_in = whole(body.get("expires_in")) if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(access, str) or not access or expires_in is None or expires_in <= 0:
        return Refreshed(
            False,
            status=response.status_code,
            code="invalid_response",
            detail="the token endpoint's answer is not a token response",
            spent=True,
        )
    new_refresh = (
        body.get("refresh_token")
        if isinstance(body.get("refresh_token"), str) and body["refresh_token"].strip()
        else refresh_token
    )
    tokens = {"access": access, "refresh": new_refresh, "expires": now + expires_in * 1000}
    if isinstance(body.get("id_token"), str) and body["id_token"]:
        tokens["id_token"] = body["id_token"]
    return Refreshed(True, tokens=tokens, status=response.status_code)
