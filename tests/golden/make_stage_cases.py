"""Write the inputs of the stage golden cases (run once; the output is committed).

    python tests/golden/make_stage_cases.py

``stages/<stage>/<case>.in.ndjson`` is the input; ``<case>.args`` (optional) holds extra
arguments, one per line; the expectations ``<case>.out`` / ``<case>.err`` / ``<case>.exit``
are written by ``scripts/test --update-golden`` and reviewed like code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.stages.collect import collect
from pipeline.stages.score import score
from pipeline.storage.pool import read_pool
from testkit import poolkit
from testkit.poolkit import DAY, HOUR, MINUTE
from testkit.poolkit import SEED_NOW as NOW

HERE = Path(__file__).resolve().parent / "stages"
ROOT = HERE.parents[2]


def write(stage: str, name: str, records: list[dict[str, Any]] | str, args: list[str] | None = None) -> None:
    folder = HERE / stage
    folder.mkdir(parents=True, exist_ok=True)
    text = (
        records if isinstance(records, str) else "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    )
    (folder / f"{name}.in.ndjson").write_text(text)
    if args:
        (folder / f"{name}.args").write_text("\n".join(args) + "\n")


def collected(folder: Path) -> list[dict[str, Any]]:
    records = list(collect(read_pool({}, NOW, folder)))
    for record in records:  # keep the case independent of where it was generated
        if record["kind"] == "pool":
            record["dir"] = "/pool"
            for key in ("storage", "flaggedStorage", "quotaCache"):
                record[key]["path"] = "/pool/" + Path(record[key]["path"]).name
    return records


def acct(index: int, email: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "account",
        "index": index,
        "accountId": f"acct-{email.split('@')[0]}",
        "email": email,
        "enabled": True,
        "isCurrent": index == 0,
        "lastUsed": NOW - HOUR,
        "addedAt": NOW - 30 * DAY,
        "token": {
            "hasAccessToken": True,
            "hasRefreshToken": True,
            "accessExpiresAt": NOW + 5 * DAY,
            "lastRefreshAt": NOW - DAY,
            "lastRefreshSource": "access-token-iat",
        },
        "rateLimit": {"resetTimes": {}, "coolingDownUntil": None, "cooldownReason": None},
        "quota": None,
    }
    record.update(extra)
    return record


def live(used_5h: float, used_7d: float, reset_5h: int = NOW + 2 * HOUR) -> dict[str, Any]:
    return {
        "source": "live",
        "sampledAt": NOW,
        "httpStatus": 200,
        "model": "gpt-5-codex",
        "planType": "plus",
        "limitReached": False,
        "windows": [
            {"windowMinutes": 300, "usedPercent": used_5h, "resetAt": reset_5h},
            {"windowMinutes": 10080, "usedPercent": used_7d, "resetAt": NOW + 4 * DAY},
        ],
        "credits": None,
    }


POOL = {
    "kind": "pool",
    "schemaVersion": 1,
    "collectedAt": NOW,
    "source": "codex-multi-auth",
    "dir": "/pool",
    "storage": {
        "path": "/pool/openai-codex-accounts.json",
        "state": "healthy",
        "format": "accounts-v3",
        "recoveredFrom": None,
        "details": None,
    },
    "currentIndex": 0,
    "accountCount": 0,
    "flaggedCount": 0,
    "warnings": [],
}


def pool(accounts: int, flagged: int = 0, **extra: Any) -> dict[str, Any]:
    return dict(POOL, accountCount=accounts, flaggedCount=flagged, currentIndex=0 if accounts else None, **extra)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seed = collected(poolkit.seed_example_pool(Path(tmp) / "seed"))
    write("score", "seed-example", seed)
    probe_cases = [
        acct(
            0,
            "ok@example.com",
            quota=live(20, 30),
            probe={
                "outcome": "ok",
                "method": "usage",
                "httpStatus": 200,
                "latencyMs": 80,
                "at": NOW,
                "refreshed": True,
            },
        ),
        acct(
            1,
            "invalidated@example.com",
            probe={
                "outcome": "auth-failed",
                "httpStatus": 401,
                "errorCode": "token_invalidated",
                "detail": "the service invalidated the token",
            },
        ),
        acct(
            2,
            "reused@example.com",
            probe={
                "outcome": "refresh-failed",
                "httpStatus": 400,
                "errorCode": "refresh_token_reused",
                "detail": "refresh token already used",
            },
        ),
        acct(
            3,
            "slow@example.com",
            probe={"outcome": "timeout", "latencyMs": 15000, "detail": "no answer within 15000 ms"},
        ),
        acct(
            4,
            "limited@example.com",
            quota=live(100, 40, reset_5h=NOW + 75 * MINUTE),
            probe={"outcome": "rate-limited", "httpStatus": 429, "errorCode": "usage_limit_reached"},
        ),
        acct(5, "skipped@example.com", enabled=False, probe={"outcome": "skipped", "detail": "disabled"}),
    ]
    write("score", "probe-outcomes", [pool(6), *probe_cases], ["--model", "gpt-5-codex"])
    write("score", "bad-field", [pool(1), acct(0, "a@example.com", healthScore=140)])
    write("score", "not-json", '{"kind":"pool"\n')

    with tempfile.TemporaryDirectory() as tmp:
        seed_scored = list(score(collected(poolkit.seed_example_pool(Path(tmp) / "seed")), now=NOW))
    write("recommend", "seed-example", seed_scored)
    limited = [
        acct(
            0,
            "a@example.com",
            rateLimit={"resetTimes": {"codex": NOW + 3 * HOUR}, "coolingDownUntil": None, "cooldownReason": None},
        ),
        acct(
            1,
            "b@example.com",
            rateLimit={"resetTimes": {"codex": NOW + 40 * MINUTE}, "coolingDownUntil": None, "cooldownReason": None},
        ),
        acct(2, "c@example.com", enabled=False),
    ]
    write("recommend", "all-rate-limited", list(score([pool(3), *limited], now=NOW)))
    broken = [acct(0, "x@example.com", authInvalidatedAt=NOW - DAY), acct(1, "y@example.com", enabled=False)]
    write("recommend", "all-broken", list(score([pool(2), *broken], now=NOW)))
    write("recommend", "empty-pool", [pool(0, storage=dict(POOL["storage"], state="empty"))])
    tie = [
        acct(0, "first@example.com", isCurrent=False, quota=live(20, 20)),
        acct(1, "current@example.com", isCurrent=True, quota=live(20, 20)),
        acct(2, "third@example.com", isCurrent=False, quota=live(20, 20)),
    ]
    write("recommend", "tie-goes-to-current", list(score([pool(3), *tie], now=NOW)))
    low = [
        acct(0, "low@example.com", quota=live(95, 20)),
        acct(1, "nodata@example.com"),
        acct(2, "fresh@example.com", quota=live(60, 60)),
    ]
    write("recommend", "quota-before-health", list(score([pool(3), *low], now=NOW)))

    write("render", "seed-example", seed_scored)
    write("render", "seed-example-json", seed_scored, ["--json"])
    write("render", "seed-example-explain", seed_scored, ["--explain"])
    write("render", "unscored-input", seed)
    write("render", "empty-pool", [pool(0, storage=dict(POOL["storage"], state="empty"))])
    all_flagged = [
        pool(0, 2),
        {
            "kind": "flagged",
            "index": 0,
            "accountId": "acct-x",
            "email": "x@example.com",
            "flaggedAt": NOW - 3 * DAY,
            "flaggedReason": "token-invalid",
            "lastError": "invalid_grant",
            "lastVerified": None,
            "verificationCount": 0,
        },
        {
            "kind": "flagged",
            "index": 1,
            "accountId": None,
            "email": None,
            "label": "Work",
            "flaggedAt": None,
            "flaggedReason": None,
            "lastError": None,
            "lastVerified": NOW - HOUR,
            "verificationCount": 7,
        },
    ]
    write("render", "all-flagged", all_flagged)
    write("render", "all-flagged-json", all_flagged, ["--json"])
    recovered = pool(
        1,
        storage=dict(
            POOL["storage"],
            state="recovered",
            recoveredFrom="/pool/openai-codex-accounts.json.wal",
            details="openai-codex-accounts.json missing; read openai-codex-accounts.json.wal instead",
        ),
        warnings=["accounts[2] has no refresh token; skipped (codex-multi-auth drops it too)"],
    )
    shared = [
        acct(0, "lead@example.com", workspace="Research", accountId="ws-1"),
        acct(1, "lead@example.com", label="Design", accountId="ws-2", isCurrent=False),
    ]
    write("render", "recovered-shared-email", [recovered, *shared])
    write("render", "wrong-kind", [pool(0), {"kind": "target", "index": 0}])

    # --format: golden Markdown and Prometheus on the seed example, an empty and an all-flagged pool
    empty = [pool(0, storage=dict(POOL["storage"], state="empty"))]
    for fmt in ("markdown", "prometheus"):
        write("render", f"seed-example-{fmt}", seed_scored, ["--format", fmt])
        write("render", f"empty-pool-{fmt}", empty, ["--format", fmt])
        write("render", f"all-flagged-{fmt}", all_flagged, ["--format", fmt])
    write("render", "seed-example-markdown-explain", seed_scored, ["--format", "markdown", "--explain"])
    write("render", "recovered-shared-email-prometheus", [recovered, *shared], ["--format", "prometheus"])
    write("render", "recovered-shared-email-markdown", [recovered, *shared], ["--format", "markdown"])
    # --redact: e-mails and account ids also inside paths, warnings, reasons and details
    write("render", "seed-example-redact", seed_scored, ["--redact"])
    write("render", "redact-everywhere", redact_case(), ["--redact", "--explain"])
    write("render", "redact-everywhere-prometheus", redact_case(), ["--redact", "--format", "prometheus"])


def redact_case() -> list[dict[str, Any]]:
    home = "/home/ops/pools/alice@example.com"
    storage = {
        "path": f"{home}/openai-codex-accounts.json",
        "state": "recovered",
        "format": "accounts-v3",
        "recoveredFrom": f"{home}/openai-codex-accounts.json.bak",
        "details": f"openai-codex-accounts.json unreadable; read {home}/openai-codex-accounts.json.bak instead",
    }
    records: list[dict[str, Any]] = [
        pool(2, 1, dir=home, storage=storage, warnings=["accounts[2] (zed@example.org) has no refresh token; skipped"]),
        acct(0, "alice@example.com", label="alice@example.com work", quota=live(20, 30)),
        acct(
            1,
            "Bob.Smith+codex@example.co.uk",
            accountId="org-Q7x9",
            isCurrent=False,
            probe={
                "outcome": "http-error",
                "httpStatus": 500,
                "detail": "upstream said: no workspace org-Q7x9 for Bob.Smith+codex@example.co.uk",
            },
        ),
        {
            "kind": "flagged",
            "index": 0,
            "accountId": "acct-erin",
            "email": "erin@example.com",
            "flaggedAt": NOW - DAY,
            "flaggedReason": None,
            "lastError": "refresh failed for erin@example.com (acct-erin): invalid_grant",
            "lastVerified": None,
            "verificationCount": 1,
        },
    ]
    return list(score(records, now=NOW))


if __name__ == "__main__":
    os.environ.pop("CODEX_MULTI_AUTH_DIR", None)
    main()
