"""Issue 11, point 15: `render` reads a saved `--json` report (a HealthReport document) as well
as NDJSON and turns it into every other format; for the sample pool the round trip gives the
same bytes as the report made from the records (Prometheus lacks only the quota reset series,
which a HealthReport does not hold)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.report.from_json import records_of
from testkit import poolkit
from testkit.helpers import ROOT, run_cli

NOW = str(poolkit.SEED_NOW)
SAMPLE = str(ROOT / "examples" / "sample-pool")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The daily archive of the usage recipes: `--json --out reports/health-DATE.json`."""
    path = tmp_path_factory.mktemp("reports") / "health-2026-03-03.json"
    run_cli(["report", "--dir", SAMPLE, "--now", NOW, "--json", "--out", str(path)], validate=False)
    return path


@pytest.fixture(scope="module")
def snapshot() -> bytes:
    return run_cli(["collect", "--dir", SAMPLE, "--now", NOW], validate=False).stdout


@pytest.mark.parametrize("fmt", ["text", "json", "html", "markdown"])
def test_round_trip_equals_the_report_from_records(saved: Path, snapshot: bytes, fmt: str) -> None:
    from_json = run_cli(["render", "-i", str(saved), "--format", fmt], validate=False).stdout
    from_ndjson = run_cli(["render", "--format", fmt], input=snapshot, validate=False).stdout
    assert from_json == from_ndjson


def test_text_of_the_json_equals_text_of_the_ndjson_on_stdin(saved: Path, snapshot: bytes) -> None:
    assert (
        run_cli(["render"], input=saved.read_bytes(), validate=False).text
        == run_cli(["render"], input=snapshot, validate=False).text
    )


def test_prometheus_from_a_saved_report(saved: Path, snapshot: bytes) -> None:
    from_json = run_cli(["render", "-i", str(saved), "--format", "prometheus"], validate=False).text
    from_ndjson = run_cli(["render", "--format", "prometheus"], input=snapshot, validate=False).text
    dropped = [line for line in from_ndjson.splitlines() if line not in from_json.splitlines()]
    assert dropped and all("quota_reset_timestamp_seconds" in line for line in dropped)
    assert all(line in from_ndjson.splitlines() for line in from_json.splitlines())


def test_explain_survives_when_it_was_saved(tmp_path: Path, snapshot: bytes) -> None:
    path = tmp_path / "explained.json"
    run_cli(["report", "--dir", SAMPLE, "--now", NOW, "--json", "--explain", "--out", str(path)], validate=False)
    assert (
        run_cli(["render", "--explain", "-i", str(path)], validate=False).text
        == run_cli(["render", "--explain"], input=snapshot, validate=False).text
    )


def test_a_saved_report_is_a_gate_and_filters(saved: Path) -> None:
    gate = run_cli(["render", "-i", str(saved), "--min-healthy", "3"], expect=3, validate=False)
    assert gate.stderr == "codex-auth render: 2 healthy accounts, fewer than --min-healthy 3\n"
    kept = run_cli(["render", "-i", str(saved), "--status", "rate-limited"], validate=False).text
    assert "dave@example.com" in kept and "bob@example.com" not in kept


def test_warnings_come_back(tmp_path: Path) -> None:
    folder = poolkit.seed_example_pool(tmp_path / "pool")
    (folder / poolkit.FLAGGED_FILE).write_text("{oops")
    saved = tmp_path / "r.json"
    run_cli(["report", "--dir", str(folder), "--now", NOW, "--json", "--out", str(saved)], validate=False)
    assert json.loads(saved.read_text())["warnings"]
    text = run_cli(["render", "-i", str(saved)], validate=False).text
    assert text == run_cli(["report", "--dir", str(folder), "--now", NOW], validate=False).text
    assert "Warnings:\n  Flagged accounts file: openai-codex-flagged-accounts.json:1:2: invalid JSON" in text


def test_a_broken_saved_report_names_line_and_column(saved: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    data = saved.read_bytes()[:-40]  # cut off, as a full disk would leave it
    broken.write_bytes(data)
    line, column = data.count(b"\n") + 1, len(data.split(b"\n")[-1]) + 1
    result = run_cli(["render", "-i", str(broken)], expect=1, validate=False)
    assert result.stderr == f"codex-auth render: {broken}:{line}:{column}: invalid JSON: unexpected end of data\n"


def test_a_json_document_that_is_no_health_report(saved: Path, tmp_path: Path) -> None:
    document = json.loads(saved.read_text())
    document["accounts"][0]["healthScore"] = "high"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document, indent=2))
    result = run_cli(["render", "-i", str(bad)], expect=1, validate=False)
    assert result.stderr.startswith(
        f"codex-auth render: {bad}:1: $.accounts[0].healthScore: not a valid HealthReport: "
    )


def test_an_empty_saved_report_fails_like_the_pool(saved: Path, tmp_path: Path) -> None:
    document = json.loads(saved.read_text())
    document["accounts"], document["flagged"] = [], []
    document["advice"] = {"reasoning": "No accounts in the pool"}
    del document["recommendation"]
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(document))
    result = run_cli(["render", "-i", str(empty)], expect=1, validate=False)
    assert result.stderr.startswith("codex-auth render: no accounts in ")


def test_a_live_report_stays_live(saved: Path) -> None:
    document = json.loads(saved.read_text())
    document["mode"] = "live"
    records, _ = records_of(document)
    assert records[0]["probe"]["mode"] == "live" and records[0]["probe"]["model"] == "gpt-5-codex"
    text = run_cli(["render"], input=json.dumps(document).encode(), validate=False).text
    assert "Mode: Live probe enabled (model: gpt-5-codex)" in text
