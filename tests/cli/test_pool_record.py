"""Issue 11, points 1 and 4: a stream without its pool record fails instead of giving an
empty report; an empty or missing pool fails the same way in the pipe and in `report`;
stages without --now date a snapshot by its own collectedAt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT, pool_record, run_cli

BIN = Path(sys.executable).parent
NOW = str(poolkit.SEED_NOW)
SAMPLE = str(ROOT / "examples" / "sample-pool")


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A bash pipe without pipefail, as a cron line would be written."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_failed_collect_in_a_cron_pipe_keeps_the_good_metrics_file(tmp_path: Path) -> None:
    good = tmp_path / "codex_auth.prom"
    done = shell(
        f"codex-auth collect --dir {SAMPLE} --now {NOW} | codex-auth render --format prometheus --out {good}", tmp_path
    )
    assert done.returncode == 0, done.stderr
    before = good.read_bytes()
    assert b"codex_auth_accounts 5" in before
    done = shell(
        "codex-auth collect --dir /nonexistent | codex-auth score | codex-auth recommend"
        f" | codex-auth render --format prometheus --out {good}",
        tmp_path,
    )
    assert done.returncode == 1, "render's exit is the pipe's exit without pipefail"
    render_lines = [line for line in done.stderr.splitlines() if line.startswith("codex-auth render:")]
    assert render_lines == [
        "codex-auth render: no account storage found in /nonexistent: openai-codex-accounts.json not found "
        "(folder /nonexistent does not exist)"
    ]
    assert good.read_bytes() == before, "the good .prom file is untouched"


def test_empty_input_is_refused_by_every_stage() -> None:
    for stage in ("score", "recommend", "render", "probe"):
        result = run_cli([stage], input=b"", expect=1, validate=False)
        assert result.stdout == b""
        assert result.stderr == (
            f"codex-auth {stage}: stdin: no records: expected the pool record first (the first line codex-auth collect "
            "writes); did the command before this one fail?\n"
        )


def test_a_stream_without_its_pool_record_is_refused() -> None:
    account = {"kind": "account", "index": 0, "enabled": True, "email": "a@example.com"}
    for stage in ("score", "recommend", "render"):
        result = run_cli([stage, "--now", NOW], input=json.dumps(account) + "\n", expect=1, validate=False)
        assert result.stdout == b"", "nothing is written before the refusal"
        assert result.stderr == (
            f"codex-auth {stage}: stdin:1: $.kind: expected the pool record first (the first line codex-auth collect writes), "
            "found a record of kind 'account'\n"
        )


def _pool(folder: Path, state: str) -> None:
    if state == "empty":
        poolkit.write_pool(folder, poolkit.accounts_v3([]))
    elif state == "corrupt":
        folder.mkdir(parents=True)
        (folder / poolkit.ACCOUNTS_FILE).write_text('{"version": 3, "accounts": [\n')
    elif state == "reset":
        poolkit.write_pool(folder, poolkit.accounts_v3([]))
        (folder / (poolkit.ACCOUNTS_FILE + ".reset-intent")).write_text("{}")
    elif state == "missing":
        folder.mkdir(parents=True)


@pytest.mark.parametrize("state", ["empty", "corrupt", "reset", "missing"])
@pytest.mark.parametrize("fmt", ["text", "json", "prometheus"])
def test_report_and_the_pipe_apply_one_rule(tmp_path: Path, state: str, fmt: str) -> None:
    folder = tmp_path / "pool"
    _pool(folder, state)
    report = run_cli(["report", "--dir", str(folder), "--now", NOW, "--format", fmt], expect=1, validate=False)
    snapshot = run_cli(["collect", "--dir", str(folder), "--now", NOW], expect=None, validate=False).stdout
    render = run_cli(["render", "--format", fmt], input=snapshot, expect=1, validate=False)
    assert report.stdout == render.stdout == b""
    assert report.stderr.count("\n") == render.stderr.count("\n") == 1
    if state != "missing":  # report knows more about a missing folder than the stream carries
        assert report.stderr.removeprefix("codex-auth report: ") == render.stderr.removeprefix("codex-auth render: ")
    else:
        assert render.stderr.startswith(f"codex-auth render: no account storage found in {folder}")


def test_a_pool_of_flagged_accounts_only_is_still_a_report() -> None:
    flagged = {"kind": "flagged", "index": 0, "email": "x@example.com", "flaggedAt": None, "verificationCount": 0}
    records = [pool_record(0, 1), flagged]
    data = "".join(json.dumps(r) + "\n" for r in records)
    assert "Flagged accounts: 1" in run_cli(["render", "--now", NOW], input=data, validate=False).text


def test_render_dates_a_snapshot_by_its_collected_at(tmp_path: Path) -> None:
    snapshot = run_cli(["collect", "--dir", SAMPLE, "--now", NOW], validate=False).stdout
    without = run_cli(["render"], input=snapshot, validate=False).text
    assert "Generated: 2026-03-03 14:30:00 UTC" in without
    assert "in 2" not in without and "Last used: 15 minutes ago" in without
    assert without == run_cli(["render", "--now", NOW], input=snapshot, validate=False).text


def test_every_stage_without_now_takes_the_stream_time() -> None:
    snapshot = run_cli(["collect", "--dir", SAMPLE, "--now", NOW], validate=False).stdout
    scored = run_cli(["score"], input=snapshot).stdout
    assert scored == run_cli(["score", "--now", NOW], input=snapshot).stdout
    recommended = run_cli(["recommend"], input=scored).stdout
    assert recommended == run_cli(["recommend", "--now", NOW], input=scored).stdout
    report = run_cli(["report", "--dir", SAMPLE, "--now", NOW, "--json"], validate=False).stdout
    assert run_cli(["render", "--json"], input=recommended, validate=False).stdout == report


def test_a_live_snapshot_is_dated_by_its_probe() -> None:
    later = poolkit.SEED_NOW + 60_000
    pool = dict(
        pool_record(1),
        probe={"mode": "live", "model": "gpt-5-codex", "method": "usage", "startedAt": later},
    )
    data = json.dumps(pool) + "\n" + json.dumps({"kind": "account", "index": 0, "enabled": True}) + "\n"
    assert json.loads(run_cli(["render", "--json"], input=data, validate=False).stdout)["generatedAt"] == later
