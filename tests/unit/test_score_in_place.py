"""The in-process report scores collect's records in place (pipeline/scoring.py: own=True):
the same records as scoring copies, and a copy leaves its input as it was."""

from __future__ import annotations

import copy
from pathlib import Path

from pipeline.stages.collect import collect
from pipeline.stages.score import score
from pipeline.storage.pool import read_pool
from testkit import poolkit

NOW = poolkit.SEED_NOW


def test_scoring_in_place_gives_what_scoring_a_copy_gives(tmp_path: Path) -> None:
    folder = poolkit.real_pool(tmp_path / "pool", 80, NOW)
    records = list(collect(read_pool({}, NOW, folder, tokens=False)))
    records[3]["annotations"] = {"note": "kept"}
    records[4]["status"] = "healthy"  # a stale score of the wrong shape is written anew
    before = copy.deepcopy(records)
    copied = list(score(records, now=NOW, model=None))
    assert records == before, "scoring a copy leaves the input as it was"
    in_place = list(score(records, now=NOW, model=None, own=True))
    assert in_place == copied
    assert [list(r) for r in in_place] == [list(r) for r in copied], "the same members in the same order"
    assert all(a is b for a, b in zip(in_place, records, strict=True))
    assert in_place[3]["annotations"] == {"note": "kept"} and list(in_place[3])[-1] == "annotations"


def test_scoring_without_factors_leaves_only_the_factors_out(tmp_path: Path) -> None:
    """The in-process report without --explain scores with factors=False: every other
    member is the same, in the same order."""
    folder = poolkit.real_pool(tmp_path / "pool", 80, NOW)
    records = list(collect(read_pool({}, NOW, folder, tokens=False)))
    full = list(score(records, now=NOW, model=None))
    lean = list(score(records, now=NOW, model=None, factors=False))
    accounts = [(f, s) for f, s in zip(full, lean, strict=True) if f["kind"] == "account"]
    assert accounts and any(f["factors"] for f, _ in accounts)
    for with_factors, without in accounts:
        assert "factors" not in without
        assert [k for k in with_factors if k != "factors"] == list(without)
        assert {k: v for k, v in with_factors.items() if k != "factors"} == without
