"""The stages as real processes: the shell pipe equals the in-process run, snapshots re-render,
and records stream through a stage while its input is still open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT

NOW = str(poolkit.SEED_NOW)
BIN = Path(sys.executable).parent


def sh(command: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, cwd=cwd, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done


@pytest.fixture
def env(seed_pool: Path) -> dict[str, str]:
    return dict(os.environ, PATH=f"{ROOT / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("fmt", ["--json", "--format text", "--explain"])
def test_shell_pipe_equals_codex_auth_report(env: dict[str, str], fmt: str) -> None:
    piped = sh(
        f"codex-auth collect --now {NOW} | codex-auth score --now {NOW} | codex-auth recommend --now {NOW} | codex-auth render {fmt} --now {NOW}",
        env,
    ).stdout
    in_process = sh(f"codex auth report {fmt} --now {NOW}", env).stdout
    assert piped == in_process
    assert len(piped) > 500


def test_saved_snapshot_rerenders_the_report_of_its_moment(
    env: dict[str, str], seed_pool: Path, tmp_path: Path
) -> None:
    then = sh(f"codex auth report --json --now {NOW}", env).stdout
    sh(f"codex-auth collect --now {NOW} > {tmp_path}/snapshot.ndjson", env)
    (seed_pool / "openai-codex-accounts.json").unlink()  # the pool changes after the snapshot
    again = sh(
        f"codex-auth score --now {NOW} -i {tmp_path}/snapshot.ndjson | codex-auth recommend --now {NOW} | codex-auth render --json --now {NOW}",
        env,
    ).stdout
    assert again == then
    later = str(poolkit.SEED_NOW + 2 * poolkit.HOUR)
    rescored = json.loads(
        sh(
            f"codex-auth score --now {later} -i {tmp_path}/snapshot.ndjson | codex-auth render --json --now {later}",
            env,
        ).stdout
    )
    dave = rescored["accounts"][3]
    assert dave["status"] != "rate-limited" and dave["rateLimited"] is False, "two hours later the 1h 30m limit is over"
    assert "quota5hPercent" not in dave, "the 5h sample is from before the reset: unknown, not 0%"


def test_a_stage_streams_while_its_input_is_open(env: dict[str, str]) -> None:
    collected = sh(f"codex-auth collect --now {NOW}", env).stdout.splitlines(keepends=True)
    stage = subprocess.Popen(
        [str(BIN / "codex-auth"), "score", "--now", NOW], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        assert stage.stdin and stage.stdout
        stage.stdin.write(collected[0] + collected[1])
        stage.stdin.flush()
        first = stage.stdout.readline()
        second = stage.stdout.readline()
        assert json.loads(first)["kind"] == "pool"
        assert json.loads(second)["status"] == "healthy", "scored before the input ended"
        stage.stdin.close()
        assert stage.wait(timeout=30) == 0
    finally:
        stage.kill()
        stage.wait()
        stage.stdout.close() if stage.stdout else None


def test_bad_record_mid_pipe_names_stage_and_line(env: dict[str, str]) -> None:
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'codex-auth collect --now {NOW} | sed \'3s/"enabled":true/"enabled":"yes"/\' | codex-auth score --now {NOW} | codex-auth render',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "codex-auth score: stdin:3: $.enabled: account record: 'yes' is not of type 'boolean'" in done.stderr
    assert "Traceback" not in done.stderr
