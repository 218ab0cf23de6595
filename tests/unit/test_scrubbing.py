"""The secrets registry and its scrubber, and the vocabulary that lets only known words from
upstream into a record (pipeline/scrubbing.py, pipeline/vocabulary.py, pipeline/live/wire.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipeline import scrubbing
from pipeline.live import backend, oauth, wire
from pipeline.live.endpoints import Endpoints
from pipeline.vocabulary import amount, display_name, known_code, stored_code, upstream_code

TOKEN = "rt_canary_unit_" + "Zq9" * 10
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJ1bml0In0.c2lnLWNhbmFyeS11bml0LXNpZ25hdHVyZQ"
ENDPOINTS = Endpoints("https://chatgpt.example/backend-api", "https://auth.example/oauth/token", 15_000)
NOW = 1_800_000_000_000


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    scrubbing.forget_all()
    yield
    scrubbing.forget_all()


def test_scrub_replaces_every_registered_token_wherever_it_stands() -> None:
    scrubbing.remember(TOKEN, JWT, "short", None, 42)
    markdown = TOKEN.replace("_", "\\_")  # Markdown escapes some underscores
    text = f'{{"detail":"{TOKEN}"}} Bearer {JWT}; glued:{TOKEN}{JWT}; md: {markdown}'
    cleaned = scrubbing.scrub(text)
    assert TOKEN not in cleaned and JWT not in cleaned
    assert "md: ***" in cleaned and '{"detail":"***"}' in cleaned
    assert scrubbing.scrub("short and sweet") == "short and sweet", "strings under 16 characters are not registered"
    assert scrubbing.count() == 3, "the token, its copy with - for _ (the JWT has neither to swap)"


def test_the_quick_look_for_long_runs_knows_the_run_characters() -> None:
    """A long text is first searched for a run as long as a token, byte by byte: the bytes it
    counts as run characters are the regex's, and a token in a long text is still found."""
    run = scrubbing._run_pattern(1)
    assert {bytes([c]) for c in scrubbing._RUN_CHARS} == {bytes([c]) for c in range(128) if run.fullmatch(chr(c))}
    scrubbing.remember(JWT)
    filler = "ordinary words, 2026-03-03T14:30:00Z, user@example.com\n" * 4000
    assert scrubbing.scrub(filler + JWT + filler) == filler + "***" + filler
    assert scrubbing.scrub_bytes((filler + "ü" + JWT).encode()) == (filler + "ü***").encode()
    assert scrubbing.scrub(filler) is filler


def test_scrub_is_the_identity_while_the_registry_is_empty() -> None:
    data = b"anything " + TOKEN.encode()
    assert scrubbing.scrub_bytes(data) is data


def test_scrub_value_covers_keys_and_nested_strings() -> None:
    scrubbing.remember(TOKEN)
    value = {TOKEN: [1, {"x": f"a {TOKEN} b"}], "n": None}
    assert scrubbing.scrub_value(value) == {"***": [1, {"x": "a *** b"}], "n": None}


def test_tokens_with_odd_characters_are_replaced_as_substrings() -> None:
    odd = "token with spaces and ünïcode!!"
    scrubbing.remember(odd)
    assert scrubbing.scrub(f"[{odd}]") == "[***]"


def test_scrubbing_a_report_of_1000_accounts_costs_little() -> None:
    """3,000 registered tokens (1,000 accounts' access, refresh and id tokens) and a 600 kB
    report: the scrubber makes one pass. The figure goes to the report; the assertion only
    says it finished and found nothing to mask."""
    tokens = [f"rt_bench_{i:05d}_" + "k" * 30 for i in range(3000)]
    scrubbing.remember(*tokens)
    line = "alice-%05d@example.com  healthy  98  5h 12%% resets in 3h 10m /tmp/pool/openai-codex-accounts.json\n"
    report = "".join(line % i for i in range(6000))
    started = time.process_time()
    cleaned = scrubbing.scrub(report)
    elapsed = time.process_time() - started
    print(f"\nscrub: {len(report) / 1000:.0f} kB, {scrubbing.count()} tokens: {elapsed * 1000:.1f} ms of CPU")
    assert cleaned == report


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("invalid_grant", "invalid_grant"),
        ("refresh_token_reused", "refresh_token_reused"),
        ("token-invalid", "token-invalid"),
        ("some_new_code", "some_new_code"),  # the shape of a code: kept
        ("Unauthorized", None),
        ("invalid grant", None),
        ("code_with_digits_123", None),
        (TOKEN, None),
        (JWT, None),
        ("a" * 17, None),  # one word longer than any code's
        (42, None),
        (None, None),
    ],
)
def test_known_code(value: Any, expected: str | None) -> None:
    assert known_code(value) == expected


