"""The JSON report's account extensions (pipeline/report/extra_limits.py: report_fields):
a quota holding none of them (a cached one) gives none, each one present gives its field."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.report.extra_limits import report_fields

CACHED: dict[str, Any] = {
    "source": "cache",
    "sampledAt": 1,
    "httpStatus": 200,
    "model": None,
    "planType": "plus",
    "limitReached": None,
    "windows": [{"windowMinutes": 300, "usedPercent": 10, "resetAt": 2}],
    "credits": None,
}


def test_a_cached_quota_or_none_has_no_extension() -> None:
    assert report_fields(CACHED) == {} and report_fields(None) == {} and report_fields({}) == {}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"spendControl": {"reached": False, "limits": []}}, "spendControl"),
        ({"resetCredits": {"availableCount": 2}}, "resetCredits"),
        ({"reserve": {"limitId": "luna", "windows": []}}, "reserve"),
        ({"modelBlocked": False}, "modelBlocked"),
        ({"additionalLimits": [{"limitId": "spark", "windows": []}]}, "additionalLimits"),
        ({"credits": {"overageLimitReached": True}}, "overageLimitReached"),
    ],
)
def test_each_extension_present_gives_its_field(extra: dict[str, Any], field: str) -> None:
    assert field in report_fields({**CACHED, **extra})
