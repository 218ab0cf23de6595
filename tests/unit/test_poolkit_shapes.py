"""The benchmark and scale-test pools have the shapes real ones have: the account fields of the
storage fixtures (tests/golden/collect/*/pool) and of codex-multi-auth's format, JWTs as the
OAuth service issues them (one RS256 header with a key id, the claims the tool reads, a
256-byte signature), refresh tokens as ``rt_`` and two base64url runs, quota-cache entries with
the fields of the fixtures' caches, and a flagged file."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.storage import jwt
from testkit import poolkit
from testkit.helpers import ROOT

NOW = poolkit.SEED_NOW
FIXTURES = ROOT / "tests" / "golden" / "collect"
B64URL = re.compile(r"[A-Za-z0-9_-]+")
# codex-multi-auth's account object (anchor-spec §3.3), beside what the storage fixtures hold
SPEC_FIELDS = {
    "refreshToken",
    "accessToken",
    "expiresAt",
    "accountId",
    "accountIdSource",
    "accountLabel",
    "email",
    "enabled",
    "addedAt",
    "lastUsed",
    "lastSwitchReason",
    "rateLimitResetTimes",
    "coolingDownUntil",
    "cooldownReason",
    "recordId",
    "workspaces",
    "currentWorkspaceIndex",
}
FLAGGED_FIELDS = {"flaggedAt", "flaggedReason", "lastError"}


def _json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _fixture_objects(name: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted(FIXTURES.glob(f"*/pool/{name}")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append(data)
    assert found, f"no {name} among the storage fixtures"
    return found


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return poolkit.real_pool(tmp_path_factory.mktemp("real") / "pool", 300, NOW)


def _accounts(pool: Path) -> list[dict[str, Any]]:
    return list(json.loads((pool / poolkit.ACCOUNTS_FILE).read_text())["accounts"])


def test_accounts_have_the_fields_of_the_storage_fixtures_and_the_format(pool: Path) -> None:
    fixture_fields = {
        key for data in _fixture_objects(poolkit.ACCOUNTS_FILE) for a in data.get("accounts", []) for key in a
    }
    written = {key for account in _accounts(pool) for key in account}
    assert written <= SPEC_FIELDS | fixture_fields
    assert {"accessToken", "refreshToken", "accountId", "email", "workspaces", "rateLimitResetTimes"} <= written
    flagged = json.loads((pool / poolkit.FLAGGED_FILE).read_text())
    assert flagged["version"] == 1 and len(flagged["accounts"]) == 6
    assert all(set(a) >= FLAGGED_FIELDS for a in flagged["accounts"])


def test_access_tokens_are_shaped_like_the_services(pool: Path) -> None:
    accounts = _accounts(pool)
    headers = set()
    for account in accounts:
        token = account["accessToken"]
        header, payload, signature = token.split(".")
        assert all(B64URL.fullmatch(part) for part in (header, payload, signature))
        headers.add(header)
        assert set(_json(header)) == {"alg", "kid", "typ"} and _json(header)["alg"] == "RS256"
        assert len(signature) == poolkit.SIGNATURE_CHARS == 342
        assert 1400 <= len(token) <= 2100
        claims = jwt.claims(token)
        assert claims is not None and claims["iss"] == "https://auth.openai.com"
        assert {"aud", "exp", "iat", "nbf", "jti", "sub", "scp", "client_id"} <= set(claims)
        assert jwt.account_id(claims) == account["accountId"]
        assert jwt.email(claims) == account["email"].lower()
        assert jwt.plan_type(claims) is not None
        assert jwt.instant_ms(claims, "exp") == account["expiresAt"] // 1000 * 1000
    assert len(headers) == 1, "one signing key: every token starts with the same header"
    assert len({a["accessToken"][-16:] for a in accounts}) == len(accounts)


def test_refresh_and_id_tokens_are_shaped_like_the_services(tmp_path: Path, pool: Path) -> None:
    refresh = [a["refreshToken"] for a in _accounts(pool)]
    assert len(set(refresh)) == len(refresh)
    for token in refresh:
        assert token.startswith(poolkit.REFRESH_PREFIX)
        first, second = token[len(poolkit.REFRESH_PREFIX) :].split(".")
        assert len(first) == len(second) == 43 and B64URL.fullmatch(first) and B64URL.fullmatch(second)
    auth = poolkit.write_auth_json(
        tmp_path, email="a.b@example.com", account_id="acct-1", now=NOW, refreshed=NOW, real_shaped=True
    )
    tokens = json.loads(auth.read_text())["tokens"]
    header = tokens["id_token"].split(".")[0]
    assert header == tokens["access_token"].split(".")[0]
    claims = jwt.claims(tokens["id_token"])
    assert claims is not None and jwt.email(claims) == "a.b@example.com" and jwt.account_id(claims) == "acct-1"
    assert tokens["refresh_token"].startswith("rt_")


def test_quota_cache_entries_have_the_fields_of_the_fixtures(pool: Path) -> None:
    fixture_keys = {
        key
        for data in _fixture_objects("quota-cache.json")
        for bucket in ("byAccountId", "byEmail")
        for entry in data.get(bucket, {}).values()
        for key in entry
    }
    cache = json.loads((pool / "quota-cache.json").read_text())
    assert cache["byAccountId"] and cache["byEmail"]
    written = {key for bucket in ("byAccountId", "byEmail") for e in cache[bucket].values() for key in e}
    assert written <= fixture_keys
    assert {"updatedAt", "status", "secondary"} <= written


def test_the_tool_reads_a_real_shaped_pool(pool: Path) -> None:
    from pipeline.stages.collect import collect
    from pipeline.storage.pool import read_pool

    records = list(collect(read_pool({}, NOW, pool)))
    accounts = [r for r in records if r["kind"] == "account"]
    assert len(accounts) == 294 and sum(r["kind"] == "flagged" for r in records) == 6
    assert {r["plan"] for r in accounts} >= {"plus", "pro", "team"}
    assert sum(r["quota"] is not None for r in accounts) > 200


def test_the_pool_folder_poolkit_makes_is_private_as_codex_multi_auth_makes_it(tmp_path: Path) -> None:
    import stat

    folder = tmp_path / "home" / ".codex" / "multi-auth"
    poolkit.write_pool(folder, poolkit.accounts_v3([poolkit.account("ann", poolkit.now_ms())]))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
