"""Issue 11, point 9: one name for "write to this file" on every command that writes one:
`--out`, short `-o`; the old `--output` still works but is not shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import all_commands
from testkit import poolkit
from testkit.helpers import ROOT, parse_ndjson, run_cli

SAMPLE = str(ROOT / "examples" / "sample-pool")
NOW = str(poolkit.SEED_NOW)
WRITERS = ("collect", "probe", "score", "recommend", "render", "report")


@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_has_out_and_o(name: str) -> None:
    (option,) = [p for p in all_commands()[name].params if "--out" in getattr(p, "opts", [])]
    assert option.opts == ["-o", "--out"], "what help and completion show"
    assert option.all_opts == ["-o", "--out", "--output"], "what the parser takes"
    help_text = run_cli([name, "--help"], validate=False).text
    assert "-o, --out" in help_text and "--output" not in help_text


@pytest.mark.parametrize("flag", ["-o", "--out", "--output"])
def test_each_spelling_writes_the_file(flag: str, tmp_path: Path) -> None:
    records = tmp_path / "snapshot.ndjson"
    run_cli(["collect", "--dir", SAMPLE, "--now", NOW, flag, str(records)], validate=False)
    assert [r["kind"] for r in parse_ndjson(records.read_bytes())][:2] == ["pool", "account"]
    scored = tmp_path / "scored.ndjson"
    run_cli(["score", "-i", str(records), flag, str(scored)], validate=False)
    assert all("status" in r for r in parse_ndjson(scored.read_bytes()) if r["kind"] == "account")
    report = tmp_path / "report.txt"
    result = run_cli(["report", "--dir", SAMPLE, "--now", NOW, flag, str(report)], validate=False)
    assert result.stdout == b"" and report.read_text().startswith("=== Codex Multi-Auth Health Report ===")
    rendered = tmp_path / "rendered.txt"
    run_cli(["render", "-i", str(scored), flag, str(rendered)], validate=False)
    assert rendered.read_text() == report.read_text()


def test_serve_and_watch_take_the_same_live_switch() -> None:
    for name in ("serve", "watch"):
        (live,) = [p for p in all_commands()[name].params if p.name == "live"]
        assert live.opts == ["--live"] and live.secondary_opts == ["--no-live"], name
    assert "--dry-run" in run_cli(["repair", "--help"], validate=False).text
