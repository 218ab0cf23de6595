"""A fake ChatGPT/Codex backend for tests, the demo and the benchmarks.

The behaviour is one function from request to answer, :meth:`FakeBackend.handle`
(``FakeRequest`` in: method, target, headers, body; ``FakeResponse`` out: status or dropped,
headers, body, the delay before it), over the scenario state and stats that a
:class:`FakeBackend` keeps. Two thin adapters serve it:

* in-process, ``backend.transport()``: an ``httpx.MockTransport`` for clients in the same
  process (most tests; no socket; see :mod:`testkit.fake_transport`);
* over real sockets, ``backend.start()`` or ``python -m testkit.fake_backend``: a
  standard-library HTTP server on 127.0.0.1, never any other address, one thread per
  connection, so slow answers overlap (the demo, the benchmark, tests that run other
  processes; see :mod:`testkit.fake_server`).

It speaks the three endpoints the report uses:

* ``GET  [/backend-api]/wham/usage`` (also ``/api/codex/usage``): the quota snapshot body;
* ``POST [/backend-api]/codex/responses``: a tiny ``text/event-stream`` answer whose
  ``x-codex-*`` headers carry the quota (200, or 429 when the charged limit is reached);
* ``POST [/backend-api]/oauth/token``: the refresh grant, with single-use rotating refresh
  tokens (form-encoded or JSON body);

plus ``GET /_fake/stats`` for observation. Every token it issues is fake and recognisable by
``poolkit.FAKE_MARKERS``. Request logging is off by default and never shows a token.

Authentication (usage and responses)
------------------------------------
The account is the ``ChatGPT-Account-Id`` header (or, when that header is absent, the
``chatgpt_account_id`` claim of the bearer token). In this order:

* no ``Authorization: Bearer`` header -> 401 ``missing_authorization``;
* the token is neither a token this server minted nor a JWT with an ``exp`` claim -> 401
  ``invalid_token``;
* the account is not in the scenario -> **403** ``account_not_found`` (the token may well be
  genuine; the service answers "not a member of this workspace" with a permission error);
* the token's account claim differs from the account -> 401 ``invalid_token``;
* ``exp`` is not in the future (server clock) -> 401 ``token_expired``.
JWT signatures are not checked. Then the account's behaviour for the endpoint decides.

Scenario format (JSON object)
-----------------------------
Unknown keys are errors, so typos fail loudly. All times are relative to the server clock.

.. code-block:: json

    {
      "delayMs": 0,                     // global default delay for every answer
      "tokenLifetimeSeconds": 864000,   // lifetime of minted access tokens (default 10 days)
      "accounts": [
        {
          "accountId": "acct-alice",    // required, unique
          "email": "alice@example.com",
          "plan": "plus",               // plan_type / x-codex-plan-type (default "plus")
          "refreshToken": "rt_fixture_...",   // the currently valid refresh token (optional)
          "usedRefreshTokens": ["rt_..."],    // tokens that count as already spent (optional)
          "primary":   {"usedPercent": 12, "windowMinutes": 300,   "resetAfterSeconds": 3600},
          "secondary": {"usedPercent": 40, "windowMinutes": 10080, "resetAfterSeconds": 86400},
          "additionalLimits": [
            {"id": "codex_bengalfox", "name": "GPT-5.3-Codex-Spark",
             "primary": {"usedPercent": 3, "windowMinutes": 300}, "secondary": null,
             "models": ["gpt-5.3-codex-spark"], "limitReached": false}
          ],
          "credits": {"hasCredits": true, "unlimited": false, "balance": "12.50"},
          "spendControl": {"reached": false, "reachedLimitType": null,   // spend_control (2026)
                           "limits": {"individual": {"usedPercent": 38, "resetAfterSeconds": 864000}}},
          "resetCredits": 2,            // rate_limit_reset_credits.available_count
          "rateLimit": null,            // only null: send rate_limit: null (spend-controlled seats)
          "limitReached": false,        // default: some main window is at >= 100 %
          "rateLimitReachedType": null, // rate_limit_reached_type.type; default "rate_limit_reached" when reached
          "activeLimit": "codex",       // x-codex-active-limit when no extra limit matches
          "supportedModels": null,      // list: other models get 400 "not supported"
          "delayMs": 0,                 // this account's delay (beats the global one)
          "tokenLifetimeSeconds": 864000,
          "usage": "ok", "responses": "auto", "refresh": "ok"   // behaviours, see below
        }
      ]
    }

Windows: ``usedPercent`` (number, default 0), ``windowMinutes`` (int > 0, required),
``resetAfterSeconds`` (int > 0, default the full window), ``started`` (default true). A
started window's reset instant is fixed when the scenario is loaded; once it passes, the window
rolls over (0 % used, next reset one window later). An unstarted window (``"started": false``)
keeps its reset one full window away from "now", sliding with the clock. ``primary`` and
``secondary`` default to 0 % of 300 and 10080 minutes; ``null`` means no window, so a
weekly-only account is ``"primary": {"windowMinutes": 10080, ...}, "secondary": null``.
``"credits": null`` sends ``credits: null`` and no credit headers.

Behaviours (``usage``, ``responses``, ``refresh``) are a mode name, an object
``{"mode": ..., options}``, or a list of those: the n-th request for that account and endpoint
uses the n-th entry, the last entry repeating (requests refused by authentication use no
entry). Options: ``delayMs`` (beats the account's), ``status`` (replaces the mode's),
``body`` (any JSON value, sent as JSON) or ``rawBody`` (a string, sent with ``contentType``)
replacing the mode's body (a refresh answered this way spends nothing), ``code``,
``message``, ``quotaHeaders`` (responses: send the x-codex headers with this answer; default
only for 200 and 429), ``resetsInSeconds`` (429 bodies; default: the latest reset among the
charged limit's full windows), ``retryAfter`` (seconds, sent as a ``Retry-After`` header
with error answers such as ``rate_limited`` and ``server_error``).

Modes for usage and responses:

* ``ok``: 200 with the snapshot (usage) or the event stream (responses);
* ``auto`` (responses' default): like ``ok``, but 429 when the charged limit is reached;
* ``rate_limited``: 429 ``usage_limit_reached`` with ``resets_at``/``resets_in_seconds``;
* ``token_invalidated``: 401 ``{"error":{"code":"token_invalidated", ...}}``;
* ``forbidden``: 403, ``code`` default ``deactivated_workspace``;
* ``server_error``: ``status`` default 500;
* ``error``: any ``status`` with ``body``/``rawBody``;
* ``drop``: close the connection without an answer;
* ``not_json``: 200 with an HTML page;
* ``wrong_shape``: usage: 200 JSON of the wrong shape; responses: 200 with unparsable
  x-codex values;
* ``no_headers`` (responses): 200 without any x-codex header;
* ``unsupported_model`` (responses): 400 "model is not supported" for any model;
* ``echo_secrets``: a hostile answer (default 401) carrying the presented bearer token in
  every error field and x-codex header; with ``status`` 200 (usage) a snapshot whose plan,
  limit names, ids, credit balance and reached-type are that token.

Modes for refresh (the account is the owner of the presented token; default ``ok``):
``ok`` (rotate: 200 with new tokens, the old refresh token is spent; a spent token gets 401
``{"error": {"code": "refresh_token_reused", ...}}``, as the service answers it), ``invalid_grant`` (400 always, nothing spent), ``expired`` (400
``refresh_token_expired``), ``invalidated`` (401 ``refresh_token_invalidated``),
``server_error``, ``error``, ``drop``, ``drop_after_rotate`` (rotates, then closes without
an answer, so the client never learns the new token), ``not_json``, ``wrong_shape`` (200 with
an invalid token response), ``echo_secrets`` (400 with the presented refresh token as
``error``, ``error_description``, ``code`` and ``detail``; with ``status`` 401 nested in
``error.code``/``type``/``message``; nothing spent). Unknown refresh tokens always get 400 ``invalid_grant``.

Stats (``GET /_fake/stats``, or ``FakeBackend.stats()``)
--------------------------------------------------------
``{"requests": {"usage", "responses", "refresh", "other"}, "total", "statuses": {"200": n,
"dropped": n, ...}, "byAccount": {id: {"usage", "responses", "refresh"}}, "refresh":
{"succeeded", "failed", "reused", "unknown"}, "refreshTokensPresented": {sha256(token): n},
"refreshTokensSent": {sha256(new refresh token): epoch ms}, "dropped", "inFlight",
"maxInFlight", "delayMs"}``. Stats calls are not counted. A request is booked just before its
answer is written, so a client holding an answer finds it counted. ``succeeded`` counts
rotations (``drop_after_rotate`` included); ``reused`` and ``unknown`` are parts of
``failed``. ``refreshTokensSent`` names each rotated refresh token whose answer the adapter
handed over whole (the server: written to the socket), with the time it finished: a client
killed before that instant can never have had it (the crash drills, testkit/crash.py).

Delays are decided with the answer and waited by the adapter before it is sent: a delayed
refresh has already rotated when its answer leaves, and a backend stopped during a delay
drops the answer (the connection closes without one).

Using it
--------
In-process, no socket::

    backend = FakeBackend(scenario, delay_ms=0)
    with httpx.Client(transport=backend.transport()) as client:
        client.get(backend.base_url + "/wham/usage", headers=...)
    backend.stats()

A server on 127.0.0.1 in a background thread::

    with FakeBackend(scenario, delay_ms=0) as backend:
        httpx.get(backend.base_url + "/wham/usage", headers=...)

The core alone: ``backend.handle(FakeRequest("GET", "/backend-api/wham/usage", headers))``.

As a process::

    python -m testkit.fake_backend --scenario FILE [--port 0] [--delay-ms N]
                                   [--max-seconds 600] [--log]

prints one JSON line ``{"url", "base_url", "token_url"}`` and serves until SIGTERM/SIGINT or
``--max-seconds``, then exits 0. A bad scenario exits 2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TextIO
from urllib.parse import parse_qs, urlsplit

from testkit import poolkit

if TYPE_CHECKING:
    from testkit.fake_server import FakeServer
    from testkit.fake_transport import FakeTransport

HOST = "127.0.0.1"
AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"
DEFAULT_TOKEN_LIFETIME = 864_000
MAX_BODY = 1 << 20

USAGE, RESPONSES, REFRESH, OTHER = "usage", "responses", "refresh", "other"
API_MODES = {
    "ok",
    "rate_limited",
    "token_invalidated",
    "forbidden",
    "server_error",
    "error",
    "drop",
    "not_json",
    "wrong_shape",
    "echo_secrets",
}
MODES = {
    USAGE: API_MODES,
    RESPONSES: API_MODES | {"auto", "no_headers", "unsupported_model"},
    REFRESH: {
        "ok",
        "invalid_grant",
        "expired",
        "invalidated",
        "server_error",
        "error",
        "drop",
        "drop_after_rotate",
        "not_json",
        "wrong_shape",
        "echo_secrets",
    },
}
DEFAULT_MODE = {USAGE: "ok", RESPONSES: "auto", REFRESH: "ok"}
DEFAULT_STATUS = {
    "ok": 200,
    "rate_limited": 429,
    "token_invalidated": 401,
    "forbidden": 403,
    "server_error": 500,
    "error": 400,
    "not_json": 200,
    "wrong_shape": 200,
    "no_headers": 200,
    "unsupported_model": 400,
    "echo_secrets": 401,
}
REFRESH_STATUS = {
    "echo_secrets": 400,
    "ok": 200,
    "invalidated": 401,
    "server_error": 500,
    "not_json": 200,
    "wrong_shape": 200,
}
SSE = "text/event-stream; charset=utf-8"

TOKEN_INVALIDATED = "Your authentication token has been invalidated. Please try signing in again."
TOKEN_EXPIRED = "Your authentication token has expired. Please try signing in again."
REUSED = "Your refresh token has already been used to generate a new access token. Please try signing in again."
HTML_PAGE = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"


def _bearer(handler: Any) -> str:
    return str(handler.headers.get("Authorization", "")).partition(" ")[2].strip()


def _echo_secrets(handler: Any, endpoint: str, status: int, token: str) -> int:
    """A hostile answer: the presented token in every field a client might show (error codes,
    descriptions, details, plan and limit names, the credit balance, in the body and in the
    x-codex headers). A usage answer with status 200 is a usage snapshot made of it."""
    headers = {
        "x-codex-primary-used-percent": "5",
        "x-codex-primary-window-minutes": "300",
        "x-codex-plan-type": token,
        "x-codex-active-limit": token,
        "x-codex-rate-limit-reached-type": token,
        "x-codex-credits-has-credits": "true",
        "x-codex-credits-balance": token,
        "x-codex-bengalfox-primary-used-percent": "1",
        "x-codex-bengalfox-limit-name": token,
        "www-authenticate": f'Bearer error="{token}"',
    }
    if endpoint == USAGE and status == 200:
        window = {"used_percent": 5, "limit_window_seconds": 18000, "reset_after_seconds": 60}
        body: dict[str, Any] = {
            "plan_type": token,
            "rate_limit": {"allowed": True, "limit_reached": False, "primary_window": window},
            "credits": {"has_credits": True, "unlimited": False, "balance": token},
            "additional_rate_limits": [
                {"limit_name": token, "metered_feature": token, "rate_limit": {"primary_window": window}}
            ],
            "rate_limit_reached_type": {"type": token},
        }
    elif status == 401:
        body = {"error": {"code": token, "type": token, "message": token}, "detail": token}
    else:
        body = {"error": token, "error_description": token, "code": token, "detail": token}
    return int(handler._json(status, body, headers if endpoint != REFRESH else {}))


def token_hash(token: str) -> str:
    """How stats name a refresh token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def jwt_claims(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# --- the scenario ---------------------------------------------------------------------


class ScenarioError(ValueError):
    """The scenario does not follow the documented format."""


def _check_keys(obj: Any, where: str, allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ScenarioError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")
    for key in required:
        if key not in obj:
            raise ScenarioError(f"{where}: missing {key!r}")
    return obj


def _int(obj: Mapping[str, Any], key: str, where: str, default: int | None, *, minimum: int = 0) -> int | None:
    value = obj.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{where}.{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def _str(obj: Mapping[str, Any], key: str, where: str, default: str | None) -> str | None:
    value = obj.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ScenarioError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str, default: bool | None) -> bool | None:
    value = obj.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise ScenarioError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _str_list(obj: Mapping[str, Any], key: str, where: str) -> list[str] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(f"{where}.{key}: expected a list of strings")
    return list(value)


@dataclass
class Window:
    used: float
    minutes: int
    reset_after: int
    started: bool
    anchor: float  # server time the scenario was loaded

    @classmethod
    def parse(cls, obj: Any, where: str, anchor: float) -> Window | None:
        if obj is None:
            return None
        _check_keys(obj, where, {"usedPercent", "windowMinutes", "resetAfterSeconds", "started"}, ("windowMinutes",))
        used = obj.get("usedPercent", 0)
        if isinstance(used, bool) or not isinstance(used, (int, float)) or not math.isfinite(used) or used < 0:
            raise ScenarioError(f"{where}.usedPercent: expected a number >= 0, got {used!r}")
        minutes = _int(obj, "windowMinutes", where, None, minimum=1)
        assert minutes is not None
        reset_after = _int(obj, "resetAfterSeconds", where, minutes * 60, minimum=1)
        assert reset_after is not None
        started = _bool(obj, "started", where, True)
        return cls(float(used), minutes, reset_after, bool(started), anchor)

    def view(self, now: float) -> tuple[float, int, int]:
        """(used percent, reset after seconds, reset at epoch seconds) at ``now``."""
        length = self.minutes * 60
        if not self.started:
            reset_at = now + length
            return self.used, length, math.ceil(reset_at)
        reset_at = self.anchor + self.reset_after
        used = self.used
        if now >= reset_at:  # the window rolled over: a fresh window started at the old reset
            periods = math.floor((now - reset_at) / length) + 1
            reset_at += periods * length
            used = 0.0
        return used, max(1, math.ceil(reset_at - now)), math.ceil(reset_at)


@dataclass
class Limit:
    id: str
    name: str | None
    primary: Window | None
    secondary: Window | None
    reached: bool | None  # None: derived from the windows
    models: list[str] = field(default_factory=list)

    def windows(self) -> list[tuple[str, Window]]:
        return [(slot, w) for slot, w in (("primary", self.primary), ("secondary", self.secondary)) if w is not None]

    def is_reached(self, now: float) -> bool:
        if self.reached is not None:
            return self.reached
        return any(w.view(now)[0] >= 100 for _, w in self.windows())

    def resets_in(self, now: float) -> int:
        views = [w.view(now) for _, w in self.windows()]
        full = [v[1] for v in views if v[0] >= 100]
        if full:
            return max(full)
        return views[0][1] if views else 3600

    def body(self, now: float) -> dict[str, Any]:
        def one(window: Window | None) -> dict[str, Any] | None:
            if window is None:
                return None
            used, after, at = window.view(now)
            return {
                "used_percent": round(used),
                "limit_window_seconds": window.minutes * 60,
                "reset_after_seconds": after,
                "reset_at": at,
            }

        reached = self.is_reached(now)
        return {
            "allowed": not reached,
            "limit_reached": reached,
            "primary_window": one(self.primary),
            "secondary_window": one(self.secondary),
        }

    def headers(self, prefix: str, now: float) -> dict[str, str]:
        result: dict[str, str] = {}
        for slot, window in self.windows():
            used, after, at = window.view(now)
            result[f"{prefix}-{slot}-used-percent"] = _number(used)
            result[f"{prefix}-{slot}-window-minutes"] = str(window.minutes)
            result[f"{prefix}-{slot}-reset-at"] = str(at)
            result[f"{prefix}-{slot}-reset-after-seconds"] = str(after)
        return result


@dataclass
class Behaviour:
    mode: str
    delay_ms: int | None = None
    status: int | None = None
    body: Any = None
    has_body: bool = False
    raw_body: str | None = None
    content_type: str = "text/plain; charset=utf-8"
    code: str | None = None
    message: str | None = None
    quota_headers: bool | None = None
    resets_in: int | None = None
    retry_after: int | None = None

    KEYS: ClassVar[set[str]] = {
        "mode",
        "delayMs",
        "status",
        "body",
        "rawBody",
        "contentType",
        "code",
        "message",
        "quotaHeaders",
        "resetsInSeconds",
        "retryAfter",
    }

    @classmethod
    def parse_all(cls, spec: Any, endpoint: str, where: str) -> list[Behaviour]:
        if spec is None:
            return [cls(DEFAULT_MODE[endpoint])]
        items = spec if isinstance(spec, list) else [spec]
        if not items:
            raise ScenarioError(f"{where}: an empty list of behaviours")
        return [
            cls.parse(item, endpoint, f"{where}[{i}]" if isinstance(spec, list) else where)
            for i, item in enumerate(items)
        ]

    @classmethod
    def parse(cls, spec: Any, endpoint: str, where: str) -> Behaviour:
        if isinstance(spec, str):
            spec = {"mode": spec}
        obj = _check_keys(spec, where, cls.KEYS, ("mode",))
        mode = obj["mode"]
        if mode not in MODES[endpoint]:
            raise ScenarioError(f"{where}: mode {mode!r} is not one of {', '.join(sorted(MODES[endpoint]))}")
        status = _int(obj, "status", where, None, minimum=100)
        if status is not None and status > 599:
            raise ScenarioError(f"{where}.status: {status} is not an HTTP status")
        if mode == "server_error" and status is not None and status < 500:
            raise ScenarioError(f"{where}.status: server_error needs a 5xx status")
        if mode == "error" and status is None:
            raise ScenarioError(f"{where}: mode 'error' needs a status")
        if "body" in obj and "rawBody" in obj:
            raise ScenarioError(f"{where}: give body or rawBody, not both")
        return cls(
            mode=mode,
            delay_ms=_int(obj, "delayMs", where, None),
            status=status,
            body=obj.get("body"),
            has_body="body" in obj,
            raw_body=_str(obj, "rawBody", where, None),
            content_type=_str(obj, "contentType", where, "text/plain; charset=utf-8") or "text/plain",
            code=_str(obj, "code", where, None),
            message=_str(obj, "message", where, None),
            quota_headers=_bool(obj, "quotaHeaders", where, None),
            resets_in=_int(obj, "resetsInSeconds", where, None),
            retry_after=_int(obj, "retryAfter", where, None),
        )


@dataclass
class Account:
    id: str
    email: str | None
    plan: str
    refresh_token: str | None
    used_refresh_tokens: list[str]
    main: Limit
    extra: list[Limit]
    credits: dict[str, Any] | None
    reached_type: str | None
    reached_type_set: bool
    active_limit: str
    supported_models: list[str] | None
    delay_ms: int | None
    token_lifetime: int
    behaviours: dict[str, list[Behaviour]]
    usage_2026: dict[str, Any] = field(default_factory=dict)  # spend_control, reset credits, rate_limit null

    KEYS: ClassVar[set[str]] = {
        "accountId",
        "email",
        "plan",
        "refreshToken",
        "usedRefreshTokens",
        "primary",
        "secondary",
        "additionalLimits",
        "credits",
        "limitReached",
        "rateLimitReachedType",
        "activeLimit",
        "supportedModels",
        "delayMs",
        "tokenLifetimeSeconds",
        "spendControl",
        "resetCredits",
        "rateLimit",
        USAGE,
        RESPONSES,
        REFRESH,
    }

    @classmethod
    def parse(cls, obj: Any, where: str, anchor: float, default_lifetime: int) -> Account:
        _check_keys(obj, where, cls.KEYS, ("accountId",))
        account_id = _str(obj, "accountId", where, None)
        if not account_id or not account_id.strip():
            raise ScenarioError(f"{where}.accountId: must be a non-empty string")
        default_primary = {"usedPercent": 0, "windowMinutes": 300}
        default_secondary = {"usedPercent": 0, "windowMinutes": 10080}
        main = Limit(
            "codex",
            None,
            Window.parse(obj.get("primary", default_primary), f"{where}.primary", anchor),
            Window.parse(obj.get("secondary", default_secondary), f"{where}.secondary", anchor),
            _bool(obj, "limitReached", where, None),
        )
        extras = []
        raw_extras = obj.get("additionalLimits") or []
        if not isinstance(raw_extras, list):
            raise ScenarioError(f"{where}.additionalLimits: expected a list")
        for i, raw in enumerate(raw_extras):
            w = f"{where}.additionalLimits[{i}]"
            _check_keys(raw, w, {"id", "name", "primary", "secondary", "limitReached", "models"}, ("id",))
            limit_id = _str(raw, "id", w, None)
            if not limit_id or limit_id == "codex" or not all(c.isalnum() or c == "_" for c in limit_id):
                raise ScenarioError(f"{w}.id: expected a limit id like 'codex_bengalfox' (letters, digits, _)")
            extras.append(
                Limit(
                    limit_id.lower(),
                    _str(raw, "name", w, None),
                    Window.parse(raw.get("primary"), f"{w}.primary", anchor),
                    Window.parse(raw.get("secondary"), f"{w}.secondary", anchor),
                    _bool(raw, "limitReached", w, None),
                    _str_list(raw, "models", w) or [],
                )
            )
        credits: dict[str, Any] | None = {"has_credits": False, "unlimited": False, "balance": "0"}
        if "credits" in obj:
            raw_credits = obj["credits"]
            if raw_credits is None:
                credits = None
            else:
                w = f"{where}.credits"
                _check_keys(raw_credits, w, {"hasCredits", "unlimited", "balance"})
                credits = {
                    "has_credits": bool(_bool(raw_credits, "hasCredits", w, False)),
                    "unlimited": bool(_bool(raw_credits, "unlimited", w, False)),
                    "balance": _str(raw_credits, "balance", w, "0"),
                }
        lifetime = _int(obj, "tokenLifetimeSeconds", where, default_lifetime, minimum=1)
        assert lifetime is not None
        return cls(
            id=account_id,
            email=_str(obj, "email", where, None),
            plan=_str(obj, "plan", where, "plus") or "plus",
            refresh_token=_str(obj, "refreshToken", where, None),
            used_refresh_tokens=_str_list(obj, "usedRefreshTokens", where) or [],
            main=main,
            extra=extras,
            credits=credits,
            reached_type=_str(obj, "rateLimitReachedType", where, None),
            reached_type_set="rateLimitReachedType" in obj,
            active_limit=_str(obj, "activeLimit", where, "codex") or "codex",
            supported_models=_str_list(obj, "supportedModels", where),
            delay_ms=_int(obj, "delayMs", where, None),
            token_lifetime=lifetime,
            behaviours={
                ep: Behaviour.parse_all(obj.get(ep), ep, f"{where}.{ep}") for ep in (USAGE, RESPONSES, REFRESH)
            },
            usage_2026=_usage_2026(obj, where, anchor),
        )

    def reached_kind(self, now: float) -> str | None:
        if self.reached_type_set:
            return self.reached_type
        return "rate_limit_reached" if self.main.is_reached(now) else None

    def charged_limit(self, model: str | None) -> Limit:
        for limit in self.extra:
            if model and model in limit.models:
                return limit
        return self.main


@dataclass
class Scenario:
    delay_ms: int
    accounts: dict[str, Account]

    @classmethod
    def parse(cls, data: Any, anchor: float) -> Scenario:
        _check_keys(data, "scenario", {"delayMs", "tokenLifetimeSeconds", "accounts"})
        lifetime = _int(data, "tokenLifetimeSeconds", "scenario", DEFAULT_TOKEN_LIFETIME, minimum=1)
        assert lifetime is not None
        raw_accounts = data.get("accounts", [])
        if not isinstance(raw_accounts, list):
            raise ScenarioError("scenario.accounts: expected a list")
        accounts: dict[str, Account] = {}
        tokens: set[str] = set()
        for i, raw in enumerate(raw_accounts):
            account = Account.parse(raw, f"scenario.accounts[{i}]", anchor, lifetime)
            if account.id in accounts:
                raise ScenarioError(f"scenario.accounts[{i}]: duplicate accountId {account.id!r}")
            for token in [account.refresh_token, *account.used_refresh_tokens]:
                if token is None:
                    continue
                if token in tokens:
                    raise ScenarioError(f"scenario.accounts[{i}]: a refresh token is listed twice")
                tokens.add(token)
            accounts[account.id] = account
        return cls(_int(data, "delayMs", "scenario", 0) or 0, accounts)


def load_scenario(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """The scenario as a dict: ``source`` is a dict already, or the path of a JSON file."""
    if isinstance(source, Mapping):
        return dict(source)
    try:
        data: dict[str, Any] = json.loads(Path(source).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{source}: not JSON ({exc})") from None
    return data


# --- requests and answers -------------------------------------------------------------


class RequestHeaders(dict[str, str]):
    """Request headers, looked up without regard to case (names are stored lower-case)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.lower(), value) for name, value in items)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


@dataclass
class FakeRequest:
    """What the core needs of a request: ``path`` is the request target (query included),
    ``headers`` any mapping or list of pairs."""

    method: str
    path: str
    headers: RequestHeaders | Mapping[str, str] | Iterable[tuple[str, str]] = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        self.headers = RequestHeaders(items)


@dataclass
class FakeResponse:
    """The core's answer: ``status`` None means the connection closes without an answer;
    ``delay`` is how long (seconds) the adapter waits before answering; ``endpoint`` is what
    the request was booked as (None: a stats call, not counted)."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    endpoint: str | None = None
    path: str = "/"
    issued: str | None = None  # sha256 of the rotated refresh token this answer carries

    @property
    def dropped(self) -> bool:
        return self.status is None

    def json(self) -> Any:
        return json.loads(self.body)


def json_body(status: int, data: Any, headers: Mapping[str, str] | None = None) -> FakeResponse:
    body = json.dumps(data, separators=(",", ":")).encode()
    return FakeResponse(status, {"Content-Type": "application/json", **(headers or {})}, body)


class _Drop(Exception):
    """Close the connection without an answer."""


class _Handler:
    """One request as the behaviour code sees it: the request's ``headers`` in, the answer
    (``send``/``_json``) and the delay out."""

    def __init__(self, request: FakeRequest) -> None:
        assert isinstance(request.headers, RequestHeaders)
        self.headers: RequestHeaders = request.headers
        self.delay_ms = 0
        self.response: FakeResponse | None = None

    def send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> int:
        self.response = FakeResponse(status, {"Content-Type": content_type, **(headers or {})}, body)
        return status

    def _json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> int:
        self.response = json_body(status, data, headers)
        return status


ROUTES = {
    "/wham/usage": ("GET", USAGE),
    "/api/codex/usage": ("GET", USAGE),
    "/codex/responses": ("POST", RESPONSES),
    "/oauth/token": ("POST", REFRESH),
}


def route_path(target: str) -> str:
    """The path a request target names, without query, trailing slash or ``/backend-api``."""
    path = urlsplit(target).path.rstrip("/") or "/"
    if path.startswith("/backend-api/") or path == "/backend-api":
        path = path[len("/backend-api") :] or "/"
    return path


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = {USAGE: 0, RESPONSES: 0, REFRESH: 0, OTHER: 0}
        self.statuses: dict[str, int] = {}
        self.by_account: dict[str, dict[str, int]] = {}
        self.refresh = {"succeeded": 0, "failed": 0, "reused": 0, "unknown": 0}
        self.presented: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.dropped = 0
        self.max_in_flight = 0

    def snapshot(self, in_flight: int, delay_ms: int) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "total": sum(self.requests.values()),
            "statuses": dict(self.statuses),
            "byAccount": {k: dict(v) for k, v in self.by_account.items()},
            "refresh": dict(self.refresh),
            "refreshTokensPresented": dict(self.presented),
            "refreshTokensSent": dict(self.sent),
            "dropped": self.dropped,
            "inFlight": in_flight,
            "maxInFlight": self.max_in_flight,
            "delayMs": delay_ms,
        }


class FakeBackend:
    """The fake backend: the scenario's state, the stats, and :meth:`handle`, the behaviour as
    one function from request to answer. Two adapters share it: :meth:`transport` (in-process,
    an ``httpx.MockTransport``) and :meth:`start` (a real server on 127.0.0.1 in a background
    thread: ``with FakeBackend(scenario) as b: ...``). Thread-safe.

    ``scenario`` is a dict or the path of a JSON file (see the module docstring);
    ``delay_ms`` replaces the scenario's global ``delayMs`` when given; ``clock`` returns the
    server's time in epoch seconds (tests pass their own to move time); ``log`` is a text
    stream for one line per request (none by default).
    """

    def __init__(
        self,
        scenario: Mapping[str, Any] | str | Path,
        delay_ms: int | None = None,
        *,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        log: TextIO | None = None,
    ) -> None:
        self.clock = clock
        self.log = log
        self.scenario = Scenario.parse(load_scenario(scenario), clock())
        if delay_ms is not None:
            if delay_ms < 0:
                raise ScenarioError(f"delay_ms: expected >= 0, got {delay_ms}")
            self.scenario.delay_ms = delay_ms
        self._port = port
        self._lock = threading.Lock()
        self._stats = _Stats()
        self._in_flight = 0
        self._calls: dict[tuple[str, str], int] = {}
        self._stopping = threading.Event()
        self._server: FakeServer | None = None
        self._transport: FakeTransport | None = None
        # refresh token -> [account id, "valid" | "used"]; minted access token -> (account id, exp)
        self._refresh: dict[str, list[str]] = {}
        self._minted: dict[str, tuple[str, int]] = {}
        self._id_tokens: set[str] = set()
        for account in self.scenario.accounts.values():
            for token in account.used_refresh_tokens:
                self._refresh[token] = [account.id, "used"]
            if account.refresh_token:
                self._refresh[account.refresh_token] = [account.id, "valid"]

    # -- the adapters ------------------------------------------------------------------

    def transport(self) -> FakeTransport:
        """The in-process adapter (one per backend): an ``httpx.MockTransport`` answering at
        its own ``base_url``/``token_url`` (see :mod:`testkit.fake_transport`)."""
        if self._transport is None:
            from testkit.fake_transport import FakeTransport

            self._transport = FakeTransport(self)
        return self._transport

    def start(self) -> FakeBackend:
        """Serve on 127.0.0.1 (the port given, or a free one) in a background thread."""
        if self._server is not None:
            raise RuntimeError("already started")
        from testkit.fake_server import FakeServer

        self._stopping.clear()
        self._server = FakeServer(self, self._port)
        self._server.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End delays early (their answers are dropped); stop serving, close every open
        connection, join the threads."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.stop(timeout)

    def __enter__(self) -> FakeBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Where the backend answers: its server while started, else its in-process transport
        once made; neither: RuntimeError."""
        if self._server is not None:
            return self._server.url
        if self._transport is not None:
            return self._transport.url
        raise RuntimeError("not running")

    @property
    def base_url(self) -> str:
        return self.url + "/backend-api"

    @property
    def token_url(self) -> str:
        return self.url + "/oauth/token"

    # -- the core ----------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        """The answer to ``request``, with the delay before it (the adapters wait it). Books
        the request in the stats by endpoint and account, and changes the scenario state
        (behaviour lists advance, refresh tokens rotate) as the service would."""
        path = route_path(request.path)
        handler = _Handler(request)
        if path == "/_fake/stats":
            if request.method != "GET":
                return json_body(405, {"detail": "Method Not Allowed"})
            return json_body(200, self.stats())
        wanted, endpoint = ROUTES.get(path, (None, OTHER))
        with self._lock:
            self._stats.requests[endpoint] += 1
        try:
            if wanted is None:
                handler._json(404, {"detail": "Not Found"})
            elif request.method != wanted:
                handler._json(405, {"detail": "Method Not Allowed"})
            elif endpoint == REFRESH:
                self.handle_refresh(handler, request.body)
            else:
                self.handle_api(handler, endpoint, request.body)
            response = handler.response
            assert response is not None
        except _Drop:
            response = FakeResponse(None)
        response.delay, response.endpoint, response.path = handler.delay_ms / 1000, endpoint, path
        return response

    def respond(self, request: FakeRequest, wait: Callable[[float], bool] | None = None) -> FakeResponse:
        """What both adapters do with a request: :meth:`handle` it, wait its delay (``wait``,
        default :meth:`wait`, returns False when the backend is stopping: then the answer is
        dropped), and book the answer in the stats just before the adapter sends it, so a client
        holding an answer finds it counted. The request is in flight from handling to booking."""
        response = self.handle(request)
        if response.endpoint is None:
            return response  # stats calls are not counted
        self.request_started()
        try:
            if response.delay > 0 and not (wait or self.wait)(response.delay):
                response.status = None  # stopping: do not answer
        finally:
            # also when ``wait`` raised (the in-process client's read timeout): the answer
            # counts as sent, as the server's does when it writes to a connection the client left
            status: int | str = "dropped" if response.status is None else response.status
            if response.dropped:
                self.count_drop()
            self.request_finished(status)
            self.log_line(f"{request.method} {response.path} {status}")
        return response

    def answer_sent(self, response: FakeResponse) -> None:
        """The adapter has handed the whole answer over (written to the socket, or returned to
        the in-process client): a rotated refresh token in it is from now on the client's."""
        if response.issued is not None:
            with self._lock:
                self._stats.sent[response.issued] = int(time.time() * 1000)

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the backend stopped meanwhile (or had stopped)."""
        return not self._stopping.wait(seconds)

    # -- observation -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self._stats.snapshot(self._in_flight, self.scenario.delay_ms)

    def issued_tokens(self) -> set[str]:
        """Every token this server minted (access, refresh, id) or was given by its scenario:
        the canaries a leak test looks for in the client's output."""
        with self._lock:
            return set(self._minted) | set(self._refresh) | self._id_tokens

    def _id_token(self, claims: dict[str, Any]) -> str:
        token = poolkit.make_jwt(claims, salt="id" + secrets.token_hex(8))
        with self._lock:
            self._id_tokens.add(token)
        return token

    def reset_stats(self) -> None:
        with self._lock:
            self._stats.reset()
            self._stats.max_in_flight = self._in_flight

    def refresh_token(self, account_id: str) -> str | None:
        """The account's currently valid refresh token, if it has one."""
        with self._lock:
            for token, (owner, state) in self._refresh.items():
                if owner == account_id and state == "valid":
                    return token
        return None

    def access_token(self, account_id: str, lifetime_seconds: int | None = None) -> str:
        """Mint an access token the server accepts for the account (a test convenience)."""
        account = self.scenario.accounts[account_id]
        with self._lock:
            return self._mint(account, lifetime_seconds or account.token_lifetime)[0]

    def log_line(self, text: str) -> None:
        if self.log is not None:
            try:
                self.log.write(f"fake-backend: {text}\n")
                self.log.flush()
            except (OSError, ValueError):
                pass

    # -- bookkeeping used by the adapters and the core -------------------------------------

    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._in_flight)

    def request_finished(self, status: int | str) -> None:
        with self._lock:
            self._in_flight -= 1
            key = str(status)
            self._stats.statuses[key] = self._stats.statuses.get(key, 0) + 1

    def count_drop(self) -> None:
        with self._lock:
            self._stats.dropped += 1

    def _count_account(self, account_id: str, endpoint: str) -> None:
        with self._lock:
            per = self._stats.by_account.setdefault(account_id, {USAGE: 0, RESPONSES: 0, REFRESH: 0})
            per[endpoint] += 1

    def _behaviour(self, account: Account, endpoint: str) -> Behaviour:
        """The behaviour for this request: the n-th entry for the n-th one, the last repeating."""
        self._count_account(account.id, endpoint)
        with self._lock:
            key = (account.id, endpoint)
            index = self._calls.get(key, 0)
            self._calls[key] = index + 1
        options = account.behaviours[endpoint]
        return options[min(index, len(options) - 1)]

    def _delay(self, handler: _Handler, account: Account | None, behaviour: Behaviour | None) -> None:
        """The answer's delay: the behaviour's, else the account's, else the global one."""
        delay = self.scenario.delay_ms
        if account is not None and account.delay_ms is not None:
            delay = account.delay_ms
        if behaviour is not None and behaviour.delay_ms is not None:
            delay = behaviour.delay_ms
        handler.delay_ms = delay

    def _mint(self, account: Account, lifetime: int) -> tuple[str, int]:
        now = int(self.clock())
        auth = {"chatgpt_plan_type": account.plan, "chatgpt_account_id": account.id}
        claims: dict[str, Any] = {"iat": now, "exp": now + lifetime, AUTH_CLAIM: auth}
        if account.email:
            claims[PROFILE_CLAIM] = {"email": account.email}
        token = poolkit.make_jwt(claims, salt=secrets.token_hex(8))
        self._minted[token] = (account.id, now + lifetime)
        return token, now + lifetime

    # -- usage and responses ---------------------------------------------------------------

    def _authenticate(self, handler: _Handler) -> Account | tuple[int, dict[str, Any]]:
        header = handler.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return 401, _api_error("missing_authorization", "Missing bearer authentication in header")
        with self._lock:
            minted = self._minted.get(token)
        token_account: str | None
        if minted is not None:
            token_account, exp = minted
        else:
            claims = jwt_claims(token)
            auth = claims.get(AUTH_CLAIM) if claims else None
            exp_value = claims.get("exp") if claims else None
            if not isinstance(exp_value, (int, float)) or isinstance(exp_value, bool):
                return 401, _api_error(
                    "invalid_token", "Could not parse your authentication token. Please try signing in again."
                )
            token_account = auth.get("chatgpt_account_id") if isinstance(auth, dict) else None
            exp = int(exp_value)
        account_id = handler.headers.get("ChatGPT-Account-Id") or token_account
        account = self.scenario.accounts.get(account_id) if isinstance(account_id, str) else None
        if account is None:
            return 403, _api_error("account_not_found", "You do not have access to this workspace.", "permission_error")
        if token_account != account.id:
            return 401, _api_error("invalid_token", "Your authentication token is not valid for this account.")
        if exp <= self.clock():
            return 401, _api_error("token_expired", TOKEN_EXPIRED)
        return account

    def handle_api(self, handler: _Handler, endpoint: str, body: bytes) -> int:
        outcome = self._authenticate(handler)
        if not isinstance(outcome, Account):
            account_id = handler.headers.get("ChatGPT-Account-Id")
            known = self.scenario.accounts.get(account_id) if account_id else None
            if known is not None:
                self._count_account(known.id, endpoint)
            self._delay(handler, known, None)
            status, error = outcome
            return handler._json(status, error)
        account = outcome
        behaviour = self._behaviour(account, endpoint)
        self._delay(handler, account, behaviour)
        now = self.clock()
        model: str | None = None
        if endpoint == RESPONSES:
            try:
                request = json.loads(body) if body else None
            except ValueError:
                request = None
            model = request.get("model") if isinstance(request, dict) else None
            if not isinstance(model, str) or not model.strip():
                return handler._json(400, {"detail": "Request body must be a JSON object with a 'model'."})
        limit = account.charged_limit(model)
        headers = self._quota_headers(account, limit, now) if endpoint == RESPONSES else {}
        mode = behaviour.mode
        if mode == "drop":
            raise _Drop
        if mode == "echo_secrets":
            return _echo_secrets(handler, endpoint, behaviour.status or 401, _bearer(handler))
        if endpoint == RESPONSES and account.supported_models is not None and model not in account.supported_models:
            mode = "unsupported_model"
        if mode == "auto":
            mode = "rate_limited" if limit.is_reached(now) else "ok"
        status = behaviour.status or DEFAULT_STATUS[mode]
        send_quota = behaviour.quota_headers if behaviour.quota_headers is not None else mode in ("ok", "rate_limited")
        extra = headers if send_quota else {}
        if behaviour.retry_after is not None:
            extra = {**extra, "Retry-After": str(behaviour.retry_after)}
        if behaviour.has_body or behaviour.raw_body is not None or mode == "error":
            return self._custom(handler, behaviour, status, extra)
        if mode == "ok":
            if endpoint == USAGE:
                return handler._json(status, self._usage_body(account, now))
            return handler.send(status, _event_stream(model or ""), SSE, extra)
        if mode == "rate_limited":
            resets_in = behaviour.resets_in if behaviour.resets_in is not None else limit.resets_in(now)
            error = {
                "type": "usage_limit_reached",
                "code": "usage_limit_reached",
                "message": behaviour.message or "The usage limit has been reached",
                "plan_type": account.plan,
                "resets_at": math.ceil(now) + resets_in,
                "resets_in_seconds": resets_in,
            }
            return handler._json(status, {"error": error}, extra)
        if mode == "token_invalidated":
            return handler._json(
                status,
                {
                    "error": {
                        "code": behaviour.code or "token_invalidated",
                        "message": behaviour.message or TOKEN_INVALIDATED,
                    }
                },
                extra,
            )
        if mode == "forbidden":
            error = {
                "code": behaviour.code or "deactivated_workspace",
                "message": behaviour.message or "This workspace has been deactivated.",
                "type": "permission_error",
            }
            return handler._json(status, {"error": error}, extra)
        if mode == "server_error":
            error = {
                "code": behaviour.code,
                "message": behaviour.message or "An error occurred while processing your request.",
                "type": "server_error",
            }
            return handler._json(status, {"error": error}, extra)
        if mode == "unsupported_model":
            return handler._json(
                status,
                {"detail": f"The '{model}' model is not supported when using Codex with a ChatGPT account."},
                extra,
            )
        if mode == "not_json":
            return handler.send(status, HTML_PAGE.encode(), "text/html; charset=utf-8", extra)
        if mode == "no_headers":
            return handler.send(status, _event_stream(model or ""), SSE)
        if mode == "wrong_shape":
            if endpoint == USAGE:
                return handler._json(
                    status,
                    {
                        "plan_type": 42,
                        "rate_limit": "unavailable",
                        "credits": [],
                        "additional_rate_limits": {"limit_name": None},
                    },
                )
            garbage = {
                name: "n/a"
                for name in headers
                if name.endswith(("-used-percent", "-window-minutes", "-reset-at", "-reset-after-seconds"))
            }
            return handler.send(status, _event_stream(model or ""), SSE, garbage)
        raise AssertionError(f"unhandled mode {mode}")  # pragma: no cover - modes are validated

    def _custom(self, handler: _Handler, behaviour: Behaviour, status: int, headers: Mapping[str, str]) -> int:
        if behaviour.raw_body is not None:
            return handler.send(status, behaviour.raw_body.encode(), behaviour.content_type, headers)
        data = (
            behaviour.body
            if behaviour.has_body
            else {"error": {"code": behaviour.code, "message": behaviour.message or f"HTTP {status}"}}
        )
        return handler._json(status, data, headers)

    def _usage_body(self, account: Account, now: float) -> dict[str, Any]:
        kind = account.reached_kind(now)
        return (
            _with_2026(account.usage_2026, now)
            | {
                "account_id": account.id,
                "email": account.email,
                "plan_type": account.plan,
                "rate_limit": account.main.body(now),
                "credits": dict(account.credits) if account.credits is not None else None,
                "additional_rate_limits": [
                    {"limit_name": limit.name, "metered_feature": limit.id, "rate_limit": limit.body(now)}
                    for limit in account.extra
                ],
                "rate_limit_reached_type": {"type": kind} if kind else None,
            }
            | _rate_limit_override(account.usage_2026)
        )

    def _quota_headers(self, account: Account, charged: Limit, now: float) -> dict[str, str]:
        headers = charged.headers("x-codex", now)
        headers["x-codex-plan-type"] = account.plan
        headers["x-codex-active-limit"] = charged.id if charged is not account.main else account.active_limit
        for limit in account.extra:
            prefix = "x-" + limit.id.replace("_", "-")
            headers.update(limit.headers(prefix, now))
            if limit.name:
                headers[f"{prefix}-limit-name"] = limit.name
        if account.credits is not None:
            headers["x-codex-credits-has-credits"] = "true" if account.credits["has_credits"] else "false"
            headers["x-codex-credits-unlimited"] = "true" if account.credits["unlimited"] else "false"
            headers["x-codex-credits-balance"] = str(account.credits["balance"])
        kind = account.reached_kind(now)
        if kind:
            headers["x-codex-rate-limit-reached-type"] = kind
        return headers

    # -- refresh -----------------------------------------------------------------------------

    def handle_refresh(self, handler: _Handler, body: bytes) -> int:
        params = _form_or_json(handler.headers.get("Content-Type", ""), body)
        token = params.get("refresh_token", "")
        if token:
            with self._lock:
                digest = token_hash(token)
                self._stats.presented[digest] = self._stats.presented.get(digest, 0) + 1
        with self._lock:
            record = self._refresh.get(token) if token else None
            owner = record[0] if record else None
        account = self.scenario.accounts.get(owner) if owner else None
        behaviour = self._behaviour(account, REFRESH) if account is not None else None
        self._delay(handler, account, behaviour)
        if params.get("grant_type") != "refresh_token":
            self._refresh_failed()
            return handler._json(
                400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type."}
            )
        if not params.get("client_id"):
            self._refresh_failed()
            return handler._json(
                400, {"error": "invalid_request", "error_description": "Missing required parameter: client_id."}
            )
        if account is None or behaviour is None:
            self._refresh_failed(unknown=True)
            return handler._json(400, {"error": "invalid_grant", "error_description": "Invalid refresh token."})
        mode = behaviour.mode
        if mode == "drop":
            self._refresh_failed()
            raise _Drop
        if behaviour.has_body or behaviour.raw_body is not None or mode == "error":
            self._refresh_failed()
            return self._custom(handler, behaviour, behaviour.status or REFRESH_STATUS.get(mode, 400), {})
        if mode == "echo_secrets":
            self._refresh_failed()
            return _echo_secrets(handler, REFRESH, behaviour.status or 400, token)
        if mode == "invalid_grant":
            self._refresh_failed()
            return handler._json(
                behaviour.status or 400,
                {
                    "error": "invalid_grant",
                    "error_description": behaviour.message or "Invalid refresh token.",
                    "code": behaviour.code or "refresh_token_invalid",
                },
            )
        if mode == "expired":
            self._refresh_failed()
            return handler._json(
                behaviour.status or 400,
                {
                    "error": "invalid_grant",
                    "error_description": "Your refresh token has expired. Please try signing in again.",
                    "code": "refresh_token_expired",
                },
            )
        if mode == "invalidated":
            self._refresh_failed()
            return handler._json(
                behaviour.status or 401,
                {
                    "error": {
                        "code": "refresh_token_invalidated",
                        "message": "Your refresh token has been invalidated. Please try signing in again.",
                    }
                },
            )
        if mode == "server_error":
            self._refresh_failed()
            return handler._json(
                behaviour.status or 500,
                {
                    "error": "server_error",
                    "error_description": behaviour.message or "An error occurred while processing your request.",
                },
            )
        if mode == "not_json":
            self._refresh_failed()
            return handler.send(behaviour.status or 200, HTML_PAGE.encode(), "text/html; charset=utf-8")
        if mode == "wrong_shape":
            self._refresh_failed()
            return handler._json(
                behaviour.status or 200, {"access_token": "", "expires_in": "soon", "token_type": "Bearer"}
            )
        # ok / drop_after_rotate: spend the token and issue new ones, atomically
        with self._lock:
            state = self._refresh[token][1]
            if state != "valid":
                self._stats.refresh["failed"] += 1
                self._stats.refresh["reused"] += 1
                rotated = None
            else:
                new_refresh = poolkit.refresh_token(f"{account.id}-{secrets.token_hex(6)}")
                self._refresh[token][1] = "used"
                self._refresh[new_refresh] = [account.id, "valid"]
                access, _ = self._mint(account, account.token_lifetime)
                self._stats.refresh["succeeded"] += 1
                rotated = (access, new_refresh)
        if rotated is None:
            return handler._json(
                401,
                {
                    "error": {
                        "message": REUSED,
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "refresh_token_reused",
                    }
                },
            )
        if mode == "drop_after_rotate":
            raise _Drop
        access, new_refresh = rotated
        now = int(self.clock())
        id_claims: dict[str, Any] = {
            "iat": now,
            "exp": now + 3600,
            "aud": params["client_id"],
            AUTH_CLAIM: {"chatgpt_plan_type": account.plan, "chatgpt_account_id": account.id},
        }
        if account.email:
            id_claims["email"] = account.email
        handler._json(
            behaviour.status or 200,
            {
                "access_token": access,
                "refresh_token": new_refresh,
                "id_token": self._id_token(id_claims),
                "expires_in": account.token_lifetime,
                "token_type": "Bearer",
                "scope": "openid profile email offline_access",
            },
        )
        assert handler.response is not None
        handler.response.issued = token_hash(new_refresh)
        return handler.response.status or 200

    def _refresh_failed(self, *, unknown: bool = False) -> None:
        with self._lock:
            self._stats.refresh["failed"] += 1
            if unknown:
                self._stats.refresh["unknown"] += 1


def _usage_2026(obj: Mapping[str, Any], where: str, anchor: float) -> dict[str, Any]:
    """The 2026 usage additions an account serves: ``"spendControl": {"reached": false,
    "reachedLimitType": null, "limits": {"individual": {"usedPercent": 38, "resetAfterSeconds":
    N}}}``, ``"resetCredits": 2`` (available_count), ``"rateLimit": null`` (a seat with no
    rate-limit windows sends ``rate_limit: null``)."""
    extra: dict[str, Any] = {}
    if "rateLimit" in obj:
        if obj["rateLimit"] is not None:
            raise ScenarioError(f"{where}.rateLimit: only null is accepted (the windows are primary/secondary)")
        extra["rate_limit_null"] = True
    if obj.get("resetCredits") is not None:
        extra["reset_credits"] = _int(obj, "resetCredits", where, 0)
    spend = obj.get("spendControl")
    if spend is not None:
        w = f"{where}.spendControl"
        _check_keys(spend, w, {"reached", "reachedLimitType", "limits"})
        limits = {}
        for kind, raw in (spend.get("limits") or {}).items():
            lw = f"{w}.limits.{kind}"
            _check_keys(raw, lw, {"usedPercent", "resetAfterSeconds"})
            used = raw.get("usedPercent", 0)
            if isinstance(used, bool) or not isinstance(used, (int, float)) or used < 0:
                raise ScenarioError(f"{lw}.usedPercent: expected a number >= 0")
            limits[kind] = (float(used), anchor + (_int(raw, "resetAfterSeconds", lw, 30 * 86400, minimum=1) or 0))
        extra["spend"] = (_bool(spend, "reached", w, False), _str(spend, "reachedLimitType", w, None), limits)
    return extra


def _with_2026(extra: Mapping[str, Any], now: float) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "reset_credits" in extra:
        count = extra["reset_credits"]
        body["rate_limit_reset_credits"] = {"available_count": count, "applicable_available_count": count}
    if "spend" in extra:
        reached, reached_type, limits = extra["spend"]
        body["spend_control"] = {"reached": reached, "reached_limit_type": reached_type} | {
            f"{kind}_limit": {
                "used_percent": used,
                "remaining_percent": max(0.0, 100 - used),
                "reset_at": math.ceil(reset),
                "reset_after_seconds": max(1, math.ceil(reset - now)),
            }
            for kind, (used, reset) in limits.items()
        }
    return body


def _rate_limit_override(extra: Mapping[str, Any]) -> dict[str, Any]:
    return {"rate_limit": None} if extra.get("rate_limit_null") else {}


def _api_error(code: str, message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": kind, "param": None}}


def _form_or_json(content_type: str, body: bytes) -> dict[str, str]:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _event_stream(model: str) -> bytes:
    response_id = "resp_fake_" + secrets.token_hex(6)
    events = [
        (
            "response.created",
            {"type": "response.created", "response": {"id": response_id, "model": model, "status": "in_progress"}},
        ),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "pong"}),
        (
            "response.completed",
            {
                "type": "response.completed",
                "response": {
                    "id": response_id,
                    "model": model,
                    "status": "completed",
                    "usage": {"input_tokens": 12, "output_tokens": 1, "total_tokens": 13},
                },
            },
        ),
    ]
    return "".join(
        f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n" for name, data in events
    ).encode()


# --- the command line -----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake ChatGPT backend on 127.0.0.1 for tests and demos.")
    parser.add_argument("--scenario", required=True, help="scenario JSON file (format: see the module docstring)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    parser.add_argument(
        "--delay-ms", type=int, default=None, help="global answer delay, replacing the scenario's delayMs"
    )
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop by itself after this long (default 600)")
    parser.add_argument("--log", action="store_true", help="one line per request on stderr (never tokens)")
    args = parser.parse_args(argv)
    if args.max_seconds <= 0:
        parser.error("--max-seconds must be positive")
    if args.delay_ms is not None and args.delay_ms < 0:
        parser.error("--delay-ms must be >= 0")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        backend = FakeBackend(args.scenario, args.delay_ms, port=args.port, log=sys.stderr if args.log else None)
        backend.start()
    except (ScenarioError, OSError) as exc:
        print(f"fake_backend: {exc}", file=sys.stderr)
        return 2
    try:
        print(
            json.dumps({"url": backend.url, "base_url": backend.base_url, "token_url": backend.token_url}), flush=True
        )
        stop.wait(args.max_seconds)
    finally:
        backend.stop()
    return 0


if __name__ == "__main__":
    # run the importable module's main, so the adapters and this code share one set of classes
    from testkit.fake_backend import main as _main

    sys.exit(_main())
