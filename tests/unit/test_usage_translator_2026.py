"""The usage translator's 2026 additions, on bodies as the service sends them."""

from __future__ import annotations

from pipeline import quota as q
from pipeline.live.service import usage_quota

NOW = 1772548200000


def test_spend_control_reset_credits_and_code_review() -> None:
    body = {
        "plan_type": "enterprise_cbp_usage_based",
        "rate_limit": None,
        "spend_control": {
            "reached": False,
            "individual_limit": {"remaining_percent": 60, "reset_after_seconds": 3600, "unit": "credit"},
            "workspace_limit": None,
            "reached_limit_type": None,
        },
        "rate_limit_reset_credits": {"available_count": 3, "applicable_available_count": 1},
        "code_review_rate_limit": {
            "limit_reached": False,
            "primary_window": {"used_percent": 12, "limit_window_seconds": 604800, "reset_at": 1772600000},
        },
        "credits": None,
    }
    quota = usage_quota(body, "gpt-5-codex", NOW)
    assert quota["windows"] == [] and quota["limitReached"] is None
    assert quota["spendControl"] == {
        "reached": False,
        "reachedLimitType": None,
        "limits": [
            {
                "limitType": "individual",
                "usedPercent": 40,
                "remainingPercent": 60,
                "resetAt": NOW + 3_600_000,
                "windowMinutes": None,
            }
        ],
    }
    assert quota["resetCredits"] == {"availableCount": 3, "applicableAvailableCount": 1}
    review = quota["additionalLimits"][-1]
    assert review["limitId"] == "code_review" and review["windows"][0]["usedPercent"] == 12
    assert quota["modelLimit"] is None, "the code-review limit is never the model's own"
    (spend,) = q.spend_windows(quota, NOW)
    assert spend.label == "monthly spend" and spend.remaining == 60


def test_a_reached_spend_limit_stops_the_account_and_odd_values_are_dropped() -> None:
    body = {
        "rate_limit": None,
        "spend_control": {
            "reached": True,
            "reached_limit_type": "individual",
            "individual_limit": {"used_percent": 97, "reset_at": 1772600000},
            "x y_limit": {"used_percent": 1},
        },
        "rate_limit_reset_credits": {"available_count": -1},
        "rate_limit_reached_type": None,
    }
    quota = usage_quota(body, "gpt-5-codex", NOW)
    assert quota["limitReached"] is True and quota["limitReachedType"] == "spend_control_reached"
    assert [limit["limitType"] for limit in quota["spendControl"]["limits"]] == ["individual"], "only known-shaped keys"
    assert quota["resetCredits"] == {"availableCount": None, "applicableAvailableCount": None}
    (spend,) = q.spend_windows(quota, NOW)
    assert spend.exhausted and spend.reset_at == 1772600000000, "reached counts as used up until the reset"
