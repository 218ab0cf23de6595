"""`codex auth forecast` and `codex auth history` as commands: the shell pipe of the stages
equals the in-process run byte for byte, every JSON form validates against the published schema,
the incident recipe appends readable lines, the gate exits 3, Prometheus output passes
promtool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.schema import bundled_schema, schema_errors
from testkit import poolkit
from testkit.helpers import ROOT, run_cli, system_tool

NOW = str(poolkit.SEED_NOW)
BIN = Path(sys.executable).parent


def sh(command: str, env: dict[str, str], expect: int = 0) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], env=env, cwd=ROOT, capture_output=True, timeout=120
    )
    assert done.returncode == expect, done.stderr.decode()
    return done


@pytest.fixture
def env(seed_pool: Path) -> dict[str, str]:
    return dict(os.environ, PATH=f"{ROOT / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}")


def assert_forecast_valid(document: Any) -> None:
    problems = schema_errors(document, "forecast")
    assert not problems, problems[:3]


def write_earlier_samples(env: dict[str, str]) -> None:
    from pipeline.history.location import default_path
    from pipeline.history.samples import observations
    from pipeline.history.store import record_run
    from testkit.helpers import parse_ndjson

    records = parse_ndjson(sh(f"codex-auth collect --now {NOW}", env).stdout)
    earlier = poolkit.SEED_NOW - 40 * poolkit.MINUTE
    for record in records:
        quota = record.get("quota")
        if quota:
            quota["sampledAt"] = earlier
            for window in quota["windows"]:
                window["usedPercent"] = max(0, window["usedPercent"] - 5)
    record_run(default_path(env), earlier, "live", None, observations(records, earlier))


@pytest.mark.parametrize("fmt", ["", "--json", "--format markdown", "--format prometheus"])
@pytest.mark.parametrize("history", [False, True])
def test_shell_pipe_equals_codex_auth_forecast(env: dict[str, str], fmt: str, history: bool) -> None:
    if history:  # an earlier sample of every window: the stage and the in-process report both read it
        write_earlier_samples(env)
    piped = sh(
        f"codex-auth collect --now {NOW} | codex-auth forecast -i - --now {NOW} --min-healthy 3 "
        f"| codex-auth render --view forecast {fmt} --now {NOW}",
        env,
    ).stdout
    # the pool falls below 3 either way; with the earlier samples because the account at 100 % of
    # its 5h goes on at its pace before the cap when the window resets (40 minutes earlier it was
    # at 95 %, its weekly rising as fast), and its weekly runs out on the second day
    in_process = sh(f"codex auth forecast {fmt} --now {NOW} --min-healthy 3", env, expect=3).stdout
    assert piped == in_process
    assert len(piped) > 300
    if fmt == "--json":
        document = json.loads(piped)
        assert_forecast_valid(document)
        bases = {w["basis"] for a in document["accounts"] for w in a["windows"]}
        assert bases == ({"history"} if history else {"window-average", None})


def test_the_stage_adds_valid_records(seed_pool: Path) -> None:
    collected = run_cli(["collect", "--now", NOW]).stdout
    records = run_cli(["forecast", "-i", "-", "--now", NOW, "--horizon", "1d"], input=collected).records
    pool = records[0]
    assert pool["forecast"] == {
        "generatedAt": poolkit.SEED_NOW,
        "horizonEnd": poolkit.SEED_NOW + poolkit.DAY,
        "minHealthy": None,
    }
    accounts = [r for r in records if r["kind"] == "account"]
    assert [a["forecast"]["verdict"] for a in accounts] == ["lasts", "lasts", "runs-out", "exhausted"]
    assert "status" not in accounts[0], "the stage adds the forecast only"
    bad = run_cli(["forecast", "-i", "-", "--json"], input=collected, expect=2, validate=False)
    assert "with --input, forecast is a stage" in bad.stderr


def test_forecast_of_the_sample_pool(seed_pool: Path) -> None:
    text = run_cli(["forecast", "--now", NOW], validate=False).text
    assert "Usable now: 3 of 4" in text
    assert "3. carol@example.com: runs out (5h) in 5m (2026-03-03 14:35:00 UTC)" in text
    assert "4. dave@example.com: exhausted (5h), available in 1h 30m (2026-03-03 16:00:00 UTC)" in text
    assert "  alice@example.com (index 1): lasts" in text
    document = json.loads(run_cli(["forecast", "--json", "--now", NOW], validate=False).stdout)
    assert_forecast_valid(document)
    carol = document["accounts"][2]
    assert carol["verdict"] == "runs-out" and carol["bindingWindow"] == "5h"
    assert carol["windows"][0]["pacePerHour"] == 48.0 and carol["windows"][0]["basis"] == "window-average"


def test_incident_recipe_appends_lines_jq_reads(env: dict[str, str], tmp_path: Path) -> None:
    jq = system_tool("jq", "jq")
    incident = tmp_path / "incident.json"
    for _ in range(2):
        sh(f"codex auth forecast --json --now {NOW} >> {incident}", env)
    lines = incident.read_bytes().splitlines()
    assert len(lines) == 2
    both = json.loads(subprocess.run([jq, "-s", ".", str(incident)], capture_output=True, check=True).stdout)
    assert len(both) == 2 and both[0] == both[1]
    for document in both:
        assert_forecast_valid(document)


def test_gate_exits_3_only_when_the_pool_falls_below(seed_pool: Path) -> None:
    ok = run_cli(["forecast", "--min-healthy", "2", "--now", NOW], validate=False)
    assert "Stays at or above --min-healthy 2" in ok.text
    low = run_cli(["forecast", "--min-healthy", "3", "--now", NOW], validate=False, expect=3)
    assert "Falls below --min-healthy 3: in 5m" in low.text
    assert "fall below --min-healthy 3 at 2026-03-03T14:35:00Z" in low.stderr
    short = run_cli(["forecast", "--min-healthy", "3", "--horizon", "4m", "--now", NOW], validate=False)
    assert short.exit_code == 0, "the run-out falls after a 4-minute horizon"


def test_prometheus_forecast_passes_promtool(seed_pool: Path, tmp_path: Path) -> None:
    promtool = system_tool("promtool", "prometheus")
    out = tmp_path / "forecast.prom"
    run_cli(
        ["forecast", "--format", "prometheus", "--min-healthy", "3", "--now", NOW, "--out", str(out)],
        validate=False,
        expect=3,
    )
    text = out.read_text()
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        'codex_auth_run_out_timestamp_seconds{index="2",number="3",email="carol@example.com",account_id="user-ghi789",window="5h"} 1772548500'
        in text
    )
    assert (
        'codex_auth_available_timestamp_seconds{index="3",number="4",email="dave@example.com",account_id="user-jkl012",window="5h"} 1772553600'
        in text
    )
    assert (
        'codex_auth_account_forecast_verdict{index="3",number="4",email="dave@example.com",account_id="user-jkl012",verdict="exhausted"} 1'
        in text
    )
    assert "codex_auth_forecast_below_min_healthy_timestamp_seconds 1772548500" in text


def test_schema_command_prints_the_forecast_schema() -> None:
    printed = json.loads(run_cli(["schema", "forecast"], validate=False).stdout)
    assert printed == bundled_schema("forecast")
    assert printed["$id"] == "https://codex-auth-report.github.io/schemas/v1/forecast.json"
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(printed)


def test_history_command_formats_and_filters(seed_pool: Path, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    for minutes in (60, 0):
        run_cli(
            ["report", "--record", "--history", str(db), "--now", str(poolkit.SEED_NOW - minutes * poolkit.MINUTE)],
            validate=False,
        )
    rows = [json.loads(line) for line in run_cli(["history", "--history", str(db)], validate=False).stdout.splitlines()]
    assert len(rows) == 2 * 4 * 2, "two runs, four accounts, two windows each"
    assert {r["sampledAt"] for r in rows} == {poolkit.SEED_NOW - 10 * poolkit.MINUTE}, "a cached sample keeps its time"
    alice = run_cli(
        ["history", "--history", str(db), "--account", "ALICE@example.com", "--format", "csv"], validate=False
    ).text
    header, *lines = alice.splitlines()
    assert header.startswith("sampledAt,accountId,email,index,enabled,status,healthScore,plan")
    assert len(lines) == 4 and all("alice@example.com" in line for line in lines)
    since = run_cli(
        ["history", "--history", str(db), "--since", "30m", "--now", NOW, "--format", "json"], validate=False
    )
    assert {r["sampledAt"] for r in json.loads(since.stdout)} == {poolkit.SEED_NOW - 10 * poolkit.MINUTE}
    daily = json.loads(run_cli(["history", "--history", str(db), "--daily", "--format", "json"], validate=False).stdout)
    assert daily == [
        {"day": "2026-03-03", "runs": 2, "accounts": 4, "active": 4, "healthy": 2, "rateLimited": 1, "errors": 0}
    ]
    bad = run_cli(["history", "--history", str(db), "--since", "last tuesday"], validate=False, expect=2)
    assert "--since: 'last tuesday' is not a time" in bad.stderr
    missing = run_cli(["history", "--history", str(tmp_path / "none.sqlite3")], validate=False, expect=1)
    assert "no history yet" in missing.stderr


def test_verdicts_on_a_pool_written_to_disk(pool_dir: Path) -> None:
    """A real pool (accounts file and quota cache): no data, weekly-only, a fast burner, a slow one."""
    now = poolkit.SEED_NOW
    hour = poolkit.HOUR
    names = ["nodata", "weekly", "fast", "slow"]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account(n, now) for n in names]))
    sampled = now - 5 * poolkit.MINUTE
    poolkit.write_quota_cache(
        pool_dir,
        by_account_id={
            "acct-weekly": poolkit.quota_entry(sampled, poolkit.window(10080, 70, now + 84 * hour), None, plan="pro"),
            "acct-fast": poolkit.quota_entry(
                sampled, poolkit.window(300, 60, now + 3 * hour), poolkit.window(10080, 10, now + 6 * 24 * hour)
            ),
            "acct-slow": poolkit.quota_entry(
                sampled, poolkit.window(300, 10, now + 1 * hour), poolkit.window(10080, 5, now + 6 * 24 * hour)
            ),
        },
    )
    document = json.loads(run_cli(["forecast", "--json", "--now", NOW, "--no-history"], validate=False).stdout)
    assert_forecast_valid(document)
    verdicts = {a["email"].split("@")[0]: (a["verdict"], a["bindingWindow"]) for a in document["accounts"]}
    assert verdicts == {
        "nodata": ("unknown", None),
        "weekly": ("runs-out", "7d"),
        "fast": ("runs-out", "5h"),
        "slow": ("lasts", "5h"),
    }
    assert document["pool"]["next"]["email"] == "slow@example.com"


def test_history_csv_cells_never_start_a_formula() -> None:
    from pipeline.history.writing import csv_cell as _csv_cell

    assert _csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [_csv_cell(v) for v in ("+1", "-x", "@sum", "\tA")] == ["'+1", "'-x", "'@sum", "'\tA"]
    assert [_csv_cell(v) for v in (-5, 2.5, "alice@example.com", None, True)] == [
        "-5",
        "2.5",
        "alice@example.com",
        "",
        "true",
    ]
