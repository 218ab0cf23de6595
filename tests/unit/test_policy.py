"""One test per row of the README's scoring policy table (pipeline/policy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pipeline import policy
from pipeline.choosing import usable_left
from pipeline.policy import Assessment, assess, relevant_reset_keys
from pipeline.records import DEFAULT_MODEL
from pipeline.scoring import score_account

NOW = 1_772_548_200_000
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def account(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "account",
        "index": 0,
        "enabled": True,
        "isCurrent": False,
        "lastUsed": NOW - HOUR,
        "token": {
            "hasAccessToken": True,
            "hasRefreshToken": True,
            "accessExpiresAt": NOW + 5 * DAY,
            "lastRefreshAt": NOW - DAY,
        },
        "rateLimit": {"resetTimes": {}, "coolingDownUntil": None, "cooldownReason": None},
        "authInvalidatedAt": None,
        "quota": None,
    }
    base.update(overrides)
    return base


def quota(
    used_5h: float | None = 10,
    used_7d: float | None = 10,
    *,
    source: str = "live",
    sampled: int = NOW,
    reset_5h: int | None = NOW + HOUR,
    reset_7d: int | None = NOW + 3 * DAY,
    **extra: Any,
) -> dict[str, Any]:
    windows = []
    if used_5h is not None:
        windows.append({"windowMinutes": 300, "usedPercent": used_5h, "resetAt": reset_5h})
    if used_7d is not None:
        windows.append({"windowMinutes": 10080, "usedPercent": used_7d, "resetAt": reset_7d})
    return {"source": source, "sampledAt": sampled, "windows": windows, **extra}


@dataclass
class Checked:
    """The policy's assessment, with the record it scored (for what choosing makes of it)."""

    assessment: Assessment
    scored: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.assessment, name)


def quota_left(result: Checked) -> int | None:
    """Percent left in the binding window, as choosing the next account sees it."""
    return usable_left(result.scored, NOW)[1]


def usable(result: Checked) -> bool:
    return usable_left(result.scored, NOW)[0]


def check(record: dict[str, Any], status: str, score: int, first_reason: str | None = None, model: str | None = None):
    result = Checked(assess(record, NOW, model), score_account(record, NOW, model or DEFAULT_MODEL))
    assert (result.status, result.score) == (status, score), [(f.code, f.points) for f in result.factors]
    if first_reason is not None:
        assert result.reasons and result.reasons[0] == first_reason, result.reasons
    return result


def test_all_fine_is_healthy_100() -> None:
    result = check(account(quota=quota(5, 13)), "healthy", 100)
    assert result.reasons == [] and quota_left(result) == 87


def test_disabled() -> None:
    check(account(enabled=False, quota=quota(5, 5)), "disabled", 0, "disabled")


def test_auth_invalidated_is_error() -> None:
    check(
        account(authInvalidatedAt=NOW - HOUR, authInvalidationErrorCode="token_invalidated"),
        "error",
        0,
        "auth invalidated (token_invalidated)",
    )


def test_disabled_outranks_error() -> None:
    result = check(account(enabled=False, authInvalidatedAt=NOW - HOUR), "disabled", 0, "disabled")
    assert "auth invalidated" in result.reasons


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, "token_invalidated", "could be refreshed"),
        (403, None, "permission"),
        (403, "deactivated_workspace", "permission"),
    ],
)
def test_usage_read_refused_alone_is_a_warning_never_an_error(status: int, code: str | None, words: str) -> None:
    """A 401/403 on the usage read is weak evidence: 403 is a permission problem, and a 401 that
    survived a working refresh says little; neither makes the account an error on its own."""
    what = code or f"HTTP {status}"
    result = check(
        account(probe={"outcome": "auth-failed", "httpStatus": status, "errorCode": code}),
        "warning",
        100 - policy.PROBE_FAILED_POINTS,
        f"usage read refused ({what})",
    )
    assert words in result.factors[0].detail


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("invalid_grant", "invalid_grant: expired, revoked or already used"),
        ("refresh_token_reused", "revoked the whole token family; a new login is needed"),
        ("refresh_token_expired", "refresh token expired"),
        ("refresh_token_invalidated", "revoked the session"),
        ("token_invalidated", "invalidated the session server-side"),
    ],
)
def test_hard_refresh_failure_is_error_with_its_own_advice(code: str, advice: str) -> None:
    result = check(
        account(probe={"outcome": "refresh-failed", "httpStatus": 400, "errorCode": code}),
        "error",
        0,
        f"refresh failed ({code})",
    )
    assert advice in result.factors[0].detail
    others = [v for k, v in policy.REFRESH_ADVICE.items() if k != code]
    assert result.factors[0].detail.removeprefix("token refresh was refused: ") not in others


