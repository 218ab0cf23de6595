"""Issue 11, point 5: a saved snapshot is a gate (`render --min-healthy`), and `--explain`
is never silently ignored: JSON carries each account's factors, Prometheus refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.schema import schema_errors
from testkit import poolkit
from testkit.helpers import ROOT, parse_ndjson, run_cli

NOW = str(poolkit.SEED_NOW)
SAMPLE = str(ROOT / "examples" / "sample-pool")


@pytest.fixture(scope="module")
def snapshot() -> bytes:
    return run_cli(["collect", "--dir", SAMPLE, "--now", NOW], validate=False).stdout


def test_render_min_healthy_gates_like_report(snapshot: bytes, tmp_path: Path) -> None:
    passed = run_cli(["render", "--min-healthy", "2"], input=snapshot, validate=False)
    assert passed.stderr == "" and passed.text.startswith("=== Codex Multi-Auth Health Report ===")
    out = tmp_path / "status.md"
    failed = run_cli(
        ["render", "--min-healthy", "3", "--format", "markdown", "--out", str(out)],
        input=snapshot,
        expect=3,
        validate=False,
    )
    assert failed.stderr == "codex-auth render: 2 healthy accounts, fewer than --min-healthy 3\n"
    assert out.read_text().startswith("### Codex auth report"), "the report is written all the same"
    report = run_cli(["report", "--dir", SAMPLE, "--now", NOW, "--min-healthy", "3"], expect=3, validate=False)
    assert report.stderr == "codex-auth report: 2 healthy accounts, fewer than --min-healthy 3\n"


def test_render_refuses_a_negative_min_healthy(snapshot: bytes) -> None:
    assert run_cli(["render", "--min-healthy", "-1"], input=snapshot, expect=2, validate=False).stdout == b""


@pytest.mark.parametrize("command", ["report", "render"])
def test_explain_with_prometheus_is_a_usage_error(snapshot: bytes, command: str) -> None:
    args = [command, "--format", "prometheus", "--explain"]
    if command == "report":
        args += ["--dir", SAMPLE, "--now", NOW]
    result = run_cli(args, input=snapshot, expect=2, validate=False)
    assert result.stdout == b""
    assert "--explain has no place in Prometheus metrics" in result.stderr


def test_explain_with_json_carries_the_factors(snapshot: bytes) -> None:
    plain = json.loads(run_cli(["render", "--json"], input=snapshot, validate=False).stdout)
    assert all("factors" not in account for account in plain["accounts"])
    explained = json.loads(run_cli(["render", "--json", "--explain"], input=snapshot, validate=False).stdout)
    assert schema_errors(explained, "report") == []
    scored = {r["index"]: r for r in parse_ndjson(run_cli(["score"], input=snapshot).stdout) if r["kind"] == "account"}
    for account in explained["accounts"]:
        expected = [{k: v for k, v in f.items() if v is not None} for f in scored[account["index"]]["factors"]]
        assert account["factors"] == expected
    carol = explained["accounts"][2]
    assert sorted((f["reason"], f["points"]) for f in carol["factors"] if f["points"]) == [
        ("quota below 25%", 20),
        ("refresh token aging", 10),
    ]
    same = {k: v for k, v in explained.items() if k != "accounts"}
    assert same == {k: v for k, v in plain.items() if k != "accounts"}, "--explain adds, never changes"
