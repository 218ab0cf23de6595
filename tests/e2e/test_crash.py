"""Crashes and a concurrent writer against the token handling of live mode: the tool as a real
process, SIGKILLed at seeded random moments, and codex-multi-auth's way of saving running in
another process (testkit/crash.py). ``scripts/bench --reliability`` runs the 200-kill drill."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.crash import kill_drill, writer_drill

pytestmark = pytest.mark.slow


def test_killed_live_runs_lose_no_token_the_backend_finished_sending(tmp_path: Path) -> None:
    figures = kill_drill(tmp_path, 50, seed=20261130)
    print(figures.summary())
    assert figures.kills == 50
    assert figures.sent > 0, "the kills came while tokens were being rotated"
    assert figures.lost == 0, figures.lost_details
    assert figures.problems == []
    assert figures.reused == 0, "no token spent twice"
    assert figures.restored > 0, "some kills came between the journal and storage, and the next run restored them"


def test_a_concurrent_writer_loses_no_account_and_no_token(tmp_path: Path) -> None:
    figures = writer_drill(tmp_path, rounds=2)
    print(figures.summary())
    assert figures.added > 0 and figures.writes > 0
    assert figures.added_lost == 0
    assert figures.rotated == 40
    assert figures.missing_after_next_run == 0
    assert figures.problems == []
