"""Header families are upstream text (issue 16, point 4): a family named in a header
(``x-codex-<family>-primary-used-percent``, picked by ``x-codex-active-limit``) passes the same
known-shape and known-secret rules as an error code, before and after the ``-``/``_`` swap that
makes it a limit id. No registered secret, nor a copy of it with ``-`` and ``_`` swapped,
reaches what the translators give the records (and so probe output, forecast and history)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import scrubbing
from pipeline.live import wire
from pipeline.vocabulary import display_name, known_code, plan_code

NOW = 1_800_000_000_000
# A refresh token made of short lower-case words joined by "-": a family's shape.
DASHED = "rt-a1b2c3d4e5f6g7h8-i9j8k7l6m5n4o3p2-q1r2s3t4u5v6w7x8"


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    scrubbing.forget_all()
    yield
    scrubbing.forget_all()


def variants(token: str) -> set[str]:
    return {token, token.replace("-", "_"), token.replace("_", "-")}


def leaks(value: Any, token: str) -> list[str]:
    text = json.dumps(value)
    return [v for v in variants(token) if v in text]


def family_headers(family: str) -> httpx.Headers:
    return httpx.Headers(
        {
            "x-codex-primary-used-percent": "10",
            "x-codex-primary-window-minutes": "300",
            f"x-codex-{family}-primary-used-percent": "55",
            f"x-codex-{family}-primary-window-minutes": "300",
            f"x-codex-{family}-limit-name": family,
            "x-codex-active-limit": family,
        }
    )


def test_a_family_named_by_a_registered_token_is_dropped_before_and_after_the_swap() -> None:
    scrubbing.remember(DASHED)
    for family in variants(DASHED):
        quota = wire.header_quota(family_headers(family), "gpt-5-codex", NOW, 200)
        assert quota is not None
        assert not leaks(quota, DASHED), family
        assert quota["additionalLimits"] == [] and quota["modelLimit"] is None
        assert quota["windows"], "the plain family still reads"


def test_an_honest_family_still_reads() -> None:
    scrubbing.remember(DASHED)
    quota = wire.header_quota(family_headers("bengalfox"), "gpt-5-codex", NOW, 200)
    assert quota is not None and [x["limitId"] for x in quota["additionalLimits"]] == ["bengalfox"]


def test_every_gate_refuses_swapped_copies() -> None:
    scrubbing.remember(DASHED)
    underscored = DASHED.replace("-", "_")
    assert wire.family_name(underscored) is None and wire.family_name(DASHED) is None
    assert plan_code(underscored) is None
    assert display_name(underscored) is None
    assert known_code(underscored) is None


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=16)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(_WORD, min_size=2, max_size=6), joiner=st.sampled_from(["-", "_"]), sent=st.sampled_from([0, 1, 2])
)
def test_property_no_secret_nor_swapped_copy_in_anything_translated(words: list[str], joiner: str, sent: int) -> None:
    scrubbing.forget_all()
    token = joiner.join(words)
    if len(token) < scrubbing.MIN_SECRET:
        token = token + joiner + "x" * scrubbing.MIN_SECRET
    scrubbing.remember(token)
    shown = sorted(variants(token))[sent % len(variants(token))]
    window = {"used_percent": 5, "limit_window_seconds": 18000, "reset_after_seconds": 60}
    body = {
        "plan_type": shown,
        "rate_limit": {"allowed": True, "limit_reached": False, "primary_window": window},
        "credits": {"has_credits": True, "unlimited": False, "balance": shown},
        "additional_rate_limits": [
            {"limit_name": shown, "metered_feature": shown, "rate_limit": {"primary_window": window}}
        ],
        "rate_limit_reached_type": {"type": shown},
        "rate_limit_upsell": {"blocked_model_slug": shown},
        "model_usage": {shown: {"available": False}},
        "spend_control": {f"{shown}_limit": {"used_percent": 3}},
    }
    translated = [
        wire.usage_quota(body, "gpt-5-codex", NOW),
        wire.header_quota(family_headers(shown), "gpt-5-codex", NOW, 200),
        wire.error_code({"error": {"code": shown, "type": shown}}, 401),
        wire.error_code({"detail": shown}, 403),
    ]
    for value in translated:
        assert not leaks(value, token), value