def test_a_code_shaped_secret_is_refused() -> None:
    scrubbing.remember("lower_case_only_secret_value")
    assert known_code("lower_case_only_secret_value") is None


def test_upstream_code_generic_when_the_body_offers_only_words_we_do_not_take() -> None:
    assert upstream_code([TOKEN, None], 401) == "http_401"
    assert upstream_code([None, None], 401) is None
    assert upstream_code([TOKEN, "token_invalidated"], 401) == "token_invalidated"


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("invalid_grant", "invalid_grant"),
        ("refresh failed: invalid_grant", "invalid_grant"),
        ("refresh failed for erin@example.com (acct-erin): refresh_token_reused", "refresh_token_reused"),
        (f"refresh failed: {TOKEN}", "unrecognised"),
        (f"Refresh failed refresh_token={TOKEN}", "unrecognised"),
        ("   ", None),
        (None, None),
    ],
)
def test_stored_code(stored: Any, expected: str | None) -> None:
    assert stored_code(stored) == expected


def test_display_names_and_amounts() -> None:
    assert display_name("GPT-5.3-Codex-Spark") == "GPT-5.3-Codex-Spark"
    assert display_name(TOKEN) is None and display_name(JWT) is None and display_name("<script>") is None
    assert amount("7.10") == "7.10" and amount(12) == "12" and amount(TOKEN) is None and amount(True) is None


def _client(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers or {})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_a_401_that_echoes_the_token_gives_only_a_generic_code() -> None:
    with _client(401, {"detail": JWT}) as c:
        result = backend.probe_usage(c, ENDPOINTS, JWT, "acct", "gpt-5-codex", NOW)
    scrubbing.forget_all()  # the vocabulary alone must hold, without the scrubber behind it
    assert result.code == "http_401"
    assert JWT not in repr(result)


def test_a_refresh_error_that_echoes_the_token_gives_only_a_generic_code() -> None:
    for body in ({"error": {"code": TOKEN, "message": TOKEN}}, {"error": TOKEN, "error_description": TOKEN}):
        with _client(400, body) as c:
            result = oauth.refresh(c, ENDPOINTS, TOKEN, NOW)
        assert result.code == "http_400" and TOKEN not in repr(result)


def test_usage_and_headers_that_echo_the_token_keep_none_of_it() -> None:
    window = {"used_percent": 5, "limit_window_seconds": 18000}
    body = {
        "plan_type": TOKEN,
        "rate_limit": {"primary_window": window},
        "credits": {"has_credits": True, "balance": TOKEN},
        "additional_rate_limits": [
            {"limit_name": TOKEN, "metered_feature": TOKEN, "rate_limit": {"primary_window": window}}
        ],
        "rate_limit_reached_type": {"type": TOKEN},
    }
    assert TOKEN not in repr(wire.usage_quota(body, "gpt-5-codex", NOW))
    headers = {
        "x-codex-primary-used-percent": "5",
        "x-codex-plan-type": TOKEN,
        "x-codex-rate-limit-reached-type": TOKEN,
        "x-codex-credits-balance": TOKEN,
        "x-codex-bengalfox-primary-used-percent": "1",
        "x-codex-bengalfox-limit-name": TOKEN,
        f"x-codex-{TOKEN.lower()}-primary-used-percent": "1",
    }
    quota = wire.header_quota(httpx.Headers(headers), "gpt-5-codex", NOW, 200)
    assert quota is not None and quota["windows"]
    assert TOKEN.lower() not in repr(quota).lower()


def test_the_refresh_answer_registers_the_rotated_tokens() -> None:
    body = {"access_token": JWT, "refresh_token": TOKEN + "-next", "expires_in": 3600, "id_token": JWT + "x"}
    with _client(200, body) as c:
        result = oauth.refresh(c, ENDPOINTS, TOKEN, NOW)
    assert result.ok
    assert scrubbing.scrub(f"{TOKEN} {JWT} {TOKEN}-next {JWT}x") == "*** *** *** ***"


def test_copies_with_dash_and_underscore_swapped_are_scrubbed_too() -> None:
    token = "rt-canary-swap_" + "Zq9" * 10
    scrubbing.remember(token)
    for copy in (token, token.replace("-", "_"), token.replace("_", "-")):
        assert scrubbing.scrub(f"limit {copy} here") == "limit *** here", copy
    assert scrubbing.count() == 3