def test_refresh_401_is_hard() -> None:
    check(
        account(probe={"outcome": "refresh-failed", "httpStatus": 401, "errorCode": None}),
        "error",
        0,
        "refresh failed (HTTP 401)",
    )


def test_soft_refresh_failure_is_warning() -> None:
    check(
        account(probe={"outcome": "refresh-failed", "httpStatus": 503, "errorCode": None}),
        "warning",
        85,
        "token refresh failed",
    )


def test_no_credentials_is_error() -> None:
    token = {"hasAccessToken": True, "hasRefreshToken": False, "accessExpiresAt": NOW - MIN, "lastRefreshAt": None}
    check(account(token=token), "error", 0, "no usable credentials")


def test_no_refresh_token_with_valid_access_is_warning() -> None:
    token = {"hasAccessToken": True, "hasRefreshToken": False, "accessExpiresAt": NOW + DAY, "lastRefreshAt": None}
    check(account(token=token), "warning", 90, "no refresh token")


def test_stored_rate_limit() -> None:
    result = check(
        account(rateLimit={"resetTimes": {"codex": NOW + 90 * MIN}, "coolingDownUntil": None}),
        "rate-limited",
        40,
        "rate limited",
    )
    assert result.rate_limited and result.rate_limit_reset_at == NOW + 90 * MIN


def test_past_rate_limit_is_ignored() -> None:
    check(account(rateLimit={"resetTimes": {"codex": NOW - MIN}, "coolingDownUntil": None}), "healthy", 100)


def test_rate_limit_keys_follow_the_model_family() -> None:
    limited = account(rateLimit={"resetTimes": {"gpt-5.2": NOW + HOUR}, "coolingDownUntil": None})
    check(limited, "healthy", 100, model="gpt-5-codex")
    check(limited, "rate-limited", 40, model="gpt-5.5")
    assert relevant_reset_keys(
        ["codex", "codex:5h", "gpt-5-codex", "gpt-5-codex:gpt-5-codex", "gpt-5-codex:other", "gpt-5.2"], "gpt-5-codex"
    ) == ["codex", "codex:5h", "gpt-5-codex", "gpt-5-codex:gpt-5-codex"]


def test_rate_limit_cooldown() -> None:
    check(
        account(rateLimit={"resetTimes": {}, "coolingDownUntil": NOW + 5 * MIN, "cooldownReason": "rate-limit"}),
        "rate-limited",
        40,
    )


def test_live_429() -> None:
    result = check(
        account(probe={"outcome": "rate-limited", "httpStatus": 429}, quota=quota(100, 30, reset_5h=NOW + 2 * HOUR)),
        "rate-limited",
        40,
    )
    assert result.rate_limit_reset_at == NOW + 2 * HOUR, "the used-up window decides, not the 7-day one"


def test_live_429_without_a_full_window_waits_for_the_soonest_reset() -> None:
    result = check(
        account(probe={"outcome": "rate-limited", "httpStatus": 429}, quota=quota(97, 30, reset_5h=NOW + HOUR)),
        "rate-limited",
        5,
    )
    assert result.rate_limit_reset_at == NOW + HOUR


def test_exhausted_window_is_rate_limited() -> None:
    result = check(account(quota=quota(100, 45, reset_5h=NOW + 90 * MIN)), "rate-limited", 40)
    assert result.rate_limited and quota_left(result) == 0 and not usable(result)


def test_rate_limited_with_quota_left_also_pays_the_quota_tier() -> None:
    check(
        account(quota=quota(55, 10), rateLimit={"resetTimes": {"codex": NOW + HOUR}, "coolingDownUntil": None}),
        "rate-limited",
        25,
    )


@pytest.mark.parametrize(
    ("used", "status", "score", "reason"),
    [
        (91, "warning", 65, "low quota"),
        (88, "healthy", 80, "quota below 25%"),
        (55, "healthy", 85, "quota below 50%"),
        (50, "healthy", 100, None),
        (0, "healthy", 100, None),
    ],
)
def test_quota_tiers_on_the_binding_window(used: float, status: str, score: int, reason: str | None) -> None:
    result = check(account(quota=quota(used, 0)), status, score, reason)
    assert quota_left(result) == 100 - used


