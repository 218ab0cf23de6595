"""What /wham/usage says in 2026, end to end against the fake backend: monthly spend controls
(rate_limit null is no error), reset credits (read only), per-feature limits, new plan types,
weekly-only seats; in records, the JSON report, --explain, Prometheus and the forecast."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from testkit import poolkit
from testkit.helpers import run_cli, system_tool

DAY_S = 86_400


def scenario_pool(pool_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    t = poolkit.now_ms()
    accounts = [
        poolkit.account("biz", t, plan="self_serve_business_usage_based"),
        poolkit.account("capped", t, plan="enterprise_cbp_usage_based"),
        poolkit.account("lite", t, plan="prolite"),
        poolkit.account("weekly", t, plan="pro"),
    ]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    spend = {"limits": {"individual": {"usedPercent": 62, "resetAfterSeconds": 10 * DAY_S}}}
    overrides = {
        "acct-biz": {"primary": None, "secondary": None, "rateLimit": None, "spendControl": spend, "resetCredits": 2},
        "acct-capped": {
            "primary": None,
            "secondary": None,
            "rateLimit": None,
            "spendControl": {
                "reached": True,
                "reachedLimitType": "individual",
                "limits": {"individual": {"usedPercent": 100, "resetAfterSeconds": 5 * DAY_S}},
            },
        },
        "acct-lite": {
            "additionalLimits": [
                {
                    "id": "codex_bengalfox",
                    "name": "GPT-5.3-Codex-Spark",
                    "primary": {"usedPercent": 100, "windowMinutes": 300},
                    "secondary": None,
                },
                {
                    "id": "code_review",
                    "name": "Code review",
                    "primary": {"usedPercent": 40, "windowMinutes": 10080},
                    "secondary": None,
                },
            ],
            "resetCredits": 0,
        },
        "acct-weekly": {
            "primary": {"usedPercent": 30, "windowMinutes": 10080, "resetAfterSeconds": 3 * DAY_S},
            "secondary": None,
        },
    }
    return accounts, poolkit.backend_scenario(accounts, overrides=overrides)


def test_2026_usage_fields_in_records_report_explain_and_metrics(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    _, scenario = scenario_pool(pool_dir)
    server = backend(scenario)
    records = run_cli(["probe"], input=run_cli(["collect"]).stdout).records  # validated against the schemas
    biz, capped, lite, weekly = [r for r in records if r["kind"] == "account"]
    assert [w["windowMinutes"] for w in weekly["quota"]["windows"]] == [10080], "a weekly-only seat"
    assert biz["probe"]["outcome"] == "ok", "rate_limit: null is not an error"
    assert biz["quota"]["windows"] == [] and biz["quota"]["planType"] == "self_serve_business_usage_based"
    (limit,) = biz["quota"]["spendControl"]["limits"]
    assert limit["limitType"] == "individual" and limit["usedPercent"] == 62 and limit["remainingPercent"] == 38
    assert biz["quota"]["resetCredits"] == {"availableCount": 2, "applicableAvailableCount": 2}
    assert capped["quota"]["spendControl"]["reached"] is True and capped["probe"]["outcome"] == "rate-limited"
    assert lite["quota"]["planType"] == "prolite"
    assert [x["limitId"] for x in lite["quota"]["additionalLimits"]] == ["codex_bengalfox", "code_review"]

    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    accounts = {a["email"]: a for a in report["accounts"]}
    assert accounts["biz@example.com"]["status"] == "healthy"
    assert accounts["biz@example.com"]["spendControl"] == {
        "reached": False,
        "limits": [{"limitType": "individual", "usedPercent": 62, "remainingPercent": 38, "resetAt": limit["resetAt"]}],
    }
    assert accounts["biz@example.com"]["resetCredits"] == 2
    capped_report = accounts["capped@example.com"]
    assert (
        capped_report["status"] == "rate-limited"
        and capped_report["rateLimitResetAt"] == capped["quota"]["spendControl"]["limits"][0]["resetAt"]
    )
    lite_report = accounts["lite@example.com"]
    assert lite_report["status"] == "healthy", "Spark at 100% is not the model's own limit"
    assert lite_report["plan"] == "prolite"
    assert [x["limitId"] for x in lite_report["additionalLimits"]] == ["codex_bengalfox", "code_review"]
    assert lite_report["additionalLimits"][0]["windows"] == [
        {"window": "5h", "usedPercent": 100, "resetAt": lite["quota"]["additionalLimits"][0]["windows"][0]["resetAt"]}
    ]
    assert (
        accounts["weekly@example.com"]["quota7dPercent"] == 70
        and "quota5hPercent" not in accounts["weekly@example.com"]
    )

    explained = run_cli(["report", "--live", "--explain"], validate=False).text
    assert "Quota (monthly spend): 38% remaining" in explained
    assert "Spend limit (individual): 62% used, resets " in explained
    assert "Reset credits: 2 available (read only; this tool never redeems one)" in explained
    assert (
        "Other limit GPT-5.3-Codex-Spark (codex_bengalfox): 5h 100% used; reached; does not decide the status"
        in explained
    )

    metrics = run_cli(["report", "--live", "--format", "prometheus"], validate=False).text
    promtool = system_tool("promtool", "prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=metrics.encode(), capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        'codex_auth_account_spend_used_ratio{index="0",number="1",email="biz@example.com",account_id="acct-biz",limit_type="individual"} 0.62'
        in metrics
    )
    assert (
        'codex_auth_account_spend_limit_reached{index="1",number="2",email="capped@example.com",account_id="acct-capped"} 1'
        in metrics
    )
    assert (
        'codex_auth_account_reset_credits{index="0",number="1",email="biz@example.com",account_id="acct-biz"} 2'
        in metrics
    )
    assert 'limit_id="code_review",limit_name="Code review",window="7d"} 0.4' in metrics

    forecast = json.loads(run_cli(["forecast", "--live", "--json", "--no-history"], validate=False).stdout)
    by_email = {a["email"]: a for a in forecast["accounts"]}
    assert [w["name"] for w in by_email["biz@example.com"]["windows"]] == ["monthly spend"]
    assert by_email["capped@example.com"]["verdict"] == "exhausted"
    assert [w["name"] for w in by_email["weekly@example.com"]["windows"]] == ["7d"]
    stats = server.stats()
    assert stats["requests"]["other"] == 0, "no other endpoint (a reset-credit consume) was ever called"
