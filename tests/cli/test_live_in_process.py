"""Live mode through the CLI in this process: `codex-auth probe` and `codex auth report --live`
against the fake ChatGPT backend in-process (the ``fake_backend`` fixture: the live client runs
on the backend's httpx transport, no socket), with real pool files in temporary folders.
Live tests that need real sockets or other processes are in tests/e2e/test_live.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from testkit import poolkit
from testkit.fake_backend import token_hash
from testkit.helpers import assert_no_secrets, fixture_secrets, run_cli, snapshot_tree
from testkit.live_helpers import accounts_of, expired, now, pool_file, probe, write_accounts
from testkit.poolkit import DAY, HOUR, MINUTE

# --- the seed example, live --------------------------------------------------------------


def test_live_report_of_the_seed_pool(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    poolkit.seed_example_pool(pool_dir, now=t)
    server = fake_backend(poolkit.seed_example_scenario(pool_dir))
    result = run_cli(["report", "--live"], validate=False)
    text = result.text
    assert "Mode: Live probe enabled (model: gpt-5-codex)" in text
    for line in (
        "  1. alice@example.com\n     Status: Healthy\n     Health score: 100\n     Quota (5h): 95% remaining\n     Quota (7d): 87% remaining\n",
        "  2. bob@example.com\n     Status: Healthy\n     Health score: 85\n     Quota (5h): 45% remaining\n     Quota (7d): 67% remaining\n",
        "  3. carol@example.com\n     Status: Warning (refresh token aging)\n     Health score: 70\n     Quota (5h): 12% remaining\n",
        "  4. dave@example.com\n     Status: Rate-limited\n     Health score: 40\n     Rate limit: Resets in 1h 30m\n",
        "     Verification: still broken (invalid_grant)\n",
        "  Use account: alice@example.com (index 1)\n  Reason: Highest quota, best health score\n",
    ):
        assert line in text
    assert result.stderr == ""
    stats = server.stats()
    assert stats["requests"]["usage"] == 4 and stats["requests"]["refresh"] == 1  # erin, the flagged one
    # the flagged account's history is ours, beside the pool
    history = json.loads((pool_dir / "codex-auth-report-state.json").read_text())
    assert history["flagged"]["user-xyz789|erin@example.com"]["verificationCount"] == 4
    # the quota cache now holds the live figures, so the next default report shows them
    cache = json.loads((pool_dir / "quota-cache.json").read_text())
    assert cache["byAccountId"]["user-def456"]["primary"] == {
        "usedPercent": 55,
        "windowMinutes": 300,
        "resetAtMs": cache["byAccountId"]["user-def456"]["primary"]["resetAtMs"],
    }
    assert cache["byEmail"]["bob@example.com"]["updatedAt"] >= t
    default = run_cli(["report", "--json"], validate=False)
    bob = json.loads(default.stdout)["accounts"][1]
    assert (bob["quota5hPercent"], bob["quotaSource"]) == (45, "cache") and bob["quotaSampledAt"] >= t


def test_live_json_report_validates_and_says_live(pool_dir: Path, fake_backend: Any) -> None:
    poolkit.seed_example_pool(pool_dir, now=now())
    fake_backend(poolkit.seed_example_scenario(pool_dir))
    report = json.loads(run_cli(["report", "--live", "--json", "--model", "gpt-5-codex"], validate=False).stdout)
    from pipeline.schema import schema_errors

    assert schema_errors(report, "report") == []
    assert (report["mode"], report["model"]) == ("live", "gpt-5-codex")
    assert [a["quotaSource"] for a in report["accounts"]] == ["live", "live", "live", "live"]
    assert [a["plan"] for a in report["accounts"]] == ["pro", "plus", "plus", "plus"], "the plan the service reports"
    assert report["flagged"][0]["worksAgain"] is False


# --- streaming, order, concurrency ------------------------------------------------------------


def test_output_order_is_pool_order_whatever_the_finishing_order(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account(f"u{i}", t) for i in range(6)]
    write_accounts(pool_dir, accounts)
    # the first accounts answer slowest, so they finish last
    overrides = {f"acct-u{i}": {"delayMs": (6 - i) * 120} for i in range(6)}
    server = fake_backend(poolkit.backend_scenario(accounts, overrides=overrides))
    result = probe("--concurrency", "6")
    assert [a["email"] for a in accounts_of(result.records)] == [f"u{i}@example.com" for i in range(6)]
    assert all(a["probe"]["outcome"] == "ok" for a in accounts_of(result.records))
    assert server.stats()["maxInFlight"] >= 3, "probes overlapped"


def test_concurrency_one_is_sequential(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account(f"s{i}", t) for i in range(4)]
    write_accounts(pool_dir, accounts)
    server = fake_backend(poolkit.backend_scenario(accounts), delay_ms=50)
    probe("--concurrency", "1")
    assert server.stats()["maxInFlight"] == 1


# --- every failure is an outcome -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "outcome", "status", "code"),
    [
        ("rate_limited", "rate-limited", 429, "usage_limit_reached"),
        ("forbidden", "auth-failed", 403, "deactivated_workspace"),
        ("server_error", "http-error", 500, None),
        ("drop", "network-error", None, None),
        ("not_json", "http-error", 200, None),
        ("wrong_shape", "http-error", 200, None),
    ],
)
def test_failures_become_outcomes_and_the_others_carry_on(
    pool_dir: Path, fake_backend: Any, behaviour: str, outcome: str, status: int | None, code: str | None
) -> None:
    t = now()
    accounts = [poolkit.account("good", t), poolkit.account("bad", t), poolkit.account("also", t)]
    write_accounts(pool_dir, accounts)
    fake_backend(poolkit.backend_scenario(accounts, overrides={"acct-bad": {"usage": behaviour}}))
    good, bad, also = accounts_of(probe().records)
    assert good["probe"]["outcome"] == "ok" and also["probe"]["outcome"] == "ok"
    assert bad["probe"]["outcome"] == outcome
    assert bad["probe"]["httpStatus"] == status
    if code:
        assert bad["probe"]["errorCode"] == code
    assert bad["probe"]["latencyMs"] is not None and bad["probe"]["detail"]
    assert "<html" not in json.dumps(bad).lower(), "no upstream body in a record"


def test_rate_limited_account_reports_the_services_reset(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account("limited", t), poolkit.account("fine", t)]
    write_accounts(pool_dir, accounts)
    fake_backend(
        poolkit.backend_scenario(
            accounts, overrides={"acct-limited": {"usage": {"mode": "rate_limited", "resetsInSeconds": 2700}}}
        )
    )
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    limited = report["accounts"][0]
    assert (limited["status"], limited["rateLimited"]) == ("rate-limited", True)
    assert abs(limited["rateLimitResetAt"] - (t + 2700_000)) < 60_000
    assert report["recommendation"]["email"] == "fine@example.com"


def test_token_invalidated_refreshes_once_then_reports_auth_failure(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account("revoked", t)]
    write_accounts(pool_dir, accounts)
    server = fake_backend(
        poolkit.backend_scenario(accounts, overrides={"acct-revoked": {"usage": "token_invalidated"}})
    )
    (revoked,) = accounts_of(probe().records)
    assert revoked["probe"]["outcome"] == "auth-failed" and revoked["probe"]["errorCode"] == "token_invalidated"
    assert revoked["probe"]["refreshed"] is True
    stats = server.stats()
    assert stats["requests"]["usage"] == 2 and stats["refresh"]["succeeded"] == 1
    assert pool_file(pool_dir)["accounts"][0]["refreshToken"] == server.refresh_token("acct-revoked"), (
        "the rotated token was saved"
    )
    scored = run_cli(["score"], input=run_cli(["collect"]).stdout).records
    assert scored  # the pool still reads


def test_unknown_account_is_refused(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stranger = poolkit.account("stranger", t)
    write_accounts(pool_dir, [stranger])
    fake_backend(poolkit.backend_scenario([poolkit.account("someone", t)]))
    (record,) = accounts_of(probe().records)
    assert record["probe"]["outcome"] == "auth-failed" and record["probe"]["httpStatus"] == 403


# --- quota details --------------------------------------------------------------------------------


def test_weekly_only_account_has_no_5h_figure(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account("weekly", t, plan="pro")]
    write_accounts(pool_dir, accounts)
    fake_backend(
        poolkit.backend_scenario(
            accounts,
            overrides={"acct-weekly": {"primary": {"usedPercent": 30, "windowMinutes": 10080}, "secondary": None}},
        )
    )
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    weekly = report["accounts"][0]
    assert weekly["quota7dPercent"] == 70 and "quota5hPercent" not in weekly
    text = run_cli(["report", "--live"], validate=False).text
    assert "Quota (7d): 70% remaining" in text and "Quota (5h)" not in text


def test_per_model_limit_matching_the_model_binds(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account("spark", t)]
    write_accounts(pool_dir, accounts)
    limit = {
        "id": "codex_bengalfox",
        "name": "GPT-5.3-Codex-Spark",
        "primary": {"usedPercent": 96, "windowMinutes": 300},
        "secondary": None,
        "models": ["gpt-5.3-codex-spark"],
    }
    fake_backend(
        poolkit.backend_scenario(
            accounts,
            overrides={
                "acct-spark": {
                    "additionalLimits": [limit],
                    "credits": {"hasCredits": True, "unlimited": False, "balance": "12.50"},
                }
            },
        )
    )
    (spark,) = accounts_of(probe("--model", "gpt-5.3-codex-spark").records)
    assert spark["quota"]["modelLimit"]["limitId"] == "codex_bengalfox"
    assert spark["quota"]["credits"] == {"hasCredits": True, "unlimited": False, "balance": "12.50"}
    scored = run_cli(
        ["score"],
        input=b"".join(json.dumps(r).encode() + b"\n" for r in probe("--model", "gpt-5.3-codex-spark").records),
    ).records
    account = accounts_of(scored)[0]
    assert account["status"] == "warning" and account["reasons"][0] == "low quota", (
        "the Spark limit binds for the Spark model"
    )
    (plain,) = accounts_of(probe().records)
    assert plain["quota"]["modelLimit"] is None


def test_responses_probe_reads_quota_headers(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account("hdr", t)]
    write_accounts(pool_dir, accounts)
    server = fake_backend(
        poolkit.backend_scenario(
            accounts,
            overrides={"acct-hdr": {"primary": {"usedPercent": 40, "windowMinutes": 300, "resetAfterSeconds": 600}}},
        )
    )
    (hdr,) = accounts_of(probe("--probe-method", "responses").records)
    assert hdr["probe"]["outcome"] == "ok" and hdr["probe"]["method"] == "responses"
    five = next(w for w in hdr["quota"]["windows"] if w["windowMinutes"] == 300)
    assert five["usedPercent"] == 40 and abs(five["resetAt"] - (t + 600_000)) < 60_000
    stats = server.stats()["requests"]
    assert stats["responses"] == 1 and stats["usage"] == 0, (
        "the usage endpoint is the default; responses only on request"
    )


# --- token refresh and write-back ---------------------------------------------------------------------


def test_expiring_token_is_refreshed_and_written_back_in_the_files_format(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    old = expired("old", t, accountLabel="Work", lastSwitchReason="rotation")
    soon = poolkit.account(
        "soon", t, refreshed=t - 10 * DAY + 2 * MINUTE, lifetime=10 * DAY
    )  # expires within 5 minutes
    fine = poolkit.account("fine", t)
    write_accounts(pool_dir, [old, soon, fine], pinnedAccountIndex=2)
    before = pool_file(pool_dir)
    server = fake_backend(poolkit.backend_scenario([old, soon, fine]))
    records = accounts_of(probe().records)
    assert [r["probe"]["refreshed"] for r in records] == [True, True, False]
    assert all(r["probe"]["outcome"] == "ok" for r in records)
    assert records[0]["token"]["lastRefreshSource"] == "probe" and records[0]["token"]["accessExpiresAt"] > t + 9 * DAY
    after = pool_file(pool_dir)
    raw = (pool_dir / "openai-codex-accounts.json").read_text()
    assert not raw.endswith("\n") and raw.startswith('{\n  "version": 3')  # codex-multi-auth's layout
    assert oct(os.stat(pool_dir / "openai-codex-accounts.json").st_mode & 0o777) == "0o600"
    for position, name in ((0, "acct-old"), (1, "acct-soon")):
        assert (
            after["accounts"][position]["refreshToken"]
            == server.refresh_token(name)
            != before["accounts"][position]["refreshToken"]
        )
        assert after["accounts"][position]["accessToken"] != before["accounts"][position]["accessToken"]
    assert after["accounts"][2] == before["accounts"][2]
    for key in ("accountLabel", "lastSwitchReason", "addedAt", "lastUsed", "email", "accountId"):
        assert after["accounts"][0][key] == before["accounts"][0][key]
    assert after["pinnedAccountIndex"] == 2 and after["activeIndexByFamily"] == before["activeIndexByFamily"]
    assert not list(pool_dir.glob("*.tmp")) and not list(pool_dir.glob(".*.tmp"))


def test_a_refresh_token_is_never_spent_twice_across_runs(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [expired("once", t)]
    write_accounts(pool_dir, accounts)
    server = fake_backend(poolkit.backend_scenario(accounts))
    first = run_cli(["report", "--live", "--json"], validate=False)
    second = run_cli(["report", "--live", "--json"], validate=False)
    stats = server.stats()
    assert stats["refresh"]["succeeded"] == 1 and stats["refresh"]["failed"] == 0
    assert all(count == 1 for count in stats["refreshTokensPresented"].values())
    assert (
        json.loads(first.stdout)["accounts"][0]["status"]
        == json.loads(second.stdout)["accounts"][0]["status"]
        == "healthy"
    )


def test_token_rotated_by_another_process_is_used_not_refreshed(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stale = expired("moved", t)
    write_accounts(pool_dir, [stale])
    server = fake_backend(poolkit.backend_scenario([stale]))
    collected = run_cli(["collect"]).stdout  # the snapshot holds the old facts...
    fresh = dict(
        stale,
        refreshToken=server.refresh_token("acct-moved"),
        accessToken=server.access_token("acct-moved"),
        expiresAt=t + 5 * DAY,
    )
    write_accounts(pool_dir, [fresh])  # ...while another tool refreshed meanwhile
    records = run_cli(["probe"], input=collected).records
    (moved,) = accounts_of(records)
    assert moved["probe"]["outcome"] == "ok"
    assert server.stats()["requests"]["refresh"] == 0


def test_codex_multi_auth_lease_result_is_reused(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stale = expired("leased", t)
    write_accounts(pool_dir, [stale])
    server = fake_backend(poolkit.backend_scenario([stale]))
    # codex-multi-auth refreshed this token a moment ago and published the result
    minted = server.access_token("acct-leased")
    leases = pool_dir / "refresh-leases"
    leases.mkdir(mode=0o700)
    digest = token_hash(stale["refreshToken"])
    (leases / f"{digest}.result.json").write_text(
        json.dumps(
            {
                "tokenHash": digest,
                "createdAt": t,
                "result": {
                    "type": "success",
                    "access": minted,
                    "refresh": "rt_fixture_published_1234567890",
                    "expires": t + 5 * DAY,
                    "multiAccount": True,
                },
            }
        )
    )
    result = probe()
    (leased,) = accounts_of(result.records)
    # the result proves the stored token spent: it goes into storage before anything is probed
    assert leased["probe"]["outcome"] == "ok" and leased["probe"]["refreshed"] is False
    assert leased["token"]["accessExpiresAt"] == t + 5 * DAY
    assert "codex-auth probe: restored 1 rotated token from the journal" in result.stderr
    assert server.stats()["requests"]["refresh"] == 0
    assert pool_file(pool_dir)["accounts"][0]["refreshToken"] == "rt_fixture_published_1234567890"


def test_write_back_merges_with_a_concurrent_writer(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    slow = expired("slowrefresh", t)
    other = poolkit.account("other", t)
    write_accounts(pool_dir, [slow, other])
    server = fake_backend(
        poolkit.backend_scenario(
            [slow, other], overrides={"acct-slowrefresh": {"refresh": {"mode": "ok", "delayMs": 700}}}
        )
    )
    collected = run_cli(["collect"]).stdout

    def concurrent_writer() -> None:
        time.sleep(0.3)  # while the refresh is in flight
        data = pool_file(pool_dir)
        data["accounts"][1]["lastUsed"] = t + 1
        data["accounts"][0]["currentWorkspaceIndex"] = 5
        data["affinityGeneration"] = 9
        poolkit.write_pool(pool_dir, data)

    writer = threading.Thread(target=concurrent_writer)
    writer.start()
    records = run_cli(["probe"], input=collected).records
    writer.join()
    assert accounts_of(records)[0]["probe"]["refreshed"] is True
    after = pool_file(pool_dir)
    assert after["accounts"][0]["refreshToken"] == server.refresh_token("acct-slowrefresh")
    assert after["accounts"][0]["currentWorkspaceIndex"] == 5, "the other writer's field survived"
    assert after["accounts"][1]["lastUsed"] == t + 1 and after["affinityGeneration"] == 9


def test_write_back_failure_is_loud_and_exits_non_zero(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    slow = expired("vanishing", t)
    keep = poolkit.account("keep", t)
    write_accounts(pool_dir, [slow, keep])
    fake_backend(
        poolkit.backend_scenario(
            [slow, keep], overrides={"acct-vanishing": {"refresh": {"mode": "ok", "delayMs": 600}}}
        )
    )
    collected = run_cli(["collect"]).stdout

    def remover() -> None:
        time.sleep(0.25)
        data = pool_file(pool_dir)
        data["accounts"] = [a for a in data["accounts"] if a["accountId"] != "acct-vanishing"]
        poolkit.write_pool(pool_dir, data)

    thread = threading.Thread(target=remover)
    thread.start()
    result = run_cli(["probe"], input=collected, expect=1)
    thread.join()
    vanished = accounts_of(result.records)[0]
    assert vanished["probe"]["outcome"] == "refresh-failed" and vanished["probe"]["errorCode"] == "write_back_failed"
    assert "ERROR: rotated tokens for vanishing@example.com not saved" in result.stderr
    assert "will need a new login" in result.stderr
    assert accounts_of(result.records)[1]["probe"]["outcome"] == "ok"
    scored = run_cli(["score"], input=b"".join(json.dumps(r).encode() + b"\n" for r in result.records)).records
    assert accounts_of(scored)[0]["status"] == "error"


def test_no_refresh_when_the_file_cannot_be_written(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stale = expired("locked", t)
    write_accounts(pool_dir, [stale])
    server = fake_backend(poolkit.backend_scenario([stale]))
    if os.geteuid() == 0:
        if (
            shutil.which("chattr") is None
            or subprocess.run(["chattr", "+i", str(pool_dir)], capture_output=True).returncode
        ):
            pytest.skip("running as root without chattr +i: cannot make the folder read-only")
    else:
        pool_dir.chmod(0o500)
    try:
        result = probe(expect=1)  # a refresh refused to keep the token: a problem found
        (locked,) = accounts_of(result.records)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(pool_dir)], check=True)
        else:
            pool_dir.chmod(0o700)
    assert locked["probe"]["outcome"] == "refresh-failed"
    assert locked["probe"]["detail"] == f"not refreshed: the folder {pool_dir} is not writable"
    assert server.stats()["requests"]["refresh"] == 0, "the token was not spent"
    assert [line for line in result.stderr.splitlines() if "warning" in line] == [
        f"codex-auth probe: warning: the folder {pool_dir} is not writable: fix its permissions and run again; no token was spent"
    ]


@pytest.mark.parametrize(
    ("mode", "code", "status"),
    [
        ("invalid_grant", "invalid_grant", 400),
        ("expired", "refresh_token_expired", 400),
        ("invalidated", "refresh_token_invalidated", 401),
    ],
)
def test_hard_refresh_failures_make_the_account_an_error(
    pool_dir: Path, fake_backend: Any, mode: str, code: str, status: int
) -> None:
    t = now()
    dead = expired("dead", t)
    write_accounts(pool_dir, [dead, poolkit.account("alive", t)])
    fake_backend(
        poolkit.backend_scenario([dead, poolkit.account("alive", t)], overrides={"acct-dead": {"refresh": mode}})
    )
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    account = report["accounts"][0]
    assert account["status"] == "error" and account["reasons"][0] == f"refresh failed ({code})"
    assert report["recommendation"]["email"] == "alive@example.com"
    (record,) = accounts_of(probe().records)[:1]
    assert record["probe"]["httpStatus"] == status


def test_reused_refresh_token_is_an_error(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stale = expired("reused", t)
    write_accounts(pool_dir, [stale])
    scenario = poolkit.backend_scenario([stale])
    scenario["accounts"][0]["usedRefreshTokens"] = [stale["refreshToken"]]
    scenario["accounts"][0]["refreshToken"] = "rt_fixture_someone_else_has_it"
    fake_backend(scenario)
    (record,) = accounts_of(probe().records)
    assert record["probe"]["outcome"] == "refresh-failed" and record["probe"]["errorCode"] == "refresh_token_reused"


def test_soft_refresh_failure_is_a_warning(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stale = expired("flaky", t)
    write_accounts(pool_dir, [stale])
    fake_backend(poolkit.backend_scenario([stale], overrides={"acct-flaky": {"refresh": "server_error"}}))
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    assert (
        report["accounts"][0]["status"] == "warning" and report["accounts"][0]["reasons"][0] == "token refresh failed"
    )


def test_codex_cli_login_is_refreshed_into_auth_json(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, fake_backend: Any
) -> None:
    monkeypatch.delenv("CODEX_MULTI_AUTH_DIR")
    t = now()
    codex_home = isolated_home / ".codex"
    path = poolkit.write_auth_json(
        codex_home, email="solo@example.com", account_id="acct-solo", now=t, refreshed=t - 11 * DAY
    )
    original = json.loads(path.read_text())
    scenario = {
        "accounts": [
            {"accountId": "acct-solo", "email": "solo@example.com", "refreshToken": original["tokens"]["refresh_token"]}
        ]
    }
    server = fake_backend(scenario)
    report = json.loads(run_cli(["report", "--live", "--json"], validate=False).stdout)
    assert report["accounts"][0]["status"] == "healthy"
    after = json.loads(path.read_text())
    assert after["tokens"]["refresh_token"] == server.refresh_token("acct-solo") != original["tokens"]["refresh_token"]
    assert after["tokens"]["account_id"] == "acct-solo" and after["OPENAI_API_KEY"] is None
    assert after["last_refresh"] > original["last_refresh"]
    assert not (codex_home / "multi-auth").exists(), "no pool folder is created for a Codex CLI login"


# --- flagged accounts -----------------------------------------------------------------------------------


def test_flagged_account_that_works_again(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    alive = poolkit.account("alive", t)
    back = poolkit.flagged("back", t, flagged_at=t - DAY)
    write_accounts(pool_dir, [alive])
    poolkit.write_flagged(pool_dir, [back])
    server = fake_backend(poolkit.backend_scenario([alive, back]))
    result = run_cli(["report", "--live"], validate=False)
    assert "Verification: works again (token refresh succeeded; restore it with codex-multi-auth)" in result.text
    assert "Last verified: just now\n     Verification count: 1\n" in result.text
    flagged_file = json.loads((pool_dir / "openai-codex-flagged-accounts.json").read_text())
    assert flagged_file["accounts"][0]["refreshToken"] == server.refresh_token("acct-back"), (
        "rotated token written to the flagged file"
    )
    assert flagged_file["accounts"][0]["flaggedAt"] == t - DAY
    history = json.loads((pool_dir / "codex-auth-report-state.json").read_text())
    assert history["flagged"]["acct-back|back@example.com"]["verificationCount"] == 1
    report = json.loads(run_cli(["report", "--json"], validate=False).stdout)
    assert report["flagged"][0]["verificationCount"] == 1 and report["flagged"][0]["lastVerified"] >= t


# --- budgets and --cached-only --------------------------------------------------------------------------


def test_max_accounts_and_max_probes(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account(f"b{i}", t) for i in range(5)]
    accounts[1]["enabled"] = False
    write_accounts(pool_dir, accounts)
    server = fake_backend(poolkit.backend_scenario(accounts))
    outcomes = [
        (a["probe"]["outcome"], a["probe"]["detail"])
        for a in accounts_of(probe("--max-accounts", "3", "--max-probes", "2").records)
    ]
    assert outcomes == [
        ("ok", None),
        ("skipped", "disabled"),
        ("ok", None),
        ("skipped", "probe budget used up (--max-probes 2)"),
        ("skipped", "beyond --max-accounts 3"),
    ]
    assert server.stats()["requests"]["usage"] == 2


def test_cached_only_never_refreshes_or_writes(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    stale = expired("stale", t)
    good = poolkit.account("good", t)
    write_accounts(pool_dir, [stale, good])
    poolkit.write_flagged(pool_dir, [poolkit.flagged("flag", t, flagged_at=t)])
    server = fake_backend(poolkit.backend_scenario([stale, good, poolkit.flagged("flag", t, flagged_at=t)]))
    before = snapshot_tree(pool_dir)
    result = run_cli(["report", "--live", "--cached-only", "--json"], validate=False)
    report = json.loads(result.stdout)
    assert snapshot_tree(pool_dir) == before, "nothing written: no tokens, no cache, no history"
    assert server.stats()["requests"]["refresh"] == 0 and server.stats()["requests"]["usage"] == 1
    records = accounts_of(probe("--cached-only").records)
    assert records[0]["probe"] == {
        **records[0]["probe"],
        "outcome": "skipped",
        "detail": "no usable access token, and --cached-only forbids refreshing",
    }
    assert report["accounts"][1]["quotaSource"] == "live"


# --- safety ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["CODEX_AUTH_BASE_URL", "CODEX_AUTH_TOKEN_URL"])
def test_tokens_never_go_over_plain_http_to_another_host(
    seed_pool: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://example.invalid/backend-api")
    result = run_cli(["report", "--live"], expect=2, validate=False)
    assert "must be an https URL (plain http only to loopback)" in result.stderr
    assert result.stdout == b""


def test_no_token_in_any_live_output(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    poolkit.seed_example_pool(pool_dir, now=t)
    data = pool_file(pool_dir)
    for account in data["accounts"]:
        account["expiresAt"] = t - HOUR  # every account refreshes: minted tokens everywhere
    poolkit.write_pool(pool_dir, data)
    server = fake_backend(poolkit.seed_example_scenario(pool_dir))
    outputs = []
    for args in (["report", "--live"], ["report", "--live", "--json"], ["report", "--live", "--explain"]):
        result = run_cli(args, validate=False)
        outputs.append(result.text + result.stderr)
    probed = run_cli(["probe"], input=run_cli(["collect"]).stdout)
    outputs.append(probed.text + probed.stderr)
    assert server.stats()["refresh"]["succeeded"] >= 4
    secrets = fixture_secrets(pool_dir)  # now including every rotated and minted token
    assert len(secrets) > 10
    for output in outputs:
        assert_no_secrets(output, secrets)


def test_probe_needs_the_pool_record_first(pool_dir: Path) -> None:
    result = run_cli(["probe"], input=b'{"kind":"account","index":0,"enabled":true}\n', expect=1)
    assert result.stderr == (
        "codex-auth probe: stdin:1: $.kind: expected the pool record first (the first line codex-auth collect writes), "
        "found a record of kind 'account'\n"
    )


def test_damaged_side_files_are_replaced_not_left_stale(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    good = poolkit.account("good", t)
    write_accounts(pool_dir, [good])
    poolkit.write_flagged(pool_dir, [poolkit.flagged("flag", t, flagged_at=t)])
    (pool_dir / "quota-cache.json").write_text("[]")
    (pool_dir / "codex-auth-report-state.json").write_text('"not a state file"')
    fake_backend(poolkit.backend_scenario([good, poolkit.flagged("flag", t, flagged_at=t)]))
    run_cli(["report", "--live"], validate=False)
    cache = json.loads((pool_dir / "quota-cache.json").read_text())
    assert cache["version"] == 1 and "acct-good" in cache["byAccountId"]
    history = json.loads((pool_dir / "codex-auth-report-state.json").read_text())
    assert history["flagged"]["acct-flag|flag@example.com"]["verificationCount"] == 1


def test_the_live_client_runs_on_the_in_process_transport(pool_dir: Path, fake_backend: Any) -> None:
    t = now()
    accounts = [poolkit.account("here", t)]
    write_accounts(pool_dir, accounts)
    server = fake_backend(poolkit.backend_scenario(accounts))
    assert os.environ["CODEX_AUTH_BASE_URL"] == "http://127.0.0.1:9/backend-api", "a URL nothing serves"
    (here,) = accounts_of(probe().records)
    assert here["probe"]["outcome"] == "ok"
    assert server.stats()["requests"]["usage"] == 1 and server.stats()["statuses"] == {"200": 1}
