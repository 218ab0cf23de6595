"""The two services live mode talks to: the ChatGPT backend (quota) and the OAuth token
endpoint (refresh). Every answer becomes a small result object; nothing of an upstream body
is passed on except a sanitised error code (bodies can hold tokens)."""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from pipeline import __version__
from pipeline.errors import ConfigError
from pipeline.policy import HARD_REFRESH_ERRORS

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
DEFAULT_BASE_URL = "https://chatgpt.com/backend-api"
DEFAULT_TOKEN_URL = "https://auth.openai.com/oauth/token"
DEFAULT_TIMEOUT_MS = 15_000
USER_AGENT = f"codex-auth-report/{__version__}"
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class Endpoints:
    base_url: str
    token_url: str
    timeout_ms: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Endpoints:
        base = (env.get("CODEX_AUTH_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        token = (env.get("CODEX_AUTH_TOKEN_URL") or DEFAULT_TOKEN_URL).strip()
        raw_timeout = (env.get("CODEX_AUTH_FETCH_TIMEOUT_MS") or "").strip()
        try:
            timeout = int(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_MS
        except ValueError:
            raise ConfigError(f"CODEX_AUTH_FETCH_TIMEOUT_MS: {raw_timeout!r} is not a number of milliseconds") from None
        if timeout <= 0:
            raise ConfigError("CODEX_AUTH_FETCH_TIMEOUT_MS must be positive")
        check_url(base, "CODEX_AUTH_BASE_URL")
        check_url(token, "CODEX_AUTH_TOKEN_URL")
        return cls(base, token, timeout)

    @property
    def usage_url(self) -> str:
        # The official client's rule: ChatGPT path style under /backend-api, else Codex API style.
        return f"{self.base_url}/wham/usage" if "/backend-api" in self.base_url else f"{self.base_url}/api/codex/usage"

    @property
    def responses_url(self) -> str:
        return (
            f"{self.base_url}/codex/responses"
            if "/backend-api" in self.base_url
            else f"{self.base_url}/api/codex/responses"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, name: str) -> None:
    """Tokens go over https, or over plain http only to this machine (tests, the demo)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ConfigError(
        f"{name}: {url!r} must be an https URL (plain http only to loopback): tokens would travel in the clear"
    )


def make_client(endpoints: Endpoints, concurrency: int, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The live client; ``transport`` (tests: the in-process fake backend) replaces the network."""
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    return httpx.Client(
        timeout=httpx.Timeout(endpoints.timeout_ms / 1000),
        limits=limits,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,
        transport=transport,
    )


def _code(value: Any) -> str | None:
    return value if isinstance(value, str) and _CODE.fullmatch(value) else None


def _body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def error_code(body: Any) -> str | None:
    """The service's error code from a JSON body (``error.code``, ``code``, ``error``)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return _code(error.get("code")) or _code(error.get("type"))
    return _code(body.get("code")) or _code(error) or _code(body.get("detail"))


# --- refresh ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    ok: bool
    tokens: dict[str, Any] | None = None  # access, refresh, expires (ms), id_token
    status: int | None = None
    code: str | None = None
    detail: str = ""
    spent: bool = False  # the request may have spent the refresh token without us learning the new one


def refresh(client: httpx.Client, endpoints: Endpoints, refresh_token: str, now_ms: int) -> Refreshed:
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
    body = _body(response)
    if response.status_code >= 300:
        code = error_code(body)
        grant = _code(body.get("error")) if isinstance(body, dict) else None
        if grant == "invalid_grant" and code not in HARD_REFRESH_ERRORS:
            # OAuth's own code says it all; a vendor sub-code we do not know adds nothing.
            code = grant
        return Refreshed(
            False,
            status=response.status_code,
            code=code,
            detail=f"token endpoint answered {response.status_code}" + (f" {code}" if code else ""),
        )
    access = body.get("access_token") if isinstance(body, dict) else None
    expires_in = body.get("expires_in") if isinstance(body, dict) else None
    if (
        not isinstance(access, str)
        or not access
        or isinstance(expires_in, bool)
        or not isinstance(expires_in, int)
        or expires_in <= 0
    ):
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
    tokens = {"access": access, "refresh": new_refresh, "expires": now_ms + expires_in * 1000}
    if isinstance(body.get("id_token"), str) and body["id_token"]:
        tokens["id_token"] = body["id_token"]
    return Refreshed(True, tokens=tokens, status=response.status_code)


# --- quota probes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Probed:
    outcome: str  # ok | rate-limited | auth-failed | timeout | network-error | http-error
    status: int | None
    latency_ms: int
    code: str | None = None
    detail: str | None = None
    quota: dict[str, Any] | None = None
    reset_at: int | None = None


def _norm(name: str | None) -> str:
    return re.sub(r"[\s_]+", "-", (name or "").strip().lower())


def _failure(response: httpx.Response, latency: int, now_ms: int) -> Probed:
    body = _body(response)
    code = error_code(body)
    status = response.status_code
    if status == 429:
        reset = None
        error = body.get("error") if isinstance(body, dict) else None
        source = error if isinstance(error, dict) else body if isinstance(body, dict) else {}
        if isinstance(source.get("resets_at"), (int, float)) and not isinstance(source.get("resets_at"), bool):
            reset = int(source["resets_at"] * 1000)
        elif isinstance(source.get("resets_in_seconds"), (int, float)) and not isinstance(
            source.get("resets_in_seconds"), bool
        ):
            reset = now_ms + int(source["resets_in_seconds"] * 1000)
        return Probed(
            "rate-limited",
            status,
            latency,
            code or "usage_limit_reached",
            "the service answered 429 (usage limit reached)",
            reset_at=reset,
        )
    if status in (401, 403):
        return Probed(
            "auth-failed",
            status,
            latency,
            code,
            f"the service refused the token ({status}{' ' + code if code else ''})",
        )
    return Probed("http-error", status, latency, code, f"the service answered {status}" + (f" {code}" if code else ""))


def _transport_failure(exc: httpx.RequestError, endpoints: Endpoints, latency: int) -> Probed:
    if isinstance(exc, httpx.TimeoutException):
        return Probed("timeout", None, latency, None, f"no answer within {endpoints.timeout_ms} ms")
    return Probed("network-error", None, latency, None, f"connection failed ({type(exc).__name__})")


def _headers(token: str, account_id: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if account_id:
        headers["ChatGPT-Account-Id"] = account_id
    return headers


def probe_usage(
    client: httpx.Client, endpoints: Endpoints, token: str, account_id: str | None, model: str, now_ms: int
) -> Probed:
    """``GET /wham/usage``: plan, windows, credits and per-model limits; spends no quota."""
    started = time.perf_counter()
    try:
        response = client.get(endpoints.usage_url, headers=_headers(token, account_id))
    except httpx.RequestError as exc:
        return _transport_failure(exc, endpoints, _elapsed(started))
    latency = _elapsed(started)
    if response.status_code != 200:
        return _failure(response, latency, now_ms)
    body = _body(response)
    if not isinstance(body, dict):
        return Probed("http-error", 200, latency, None, "the usage answer is not JSON")
    rate = body.get("rate_limit")
    if rate is not None and not isinstance(rate, dict):
        return Probed("http-error", 200, latency, None, "the usage answer has an unexpected shape")
    quota = usage_quota(body, model, now_ms)
    reached = quota["limitReached"] is True
    return Probed(
        "rate-limited" if reached else "ok",
        200,
        latency,
        None,
        "the service reports the usage limit reached" if reached else None,
        quota,
    )


def _window(raw: Any, now_ms: int) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    seconds = raw.get("limit_window_seconds")
    minutes = math.ceil(seconds / 60) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None
    if minutes is not None and minutes <= 0:
        return None
    used = raw.get("used_percent")
    used = max(0.0, float(used)) if isinstance(used, (int, float)) and not isinstance(used, bool) else None
    reset = None
    if (
        isinstance(raw.get("reset_at"), (int, float))
        and not isinstance(raw.get("reset_at"), bool)
        and raw["reset_at"] > 0
    ):
        reset = int(raw["reset_at"] * 1000) if raw["reset_at"] < 1e11 else int(raw["reset_at"])
    elif isinstance(raw.get("reset_after_seconds"), (int, float)) and not isinstance(
        raw.get("reset_after_seconds"), bool
    ):
        reset = now_ms + int(raw["reset_after_seconds"] * 1000)
    if used is None and minutes is None:
        return None
    return {"windowMinutes": minutes, "usedPercent": _number(used), "resetAt": reset}


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _windows(rate: Any, now_ms: int) -> list[dict[str, Any]]:
    if not isinstance(rate, dict):
        return []
    return [
        w for w in (_window(rate.get("primary_window"), now_ms), _window(rate.get("secondary_window"), now_ms)) if w
    ]


def usage_quota(body: dict[str, Any], model: str, now_ms: int) -> dict[str, Any]:
    raw_rate = body.get("rate_limit")
    rate: dict[str, Any] = raw_rate if isinstance(raw_rate, dict) else {}
    reached = rate.get("limit_reached")
    if rate.get("allowed") is False:
        reached = True
    kind = body.get("rate_limit_reached_type")
    additional = []
    model_limit = None
    for extra in body.get("additional_rate_limits") or []:
        if not isinstance(extra, dict):
            continue
        limit_id = _code(extra.get("metered_feature")) or _norm(extra.get("limit_name")) or "unknown"
        raw_extra = extra.get("rate_limit")
        extra_rate: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
        limit: dict[str, Any] = {
            "limitId": limit_id,
            "limitName": extra.get("limit_name") if isinstance(extra.get("limit_name"), str) else None,
            "limitReached": extra_rate.get("limit_reached")
            if isinstance(extra_rate.get("limit_reached"), bool)
            else None,
            "windows": _windows(extra_rate, now_ms),
        }
        additional.append(limit)
        if model_limit is None and _norm(model) in (_norm(limit["limitName"]), _norm(limit_id)):
            model_limit = limit
    credits = body.get("credits")
    quota: dict[str, Any] = {
        "source": "live",
        "sampledAt": now_ms,
        "httpStatus": 200,
        "model": model,
        "planType": body.get("plan_type") if isinstance(body.get("plan_type"), str) else None,
        "limitReached": reached if isinstance(reached, bool) else None,
        "limitReachedType": _code(kind.get("kind")) if isinstance(kind, dict) else None,
        "windows": _windows(rate, now_ms),
        "credits": {
            "hasCredits": credits.get("has_credits") if isinstance(credits.get("has_credits"), bool) else None,
            "unlimited": credits.get("unlimited") if isinstance(credits.get("unlimited"), bool) else None,
            "balance": str(credits["balance"])
            if isinstance(credits.get("balance"), (str, int, float)) and not isinstance(credits.get("balance"), bool)
            else None,
        }
        if isinstance(credits, dict)
        else None,
        "modelLimit": model_limit,
        "additionalLimits": additional,
    }
    extras = usage_extras(body, now_ms)
    review = extras.pop("codeReviewLimit", None)
    if review is not None:
        quota["additionalLimits"].append(review)
    return quota | extras


def usage_extras(body: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """What the usage answer added in 2026, translated on its own (easy to move): monthly
    spend controls (``spend_control``: ``reached``, ``reached_limit_type``, and each
    ``*_limit`` with its used and remaining percent and reset), the reset credits the account
    holds (``rate_limit_reset_credits``; only read, never redeemed) and the code-review limit
    (``code_review_rate_limit``, one more per-feature limit). A reached spend limit stops the
    account like a reached rate limit."""
    extras: dict[str, Any] = {"spendControl": None, "resetCredits": None}
    spend = body.get("spend_control")
    if isinstance(spend, dict):
        limits = []
        for key in sorted(spend):
            raw = spend[key]
            if not key.endswith("_limit") or not isinstance(raw, dict) or not _CODE.fullmatch(key):
                continue
            used, remaining = _percent(raw.get("used_percent")), _percent(raw.get("remaining_percent"))
            if used is None and remaining is not None:
                used = _number(max(0.0, 100.0 - remaining))
            window = _window(
                {
                    "used_percent": used,
                    "reset_at": raw.get("reset_at"),
                    "reset_after_seconds": raw.get("reset_after_seconds"),
                },
                now_ms,
            )
            limits.append(
                {
                    "limitType": key.removesuffix("_limit"),
                    "usedPercent": used,
                    "remainingPercent": remaining,
                    "resetAt": window["resetAt"] if window else None,
                    "windowMinutes": None,
                }
            )
        reached = spend.get("reached") if isinstance(spend.get("reached"), bool) else None
        reached_type = _code(spend.get("reached_limit_type"))
        extras["spendControl"] = {"reached": reached, "reachedLimitType": reached_type, "limits": limits}
        if reached:
            extras["limitReached"] = True
            extras["limitReachedType"] = _code(_kind(body)) or "spend_control_reached"
    credits = body.get("rate_limit_reset_credits")
    if isinstance(credits, dict):
        extras["resetCredits"] = {
            "availableCount": _count(credits.get("available_count")),
            "applicableAvailableCount": _count(credits.get("applicable_available_count")),
        }
    review = body.get("code_review_rate_limit")
    if isinstance(review, dict):
        reached_review = review.get("limit_reached")
        extras["codeReviewLimit"] = {
            "limitId": "code_review",
            "limitName": "Code review",
            "limitReached": reached_review if isinstance(reached_review, bool) else None,
            "windows": _windows(review, now_ms),
        }
    return extras


def _kind(body: dict[str, Any]) -> Any:
    kind = body.get("rate_limit_reached_type")
    return kind.get("kind") if isinstance(kind, dict) else None


def _percent(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return _number(max(0.0, float(value)))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


INSTRUCTIONS = "You are a quota probe. Reply with the single word: ok."


def probe_responses(
    client: httpx.Client, endpoints: Endpoints, token: str, account_id: str | None, model: str, now_ms: int
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
            quota = header_quota(response.headers, model, now_ms, status)
            if quota is None:
                response.read()
                if status in (200, 429):
                    return Probed("http-error", status, latency, None, "the answer carried no quota headers")
                return _failure(response, latency, now_ms)
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


def _header_window(headers: httpx.Headers, prefix: str, now_ms: int) -> dict[str, Any] | None:
    try:
        used = float(headers[f"{prefix}-used-percent"])
    except (KeyError, ValueError):
        return None
    if not math.isfinite(used):
        return None
    minutes_text = headers.get(f"{prefix}-window-minutes", "")
    minutes = int(minutes_text) if minutes_text.strip().isdigit() else 0
    reset = None
    after = headers.get(f"{prefix}-reset-after-seconds", "").strip()
    at = headers.get(f"{prefix}-reset-at", "").strip()
    if after.isdigit() and int(after) > 0:
        reset = now_ms + int(after) * 1000
    elif at.isdigit() and int(at) > 0:
        reset = int(at) * 1000 if int(at) < 1e11 else int(at)
    # The official rule: a window exists when its numbers say anything at all.
    if used == 0 and minutes == 0 and reset is None:
        return None
    return {"windowMinutes": minutes or None, "usedPercent": _number(max(0.0, used)), "resetAt": reset}


def header_quota(headers: httpx.Headers, model: str, now_ms: int, status: int) -> dict[str, Any] | None:
    families = sorted(
        {
            name[len("x-codex-") : -len("-primary-used-percent")].rstrip("-")
            for name in headers
            if name.startswith("x-codex-") and name.endswith("primary-used-percent")
        }
    )
    if not families:
        return None

    def windows(family: str) -> list[dict[str, Any]]:
        base = f"x-codex-{family}-" if family else "x-codex-"
        return [
            w
            for w in (
                _header_window(headers, base + "primary", now_ms),
                _header_window(headers, base + "secondary", now_ms),
            )
            if w
        ]

    additional = []
    model_limit = None
    active = _norm(headers.get("x-codex-active-limit"))
    for family in families:
        if not family:
            continue
        limit_id = family.lower().replace("-", "_")
        limit = {
            "limitId": limit_id,
            "limitName": headers.get(f"x-codex-{family}-limit-name"),
            "limitReached": None,
            "windows": windows(family),
        }
        additional.append(limit)
        if model_limit is None and (
            _norm(model) == _norm(limit["limitName"]) or active in (_norm(limit_id), _norm(family))
        ):
            model_limit = limit
    main = windows("") if "" in families else []
    if model_limit is not None and active and active not in ("codex", "premium"):
        # On a turn charged to a per-model limit the plain headers repeat that limit.
        main = []
    credits = None
    if "x-codex-credits-has-credits" in headers or "x-codex-credits-balance" in headers:
        credits = {
            "hasCredits": _flag(headers.get("x-codex-credits-has-credits")),
            "unlimited": _flag(headers.get("x-codex-credits-unlimited")),
            "balance": headers.get("x-codex-credits-balance") or None,
        }
    every = main + [w for limit in additional for w in limit["windows"]]
    return {
        "source": "live",
        "sampledAt": now_ms,
        "httpStatus": status,
        "model": model,
        "planType": (headers.get("x-codex-plan-type") or "").strip() or None,
        "limitReached": True if status == 429 else any((w["usedPercent"] or 0) >= 100 for w in every),
        "limitReachedType": _code(headers.get("x-codex-rate-limit-reached-type")),
        "windows": main,
        "credits": credits,
        "modelLimit": model_limit,
        "additionalLimits": additional,
    }


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("true", "1")


def _elapsed(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