def test_binding_window_is_the_one_with_least_left() -> None:
    result = check(account(quota=quota(10, 60)), "healthy", 85, "quota below 50%")
    assert quota_left(result) == 40


def test_unknown_quota_costs_nothing_but_is_explained() -> None:
    result = check(account(quota=None), "healthy", 100)
    assert quota_left(result) is None
    assert [f.code for f in result.factors] == ["no-quota-data"]


def test_stale_cached_window_is_unknown_not_zero() -> None:
    old = quota(100, 20, source="cache", sampled=NOW - 6 * HOUR, reset_5h=NOW - HOUR)
    result = check(account(quota=old), "healthy", 100)
    assert quota_left(result) == 80, "the stale 5h window no longer counts; the 7d one binds"
    assert "stale-quota" in [f.code for f in result.factors]


def test_stale_window_without_reset_time_uses_window_length() -> None:
    old = quota(95, None, source="cache", sampled=NOW - 6 * HOUR, reset_5h=None)
    result = check(account(quota=old), "healthy", 100)
    assert quota_left(result) is None


def test_other_cooldown_is_warning() -> None:
    check(
        account(rateLimit={"resetTimes": {}, "coolingDownUntil": NOW + 5 * MIN, "cooldownReason": "network-error"}),
        "warning",
        80,
        "cooling down",
    )


@pytest.mark.parametrize("outcome", ["timeout", "network-error", "http-error"])
def test_soft_probe_failure_is_warning(outcome: str) -> None:
    check(
        account(probe={"outcome": outcome, "httpStatus": 502 if outcome == "http-error" else None}),
        "warning",
        85,
        f"live probe failed ({outcome})",
    )


def test_skipped_probe_costs_nothing() -> None:
    check(account(probe={"outcome": "skipped", "detail": "--max-probes reached"}), "healthy", 100)


@pytest.mark.parametrize(
    ("days", "status", "score", "reason"),
    [(6, "healthy", 100, None), (8, "warning", 90, "refresh token aging"), (31, "warning", 75, "refresh token old")],
)
def test_refresh_token_age(days: int, status: str, score: int, reason: str | None) -> None:
    token = {
        "hasAccessToken": True,
        "hasRefreshToken": True,
        "accessExpiresAt": NOW + DAY,
        "lastRefreshAt": NOW - days * DAY,
    }
    check(account(token=token), status, score, reason)


def test_old_cached_quota() -> None:
    check(account(quota=quota(5, 5, source="cache", sampled=NOW - 2 * DAY, reset_7d=NOW + DAY)), "healthy", 95)


def test_long_unused() -> None:
    check(account(lastUsed=NOW - 40 * DAY), "healthy", 95)


def test_expired_access_token_with_refresh_token_costs_nothing() -> None:
    token = {"hasAccessToken": True, "hasRefreshToken": True, "accessExpiresAt": NOW - HOUR, "lastRefreshAt": NOW - DAY}
    result = check(account(token=token), "healthy", 100)
    assert "access-expired" in [f.code for f in result.factors]


def test_seed_example_scores() -> None:
    check(account(quota=quota(5, 13), lastUsed=NOW - 15 * MIN), "healthy", 100)
    check(account(quota=quota(55, 33)), "healthy", 85)
    aging = {
        "hasAccessToken": True,
        "hasRefreshToken": True,
        "accessExpiresAt": NOW + DAY,
        "lastRefreshAt": NOW - 12 * DAY,
    }
    check(account(quota=quota(88, 66), token=aging), "warning", 70, "refresh token aging")
    check(
        account(
            quota=quota(100, 45, reset_5h=NOW + 90 * MIN),
            rateLimit={"resetTimes": {"codex": NOW + 90 * MIN}, "coolingDownUntil": None},
        ),
        "rate-limited",
        40,
    )


def test_score_never_below_zero() -> None:
    token = {
        "hasAccessToken": True,
        "hasRefreshToken": True,
        "accessExpiresAt": NOW + DAY,
        "lastRefreshAt": NOW - 40 * DAY,
    }
    record = account(
        token=token,
        quota=quota(95, 95, source="cache", sampled=NOW - 2 * DAY),
        lastUsed=NOW - 40 * DAY,
        rateLimit={
            "resetTimes": {"codex": NOW + HOUR},
            "coolingDownUntil": NOW + HOUR,
            "cooldownReason": "server-error",
        },
    )
    result = assess(record, NOW)
    assert result.score == 0 and result.status == "rate-limited"
