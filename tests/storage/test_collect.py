"""collect on real codex-multi-auth files in temporary folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import assert_no_secrets, fixture_secrets, run_cli, snapshot_tree
from testkit.poolkit import DAY, HOUR, MINUTE

NOW = poolkit.SEED_NOW
NOW_ARG = ["--now", str(NOW)]


def collect(*args: str, expect: int = 0):
    return run_cli(["collect", *NOW_ARG, *args], expect=expect)


def accounts_of(result):
    return [r for r in result.records if r["kind"] == "account"]


def pool_of(result):
    assert result.records[0]["kind"] == "pool"
    return result.records[0]


def test_v3_pool_in_order_with_token_facts(pool_dir: Path) -> None:
    a = poolkit.account("alice", NOW, refreshed=NOW - 2 * DAY, lifetime=10 * DAY, plan="pro")
    b = poolkit.account("bob", NOW, enabled=False, coolingDownUntil=NOW + 5 * MINUTE, cooldownReason="network-error")
    c = poolkit.account(
        "carol", NOW, rateLimitResetTimes={"codex": NOW + HOUR, "gpt-5.2:gpt-5.6-terra": NOW + 2 * HOUR}
    )
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([a, b, c], active=2))
    result = collect()
    kinds = [r["kind"] for r in result.records]
    assert kinds == ["pool", "account", "account", "account"]
    pool = pool_of(result)
    assert pool["source"] == "codex-multi-auth"
    assert pool["storage"]["state"] == "healthy" and pool["storage"]["format"] == "accounts-v3"
    assert pool["currentIndex"] == 2 and pool["accountCount"] == 3 and pool["flaggedCount"] == 0
    alice, bob, carol = accounts_of(result)
    assert [x["email"] for x in (alice, bob, carol)] == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert [x["index"] for x in (alice, bob, carol)] == [0, 1, 2]
    assert alice["token"] == {
        "hasAccessToken": True,
        "hasRefreshToken": True,
        "accessExpiresAt": NOW + 8 * DAY,
        "lastRefreshAt": NOW - 2 * DAY,
        "lastRefreshSource": "access-token-iat",
    }
    assert alice["plan"] == "pro" and alice["isCurrent"] is False and carol["isCurrent"] is True
    assert bob["enabled"] is False
    assert bob["rateLimit"] == {
        "resetTimes": {},
        "coolingDownUntil": NOW + 5 * MINUTE,
        "cooldownReason": "network-error",
    }
    assert carol["rateLimit"]["resetTimes"] == {"codex": NOW + HOUR, "gpt-5.2:gpt-5.6-terra": NOW + 2 * HOUR}
    assert alice["quota"] is None


def test_v1_pool_migrates_rate_limit_to_every_family(pool_dir: Path) -> None:
    a = poolkit.account("alice", NOW)
    a["rateLimitResetTime"] = NOW + 30 * MINUTE
    b = poolkit.account("bob", NOW)
    b["rateLimitResetTime"] = NOW - MINUTE  # already past: dropped, as codex-multi-auth does
    poolkit.write_pool(pool_dir, poolkit.accounts_v1([a, b], active=1))
    before = snapshot_tree(pool_dir)
    result = collect()
    assert pool_of(result)["storage"]["format"] == "accounts-v1"
    alice, bob = accounts_of(result)
    assert alice["rateLimit"]["resetTimes"] == dict.fromkeys(poolkit.FAMILIES, NOW + 30 * MINUTE)
    assert bob["rateLimit"]["resetTimes"] == {}
    assert bob["isCurrent"] is True
    assert snapshot_tree(pool_dir) == before, "collect must not migrate (rewrite) the user's V1 file"


def test_wal_recovery_when_primary_missing(pool_dir: Path) -> None:
    data = poolkit.accounts_v3([poolkit.account("alice", NOW), poolkit.account("bob", NOW)], active=1)
    poolkit.write_wal(pool_dir, data, NOW - MINUTE)
    before = snapshot_tree(pool_dir)
    result = collect()
    storage = pool_of(result)["storage"]
    assert storage["state"] == "recovered"
    assert storage["recoveredFrom"].endswith("openai-codex-accounts.json.wal")
    assert "missing" in storage["details"]
    assert [a["email"] for a in accounts_of(result)] == ["alice@example.com", "bob@example.com"]
    assert "recovered accounts" in result.stderr
    assert snapshot_tree(pool_dir) == before, "recovery must not rewrite anything"
    assert not (pool_dir / "openai-codex-accounts.json").exists()


def test_wal_with_bad_checksum_is_not_used(pool_dir: Path) -> None:
    poolkit.write_wal(pool_dir, poolkit.accounts_v3([poolkit.account("mallory", NOW)]), NOW, corrupt_checksum=True)
    poolkit.write_json(
        pool_dir / "openai-codex-accounts.json.bak", poolkit.accounts_v3([poolkit.account("alice", NOW)])
    )
    (pool_dir / "openai-codex-accounts.json").write_text("{not json")
    result = collect()
    storage = pool_of(result)["storage"]
    assert storage["state"] == "recovered" and storage["recoveredFrom"].endswith(".json.bak")
    assert storage["details"].startswith("openai-codex-accounts.json:1:2: invalid JSON: ")
    assert [a["email"] for a in accounts_of(result)] == ["alice@example.com"]


@pytest.mark.parametrize("generation", [".bak", ".bak.1", ".bak.2"])
def test_each_backup_generation_recovers(pool_dir: Path, generation: str) -> None:
    # Newer generations are damaged or missing, so only the one under test can serve.
    order = [".bak", ".bak.1", ".bak.2"]
    for earlier in order[: order.index(generation)]:
        (pool_dir / f"openai-codex-accounts.json{earlier}").parent.mkdir(parents=True, exist_ok=True)
        (pool_dir / f"openai-codex-accounts.json{earlier}").write_text('{"version": 3, "accounts": [')
    poolkit.write_json(
        pool_dir / f"openai-codex-accounts.json{generation}",
        poolkit.accounts_v3([poolkit.account(f"gen{len(generation)}", NOW)]),
    )
    result = collect()
    storage = pool_of(result)["storage"]
    assert storage["state"] == "recovered"
    assert storage["recoveredFrom"].endswith(f"openai-codex-accounts.json{generation}")
    assert len(accounts_of(result)) == 1


def test_discovered_artefact_recovers_after_backups(pool_dir: Path) -> None:
    poolkit.write_json(
        pool_dir / "openai-codex-accounts.json.manual-before-dedupe-1",
        poolkit.accounts_v3([poolkit.account("zed", NOW)]),
    )
    poolkit.write_json(
        pool_dir / "openai-codex-accounts.json.bak.rotate.x1.tmp", poolkit.accounts_v3([poolkit.account("tmp", NOW)])
    )
    result = collect()
    assert pool_of(result)["storage"]["recoveredFrom"].endswith(".manual-before-dedupe-1")
    assert [a["email"] for a in accounts_of(result)] == ["zed@example.com"]


def test_corrupt_json_with_nothing_to_recover(pool_dir: Path) -> None:
    pool_dir.mkdir(parents=True)
    (pool_dir / "openai-codex-accounts.json").write_text('{"version": 3, "accounts": [}')
    result = collect(expect=1)
    pool = pool_of(result)
    assert pool["storage"]["state"] == "corrupt"
    assert pool["storage"]["details"].startswith("openai-codex-accounts.json:1:29: invalid JSON: expecting value;")
    assert pool["accountCount"] == 0 and len(result.records) == 1
    assert "account storage is corrupt" in result.stderr and str(pool_dir) in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_pool_but_readable_flagged_file_exits_zero(pool_dir: Path) -> None:
    pool_dir.mkdir(parents=True)
    (pool_dir / "openai-codex-accounts.json").write_text("garbage")
    poolkit.write_flagged(pool_dir, [poolkit.flagged("erin", NOW, flagged_at=NOW - DAY)])
    result = collect(expect=0)
    assert pool_of(result)["storage"]["state"] == "corrupt"
    assert [r["kind"] for r in result.records] == ["pool", "flagged"]


@pytest.mark.parametrize("version", [2, 4, "3", None])
def test_unknown_version_is_corrupt(pool_dir: Path, version) -> None:
    data = poolkit.accounts_v3([poolkit.account("alice", NOW)])
    data["version"] = version
    poolkit.write_pool(pool_dir, data)
    # a good backup exists, but codex-multi-auth does not fall back for a file that parses
    poolkit.write_json(pool_dir / "openai-codex-accounts.json.bak", poolkit.accounts_v3([poolkit.account("bob", NOW)]))
    result = collect(expect=1)
    storage = pool_of(result)["storage"]
    assert storage["state"] == "corrupt"
    assert "unknown format version" in storage["details"]
    assert accounts_of(result) == []


def test_reset_marker_means_intentionally_empty(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("alice", NOW)]))
    (pool_dir / "openai-codex-accounts.json.reset-intent").write_text("")
    result = collect()
    pool = pool_of(result)
    assert pool["storage"]["state"] == "intentional-reset"
    assert pool["accountCount"] == 0 and accounts_of(result) == []
    assert "reset on purpose" in result.stderr


def test_reset_marker_suppresses_wal_revival(pool_dir: Path) -> None:
    poolkit.write_wal(pool_dir, poolkit.accounts_v3([poolkit.account("alice", NOW)]), NOW)
    (pool_dir / "openai-codex-accounts.json.reset-intent").write_text("")
    result = collect()
    assert pool_of(result)["storage"]["state"] == "intentional-reset"
    assert accounts_of(result) == []


def test_duplicate_emails_differing_in_case_collapse_to_most_recent(pool_dir: Path) -> None:
    old = poolkit.account(
        "dup",
        NOW,
        email="A@Example.com",
        account_id=None,
        last_used=NOW - 5 * DAY,
        rateLimitResetTimes={"codex": NOW + HOUR},
    )
    new = poolkit.account("dup2", NOW, email="a@example.com", account_id=None, last_used=NOW - DAY)
    other = poolkit.account("bob", NOW)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([old, other, new], active=2))
    result = collect()
    accounts = accounts_of(result)
    assert [a["email"] for a in accounts] == ["a@example.com", "bob@example.com"]
    assert accounts[0]["lastUsed"] == NOW - DAY
    assert accounts[0]["rateLimit"]["resetTimes"] == {}, "the dropped record's fields are not merged"
    assert accounts[0]["isCurrent"] is True, "the current account follows its identity through de-duplication"
    assert any("duplicate" in w for w in pool_of(result)["warnings"])


def test_same_email_on_two_workspaces_stays_apart(pool_dir: Path) -> None:
    one = poolkit.account(
        "team",
        NOW,
        email="lead@example.com",
        account_id="ws-one",
        workspaces=[{"id": "ws-one", "name": "Research", "enabled": True}],
    )
    two = poolkit.account("team2", NOW, email="lead@example.com", account_id="ws-two")
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([one, two]))
    result = collect()
    accounts = accounts_of(result)
    assert [(a["email"], a["accountId"]) for a in accounts] == [
        ("lead@example.com", "ws-one"),
        ("lead@example.com", "ws-two"),
    ]
    assert accounts[0]["workspace"] == "Research" and accounts[1]["workspace"] is None


def test_records_without_refresh_token_are_skipped_with_a_warning(pool_dir: Path) -> None:
    bad = poolkit.account("ghost", NOW)
    bad["refreshToken"] = "  "
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([bad, poolkit.account("alice", NOW)]))
    result = collect()
    assert [a["email"] for a in accounts_of(result)] == ["alice@example.com"]
    assert any("no refresh token" in w for w in pool_of(result)["warnings"])
    assert "warning:" in result.stderr


def test_flagged_file_and_verification_history(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("alice", NOW)]))
    erin = poolkit.flagged(
        "erin",
        NOW,
        flagged_at=NOW - 2 * DAY,
        reason="invalid_grant",
        last_error="Refresh failed refresh_token=rt_fixture_leak_12345678",
    )
    fred = poolkit.flagged("fred", NOW, flagged_at=NOW - 5 * DAY)
    poolkit.write_flagged(pool_dir, [erin, fred])
    poolkit.write_state(pool_dir, {"acct-erin|erin@example.com": {"lastVerified": NOW - DAY, "verificationCount": 3}})
    result = collect()
    flagged = [r for r in result.records if r["kind"] == "flagged"]
    assert [r["kind"] for r in result.records] == ["pool", "account", "flagged", "flagged"]
    assert flagged[0] == {
        "kind": "flagged",
        "index": 0,
        "accountId": "acct-erin",
        "email": "erin@example.com",
        "label": None,
        "flaggedAt": NOW - 2 * DAY,
        "flaggedReason": "invalid_grant",
        "lastError": "Refresh failed refresh_token=***",
        "lastVerified": NOW - DAY,
        "verificationCount": 3,
    }
    assert flagged[1]["verificationCount"] == 0 and flagged[1]["lastVerified"] is None
    assert pool_of(result)["flaggedCount"] == 2


def test_legacy_flagged_file_name_is_read(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("alice", NOW)]))
    poolkit.write_json(
        pool_dir / "openai-codex-blocked-accounts.json",
        {"version": 1, "accounts": [poolkit.flagged("old", NOW, flagged_at=NOW)]},
    )
    result = collect()
    assert pool_of(result)["flaggedStorage"]["path"].endswith("openai-codex-blocked-accounts.json")
    assert [r["email"] for r in result.records if r["kind"] == "flagged"] == ["old@example.com"]


def test_quota_cache_lookup_by_unique_id_then_unique_email(pool_dir: Path) -> None:
    a = poolkit.account("alice", NOW, account_id="shared")
    b = poolkit.account("bob", NOW, account_id="shared")  # same id, different email: kept apart
    c = poolkit.account("carol", NOW, account_id="acct-carol")
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([a, b, c]))

    def entry(used):
        return poolkit.quota_entry(
            NOW - HOUR, poolkit.window(300, used, NOW + HOUR), poolkit.window(10080, used / 2, NOW + DAY)
        )

    poolkit.write_quota_cache(
        pool_dir,
        by_account_id={"shared": entry(99), "acct-carol": entry(40)},
        by_email={"alice@example.com": entry(10), "carol@example.com": entry(77)},
    )
    alice, bob, carol = accounts_of(collect())
    assert alice["quota"]["windows"][0] == {"windowMinutes": 300, "usedPercent": 10, "resetAt": NOW + HOUR}, (
        "ambiguous id: falls back to e-mail"
    )
    assert bob["quota"] is None
    assert carol["quota"]["windows"][0]["usedPercent"] == 40, "a unique accountId wins over the e-mail entry"
    assert carol["quota"]["source"] == "cache" and carol["quota"]["sampledAt"] == NOW - HOUR
    assert carol["quota"]["httpStatus"] == 200 and carol["quota"]["model"] == "gpt-5-codex"


def test_invalid_quota_cache_is_ignored_with_a_warning(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("alice", NOW)]))
    (pool_dir / "quota-cache.json").write_text('{"version": 2}')
    result = collect()
    assert pool_of(result)["quotaCache"]["state"] == "invalid"
    assert accounts_of(result)[0]["quota"] is None
    assert "cached quota ignored" in result.stderr


def test_codex_cli_auth_json_is_a_one_account_pool(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_MULTI_AUTH_DIR")
    codex_home = isolated_home / ".codex"
    poolkit.write_auth_json(
        codex_home, email="Solo@Example.com", account_id="acct-solo", now=NOW, refreshed=NOW - 9 * DAY, plan="team"
    )
    result = collect()
    pool = pool_of(result)
    assert pool["source"] == "codex-cli"
    assert pool["storage"]["path"] == str(codex_home / "auth.json") and pool["storage"]["format"] == "codex-cli-auth"
    (solo,) = accounts_of(result)
    assert solo["email"] == "solo@example.com" and solo["emailSource"] == "stored"
    assert solo["accountId"] == "acct-solo" and solo["plan"] == "team" and solo["isCurrent"] is True
    assert solo["token"]["lastRefreshAt"] == NOW - 9 * DAY and solo["token"]["lastRefreshSource"] == "last_refresh"
    assert solo["token"]["accessExpiresAt"] == NOW + DAY


def test_auth_json_is_not_used_when_the_pool_folder_is_explicit(isolated_home: Path) -> None:
    poolkit.write_auth_json(isolated_home / ".codex", email="solo@example.com", account_id="a", now=NOW, refreshed=NOW)
    result = collect(expect=1)  # CODEX_MULTI_AUTH_DIR points at a folder that does not exist
    assert pool_of(result)["source"] == "none"
    assert "no account storage found" in result.stderr


def test_missing_folder_says_where_it_looked(pool_dir: Path) -> None:
    result = collect(expect=1)
    pool = pool_of(result)
    assert pool["storage"]["state"] == "missing" and pool["source"] == "none"
    assert "does not exist" in pool["storage"]["details"]
    assert str(pool_dir) in result.stderr and "--dir" in result.stderr
    assert result.stderr.count("\n") == 1


def test_empty_pool_is_readable_but_says_so(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([]))
    result = collect(expect=0)
    assert pool_of(result)["storage"]["state"] == "empty"
    assert "has no accounts" in result.stderr


def test_dir_option_overrides_environment(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    poolkit.write_pool(elsewhere, poolkit.accounts_v3([poolkit.account("zoe", NOW)]))
    result = collect("--dir", str(elsewhere))
    assert pool_of(result)["dir"] == str(elsewhere)
    assert [a["email"] for a in accounts_of(result)] == ["zoe@example.com"]


def test_resolution_falls_back_to_legacy_codex_folder(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_MULTI_AUTH_DIR")
    monkeypatch.delenv("CODEX_HOME")
    legacy = isolated_home / ".codex"
    poolkit.write_pool(legacy, poolkit.accounts_v3([poolkit.account("legacy", NOW)]))
    (legacy / "multi-auth").mkdir()
    result = collect()
    assert pool_of(result)["dir"] == str(legacy)


def test_custom_codex_home_stays_on_its_own_root(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CODEX_MULTI_AUTH_DIR")
    custom = tmp_path / "custom-codex"
    monkeypatch.setenv("CODEX_HOME", str(custom))
    poolkit.write_pool(isolated_home / ".codex" / "multi-auth", poolkit.accounts_v3([poolkit.account("default", NOW)]))
    poolkit.write_pool(custom / "multi-auth", poolkit.accounts_v3([poolkit.account("custom", NOW)]))
    result = collect()
    assert [a["email"] for a in accounts_of(result)] == ["custom@example.com"]


def test_email_and_account_id_from_token_claims_when_not_stored(pool_dir: Path) -> None:
    a = poolkit.account("anon", NOW, email=None, account_id=None)
    a["accessToken"] = poolkit.access_token(
        account_id="acct-from-jwt", email="Claims@Example.com", issued_ms=NOW - HOUR, expires_ms=NOW + DAY
    )
    a.pop("expiresAt")
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([a]))
    (rec,) = accounts_of(collect())
    assert rec["accountId"] == "acct-from-jwt"
    assert rec["email"] == "claims@example.com" and rec["emailSource"] == "token"
    assert rec["token"]["accessExpiresAt"] == NOW + DAY


def test_auth_invalidation_fields(pool_dir: Path) -> None:
    a = poolkit.account("alice", NOW, authInvalidatedAt=NOW - HOUR, authInvalidationErrorCode="token_invalidated")
    b = poolkit.account("bob", NOW, authInvalidatedAt=0, authInvalidationErrorCode="stale")
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([a, b]))
    alice, bob = accounts_of(collect())
    assert alice["authInvalidatedAt"] == NOW - HOUR and alice["authInvalidationErrorCode"] == "token_invalidated"
    assert bob["authInvalidatedAt"] is None and bob["authInvalidationErrorCode"] is None


def test_no_token_of_any_kind_in_any_output(seed_pool: Path, pool_dir: Path) -> None:
    # Every storage shape at once: V3 pool, WAL, backup, flagged file, auth.json.
    poolkit.write_wal(pool_dir, poolkit.accounts_v3([poolkit.account("walter", NOW)]), NOW)
    shutil.copy(pool_dir / "openai-codex-accounts.json", pool_dir / "openai-codex-accounts.json.bak")
    poolkit.write_auth_json(pool_dir.parent, email="cli@example.com", account_id="acct-cli", now=NOW, refreshed=NOW)
    secrets = fixture_secrets(pool_dir.parent)
    assert len(secrets) > 10
    result = collect()
    assert_no_secrets(result.text + result.stderr, secrets)
    (pool_dir / "openai-codex-accounts.json").unlink()
    recovered = collect()
    assert pool_of(recovered)["storage"]["state"] == "recovered"
    assert_no_secrets(recovered.text + recovered.stderr, secrets)


def test_collect_writes_nothing_and_keeps_modes(seed_pool: Path) -> None:
    before = snapshot_tree(seed_pool)
    dir_mode = os.stat(seed_pool).st_mode
    collect()
    assert snapshot_tree(seed_pool) == before
    assert os.stat(seed_pool).st_mode == dir_mode


def test_output_file_option(seed_pool: Path, tmp_path: Path) -> None:
    target = tmp_path / "snapshot.ndjson"
    result = run_cli(["collect", *NOW_ARG, "-o", str(target)])
    assert result.stdout == b""
    lines = target.read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "pool" and len(lines) == 6
