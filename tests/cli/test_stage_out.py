"""A stage's ``-o FILE`` holds every e-mail and account id: it is created 0600 whatever the
umask, and written whole or not at all (a temporary file in the same folder renamed over the
target), so a failing stage leaves an older file as it was and no half-written one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)


@pytest.fixture
def loose_umask() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("seed_pool", "loose_umask")
@pytest.mark.parametrize("stage", ["collect", "score", "recommend"])
def test_a_stage_file_is_private(tmp_path: Path, stage: str) -> None:
    records = run_cli(["collect", "--now", NOW]).stdout
    target = tmp_path / "out.ndjson"
    args = ["collect", "--now", NOW] if stage == "collect" else [stage, "--now", NOW, "-i", "-"]
    run_cli([*args, "-o", str(target)], input=None if stage == "collect" else records)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes().count(b"\n") >= 6
    assert [p.name for p in tmp_path.iterdir()] == ["out.ndjson"], "no temporary file is left"


@pytest.mark.usefixtures("seed_pool", "loose_umask")
def test_an_existing_loose_file_is_replaced_by_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "out.ndjson"
    target.write_text("old\n")
    target.chmod(0o644)
    before = target.stat().st_ino
    run_cli(["collect", "--now", NOW, "-o", str(target)])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != before, "renamed over, not rewritten in place"
    assert b'"kind":"pool"' in target.read_bytes()


@pytest.mark.usefixtures("seed_pool")
def test_a_failing_stage_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "scored.ndjson"
    target.write_text("old\n")
    records = run_cli(["collect", "--now", NOW]).stdout
    broken = records + b"{not json\n"
    done = run_cli(["score", "--now", NOW, "-i", "-", "-o", str(target)], input=broken, expect=1, validate=False)
    assert "score:" in done.stderr
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scored.ndjson"], "the temporary file is removed"


@pytest.mark.usefixtures("seed_pool")
def test_a_missing_folder_is_one_line_naming_the_stage(tmp_path: Path) -> None:
    done = run_cli(["collect", "--now", NOW, "-o", str(tmp_path / "nope" / "x.ndjson")], expect=1, validate=False)
    assert done.stderr.startswith("codex-auth collect: cannot write ")
    assert "mkdir -p" in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.usefixtures("seed_pool", "loose_umask")
def test_the_forecast_stage_file_is_private_and_whole(tmp_path: Path) -> None:
    records = run_cli(["collect", "--now", NOW]).stdout
    target = tmp_path / "forecast.ndjson"
    run_cli(["forecast", "-i", "-", "--no-history", "-o", str(target)], input=records)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    kept = target.read_bytes()
    assert b'"forecast"' in kept
    run_cli(["forecast", "-i", "-", "--no-history", "-o", str(target)], input=b'{"kind":', expect=1, validate=False)
    assert target.read_bytes() == kept, "a failing run leaves the older file as it was"
    assert [p.name for p in tmp_path.iterdir()] == ["forecast.ndjson"], "no temporary file is left"


@pytest.mark.usefixtures("seed_pool")
def test_the_forecast_stage_takes_the_streams_time_as_score_does() -> None:
    """`collect --now T | forecast -i - | render --view forecast` is the forecast of T, with
    its 7-day horizon, byte for byte the command's (the stage used to take the wall clock)."""
    records = run_cli(["collect", "--now", NOW]).stdout
    staged = run_cli(["forecast", "-i", "-", "--no-history"], input=records).stdout
    shown = run_cli(["render", "--view", "forecast"], input=staged, validate=False).stdout
    direct = run_cli(["forecast", "--now", NOW, "--no-history"], validate=False).stdout
    assert b"(7d 0h)" in shown
    assert shown == direct
