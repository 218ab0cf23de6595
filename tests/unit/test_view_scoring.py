"""An account record with a status but no whole-number health score (a hand-edited stream, or
one cut by another tool) is scored again by the View instead of ending in an internal error
(found by the hostile-stdin property of render)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.report.view import build_view
from testkit import poolkit
from testkit.helpers import run_cli


@pytest.mark.parametrize("score", [None, "85", 85.5, True])
def test_a_status_without_a_usable_health_score_is_scored_again(score: Any) -> None:
    records = run_cli(["collect", "--dir", "examples/sample-pool", "--now", str(poolkit.SEED_NOW)]).records
    for record in records:
        if record.get("kind") == "account":
            record["status"] = "healthy"
            if score is None:
                record.pop("healthScore", None)
            else:
                record["healthScore"] = score
    view = build_view(records, now=poolkit.SEED_NOW)
    assert view.accounts and all(isinstance(a.score, int) for a in view.accounts)
    assert any(a.record["status"] != "healthy" for a in view.accounts), "scored anew, not taken as given"
