"""Every stage that reads the record stream, fed streams with one hostile change: never a
traceback, exit 0 or 1, one line on stderr naming ``stdin:LINE`` when it refuses, and what it
writes when it accepts is valid against the schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testkit import fuzz, poolkit
from testkit.helpers import assert_valid, parse_ndjson, run_cli, snapshot_tree

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "stages"
NOW = str(poolkit.SEED_NOW)
FORMATS = ["text", "json", "prometheus", "html", "markdown"]


def _stream(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


COLLECTED = _stream(GOLDEN / "score" / "seed-example.in.ndjson")
SCORED = _stream(GOLDEN / "render" / "seed-example.in.ndjson")
FORECAST_INPUT = _stream(GOLDEN / "forecast" / "seed-example.in.ndjson")


@st.composite
def hostile_stream(draw: st.DrawFn, base: list[dict[str, Any]]) -> bytes:
    """``base`` as NDJSON with one record mutated, or one line replaced by garbage."""
    index = draw(st.integers(min_value=0, max_value=len(base) - 1))
    lines = [json.dumps(record).encode() for record in base]
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        lines[index] = draw(fuzz.garbage()).replace(b"\n", b" ")
    else:
        mutation = draw(fuzz.mutations(base[index]))
        lines[index] = mutation.apply(base[index]).encode("utf-8", "surrogatepass")
    return b"\n".join(lines) + b"\n"


def check(stage: str, stdin: bytes, args: list[str]) -> None:
    result = run_cli([stage, *args], input=stdin, expect=None, validate=False)
    fuzz.CASES[stage] += 1
    documented = (0, 1, 3) if stage == "forecast" else (0, 1)  # forecast: 3 below --min-healthy
    fuzz.assert_one_line_errors(result.stderr, stage, result.exit_code, lambda code: code in documented)
    if result.exit_code == 1:
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "stdin:" in result.stderr, f"the refusal does not say where: {result.stderr!r}"
    elif stage not in ("render", "forecast"):
        assert_valid(parse_ndjson(result.stdout))


@given(hostile_stream(COLLECTED))
def test_score_stdin(stdin: bytes) -> None:
    check("score", stdin, ["--now", NOW])


@given(hostile_stream(SCORED))
def test_recommend_stdin(stdin: bytes) -> None:
    check("recommend", stdin, ["--now", NOW])


@given(hostile_stream(SCORED), st.sampled_from(FORMATS), st.booleans(), st.booleans())
def test_render_stdin(stdin: bytes, fmt: str, redact: bool, explain: bool) -> None:
    explain = explain and fmt != "prometheus"  # --explain has no place in metrics: a usage error
    args = ["--now", NOW, "--format", fmt] + (["--redact"] if redact else []) + (["--explain"] if explain else [])
    check("render", stdin, args)


@given(hostile_stream(FORECAST_INPUT), st.sampled_from([None, "0", "3"]))
def test_forecast_stdin(stdin: bytes, min_healthy: str | None) -> None:
    gate = ["--min-healthy", min_healthy] if min_healthy else []
    check("forecast", stdin, ["-i", "-", "--now", NOW, "--no-history", *gate])


@pytest.fixture(scope="module")
def probe_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    pool = poolkit.seed_example_pool(tmp_path_factory.mktemp("probe-fuzz") / "pool")
    records = run_cli(["collect", "--dir", str(pool), "--now", NOW]).records
    return pool, records


def test_probe_stdin(probe_input: tuple[Path, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch) -> None:
    """probe with --cached-only (no refresh, no writes) against a closed port on this machine:
    the stream decides what it reads; the pool it names stays as it was."""
    pool, records = probe_input
    monkeypatch.setenv("CODEX_AUTH_BASE_URL", "http://127.0.0.1:9/backend-api")
    monkeypatch.setenv("CODEX_AUTH_TOKEN_URL", "http://127.0.0.1:9/oauth/token")
    monkeypatch.setenv("CODEX_AUTH_FETCH_TIMEOUT_MS", "2000")
    before = snapshot_tree(pool)

    @given(hostile_stream(records))
    def run(stdin: bytes) -> None:
        check("probe", stdin, ["--cached-only"])

    run()
    assert snapshot_tree(pool) == before
