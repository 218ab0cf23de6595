"""Golden NDJSON for collect, one case per folder under tests/golden/collect/ (discovered by
name; add a folder to add a case). `scripts/test --update-golden` rewrites the expectations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import assert_no_secrets, fixture_secrets, run_cli, snapshot_tree

CASES = Path(__file__).parent / "collect"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", case_names())
def test_collect_golden(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    source = CASES / name
    work = tmp_path / name
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("expected.*", "case.json"))
    spec = json.loads((source / "case.json").read_text()) if (source / "case.json").exists() else {}
    fill = lambda text: text.replace("{case}", str(work))  # noqa: E731
    for key, value in spec.get("env", {}).items():
        monkeypatch.setenv(key, fill(value))
    for key in spec.get("unset", []):
        monkeypatch.delenv(key, raising=False)
    args = [fill(a) for a in spec.get("args", ["--dir", "{case}/pool"])]
    before = snapshot_tree(work)

    result = run_cli(["collect", "--now", str(poolkit.SEED_NOW), *args], expect=spec.get("exit", 0))

    stdout = result.text.replace(str(work), "{case}")
    stderr = result.stderr.replace(str(work), "{case}")
    if request.config.getoption("--update-golden"):
        (source / "expected.ndjson").write_text(stdout)
        (source / "expected.stderr").write_text(stderr)
    assert stdout == (source / "expected.ndjson").read_text()
    assert stderr == (source / "expected.stderr").read_text()
    assert snapshot_tree(work) == before, "collect changed a file"
    assert_no_secrets(result.text + result.stderr, fixture_secrets(work))
    assert result.records and result.records[0]["kind"] == "pool"


def test_every_case_has_expectations() -> None:
    for name in case_names():
        assert (CASES / name / "expected.ndjson").exists(), f"{name}: run scripts/test --update-golden"
