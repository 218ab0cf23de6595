"""Every field codex-multi-auth 2.8.7 writes (``lib/storage/public-types.ts``, ``lib/quota-cache.ts``
at ndycode/codex-multi-auth 77126083), and fields no version of it writes yet (a later one may:
collect reads what a report needs and ignores the rest), read without a warning, and kept
untouched by a live refresh's write-back.

Provenance of the field names: ``AccountMetadataV3`` (recordId, accountIdSource, accountLabel,
lastSwitchReason, rateLimitResetTimes, coolingDownUntil, cooldownReason, authInvalidatedAt,
authInvalidationErrorCode, workspaces[id, name, enabled, disabledAt, isDefault],
currentWorkspaceIndex), ``AccountStorageV3`` (activeIndexByFamily, pinnedAccountIndex,
affinityGeneration), ``QuotaCacheEntry`` (updatedAt, status, model, planType, primary,
secondary: usedPercent, windowMinutes, resetAtMs). The subscription, priming and Reserve fields
the issue names are in none of its sources (every branch searched), so no real name for them
can be used: the ``unknown*`` keys below stand for them, named as what they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testkit import poolkit
from testkit.helpers import run_cli
from testkit.live_helpers import accounts_of, expired, now, pool_file

UNKNOWN = {"unknownField": {"nested": [1, "two", None]}, "unknownFlag": True}


def full_account(account: dict[str, Any], t: int) -> dict[str, Any]:
    return {
        **account,
        "recordId": "record:" + "ab" * 32,
        "accountIdSource": "token",
        "accountLabel": "Work",
        "lastSwitchReason": "rotation",
        "rateLimitResetTimes": {"codex": t - 60_000, "gpt-5.2:gpt-5.6-terra": t + 3_600_000},
        "coolingDownUntil": t - 1,
        "cooldownReason": "rate-limit",
        "workspaces": [
            {"id": "ws-a", "name": "Alpha", "enabled": True, "isDefault": True, **UNKNOWN},
            {"id": "ws-b", "name": "Beta", "enabled": False, "disabledAt": t - 5},
        ],
        "currentWorkspaceIndex": 0,
        **UNKNOWN,
    }


def write_full_pool(folder: Path, t: int) -> list[dict[str, Any]]:
    accounts = [full_account(expired("ann", t), t), full_account(poolkit.account("ben", t), t)]
    data = poolkit.accounts_v3(accounts, pinnedAccountIndex=1, affinityGeneration=3)
    poolkit.write_pool(folder, {**data, **UNKNOWN})
    entry = {
        "updatedAt": t - 60_000,
        "status": 200,
        "model": "gpt-5-codex",
        "planType": "plus",
        "primary": {"usedPercent": 25, "windowMinutes": 300, "resetAtMs": t + 3_600_000, **UNKNOWN},
        "secondary": {"usedPercent": 50, "windowMinutes": 10080, "resetAtMs": t + 86_400_000},
        **UNKNOWN,
    }
    cache = {"version": 1, "byAccountId": {"acct-ben": entry}, "byEmail": {"ben@example.com": entry}, **UNKNOWN}
    (folder / "quota-cache.json").write_text(json.dumps(cache, indent=2) + "\n")
    flagged = {"version": 1, "accounts": [{**poolkit.account("fay", t), "flaggedAt": t - 1000, **UNKNOWN}], **UNKNOWN}
    (folder / "openai-codex-flagged-accounts.json").write_text(json.dumps(flagged, indent=2))
    return accounts


def test_collect_reads_what_it_needs_and_ignores_the_rest(pool_dir: Path) -> None:
    t = now()
    write_full_pool(pool_dir, t)
    result = run_cli(["collect"])
    assert result.stderr == ""
    pool, ann, ben, fay = result.records
    assert pool["warnings"] == [] and pool["storage"]["state"] == "healthy" and pool["quotaCache"]["entries"] == 2
    assert (ann["label"], ann["workspace"], ann["rateLimit"]["cooldownReason"]) == ("Work", "Alpha", "rate-limit")
    assert ann["rateLimit"]["resetTimes"] == {"codex": t - 60_000, "gpt-5.2:gpt-5.6-terra": t + 3_600_000}
    assert ben["quota"]["source"] == "cache" and [w["usedPercent"] for w in ben["quota"]["windows"]] == [25, 50]
    assert fay["kind"] == "flagged" and fay["email"] == "fay@example.com"
    for record in result.records:
        assert "unknownField" not in json.dumps(record), "unknown fields are not passed on"


def test_a_refresh_keeps_every_other_field_as_it_was(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = write_full_pool(pool_dir, t)
    before = pool_file(pool_dir)
    server = fake_backend(poolkit.backend_scenario(accounts))
    records = accounts_of(run_cli(["collect"]).records)
    assert len(records) == 2
    run_cli(["report", "--live", "--json"], validate=False)
    assert server.stats()["refresh"]["succeeded"] == 1
    after = pool_file(pool_dir)
    assert after["accounts"][0]["refreshToken"] == server.refresh_token("acct-ann")
    tokens = ("refreshToken", "accessToken", "expiresAt", "idToken", "lastRefresh")
    for old, new in zip(before["accounts"], after["accounts"], strict=True):
        assert {k: v for k, v in new.items() if k not in tokens} == {k: v for k, v in old.items() if k not in tokens}
    assert {k: v for k, v in after.items() if k != "accounts"} == {k: v for k, v in before.items() if k != "accounts"}
    cache = json.loads((pool_dir / "quota-cache.json").read_text())
    assert cache["unknownField"] == UNKNOWN["unknownField"], "the cache keeps what it does not know"
