"""Write the input pools of the collect golden cases (run once; the output is committed).

    python tests/golden/make_collect_cases.py

Each case folder holds the storage files in codex-multi-auth's real formats (``pool/``, or
``codex-home/`` for Codex CLI's auth.json), an optional ``case.json`` (``args``, ``env``,
``unset``, ``exit``; ``{case}`` stands for the case folder), and the expectations
``expected.ndjson`` / ``expected.stderr`` that ``scripts/test --update-golden`` rewrites.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from testkit import poolkit
from testkit.poolkit import DAY, HOUR, MINUTE
from testkit.poolkit import SEED_NOW as NOW

HERE = Path(__file__).resolve().parent / "collect"


def case(name: str, **spec: object) -> Path:
    folder = HERE / name
    for old in ("pool", "codex-home", "case.json"):  # inputs only: expectations stay for review
        if (folder / old).is_dir():
            shutil.rmtree(folder / old)
        elif (folder / old).exists():
            (folder / old).unlink()
    folder.mkdir(parents=True, exist_ok=True)
    if spec:
        (folder / "case.json").write_text(json.dumps(spec, indent=2) + "\n")
    return folder


def main() -> None:
    poolkit.seed_example_pool(case("seed-example") / "pool")

    v1 = case("v1-pool") / "pool"
    a = poolkit.account("alice", NOW)
    a["rateLimitResetTime"] = NOW + 20 * MINUTE
    poolkit.write_pool(v1, poolkit.accounts_v1([a, poolkit.account("bob", NOW, enabled=False)], active=1))

    wal = case("wal-recovery") / "pool"
    poolkit.write_wal(
        wal,
        poolkit.accounts_v3([poolkit.account("walter", NOW), poolkit.account("wendy", NOW)], active=1),
        NOW - MINUTE,
    )

    bak = case("bak-recovery") / "pool"
    bak.mkdir(parents=True)
    (bak / "openai-codex-accounts.json").write_text('{"version": 3, "accounts": [{"refreshToken": ')
    (bak / "openai-codex-accounts.json.bak").write_text("")
    poolkit.write_json(bak / "openai-codex-accounts.json.bak.1", poolkit.accounts_v3([poolkit.account("betty", NOW)]))

    corrupt = case("corrupt-json", exit=1) / "pool"
    corrupt.mkdir(parents=True)
    (corrupt / "openai-codex-accounts.json").write_text('{\n  "version": 3,\n  "accounts": [\n')

    unknown = case("unknown-version", exit=1) / "pool"
    poolkit.write_pool(unknown, {"version": 2, "accounts": [poolkit.account("ver2", NOW)], "activeIndex": 0})

    reset = case("reset-marker") / "pool"
    poolkit.write_pool(reset, poolkit.accounts_v3([poolkit.account("gone", NOW)]))
    (reset / "openai-codex-accounts.json.reset-intent").write_text("")

    dups = case("duplicate-emails") / "pool"
    poolkit.write_pool(
        dups,
        poolkit.accounts_v3(
            [
                poolkit.account("upper", NOW, email="A@Example.com", account_id=None, last_used=NOW - 5 * DAY),
                poolkit.account("bob", NOW),
                poolkit.account("lower", NOW, email="a@example.com", account_id=None, last_used=NOW - HOUR),
            ],
            active=0,
        ),
    )

    spaces = case("multi-workspace") / "pool"
    poolkit.write_pool(
        spaces,
        poolkit.accounts_v3(
            [
                poolkit.account(
                    "lead",
                    NOW,
                    email="lead@example.com",
                    account_id="ws-research",
                    accountLabel="Research",
                    workspaces=[{"id": "ws-research", "name": "Research", "enabled": True}],
                ),
                poolkit.account("lead2", NOW, email="lead@example.com", account_id="ws-design", accountLabel="Design"),
            ]
        ),
    )
    poolkit.write_quota_cache(
        spaces,
        by_account_id={
            "ws-design": poolkit.quota_entry(
                NOW - 2 * HOUR, poolkit.window(10080, 20, NOW + 3 * DAY), None, plan="team"
            )
        },
        by_email={"lead@example.com": poolkit.quota_entry(NOW, poolkit.window(300, 99, NOW + HOUR), None)},
    )

    cli = case("codex-cli", env={"CODEX_HOME": "{case}/codex-home"}, unset=["CODEX_MULTI_AUTH_DIR"], args=[])
    poolkit.write_auth_json(
        cli / "codex-home",
        email="solo@example.com",
        account_id="acct-solo",
        now=NOW,
        refreshed=NOW - 8 * DAY,
        plan="pro",
    )

    case("missing-folder", args=["--dir", "{case}/nowhere"], exit=1)


if __name__ == "__main__":
    main()
