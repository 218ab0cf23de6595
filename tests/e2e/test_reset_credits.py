"""Reset credits with their expiry, on demand (--reset-credits): the list is read in live mode,
one paced request at a time (the service allows two quick reads per address, then 429), only for
accounts that hold credits; it is kept in our state file beside the pool with the time it was
read, and the default report shows it from there without any request. Never redeemed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.live import reset_credits
from pipeline.live.endpoints import Endpoints
from pipeline.stages.probe import ProbeOptions, Prober
from pipeline.storage.paths import STATE_FILE
from testkit import poolkit
from testkit.helpers import assert_valid, run_cli

NOW = 1_790_000_000_000
DAY = 86_400_000
BASE = "https://chatgpt.example/backend-api"
ENDPOINTS = Endpoints(BASE, "https://auth.example/oauth/token", 15_000)


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def credit_list(*expiries: int | None, redeemed: int = 0, count: int | None = None) -> dict[str, Any]:
    credits = [
        {
            "id": f"c{i}",
            "status": "available",
            "reset_type": "full",
            "granted_at": iso(NOW - DAY),
            "expires_at": iso(at) if at else None,
            "title": "Reset",
        }
        for i, at in enumerate(expiries)
    ]
    credits += [
        {"id": f"r{i}", "status": "redeemed", "granted_at": iso(NOW - 9 * DAY), "expires_at": iso(NOW + DAY)}
        for i in range(redeemed)
    ]
    body: dict[str, Any] = {"credits": credits}
    if count is not None:
        body["available_count"] = count
    return body


def test_the_list_gives_the_count_and_the_soonest_expiry() -> None:
    parsed = reset_credits.parse(credit_list(NOW + 9 * DAY, NOW + 2 * DAY, None, redeemed=2), NOW)
    assert parsed is not None
    assert parsed["availableCount"] == 3, "redeemed credits do not count"
    assert parsed["soonestExpiry"] == NOW + 2 * DAY
    assert [c["expiresAt"] for c in parsed["credits"]][:3] == [NOW + 9 * DAY, NOW + 2 * DAY, None]
    assert reset_credits.parse(credit_list(None, count=5), NOW)["availableCount"] == 5, "the count may exceed the list"
    assert reset_credits.parse(credit_list(None), NOW)["soonestExpiry"] is None, "null: never expires"
    assert reset_credits.parse({"credits": "no"}, NOW) is None and reset_credits.parse([], NOW) is None
    odd = reset_credits.parse({"credits": [{"status": "available", "expires_at": "tomorrow"}, 7]}, NOW)
    assert odd is not None and odd["credits"] == [{"status": "available", "grantedAt": None, "expiresAt": None}]


def test_reads_are_paced_and_a_429_stops_them_for_the_run() -> None:
    slept: list[float] = []
    clock = [100.0]
    pacer = reset_credits.Pacer(2000, monotonic=lambda: clock[0], sleep=slept.append)
    answers = [httpx.Response(200, json=credit_list(NOW + DAY)), httpx.Response(429, json={"detail": "slow down"})]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert pacer.read(client, ENDPOINTS, "access-token-of-the-test", "a1", NOW) is not None
        clock[0] += 0.5
        assert pacer.read(client, ENDPOINTS, "access-token-of-the-test", "a2", NOW) is None
        assert pacer.read(client, ENDPOINTS, "access-token-of-the-test", "a3", NOW) is None
    assert slept == [pytest.approx(1.5)], "the second read waited out the spacing"
    assert len(seen) == 2 and pacer.stopped and pacer.skipped == 1, "after the 429 nothing more is asked"
    assert all(r.method == "GET" and r.url.path == "/backend-api/wham/rate-limit-reset-credits" for r in seen)


def probe_pool(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> tuple[list[dict[str, Any]], list[httpx.Request]]:
    monkeypatch.setenv(reset_credits.SPACING_ENV, "0")
    accounts = [poolkit.account(name, NOW) for name in ("two", "none", "unsaid")]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    counts = {"acct-two": 2, "acct-none": 0, "acct-unsaid": None}
    lists = {"acct-two": credit_list(NOW + 3 * DAY, NOW + 8 * DAY), "acct-unsaid": credit_list(NOW + 1 * DAY)}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        account = request.headers["ChatGPT-Account-Id"]
        if request.url.path.endswith("/rate-limit-reset-credits"):
            return httpx.Response(200, json=lists[account])
        body: dict[str, Any] = {
            "plan_type": "plus",
            "rate_limit": {"primary_window": {"used_percent": 5, "limit_window_seconds": 18000}},
        }
        if counts[account] is not None:
            body["rate_limit_reset_credits"] = {"available_count": counts[account]}
        return httpx.Response(200, json=body)

    records = run_cli(["collect", "--now", str(NOW)]).records
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        prober = Prober(
            ProbeOptions(concurrency=1, **options),
            {"CODEX_AUTH_BASE_URL": BASE, reset_credits.SPACING_ENV: "0"},
            client=client,
            clock=lambda: NOW,
        )
        out = list(prober.run(records))
    assert_valid(out)
    return out, seen


def test_live_run_reads_the_list_only_where_credits_are_held_and_never_redeems(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, seen = probe_pool(pool_dir, monkeypatch, reset_credits=True)
    by_id = {r["accountId"]: r for r in out if r["kind"] == "account"}
    assert by_id["acct-two"]["resetCreditDetails"]["availableCount"] == 2
    assert by_id["acct-two"]["resetCreditDetails"]["soonestExpiry"] == NOW + 3 * DAY
    assert by_id["acct-none"]["resetCreditDetails"]["availableCount"] == 0
    assert by_id["acct-unsaid"]["resetCreditDetails"]["soonestExpiry"] == NOW + DAY
    listed = [r.headers["ChatGPT-Account-Id"] for r in seen if r.url.path.endswith("/rate-limit-reset-credits")]
    assert sorted(listed) == ["acct-two", "acct-unsaid"], "no request for an account the usage answer says holds none"
    assert all(r.method == "GET" for r in seen) and not any("consume" in r.url.path for r in seen)
    state = json.loads((pool_dir / STATE_FILE).read_text())
    assert set(state["resetCredits"]) == {
        "acct-two|two@example.com",
        "acct-none|none@example.com",
        "acct-unsaid|unsaid@example.com",
    }
    assert state["resetCredits"]["acct-two|two@example.com"]["readAt"] == NOW


def test_without_the_option_nothing_is_read(pool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, seen = probe_pool(pool_dir, monkeypatch)
    assert not any(r.url.path.endswith("/rate-limit-reset-credits") for r in seen)
    assert not any("resetCreditDetails" in r for r in out)


def test_the_default_report_shows_the_cached_credits_without_asking(
    pool_dir: Path, monkeypatch: pytest.MonkeyPatch, fake_backend: Any
) -> None:
    probe_pool(pool_dir, monkeypatch, reset_credits=True)
    backend = fake_backend({"accounts": []})  # any request of the report would be counted here
    later = NOW + 2 * 3_600_000
    report = json.loads(run_cli(["report", "--json", "--now", str(later)], validate=False).stdout)
    by_email = {a["email"]: a for a in report["accounts"]}
    assert by_email["two@example.com"]["resetCreditDetails"] == {
        "availableCount": 2,
        "soonestExpiry": NOW + 3 * DAY,
        "readAt": NOW,
        "source": "cache",
    }
    assert report["resetCredits"] == {"availableCount": 3, "soonestExpiry": NOW + DAY, "index": 2}
    text = run_cli(["report", "--now", str(later)], validate=False).text
    assert "Reset credits: 2 available, the first expires" in text and "(read 2 hours ago; never redeemed here)" in text
    assert "Reset credits: 3 available; the first expires" in text, "the pool's first-expiring credit"
    metrics = run_cli(["report", "--format", "prometheus", "--now", str(later)], validate=False).text
    assert f"codex_auth_pool_reset_credit_expiry_timestamp_seconds {(NOW + DAY) // 1000}" in metrics
    assert "codex_auth_account_reset_credit_expiry_timestamp_seconds{" in metrics
    for fmt in ("markdown", "html"):
        assert (
            "Reset credits: 3 available"
            in run_cli(["report", "--format", fmt, "--now", str(later)], validate=False).text
        )
    assert backend.stats()["total"] == 0, "the default report asked the service nothing"


def test_reset_credits_without_live_is_a_usage_error(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("a", NOW)]))
    result = run_cli(["report", "--reset-credits"], expect=2, validate=False)
    assert "--reset-credits asks the service: use it with --live" in result.stderr
