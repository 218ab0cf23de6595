"""Unit tests of the service layer with httpx.MockTransport: what is sent, and how every
answer is read (pipeline/live/endpoints.py, backend.py, oauth.py, wire.py), plus the probe stage driven by a mock client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from pipeline.errors import ConfigError
from pipeline.live import backend, endpoints, oauth, wire
from pipeline.live.endpoints import Endpoints
from testkit import poolkit
from testkit.helpers import run_cli

NOW = 1_800_000_000_000
ENDPOINTS = Endpoints("https://chatgpt.example/backend-api", "https://auth.example/oauth/token", 15_000)


def client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def usage_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_type": "pro",
        "rate_limit": {
            "allowed": True,
            "limit_reached": False,
            "primary_window": {
                "used_percent": 12,
                "limit_window_seconds": 18000,
                "reset_after_seconds": 3600,
                "reset_at": NOW // 1000 + 3600,
            },
            "secondary_window": {
                "used_percent": 40,
                "limit_window_seconds": 604800,
                "reset_after_seconds": 86400,
                "reset_at": NOW // 1000 + 86400,
            },
        },
        "credits": {"has_credits": True, "unlimited": False, "balance": "7.10"},
        "additional_rate_limits": [],
        "rate_limit_reached_type": None,
    }
    body.update(overrides)
    return body


def test_usage_request_carries_token_account_and_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=usage_body())

    with client(handler) as c:
        result = backend.probe_usage(c, ENDPOINTS, "tok-123", "acct-9", "gpt-5-codex", NOW)
    (request,) = seen
    assert str(request.url) == "https://chatgpt.example/backend-api/wham/usage"
    assert request.method == "GET"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["ChatGPT-Account-Id"] == "acct-9"
    assert result.outcome == "ok" and result.status == 200
    quota = result.quota
    assert quota is not None
    assert quota["windows"] == [
        {"windowMinutes": 300, "usedPercent": 12, "resetAt": NOW + 3_600_000},
        {"windowMinutes": 10080, "usedPercent": 40, "resetAt": NOW + 86_400_000},
    ]
    assert quota["planType"] == "pro" and quota["credits"] == {
        "hasCredits": True,
        "unlimited": False,
        "balance": "7.10",
    }


def test_codex_api_style_path_without_backend_api() -> None:
    assert Endpoints("https://api.example", "https://a.example/t", 1).usage_url == "https://api.example/api/codex/usage"


def test_windows_are_classified_by_length_not_position() -> None:
    body = usage_body(
        rate_limit={
            "allowed": True,
            "limit_reached": False,
            "primary_window": {"used_percent": 30, "limit_window_seconds": 604800, "reset_after_seconds": 100},
            "secondary_window": None,
        }
    )
    quota = wire.usage_quota(body, "gpt-5-codex", NOW)
    assert quota["windows"] == [{"windowMinutes": 10080, "usedPercent": 30, "resetAt": NOW + 100_000}]


def test_window_with_no_length_is_no_window_and_seconds_round_up_to_minutes() -> None:
    body = usage_body(
        rate_limit={
            "primary_window": {"used_percent": 0, "limit_window_seconds": 0},
            "secondary_window": {"used_percent": 5.5, "limit_window_seconds": 61},
        }
    )
    assert wire.usage_quota(body, "m", NOW)["windows"] == [{"windowMinutes": 2, "usedPercent": 5.5, "resetAt": None}]


def test_limit_reached_and_not_allowed_mean_rate_limited() -> None:
    for rate in ({"limit_reached": True}, {"allowed": False}):

        def handler(request: httpx.Request, rate: dict[str, Any] = rate) -> httpx.Response:
            return httpx.Response(
                200, json=usage_body(rate_limit=rate, rate_limit_reached_type={"type": "rate_limit_reached"})
            )

        with client(handler) as c:
            result = backend.probe_usage(c, ENDPOINTS, "t", "a", "m", NOW)
        assert result.outcome == "rate-limited"
        assert (
            result.quota
            and result.quota["limitReached"] is True
            and result.quota["limitReachedType"] == "rate_limit_reached"
        )


def test_per_model_limit_matches_the_model_name() -> None:
    spark = {
        "limit_name": "GPT-5.3-Codex-Spark",
        "metered_feature": "codex_bengalfox",
        "rate_limit": {"limit_reached": False, "primary_window": {"used_percent": 70, "limit_window_seconds": 18000}},
    }
    body = usage_body(additional_rate_limits=[spark])
    matched = wire.usage_quota(body, "gpt-5.3-codex-spark", NOW)
    assert (
        matched["modelLimit"]["limitId"] == "codex_bengalfox"
        and matched["modelLimit"]["windows"][0]["usedPercent"] == 70
    )
    assert wire.usage_quota(body, "gpt-5-codex", NOW)["modelLimit"] is None
    assert len(wire.usage_quota(body, "gpt-5-codex", NOW)["additionalLimits"]) == 1


@pytest.mark.parametrize(
    ("status", "body", "outcome", "code"),
    [
        (
            401,
            {"error": {"code": "token_invalidated", "message": "Your authentication token has been invalidated."}},
            "auth-failed",
            "token_invalidated",
        ),
        (403, {"error": {"code": "deactivated_workspace"}}, "auth-failed", "deactivated_workspace"),
        (500, {"detail": "boom"}, "http-error", "boom"),
        (502, "<html>bad gateway</html>", "http-error", None),
    ],
)
def test_failed_answers(status: int, body: Any, outcome: str, code: str | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)

    with client(handler) as c:
        result = backend.probe_usage(c, ENDPOINTS, "t", "a", "m", NOW)
    assert (result.outcome, result.status, result.code) == (outcome, status, code)
    assert "html" not in (result.detail or "")


def test_429_reads_the_reset_from_the_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            json={"error": {"type": "usage_limit_reached", "code": "usage_limit_reached", "resets_in_seconds": 600}},
        )

    with client(handler) as c:
        result = backend.probe_usage(c, ENDPOINTS, "t", "a", "m", NOW)
    assert result.outcome == "rate-limited" and result.reset_at == NOW + 600_000

    def at(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": {"code": "usage_limit_reached", "resets_at": NOW // 1000 + 60}})

    with client(at) as c:
        assert backend.probe_usage(c, ENDPOINTS, "t", "a", "m", NOW).reset_at == NOW + 60_000


@pytest.mark.parametrize("payload", [b"not json", b'"a string"', b'{"rate_limit": 5}'])
def test_malformed_bodies_are_http_errors(payload: bytes) -> None:
    with client(lambda request: httpx.Response(200, content=payload)) as c:
        result = backend.probe_usage(c, ENDPOINTS, "t", "a", "m", NOW)
    assert result.outcome == "http-error" and result.status == 200 and result.quota is None


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "network-error"),
        (httpx.RemoteProtocolError("dropped"), "network-error"),
    ],
)
def test_transport_failures(error: Exception, outcome: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with client(handler) as c:
        result = backend.probe_usage(c, ENDPOINTS, "t", "a", "m", NOW)
    assert result.outcome == outcome and result.status is None


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_request_and_rotation() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "access_token": "new-access",
                "refresh_token": "new-refresh",
                "id_token": "idt",
                "expires_in": 3600,
                "token_type": "Bearer",
            },
        )

    with client(handler) as c:
        result = oauth.refresh(c, ENDPOINTS, "old-refresh", NOW)
    form = parse_qs(seen[0].content.decode())
    assert form == {"grant_type": ["refresh_token"], "refresh_token": ["old-refresh"], "client_id": [oauth.CLIENT_ID]}
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert result.ok and result.tokens == {
        "access": "new-access",
        "refresh": "new-refresh",
        "expires": NOW + 3_600_000,
        "id_token": "idt",
    }


def test_refresh_without_a_new_refresh_token_keeps_the_old_one() -> None:
    with client(lambda r: httpx.Response(200, json={"access_token": "a", "expires_in": 60})) as c:
        result = oauth.refresh(c, ENDPOINTS, "keep-me", NOW)
    assert result.ok and result.tokens and result.tokens["refresh"] == "keep-me"


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "a"},
        {"access_token": "a", "expires_in": True},
        {"access_token": "", "expires_in": 5},
        {"access_token": "a", "expires_in": -1},
    ],
)
def test_refresh_answer_that_is_not_a_token_response(body: dict[str, Any]) -> None:
    with client(lambda r: httpx.Response(200, json=body)) as c:
        result = oauth.refresh(c, ENDPOINTS, "r", NOW)
    assert not result.ok and result.code == "invalid_response" and result.spent


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "Invalid refresh token.", "code": "refresh_token_invalid"},
            "invalid_grant",
        ),
        (
            400,
            {"error": "invalid_grant", "error_description": "already used", "code": "refresh_token_reused"},
            "refresh_token_reused",
        ),
        (401, {"error": {"code": "refresh_token_invalidated", "message": "revoked"}}, "refresh_token_invalidated"),
        (503, {"error": "temporarily_unavailable"}, "temporarily_unavailable"),
    ],
)
def test_refresh_failures_keep_the_code_not_the_body(status: int, body: dict[str, Any], code: str) -> None:
    with client(lambda r: httpx.Response(status, json=body)) as c:
        result = oauth.refresh(c, ENDPOINTS, "r", NOW)
    assert (result.ok, result.status, result.code) == (False, status, code)
    assert "description" not in result.detail and "already used" not in result.detail


def test_refresh_network_errors() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with client(refused) as c:
        result = oauth.refresh(c, ENDPOINTS, "r", NOW)
    assert (result.ok, result.code, result.spent) == (False, "network_error", False), (
        "a refused connection spent nothing"
    )

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with client(timeout) as c:
        assert oauth.refresh(c, ENDPOINTS, "r", NOW).spent, "a request that may have arrived may have spent the token"


# --- the responses probe's headers -------------------------------------------------------------------


def test_quota_headers() -> None:
    headers = httpx.Headers(
        {
            "x-codex-primary-used-percent": "12.5",
            "x-codex-primary-window-minutes": "300",
            "x-codex-primary-reset-after-seconds": "60",
            "x-codex-secondary-used-percent": "0",
            "x-codex-secondary-window-minutes": "0",
            "x-codex-secondary-reset-at": "",
            "x-codex-plan-type": "plus",
            "x-codex-credits-has-credits": "TRUE",
            "x-codex-credits-unlimited": "0",
            "x-codex-credits-balance": "3",
            "x-codex-bengalfox-primary-used-percent": "80",
            "x-codex-bengalfox-primary-window-minutes": "300",
            "x-codex-bengalfox-limit-name": "GPT-5.3-Codex-Spark",
        }
    )
    quota = wire.header_quota(headers, "gpt-5-codex", NOW, 200)
    assert quota is not None
    assert quota["windows"] == [{"windowMinutes": 300, "usedPercent": 12.5, "resetAt": NOW + 60_000}], (
        "an all-zero secondary is no window"
    )
    assert quota["credits"] == {"hasCredits": True, "unlimited": False, "balance": "3"}
    assert quota["additionalLimits"][0]["limitId"] == "bengalfox" and quota["modelLimit"] is None
    spark = wire.header_quota(headers, "gpt-5.3-codex-spark", NOW, 200)
    assert spark and spark["modelLimit"]["limitName"] == "GPT-5.3-Codex-Spark"


def test_responses_probe_request_shape_and_missing_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="data: {}\n\n", headers={"content-type": "text/event-stream"})

    with client(handler) as c:
        result = backend.probe_responses(c, ENDPOINTS, "tok", "acct", "gpt-5-codex", NOW)
    request = seen[0]
    assert str(request.url) == "https://chatgpt.example/backend-api/codex/responses"
    assert (
        request.headers["originator"] == "codex_cli_rs" and request.headers["OpenAI-Beta"] == "responses=experimental"
    )
    assert json.loads(request.content)["model"] == "gpt-5-codex"
    assert result.outcome == "http-error" and result.detail == "the answer carried no quota headers"


# --- URL safety ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://chatgpt.com/backend-api",
        "http://127.0.0.1:8080/backend-api",
        "http://127.9.9.9/x",
        "http://localhost:1/x",
        "http://[::1]:5/x",
    ],
)
def test_allowed_urls(url: str) -> None:
    endpoints.check_url(url, "X")


@pytest.mark.parametrize(
    "url",
    ["http://chatgpt.com/backend-api", "http://10.0.0.1/x", "http://192.168.1.2/x", "ftp://127.0.0.1/x", "chatgpt.com"],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="plain http only to loopback"):
        endpoints.check_url(url, "X")


def test_bad_timeout_setting_is_a_usage_error(seed_pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_AUTH_FETCH_TIMEOUT_MS", "soon")
    result = run_cli(["report", "--live"], expect=2, validate=False)
    assert "CODEX_AUTH_FETCH_TIMEOUT_MS: 'soon' is not a number" in result.stderr


# --- the probe stage with a mock client ------------------------------------------------------------------


def test_prober_with_a_mock_client_keeps_pool_order(pool_dir: Path) -> None:
    from pipeline.stages.probe import ProbeOptions, Prober

    t = poolkit.now_ms()
    accounts = [poolkit.account(f"m{i}", t) for i in range(5)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        account = request.headers["ChatGPT-Account-Id"]
        asked.append(account)
        if account == "acct-m2":
            return httpx.Response(401, json={"error": {"code": "token_invalidated"}})
        used = int(account[-1]) * 10
        return httpx.Response(
            200, json=usage_body(rate_limit={"primary_window": {"used_percent": used, "limit_window_seconds": 18000}})
        )

    records = [json.loads(line) for line in run_cli(["collect"]).stdout.splitlines()]
    with client(handler) as mock:
        prober = Prober(
            ProbeOptions(concurrency=4, cached_only=True),
            {"CODEX_AUTH_BASE_URL": "https://chatgpt.example/backend-api"},
            client=mock,
        )
        out = list(prober.run(records))
    from testkit.helpers import assert_valid

    assert_valid(out)
    probed = [r for r in out if r["kind"] == "account"]
    assert [r["index"] for r in probed] == [0, 1, 2, 3, 4]
    assert [r["probe"]["outcome"] for r in probed] == ["ok", "ok", "auth-failed", "ok", "ok"]
    assert [r["quota"]["windows"][0]["usedPercent"] for r in probed if r["probe"]["outcome"] == "ok"] == [0, 10, 30, 40]
    assert sorted(asked) == [f"acct-m{i}" for i in range(5)], "--cached-only: no refresh and no retry after the 401"
    assert out[0]["probe"]["mode"] == "live" and out[0]["probe"]["cachedOnly"] is True
