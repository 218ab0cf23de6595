"""The fake ChatGPT backend (testkit/fake_backend.py): its behaviours through the core, in-process
(``FakeBackend.handle`` directly, and httpx clients on the backend's transport), and its server
adapter over real sockets (lifecycle, concurrency, keep-alive, request framing, the process)."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit import poolkit
from testkit.fake_backend import FakeBackend, FakeRequest, ScenarioError, jwt_claims, token_hash
from testkit.helpers import ROOT

T0 = 1_790_000_000.0  # a fixed server time for deterministic windows
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
SPARK = {
    "id": "codex_bengalfox",
    "name": "GPT-5.3-Codex-Spark",
    "primary": {"usedPercent": 7, "windowMinutes": 300, "resetAfterSeconds": 1200},
    "secondary": None,
    "models": ["gpt-5.3-codex-spark"],
}


class Clock:
    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def jwt_for(account_id: str, now: float, *, lifetime: float = 3600, plan: str = "plus") -> str:
    issued = int(now * 1000)
    return poolkit.access_token(
        account_id=account_id,
        email=f"{account_id}@example.com",
        issued_ms=issued,
        expires_ms=issued + int(lifetime * 1000),
        plan=plan,
    )


def headers(account_id: str, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "ChatGPT-Account-Id": account_id}


def account(account_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "email": f"{account_id}@example.com",
        "refreshToken": poolkit.refresh_token(account_id),
        **extra,
    }


def refresh_form(token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": token, "client_id": CLIENT_ID}


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _new_backend(
    started: list[FakeBackend], serve: bool, scenario: dict[str, Any] | Path, delay_ms: int | None = None, **kw: Any
) -> FakeBackend:
    backend = FakeBackend(scenario, delay_ms, **kw)
    started.append(backend)
    if serve:
        return backend.start()
    backend.transport()  # its URLs are its transport's
    return backend


@pytest.fixture
def backends() -> Iterator[list[FakeBackend]]:
    """The in-process backends a test made (stopped at teardown)."""
    started: list[FakeBackend] = []
    yield started
    for backend in started:
        backend.stop()


@pytest.fixture
def start(backends: list[FakeBackend]) -> Callable[..., FakeBackend]:
    """A FakeBackend in-process (no socket)."""
    return functools.partial(_new_backend, backends, False)


@pytest.fixture
def client(backends: list[FakeBackend]) -> Iterator[httpx.Client]:
    """An httpx client whose requests go, in-process, to the backend ``start`` made last."""

    def route(request: httpx.Request) -> httpx.Response:
        return backends[-1].transport().handle_request(request)

    with httpx.Client(transport=httpx.MockTransport(route), timeout=10) as c:
        yield c


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeBackend]]:
    """A FakeBackend served on 127.0.0.1 (stopped at teardown)."""
    started: list[FakeBackend] = []
    yield functools.partial(_new_backend, started, True)
    for backend in started:
        backend.stop()


@pytest.fixture
def socket_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


class Api:
    """Calls against one backend as one account."""

    def __init__(self, backend: FakeBackend, client: httpx.Client, account_id: str, token: str) -> None:
        self.backend, self.client, self.account_id, self.token = backend, client, account_id, token

    def usage(self, **kw: Any) -> httpx.Response:
        return self.client.get(
            self.backend.base_url + "/wham/usage", headers=headers(self.account_id, self.token), **kw
        )

    def responses(self, model: str = "gpt-5.5", **kw: Any) -> httpx.Response:
        body = {
            "model": model,
            "stream": True,
            "store": False,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "quota ping"}]}],
        }
        extra = {"OpenAI-Beta": "responses=experimental", "originator": "codex_cli_rs", "accept": "text/event-stream"}
        return self.client.post(
            self.backend.base_url + "/codex/responses",
            headers={**headers(self.account_id, self.token), **extra},
            json=body,
            **kw,
        )


def api(start: Callable[..., FakeBackend], client: httpx.Client, clock: Clock, **acct: Any) -> Api:
    backend = start({"accounts": [account("acct-a", **acct)]}, clock=clock)
    return Api(backend, client, "acct-a", jwt_for("acct-a", clock()))


# --- usage --------------------------------------------------------------------------


def test_usage_body_has_the_real_shape(start, client, clock):
    a = api(
        start,
        client,
        clock,
        plan="pro",
        primary={"usedPercent": 12.4, "windowMinutes": 300, "resetAfterSeconds": 3600},
        secondary={"usedPercent": 40, "windowMinutes": 10080, "resetAfterSeconds": 86400},
        additionalLimits=[SPARK],
        credits={"hasCredits": True, "unlimited": False, "balance": "12.50"},
    )
    response = a.usage()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["plan_type"] == "pro"
    assert body["rate_limit"] == {
        "allowed": True,
        "limit_reached": False,
        "primary_window": {
            "used_percent": 12,
            "limit_window_seconds": 18000,
            "reset_after_seconds": 3600,
            "reset_at": int(T0) + 3600,
        },
        "secondary_window": {
            "used_percent": 40,
            "limit_window_seconds": 604800,
            "reset_after_seconds": 86400,
            "reset_at": int(T0) + 86400,
        },
    }
    assert body["credits"] == {"has_credits": True, "unlimited": False, "balance": "12.50"}
    assert body["additional_rate_limits"] == [
        {
            "limit_name": "GPT-5.3-Codex-Spark",
            "metered_feature": "codex_bengalfox",
            "rate_limit": {
                "allowed": True,
                "limit_reached": False,
                "primary_window": {
                    "used_percent": 7,
                    "limit_window_seconds": 18000,
                    "reset_after_seconds": 1200,
                    "reset_at": int(T0) + 1200,
                },
                "secondary_window": None,
            },
        }
    ]
    assert body["rate_limit_reached_type"] is None


@pytest.mark.parametrize(
    "path", ["/backend-api/wham/usage", "/wham/usage", "/api/codex/usage", "/backend-api/api/codex/usage"]
)
def test_usage_answers_with_and_without_the_prefix(start, client, clock, path):
    a = api(start, client, clock)
    response = client.get(a.backend.url + path, headers=headers(a.account_id, a.token))
    assert response.status_code == 200
    assert response.json()["rate_limit"]["primary_window"]["limit_window_seconds"] == 18000


def test_default_windows_are_5h_and_7d_unused(start, client, clock):
    body = api(start, client, clock).usage().json()
    assert body["rate_limit"]["primary_window"]["used_percent"] == 0
    assert body["rate_limit"]["primary_window"]["limit_window_seconds"] == 300 * 60
    assert body["rate_limit"]["secondary_window"]["limit_window_seconds"] == 10080 * 60
    assert body["credits"] == {"has_credits": False, "unlimited": False, "balance": "0"}
    assert body["additional_rate_limits"] == []


def test_weekly_only_account_has_one_7_day_primary_window(start, client, clock):
    a = api(
        start,
        client,
        clock,
        primary={"usedPercent": 30, "windowMinutes": 10080, "resetAfterSeconds": 200_000},
        secondary=None,
        additionalLimits=[{"id": "codex_5h", "name": "5h", "primary": {"windowMinutes": 300}}],
    )
    body = a.usage().json()
    assert body["rate_limit"]["primary_window"]["limit_window_seconds"] == 604800
    assert body["rate_limit"]["primary_window"]["used_percent"] == 30
    assert body["rate_limit"]["secondary_window"] is None
    assert body["additional_rate_limits"][0]["rate_limit"]["primary_window"]["limit_window_seconds"] == 18000
    response = a.responses()
    assert response.headers["x-codex-primary-window-minutes"] == "10080"
    assert not any(name.startswith("x-codex-secondary-") for name in response.headers)


def test_limit_reached_derived_from_a_full_window(start, client, clock):
    body = (
        api(start, client, clock, primary={"usedPercent": 100, "windowMinutes": 300, "resetAfterSeconds": 900})
        .usage()
        .json()
    )
    assert body["rate_limit"]["allowed"] is False
    assert body["rate_limit"]["limit_reached"] is True
    assert body["rate_limit_reached_type"] == {"type": "rate_limit_reached"}, "keyed type, as the real service answers"


def test_limit_reached_and_kind_can_be_set(start, client, clock):
    body = (
        api(
            start,
            client,
            clock,
            limitReached=True,
            rateLimitReachedType="workspace_member_credits_depleted",
            credits=None,
        )
        .usage()
        .json()
    )
    assert body["rate_limit"]["limit_reached"] is True
    assert body["rate_limit"]["primary_window"]["used_percent"] == 0
    assert body["rate_limit_reached_type"] == {"type": "workspace_member_credits_depleted"}
    assert body["credits"] is None


def test_started_window_keeps_its_reset_and_rolls_over(start, client, clock):
    a = api(start, client, clock, primary={"usedPercent": 50, "windowMinutes": 300, "resetAfterSeconds": 100})
    clock.advance(40)
    window = a.usage().json()["rate_limit"]["primary_window"]
    assert (window["used_percent"], window["reset_after_seconds"], window["reset_at"]) == (50, 60, int(T0) + 100)
    clock.advance(110)  # 50 s past the reset: a fresh window started at T0 + 100
    window = a.usage().json()["rate_limit"]["primary_window"]
    assert (window["used_percent"], window["reset_after_seconds"], window["reset_at"]) == (
        0,
        18000 - 50,
        int(T0) + 100 + 18000,
    )


def test_unstarted_window_slides_with_the_clock(start, client, clock):
    a = api(start, client, clock, secondary={"usedPercent": 0, "windowMinutes": 10080, "started": False})
    first = a.usage().json()["rate_limit"]["secondary_window"]
    clock.advance(3000)
    second = a.usage().json()["rate_limit"]["secondary_window"]
    assert first["reset_after_seconds"] == second["reset_after_seconds"] == 604800
    assert second["reset_at"] - first["reset_at"] == 3000


# --- responses ----------------------------------------------------------------------


def test_responses_carries_the_quota_headers(start, client, clock):
    a = api(
        start,
        client,
        clock,
        plan="pro",
        primary={"usedPercent": 12.5, "windowMinutes": 300, "resetAfterSeconds": 3600},
        secondary={"usedPercent": 40, "windowMinutes": 10080, "resetAfterSeconds": 86400},
        additionalLimits=[SPARK],
        credits={"hasCredits": True, "unlimited": False, "balance": "3.75"},
    )
    response = a.responses()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: response.completed" in response.text
    h = response.headers
    assert h["x-codex-primary-used-percent"] == "12.5"
    assert h["x-codex-primary-window-minutes"] == "300"
    assert h["x-codex-primary-reset-at"] == str(int(T0) + 3600)
    assert h["x-codex-primary-reset-after-seconds"] == "3600"
    assert h["x-codex-secondary-used-percent"] == "40"
    assert h["x-codex-secondary-window-minutes"] == "10080"
    assert h["x-codex-secondary-reset-at"] == str(int(T0) + 86400)
    assert h["x-codex-secondary-reset-after-seconds"] == "86400"
    assert h["x-codex-plan-type"] == "pro"
    assert h["x-codex-active-limit"] == "codex"
    assert (h["x-codex-credits-has-credits"], h["x-codex-credits-unlimited"], h["x-codex-credits-balance"]) == (
        "true",
        "false",
        "3.75",
    )
    assert h["x-codex-bengalfox-primary-used-percent"] == "7"
    assert h["x-codex-bengalfox-primary-window-minutes"] == "300"
    assert h["x-codex-bengalfox-primary-reset-after-seconds"] == "1200"
    assert h["x-codex-bengalfox-limit-name"] == "GPT-5.3-Codex-Spark"
    assert "x-codex-bengalfox-secondary-used-percent" not in h
    assert "x-codex-rate-limit-reached-type" not in h


def test_responses_on_a_spark_model_charges_the_spark_limit(start, client, clock):
    a = api(start, client, clock, primary={"usedPercent": 60, "windowMinutes": 300}, additionalLimits=[SPARK])
    h = a.responses("gpt-5.3-codex-spark").headers
    assert h["x-codex-active-limit"] == "codex_bengalfox"
    assert h["x-codex-primary-used-percent"] == h["x-codex-bengalfox-primary-used-percent"] == "7"
    assert "x-codex-secondary-used-percent" not in h  # the Spark limit has no secondary window


def test_active_limit_name_can_be_set(start, client, clock):
    assert api(start, client, clock, activeLimit="premium").responses().headers["x-codex-active-limit"] == "premium"


def test_credits_null_sends_no_credit_headers(start, client, clock):
    h = api(start, client, clock, credits=None).responses().headers
    assert not any(name.startswith("x-codex-credits-") for name in h)
    assert "x-codex-primary-used-percent" in h


def test_responses_answers_429_with_headers_when_the_limit_is_reached(start, client, clock):
    a = api(
        start,
        client,
        clock,
        primary={"usedPercent": 100, "windowMinutes": 300, "resetAfterSeconds": 900},
        secondary={"usedPercent": 80, "windowMinutes": 10080, "resetAfterSeconds": 5000},
    )
    response = a.responses()
    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "type": "usage_limit_reached",
            "code": "usage_limit_reached",
            "message": "The usage limit has been reached",
            "plan_type": "plus",
            "resets_at": int(T0) + 900,
            "resets_in_seconds": 900,
        }
    }
    assert response.headers["x-codex-primary-used-percent"] == "100"
    assert response.headers["x-codex-rate-limit-reached-type"] == "rate_limit_reached"


def test_a_full_spark_limit_does_not_block_other_models(start, client, clock):
    spark = {**SPARK, "primary": {"usedPercent": 100, "windowMinutes": 300, "resetAfterSeconds": 600}}
    a = api(start, client, clock, additionalLimits=[spark])
    assert a.responses("gpt-5.5").status_code == 200
    blocked = a.responses("gpt-5.3-codex-spark")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["resets_in_seconds"] == 600
    assert a.usage().json()["additional_rate_limits"][0]["rate_limit"]["limit_reached"] is True


def test_ok_mode_answers_200_even_when_the_limit_is_reached(start, client, clock):
    a = api(start, client, clock, primary={"usedPercent": 100, "windowMinutes": 300}, responses="ok")
    response = a.responses()
    assert response.status_code == 200
    assert response.headers["x-codex-primary-used-percent"] == "100"


def test_responses_needs_a_model(start, client, clock):
    a = api(start, client, clock)
    response = client.post(
        a.backend.base_url + "/codex/responses", headers=headers(a.account_id, a.token), content=b"not json"
    )
    assert response.status_code == 400
    response = client.post(
        a.backend.url + "/codex/responses", headers=headers(a.account_id, a.token), json={"input": []}
    )
    assert response.status_code == 400
    assert "model" in response.json()["detail"]


def test_supported_models_reject_the_others(start, client, clock):
    a = api(start, client, clock, supportedModels=["gpt-5.5"])
    rejected = a.responses("gpt-5.6-sol")
    assert rejected.status_code == 400
    assert re.search(r"model is not supported when using codex with a chatgpt account", rejected.json()["detail"], re.I)
    assert "x-codex-primary-used-percent" not in rejected.headers
    assert a.responses("gpt-5.5").status_code == 200


def test_unsupported_model_mode(start, client, clock):
    response = api(start, client, clock, responses="unsupported_model").responses("gpt-5.5")
    assert response.status_code == 400
    assert "'gpt-5.5' model is not supported" in response.json()["detail"]


# --- behaviours ---------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["usage", "responses"])
def test_rate_limited_mode(start, client, clock, endpoint):
    a = api(start, client, clock, **{endpoint: {"mode": "rate_limited", "resetsInSeconds": 1234}})
    response = getattr(a, endpoint)()
    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("usage_limit_reached", "usage_limit_reached")
    assert (error["resets_at"], error["resets_in_seconds"]) == (int(T0) + 1234, 1234)
    assert ("x-codex-primary-used-percent" in response.headers) == (endpoint == "responses")


@pytest.mark.parametrize("endpoint", ["usage", "responses"])
def test_token_invalidated_mode(start, client, clock, endpoint):
    response = getattr(api(start, client, clock, **{endpoint: "token_invalidated"}), endpoint)()
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "token_invalidated",
            "message": "Your authentication token has been invalidated. Please try signing in again.",
        }
    }
    assert "x-codex-primary-used-percent" not in response.headers


@pytest.mark.parametrize("endpoint", ["usage", "responses"])
def test_forbidden_mode(start, client, clock, endpoint):
    response = getattr(api(start, client, clock, **{endpoint: "forbidden"}), endpoint)()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "deactivated_workspace"


def test_forbidden_mode_with_another_code(start, client, clock):
    response = api(start, client, clock, responses={"mode": "forbidden", "code": "usage_not_included"}).responses()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "usage_not_included"


@pytest.mark.parametrize("endpoint", ["usage", "responses"])
def test_server_error_mode(start, client, clock, endpoint):
    response = getattr(api(start, client, clock, **{endpoint: {"mode": "server_error", "status": 503}}), endpoint)()
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "server_error"
    assert "x-codex-primary-used-percent" not in response.headers


def test_server_error_can_carry_quota_headers(start, client, clock):
    response = api(
        start, client, clock, responses={"mode": "server_error", "status": 502, "quotaHeaders": True}
    ).responses()
    assert response.status_code == 502
    assert response.headers["x-codex-primary-window-minutes"] == "300"


def test_error_mode_sends_any_status_and_raw_body(start, client, clock):
    a = api(
        start,
        client,
        clock,
        usage={"mode": "error", "status": 418, "rawBody": "short and stout", "contentType": "text/plain"},
        responses={"mode": "error", "status": 409, "body": {"detail": "conflict"}},
    )
    first = a.usage()
    assert (first.status_code, first.text, first.headers["content-type"]) == (418, "short and stout", "text/plain")
    second = a.responses()
    assert (second.status_code, second.json()) == (409, {"detail": "conflict"})


def test_body_override_keeps_the_modes_status(start, client, clock):
    response = api(start, client, clock, usage={"mode": "rate_limited", "body": {"detail": "slow down"}}).usage()
    assert (response.status_code, response.json()) == (429, {"detail": "slow down"})


@pytest.mark.parametrize("endpoint", ["usage", "responses"])
def test_drop_mode_closes_without_an_answer(start, client, clock, endpoint):
    a = api(start, client, clock, **{endpoint: "drop"})
    with pytest.raises(httpx.RemoteProtocolError):
        getattr(a, endpoint)()
    stats = a.backend.stats()
    assert stats["dropped"] == 1
    assert stats["statuses"] == {"dropped": 1}


@pytest.mark.parametrize("endpoint", ["usage", "responses"])
def test_not_json_mode(start, client, clock, endpoint):
    response = getattr(api(start, client, clock, **{endpoint: "not_json"}), endpoint)()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_wrong_shape_usage_is_json_of_the_wrong_shape(start, client, clock):
    response = api(start, client, clock, usage="wrong_shape").usage()
    assert response.status_code == 200
    body = response.json()
    assert not isinstance(body["rate_limit"], dict)
    assert not isinstance(body["plan_type"], str)


def test_wrong_shape_responses_has_unparsable_header_values(start, client, clock):
    response = api(start, client, clock, responses="wrong_shape").responses()
    assert response.status_code == 200
    assert response.headers["x-codex-primary-used-percent"] == "n/a"
    assert response.headers["x-codex-secondary-reset-at"] == "n/a"


def test_no_headers_mode(start, client, clock):
    response = api(start, client, clock, responses="no_headers").responses()
    assert response.status_code == 200
    assert not any(name.startswith("x-codex-") for name in response.headers)


def test_behaviour_lists_play_in_order_and_the_last_repeats(start, client, clock):
    a = api(start, client, clock, usage=[{"mode": "server_error", "status": 503}, "token_invalidated", "ok"])
    assert [a.usage().status_code for _ in range(5)] == [503, 401, 200, 200, 200]


def test_behaviours_are_per_account(start, client, clock):
    backend = start({"accounts": [account("acct-a", usage="forbidden"), account("acct-b")]}, clock=clock)
    a = Api(backend, client, "acct-a", jwt_for("acct-a", T0))
    b = Api(backend, client, "acct-b", jwt_for("acct-b", T0))
    assert (a.usage().status_code, b.usage().status_code) == (403, 200)


# --- slowness -------------------------------------------------------------------------


def test_account_delay_makes_answers_slow(start, client, clock):
    a = api(start, client, clock, delayMs=1500)
    with pytest.raises(httpx.ReadTimeout):
        a.usage(timeout=0.2)
    stats = a.backend.stats()
    assert (stats["statuses"], stats["inFlight"]) == ({"200": 1}, 0), "the answer left, to a client gone"


def test_behaviour_delay_beats_the_account_delay(start, client, clock):
    a = api(start, client, clock, delayMs=0, responses={"mode": "auto", "delayMs": 1500})
    assert a.usage(timeout=5).status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        a.responses(timeout=0.2)


def test_global_delay_from_the_constructor_beats_the_scenarios(start, client, clock):
    backend = start({"delayMs": 0, "accounts": [account("acct-a"), account("acct-b", delayMs=0)]}, 300, clock=clock)
    assert backend.stats()["delayMs"] == 300
    began = time.monotonic()
    assert Api(backend, client, "acct-a", jwt_for("acct-a", T0)).usage().status_code == 200
    assert time.monotonic() - began >= 0.3
    assert Api(backend, client, "acct-b", jwt_for("acct-b", T0)).usage(timeout=5).status_code == 200


def test_scenario_global_delay(start, client, clock):
    backend = start({"delayMs": 1500, "accounts": [account("acct-a")]}, clock=clock)
    assert backend.stats()["delayMs"] == 1500
    with pytest.raises(httpx.ReadTimeout):
        Api(backend, client, "acct-a", jwt_for("acct-a", T0)).usage(timeout=0.2)


# --- the core alone: FakeBackend.handle and respond -----------------------------------------


def get_usage(account_id: str, token: str, target: str = "/backend-api/wham/usage") -> FakeRequest:
    return FakeRequest("GET", target, headers(account_id, token))


def test_core_answers_a_request_with_its_delay_as_data(clock):
    backend = FakeBackend(
        {
            "delayMs": 50,
            "accounts": [
                account("acct-a", delayMs=1500),
                account("acct-b", usage={"mode": "ok", "delayMs": 20}),
                account("acct-c"),
            ],
        },
        clock=clock,
    )
    a = backend.handle(get_usage("acct-a", jwt_for("acct-a", T0), "/backend-api/wham/usage/?debug=1"))
    assert (a.status, a.delay, a.endpoint, a.path) == (200, 1.5, "usage", "/wham/usage")
    assert a.headers["Content-Type"] == "application/json" and a.json()["account_id"] == "acct-a"
    assert backend.handle(get_usage("acct-b", jwt_for("acct-b", T0))).delay == 0.02, "the behaviour's delay wins"
    assert backend.handle(get_usage("acct-c", jwt_for("acct-c", T0))).delay == 0.05, "else the global one"
    assert (
        FakeBackend({"accounts": [account("acct-c")]}, 0, clock=clock)
        .handle(get_usage("acct-c", jwt_for("acct-c", T0)))
        .delay
        == 0
    )
    stats = backend.stats()
    assert stats["requests"]["usage"] == 3 and stats["statuses"] == {} and stats["inFlight"] == 0, (
        "handle books the request; the answer is booked when it is sent"
    )


def test_core_drop_is_an_answer_without_a_status(clock):
    backend = FakeBackend({"accounts": [account("acct-a", usage={"mode": "drop", "delayMs": 300})]}, clock=clock)
    waited: list[float] = []
    response = backend.respond(get_usage("acct-a", jwt_for("acct-a", T0)), lambda s: waited.append(s) or True)
    assert response.dropped and response.status is None and response.body == b""
    assert waited == [0.3], "a drop comes after the delay, as a connection closing late"
    stats = backend.stats()
    assert (stats["dropped"], stats["statuses"], stats["inFlight"]) == (1, {"dropped": 1}, 0)


def test_respond_keeps_the_request_in_flight_while_it_waits_and_drops_when_stopping(clock):
    backend = FakeBackend({"accounts": [account("acct-a", delayMs=1000)]}, clock=clock)
    seen: list[int] = []

    def stopping(seconds: float) -> bool:
        seen.append(backend.stats()["inFlight"])
        return False  # as when the backend stops during the delay

    response = backend.respond(get_usage("acct-a", jwt_for("acct-a", T0)), stopping)
    assert seen == [1] and response.dropped
    assert backend.stats()["statuses"] == {"dropped": 1} and backend.stats()["inFlight"] == 0
    backend.stop()
    assert backend.wait(5) is False, "a stopped backend waits no more"


def test_core_stats_calls_are_not_booked(clock):
    backend = FakeBackend({"accounts": [account("acct-a")]}, clock=clock)
    response = backend.respond(FakeRequest("GET", "/backend-api/_fake/stats"))
    assert (response.status, response.endpoint) == (200, None)
    assert response.json()["total"] == 0 and backend.stats()["statuses"] == {}
    assert backend.handle(FakeRequest("POST", "/_fake/stats")).status == 405


def test_core_reads_headers_in_any_case(clock):
    backend = FakeBackend({"accounts": [account("acct-a")]}, clock=clock)
    token = jwt_for("acct-a", T0)
    request = FakeRequest(
        "GET", "/wham/usage", [("authorization", f"Bearer {token}"), ("CHATGPT-ACCOUNT-ID", "acct-a")]
    )
    assert backend.handle(request).status == 200
    form = f"grant_type=refresh_token&refresh_token={poolkit.refresh_token('acct-a')}&client_id={CLIENT_ID}"
    refreshed = backend.handle(
        FakeRequest("POST", "/oauth/token", {"content-type": "application/x-www-form-urlencoded"}, form.encode())
    )
    assert refreshed.status == 200 and refreshed.json()["token_type"] == "Bearer"


def test_the_transport_answers_only_at_its_own_url(start, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    assert backend.base_url == "http://127.0.0.1:9/backend-api"
    with httpx.Client(transport=backend.transport(), timeout=5) as c:
        with pytest.raises(httpx.ConnectError):
            c.get("http://127.0.0.1:8080/backend-api/wham/usage")
        assert c.get(backend.url + "/_fake/stats").status_code == 200
    with httpx.Client(timeout=5) as c, pytest.raises(httpx.ConnectError):
        c.get(backend.url + "/_fake/stats")  # nothing serves it: a client must use the transport


# --- authentication -----------------------------------------------------------------


def test_missing_bearer_is_401(start, client, clock):
    a = api(start, client, clock)
    response = client.get(a.backend.base_url + "/wham/usage", headers={"ChatGPT-Account-Id": "acct-a"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_authorization"


def test_garbage_token_is_401(start, client, clock):
    a = api(start, client, clock)
    a.token = "not-a-jwt"
    assert a.usage().status_code == 401
    assert a.responses().json()["error"]["code"] == "invalid_token"


def test_token_of_another_account_is_401(start, client, clock):
    backend = start({"accounts": [account("acct-a"), account("acct-b")]}, clock=clock)
    response = Api(backend, client, "acct-a", jwt_for("acct-b", T0)).usage()
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_expired_token_is_401_on_the_server_clock(start, client, clock):
    a = api(start, client, clock)
    assert a.usage().status_code == 200
    clock.advance(3601)
    response = a.usage()
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_unknown_account_is_403(start, client, clock):
    a = api(start, client, clock)
    response = Api(a.backend, client, "acct-nobody", jwt_for("acct-nobody", T0)).usage()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_not_found"


def test_account_comes_from_the_token_without_the_header(start, client, clock):
    a = api(start, client, clock, plan="team")
    response = client.get(a.backend.base_url + "/wham/usage", headers={"Authorization": f"Bearer {a.token}"})
    assert response.status_code == 200
    assert response.json()["plan_type"] == "team"


def test_auth_is_checked_before_the_behaviour(start, client, clock):
    a = api(start, client, clock, usage=["forbidden", "ok"])
    a.token = jwt_for("acct-a", T0 - 7200)  # expired
    assert a.usage().status_code == 401
    a.token = jwt_for("acct-a", T0)
    assert [a.usage().status_code, a.usage().status_code] == [403, 200]  # the 401 used no entry


def test_unknown_paths_and_methods(start, client, clock):
    a = api(start, client, clock)
    assert client.get(a.backend.url + "/backend-api/nope").status_code == 404
    assert (
        client.get(a.backend.base_url + "/codex/responses", headers=headers(a.account_id, a.token)).status_code == 405
    )
    assert client.post(a.backend.base_url + "/wham/usage", headers=headers(a.account_id, a.token)).status_code == 405
    assert a.backend.stats()["requests"]["other"] == 1


# --- refresh --------------------------------------------------------------------------


def test_refresh_rotates_and_the_new_access_token_works(start, client, clock):
    backend = start({"accounts": [account("acct-a", plan="pro")]}, clock=clock)
    old = poolkit.refresh_token("acct-a")
    clock.advance(100)
    response = client.post(backend.token_url, data=refresh_form(old))
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "refresh_token", "id_token", "expires_in", "token_type"}
    assert isinstance(body["expires_in"], int) and not isinstance(body["expires_in"], bool) and body["expires_in"] > 0
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] != old
    assert body["refresh_token"].startswith("rt_fixture_")
    claims = jwt_claims(body["access_token"])
    assert claims is not None
    assert claims["https://api.openai.com/auth"] == {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acct-a"}
    assert claims["iat"] == int(T0) + 100
    assert claims["exp"] == claims["iat"] + body["expires_in"]
    assert claims["https://api.openai.com/profile"] == {"email": "acct-a@example.com"}
    id_claims = jwt_claims(body["id_token"])
    assert id_claims is not None and id_claims["email"] == "acct-a@example.com"
    assert backend.refresh_token("acct-a") == body["refresh_token"]
    fresh = Api(backend, client, "acct-a", body["access_token"])
    assert fresh.usage().status_code == 200
    assert fresh.responses().status_code == 200


def test_a_spent_refresh_token_is_rejected_as_reused(start, client, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    old = poolkit.refresh_token("acct-a")
    assert client.post(backend.token_url, data=refresh_form(old)).status_code == 200
    again = client.post(backend.token_url, data=refresh_form(old))
    assert again.status_code == 401, "as the service answers (tests/fixtures/real/refresh-token-reused.json)"
    assert again.json() == {
        "error": {
            "message": "Your refresh token has already been used to generate a new access token. Please try signing in again.",
            "type": "invalid_request_error",
            "param": None,
            "code": "refresh_token_reused",
        }
    }
    stats = backend.stats()
    assert stats["refresh"] == {"succeeded": 1, "failed": 1, "reused": 1, "unknown": 0}
    assert stats["refreshTokensPresented"] == {token_hash(old): 2}


def test_rotation_chains(start, client, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    token, seen = poolkit.refresh_token("acct-a"), set()
    for _ in range(3):
        response = client.post(backend.base_url + "/oauth/token", data=refresh_form(token))
        assert response.status_code == 200
        seen.add(token)
        token = response.json()["refresh_token"]
        assert token not in seen
    stats = backend.stats()
    assert stats["refresh"]["succeeded"] == 3
    assert set(stats["refreshTokensPresented"].values()) == {1}


def test_listed_used_refresh_tokens_are_reused(start, client, clock):
    backend = start({"accounts": [account("acct-a", usedRefreshTokens=["rt_fixture_old_1"])]}, clock=clock)
    response = client.post(backend.token_url, data=refresh_form("rt_fixture_old_1"))
    assert (response.status_code, response.json()["error"]["code"]) == (401, "refresh_token_reused")


def test_unknown_refresh_token_is_invalid_grant(start, client, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    response = client.post(backend.token_url, data=refresh_form("rt_fixture_nobody_0000"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert backend.stats()["refresh"]["unknown"] == 1


def test_refresh_accepts_a_json_body(start, client, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    response = client.post(
        backend.token_url, json={**refresh_form(poolkit.refresh_token("acct-a")), "scope": "openid profile email"}
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] != poolkit.refresh_token("acct-a")


def test_refresh_request_checks(start, client, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    token = poolkit.refresh_token("acct-a")
    wrong_grant = client.post(backend.token_url, data={**refresh_form(token), "grant_type": "password"})
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    no_client = client.post(backend.token_url, data={"grant_type": "refresh_token", "refresh_token": token})
    assert (no_client.status_code, no_client.json()["error"]) == (400, "invalid_request")
    assert backend.refresh_token("acct-a") == token  # nothing spent


def test_minted_tokens_expire_with_their_lifetime(start, client, clock):
    backend = start({"tokenLifetimeSeconds": 60, "accounts": [account("acct-a")]}, clock=clock)
    body = client.post(backend.token_url, data=refresh_form(poolkit.refresh_token("acct-a"))).json()
    assert body["expires_in"] == 60
    fresh = Api(backend, client, "acct-a", body["access_token"])
    assert fresh.usage().status_code == 200
    clock.advance(61)
    assert fresh.usage().json()["error"]["code"] == "token_expired"


def test_access_token_helper_mints_an_accepted_token(start, client, clock):
    backend = start({"accounts": [account("acct-a")]}, clock=clock)
    assert Api(backend, client, "acct-a", backend.access_token("acct-a")).usage().status_code == 200


NOT_SPENT = [
    ("invalid_grant", 400, lambda b: b["error"] == "invalid_grant"),
    ("expired", 400, lambda b: b["code"] == "refresh_token_expired"),
    ("invalidated", 401, lambda b: b["error"]["code"] == "refresh_token_invalidated"),
    ({"mode": "server_error", "status": 502}, 502, lambda b: b["error"] == "server_error"),
    ({"mode": "error", "status": 429, "body": {"error": "slow_down"}}, 429, lambda b: b == {"error": "slow_down"}),
    ("wrong_shape", 200, lambda b: "refresh_token" not in b and not isinstance(b["expires_in"], int)),
]


@pytest.mark.parametrize(("mode", "status", "check"), NOT_SPENT, ids=[str(m) for m, _, _ in NOT_SPENT])
def test_failing_refresh_modes_spend_nothing(start, client, clock, mode, status, check):
    backend = start({"accounts": [account("acct-a", refresh=[mode, "ok"])]}, clock=clock)
    token = poolkit.refresh_token("acct-a")
    failed = client.post(backend.token_url, data=refresh_form(token))
    assert failed.status_code == status
    assert check(failed.json())
    assert backend.refresh_token("acct-a") == token
    assert client.post(backend.token_url, data=refresh_form(token)).status_code == 200  # the next entry: ok
    assert backend.stats()["refresh"]["failed"] == 1


def test_invalid_grant_mode_refuses_every_time(start, client, clock):
    backend = start({"accounts": [account("acct-a", refresh="invalid_grant")]}, clock=clock)
    token = poolkit.refresh_token("acct-a")
    assert [client.post(backend.token_url, data=refresh_form(token)).status_code for _ in range(3)] == [400, 400, 400]
    assert backend.stats()["refresh"] == {"succeeded": 0, "failed": 3, "reused": 0, "unknown": 0}


def test_not_json_refresh(start, client, clock):
    backend = start({"accounts": [account("acct-a", refresh="not_json")]}, clock=clock)
    response = client.post(backend.token_url, data=refresh_form(poolkit.refresh_token("acct-a")))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_slow_refresh(start, client, clock):
    backend = start({"accounts": [account("acct-a", refresh={"mode": "ok", "delayMs": 1500})]}, clock=clock)
    with pytest.raises(httpx.ReadTimeout):
        client.post(backend.token_url, data=refresh_form(poolkit.refresh_token("acct-a")), timeout=0.2)


def test_dropped_refresh_spends_nothing(start, client, clock):
    backend = start({"accounts": [account("acct-a", refresh=["drop", "ok"])]}, clock=clock)
    token = poolkit.refresh_token("acct-a")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(backend.token_url, data=refresh_form(token))
    assert backend.refresh_token("acct-a") == token
    assert client.post(backend.token_url, data=refresh_form(token)).status_code == 200


def test_drop_after_rotate_loses_the_new_token(start, client, clock):
    backend = start({"accounts": [account("acct-a", refresh="drop_after_rotate")]}, clock=clock)
    token = poolkit.refresh_token("acct-a")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(backend.token_url, data=refresh_form(token))
    assert backend.refresh_token("acct-a") not in (None, token)
    retry = client.post(backend.token_url, data=refresh_form(token))
    assert (retry.status_code, retry.json()["error"]["code"]) == (401, "refresh_token_reused")
    assert backend.stats()["refresh"]["succeeded"] == 1


def test_concurrent_refreshes_of_one_token_succeed_once(start, clock):
    backend = start({"accounts": [account("acct-a", refresh={"mode": "ok", "delayMs": 200})]}, clock=clock)
    token = poolkit.refresh_token("acct-a")
    with httpx.Client(timeout=10, transport=backend.transport()) as c, ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: c.post(backend.token_url, data=refresh_form(token)), range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [401] * 9
    assert all(r.json()["error"]["code"] == "refresh_token_reused" for r in responses if r.status_code == 401)
    stats = backend.stats()
    assert stats["refresh"] == {"succeeded": 1, "failed": 9, "reused": 9, "unknown": 0}
    assert stats["refreshTokensPresented"] == {token_hash(token): 10}
    assert stats["maxInFlight"] > 1


# --- concurrency, stats, lifecycle --------------------------------------------------------


def test_slow_requests_overlap(serve, clock):
    backend = serve({"accounts": [account("acct-a", delayMs=300)]}, clock=clock)
    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=20)) as c, ThreadPoolExecutor(20) as pool:
        a = Api(backend, c, "acct-a", jwt_for("acct-a", T0))
        codes = list(pool.map(lambda _: a.usage().status_code, range(20)))
    assert codes == [200] * 20
    stats = backend.stats()
    assert stats["requests"]["usage"] == 20
    assert stats["maxInFlight"] >= 10  # a server answering one at a time would show 1
    assert stats["inFlight"] == 0


def test_fifty_delayed_requests_overlap_with_an_async_client(serve, clock):
    backend = serve({"accounts": [account("acct-a")]}, 500, clock=clock)
    token = jwt_for("acct-a", T0)

    async def run() -> list[int]:
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=50)) as c:
            calls = [
                c.post(
                    backend.base_url + "/codex/responses", headers=headers("acct-a", token), json={"model": "gpt-5.5"}
                )
                for _ in range(50)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert asyncio.run(run()) == [200] * 50
    assert backend.stats()["maxInFlight"] >= 25


def test_stats_over_http_count_per_endpoint_and_account_without_tokens(start, client, clock):
    backend = start({"accounts": [account("acct-a"), account("acct-b")]}, clock=clock)
    a = Api(backend, client, "acct-a", jwt_for("acct-a", T0))
    b = Api(backend, client, "acct-b", jwt_for("acct-b", T0))
    a.usage(), a.usage(), a.responses(), b.responses()
    client.post(backend.token_url, data=refresh_form(poolkit.refresh_token("acct-b")))
    response = client.get(backend.url + "/_fake/stats")
    assert response.status_code == 200
    stats = response.json()
    assert stats == backend.stats()
    assert stats["requests"] == {"usage": 2, "responses": 2, "refresh": 1, "other": 0}
    assert stats["total"] == 5
    assert stats["byAccount"] == {
        "acct-a": {"usage": 2, "responses": 1, "refresh": 0},
        "acct-b": {"usage": 0, "responses": 1, "refresh": 1},
    }
    assert stats["statuses"] == {"200": 5}
    text = response.text
    assert "rt_fixture_" not in text and a.token not in text and poolkit.refresh_token("acct-b") not in text
    assert client.get(backend.base_url + "/_fake/stats").json()["total"] == 5  # stats calls are not counted


def test_reset_stats(start, client, clock):
    a = api(start, client, clock)
    a.usage()
    a.backend.reset_stats()
    stats = a.backend.stats()
    assert (stats["total"], stats["byAccount"], stats["maxInFlight"]) == (0, {}, 0)


def test_binds_only_to_loopback_and_stops_cleanly(clock):
    backend = FakeBackend({"accounts": [account("acct-a")]}, clock=clock)
    with backend:
        assert backend.url == f"http://127.0.0.1:{backend.port}"
        assert backend.base_url == backend.url + "/backend-api"
        assert backend.token_url == backend.url + "/oauth/token"
        with httpx.Client(timeout=5) as c:
            assert c.get(backend.url + "/_fake/stats").status_code == 200
        url = backend.url
    with pytest.raises(RuntimeError):
        backend.url  # noqa: B018 - not running any more
    with httpx.Client(timeout=5) as c, pytest.raises(httpx.ConnectError):
        c.get(url + "/_fake/stats")


def test_stop_interrupts_a_slow_answer(clock):
    backend = FakeBackend({"accounts": [account("acct-a", delayMs=30_000)]}, clock=clock).start()
    outcome: list[BaseException | int] = []

    def call() -> None:
        with httpx.Client(timeout=20) as c:
            try:
                outcome.append(Api(backend, c, "acct-a", jwt_for("acct-a", T0)).usage().status_code)
            except httpx.HTTPError as exc:
                outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    for _ in range(200):  # wait (bounded) until the request is being delayed
        if backend.stats()["inFlight"]:
            break
        time.sleep(0.01)
    assert backend.stats()["inFlight"] == 1
    backend.stop()
    thread.join(20)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.RemoteProtocolError)  # not a 20 s ReadTimeout


def test_keep_alive_connections_are_reused(serve, clock):
    backend = serve({"accounts": [account("acct-a")]}, clock=clock)
    with httpx.Client(timeout=5) as c:
        a = Api(backend, c, "acct-a", jwt_for("acct-a", T0))
        first = a.usage()
        second = a.usage()
    assert first.http_version == second.http_version == "HTTP/1.1"
    assert "close" not in second.headers.get("connection", "")


# --- the server adapter, over real sockets ------------------------------------------------------


def test_server_answers_as_the_in_process_transport_does(serve, start, socket_client, clock):
    scenario = {"accounts": [account("acct-a", plan="pro", additionalLimits=[SPARK])]}
    served, in_process = serve(scenario, clock=clock), start(scenario, clock=clock)
    token = jwt_for("acct-a", T0)
    with httpx.Client(transport=in_process.transport(), timeout=10) as local:
        for backend, c in ((served, socket_client), (in_process, local)):
            usage = Api(backend, c, "acct-a", token).usage()
            responses = Api(backend, c, "acct-a", token).responses("gpt-5.3-codex-spark")
            missing = c.get(backend.url + "/nope")
            quota = {k: v for k, v in responses.headers.items() if k.startswith("x-")}
            if backend is served:
                expected = (usage.status_code, usage.json(), responses.status_code, quota, missing.status_code)
            else:
                assert (usage.status_code, usage.json(), responses.status_code, quota, missing.status_code) == expected
    assert expected[0] == 200 and expected[2] == 200 and expected[3]["x-codex-active-limit"] == "codex_bengalfox"
    assert served.stats() == in_process.stats()


def test_server_drop_closes_the_connection(serve, socket_client, clock):
    backend = serve({"accounts": [account("acct-a", usage="drop", refresh="drop_after_rotate")]}, clock=clock)
    with pytest.raises(httpx.RemoteProtocolError):
        Api(backend, socket_client, "acct-a", jwt_for("acct-a", T0)).usage()
    token = poolkit.refresh_token("acct-a")
    with pytest.raises(httpx.RemoteProtocolError):
        socket_client.post(backend.token_url, data=refresh_form(token))
    assert backend.refresh_token("acct-a") not in (None, token), "rotated, then dropped"
    assert backend.stats()["statuses"] == {"dropped": 2}


def test_server_delay_is_a_real_read_timeout(serve, socket_client, clock):
    backend = serve({"accounts": [account("acct-a", delayMs=1500)]}, clock=clock)
    with pytest.raises(httpx.ReadTimeout):
        Api(backend, socket_client, "acct-a", jwt_for("acct-a", T0)).usage(timeout=0.2)


@pytest.mark.parametrize(
    ("framing", "status"),
    [
        ("Transfer-Encoding: chunked\r\n", 411),
        ("Content-Length: many\r\n", 400),
        (f"Content-Length: {(1 << 20) + 1}\r\n", 413),
    ],
)
def test_server_refuses_bad_request_framing(serve, clock, framing, status):
    backend = serve({"accounts": [account("acct-a")]}, clock=clock)
    with socket.create_connection(("127.0.0.1", backend.port), timeout=10) as conn:
        conn.sendall(f"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n".encode())
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert backend.stats()["total"] == 0, "refused before the core saw it"


# --- the scenario format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"accounts": [{"accountId": "a", "emial": "x"}]}, "unknown key(s) emial"),
        ({"accounts": [{"email": "x"}]}, "missing 'accountId'"),
        ({"accounts": [{"accountId": "a"}, {"accountId": "a"}]}, "duplicate accountId"),
        ({"accounts": [{"accountId": "a", "usage": "no_headers"}]}, "mode 'no_headers' is not one of"),
        ({"accounts": [{"accountId": "a", "refresh": {"mode": "ok", "delayMs": -1}}]}, "delayMs"),
        ({"accounts": [{"accountId": "a", "primary": {"usedPercent": 5}}]}, "missing 'windowMinutes'"),
        ({"accounts": [{"accountId": "a", "responses": {"mode": "error"}}]}, "needs a status"),
        ({"accounts": [{"accountId": "a", "usage": {"mode": "server_error", "status": 404}}]}, "5xx"),
        ({"accounts": [{"accountId": "a", "additionalLimits": [{"id": "codex-bad"}]}]}, "limit id"),
        (
            {"accounts": [{"accountId": "a", "refreshToken": "rt_1"}, {"accountId": "b", "refreshToken": "rt_1"}]},
            "listed twice",
        ),
        ({"account": []}, "unknown key(s) account"),
    ],
)
def test_bad_scenarios_fail_loudly(scenario, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        FakeBackend(scenario)


def test_scenario_from_a_file(tmp_path, start, client):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"accounts": [account("acct-a", plan="business")]}))
    backend = start(path)
    body = Api(backend, client, "acct-a", jwt_for("acct-a", time.time())).usage().json()
    assert body["plan_type"] == "business"


def test_poolkit_builds_a_scenario_from_pool_accounts(start, client):
    now = int(time.time() * 1000)
    records = [
        poolkit.account("alice", now, refreshed=now, plan="pro"),
        poolkit.account("bob", now, refreshed=now),
        poolkit.account("ghost", now, account_id=None),
    ]
    scenario = poolkit.backend_scenario(records, overrides={"acct-bob": {"usage": "forbidden"}})
    assert [a["accountId"] for a in scenario["accounts"]] == ["acct-alice", "acct-bob"]
    backend = start(scenario)
    alice = Api(backend, client, "acct-alice", records[0]["accessToken"])
    assert alice.usage().json()["plan_type"] == "pro"
    assert Api(backend, client, "acct-bob", records[1]["accessToken"]).usage().status_code == 403
    assert client.post(backend.token_url, data=refresh_form(records[0]["refreshToken"])).status_code == 200
    with pytest.raises(KeyError):
        poolkit.backend_scenario(records, overrides={"acct-nobody": {}})


# --- the process ------------------------------------------------------------------------


def _spawn(tmp_path: Path, *args: str, scenario: dict[str, Any] | None = None) -> subprocess.Popen[str]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario if scenario is not None else {"accounts": [account("acct-a")]}))
    return subprocess.Popen(
        [sys.executable, "-m", "testkit.fake_backend", "--scenario", str(path), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    if not ready:
        proc.kill()
        proc.communicate(timeout=10)
        pytest.fail("the fake backend printed nothing within 15 s")
    return json.loads(proc.stdout.readline())


def _finish(proc: subprocess.Popen[str], sig: int | None = signal.SIGTERM) -> tuple[int, str, str]:
    if sig is not None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        raise
    return proc.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_process_prints_its_urls_serves_and_exits_quietly(tmp_path, sig):
    proc = _spawn(tmp_path, "--port", "0")
    try:
        info = _first_line(proc)
        assert set(info) == {"url", "base_url", "token_url"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", info["url"])
        assert info["base_url"] == info["url"] + "/backend-api"
        assert info["token_url"] == info["url"] + "/oauth/token"
        with httpx.Client(timeout=10) as c:
            response = c.get(
                info["base_url"] + "/wham/usage", headers=headers("acct-a", jwt_for("acct-a", time.time()))
            )
            refreshed = c.post(info["token_url"], data=refresh_form(poolkit.refresh_token("acct-a")))
        assert response.status_code == 200
        assert refreshed.status_code == 200
    finally:
        code, out, err = _finish(proc, sig)
    assert (code, out, err) == (0, "", "")


def test_process_delay_flag_sets_the_global_delay(tmp_path):
    proc = _spawn(tmp_path, "--delay-ms", "1500")
    try:
        info = _first_line(proc)
        with httpx.Client(timeout=10) as c:
            assert c.get(info["url"] + "/_fake/stats").json()["delayMs"] == 1500
            with pytest.raises(httpx.ReadTimeout):
                c.get(
                    info["base_url"] + "/wham/usage",
                    headers=headers("acct-a", jwt_for("acct-a", time.time())),
                    timeout=0.2,
                )
    finally:
        code, _, err = _finish(proc)
    assert (code, err) == (0, "")


def test_process_stops_by_itself_after_max_seconds(tmp_path):
    proc = _spawn(tmp_path, "--max-seconds", "1")
    info = _first_line(proc)
    assert info["url"].startswith("http://127.0.0.1:")
    code, out, err = _finish(proc, None)
    assert (code, out, err) == (0, "", "")


def test_process_log_flag_logs_requests_without_tokens(tmp_path):
    proc = _spawn(tmp_path, "--log")
    token = jwt_for("acct-a", time.time())
    refresh = poolkit.refresh_token("acct-a")
    try:
        info = _first_line(proc)
        with httpx.Client(timeout=10) as c:
            c.get(info["base_url"] + "/wham/usage?token=" + token, headers=headers("acct-a", token))
            c.post(info["token_url"], data=refresh_form(refresh))
    finally:
        code, _, err = _finish(proc)
    assert code == 0
    assert "GET /wham/usage 200" in err
    assert "POST /oauth/token 200" in err
    assert token not in err and refresh not in err and "rt_fixture_" not in err


def test_process_rejects_a_bad_scenario(tmp_path):
    proc = _spawn(tmp_path, scenario={"accounts": [{"accountId": "a", "usage": "sometimes"}]})
    code, out, err = _finish(proc, None)
    assert code == 2
    assert out == ""
    assert "mode 'sometimes' is not one of" in err
