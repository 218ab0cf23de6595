"""The ChatGPT backend's two quota calls: ``GET /wham/usage`` (the default, spends nothing)
and ``POST /codex/responses`` (reads the ``x-codex-*`` headers, only on explicit request).
Every answer becomes a :class:`Probed`; see :mod:`pipeline.live.wire` for the translation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from pipeline.live.endpoints import Endpoints
from pipeline.live.wire import error_code, header_quota, json_body, reset_of_429, usage_quota
from pipeline.records import ProbeOutcome
from pipeline.scrubbing import remember
from pipeline.vocabulary import is_generic


@dataclass(frozen=True)
class Probed:
    outcome: ProbeOutcome  # ok | rate-limited | auth-failed | timeout | network-error | http-error
    status: int | None
    latency_ms: int
    code: str | None = None
    detail: str | None = None
    quota: dict[str, Any] | None = None
    reset_at: int | None = None


def _failure(response: httpx.Response, latency: int, now: int) -> Probed:
    body = json_body(response.content)
    status = response.status_code
    code = error_code(body, status)
    if status == 429:
        return Probed(
            "rate-limited",
            status,
            latency,
            code if code and not code.startswith("http_") else "usage_limit_reached",
            "the service answered 429 (usage limit reached)",
            reset_at=reset_of_429(body, now),
        )
    if status in (401, 403):
        return Probed(
            "auth-failed",
            status,
            latency,
            code,
            f"the service refused the token ({status}{'' if is_generic(code) else ' ' + str(code)})",
        )
    return Probed(
        "http-error", status, latency, code, f"the service answered {status}" + ("" if is_generic(code) else f" {code}")
    )


def _transport_failure(exc: httpx.RequestError, endpoints: Endpoints, latency: int) -> Probed:
    if isinstance(exc, httpx.TimeoutException):
        return Probed("timeout", None, latency, None, f"no answer within {endpoints.timeout_ms} ms")
    return Probed("network-error", None, latency, None, f"connection failed ({type(exc).__name__})")


def _headers(token: str, account_id: str | None) -> dict[str, str]:
    remember(token)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if account_id:
        headers["ChatGPT-Account-Id"] = account_id
    return headers


def probe_usage(
    client: httpx.Client, endpoints: Endpoints, token: str, account_id: str | None, model: str, now: int
) -> Probed:
    """``GET /wham/usage``: plan, windows, credits and per-model limits; spends no quota."""
    started = time.perf_counter()
    try:
        response = client.get(endpoints.usage_url, headers=_headers(token, account_id))
    except httpx.RequestError as exc:
        return _transport_failure(exc, endpoints, _elapsed(started))
    latency = _elapsed(started)
    if response.status_code != 200:
        return _failure(response, latency, now)
    body = json_body(response.content)
    if not isinstance(body, dict):
        return Probed("http-error", 200, latency, None, "the usage answer is not JSON")
    rate = body.get("rate_limit")
    if rate is not None and not isinstance(rate, dict):
        return Probed("http-error", 200, latency, None, "the usage answer has an unexpected shape")
    quota = usage_quota(body, model, now)
    reached = quota["limitReached"] is True
    blocked = quota.get("modelBlocked") is True
    detail = None
    if reached:
        detail = "the service reports the usage limit reached"
    elif blocked:
        detail = "the service reports the probe model used up"
    return Probed(
        "rate-limited" if reached or blocked else "ok",
        200,
        latency,
        None,
        detail,
        quota,
        reset_at=quota.get("modelAvailableAt") if blocked and not reached else None,
    )


INSTRUCTIONS = "You are a quota probe. Reply with the single word: ok."


def probe_responses(
    client: httpx.Client, endpoints: Endpoints, token: str, account_id: str | None, model: str, now: int
) -> Probed:
    """``POST /codex/responses``: reads the x-codex-* quota headers. Spends a few tokens and
    can start an unstarted window, so it runs only on explicit request."""
    headers = _headers(token, account_id)
    headers.update(
        {"OpenAI-Beta": "responses=experimental", "originator": "codex_cli_rs", "Accept": "text/event-stream"}
    )
    payload = {
        "model": model,
        "stream": True,
        "store": False,
        "instructions": INSTRUCTIONS,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ping"}]}],
        "reasoning": {"effort": "low", "summary": "auto"},
        "text": {"verbosity": "low"},
    }
    started = time.perf_counter()
    try:
        with client.stream("POST", endpoints.responses_url, headers=headers, json=payload) as response:
            latency = _elapsed(started)
            status = response.status_code
            quota = header_quota(response.headers, model, now, status)
            if quota is None:
                response.read()
                if status == 200:
                    return Probed("http-error", status, latency, None, "the answer carried no quota headers")
                # A 429 without the headers still says usage_limit_reached and when it resets.
                return _failure(response, latency, now)
    except httpx.RequestError as exc:
        return _transport_failure(exc, endpoints, _elapsed(started))
    if status == 429 or quota["limitReached"]:
        return Probed(
            "rate-limited", status, latency, "usage_limit_reached", "the service reports the usage limit reached", quota
        )
    if status in (401, 403):
        return Probed("auth-failed", status, latency, None, f"the service refused the token ({status})", quota)
    if status >= 300:
        return Probed("http-error", status, latency, None, f"the service answered {status}", quota)
    return Probed("ok", status, latency, None, None, quota)


def _elapsed(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
