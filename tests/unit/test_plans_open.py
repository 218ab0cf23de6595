"""Plans are an open vocabulary: any identifier of safe shape is kept and shown (k12, ent26,
next month's), with a display name where one is known; the token's plan claim likewise."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline import scrubbing
from pipeline.live import wire
from pipeline.storage import jwt
from pipeline.vocabulary import plan_code, plan_name

NOW = 1_800_000_000_000


@pytest.mark.parametrize("plan", ["k12", "ent26", "edu_plus", "enterprise_cbp_automation", "prolite", "plan2027"])
def test_safe_plan_identifiers_are_kept(plan: str) -> None:
    assert plan_code(plan) == plan
    assert wire.usage_quota({"plan_type": plan, "rate_limit": None}, "m", NOW)["planType"] == plan


@pytest.mark.parametrize("plan", ["", "K12", "12k", "pro plus", "a" * 41, "pro-lite", "rt_" + "x" * 60, 42, None])
def test_unsafe_plan_identifiers_are_dropped(plan: object) -> None:
    assert plan_code(plan) is None


def test_a_registered_secret_is_never_a_plan() -> None:
    token = "plan_shaped_secret_token_0123456789"
    scrubbing.remember(token)
    try:
        assert plan_code(token) is None
    finally:
        scrubbing.forget_all()


def test_display_names_where_known() -> None:
    assert plan_name("k12") == "K-12" and plan_name("prolite") == "Pro Lite"
    assert plan_name("ent26") == "ent26", "an unknown plan is shown by its identifier"


def _claims_token(claims: dict[str, object]) -> dict[str, object]:
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return jwt.claims(f"e30.{raw}.sig") or {}


def test_the_token_plan_claim_is_read_the_same_way() -> None:
    payload = _claims_token({"https://api.openai.com/auth": {"chatgpt_plan_type": "ent26"}})
    assert jwt.plan_type(payload) == "ent26"
    payload = _claims_token({"https://api.openai.com/auth": {"chatgpt_plan_type": "Ent 26!"}})
    assert jwt.plan_type(payload) is None
