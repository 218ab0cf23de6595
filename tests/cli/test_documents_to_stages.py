"""A whole document fed where records are read says what it is and what reads it (a new
user's first pipe is often `report --json | codex-auth score`)."""

from __future__ import annotations

import pytest

from testkit.helpers import run_cli

SAMPLE = ["--dir", "examples/sample-pool", "--now", "2026-03-03T14:30:00Z"]


def report_json(*extra: str) -> bytes:
    return run_cli(["report", *SAMPLE, "--json", *extra], validate=False).stdout


def forecast_json() -> bytes:
    return run_cli(["forecast", *SAMPLE, "--json", "--no-history"], validate=False).stdout


@pytest.mark.parametrize("stage", ["score", "recommend", "probe", "forecast"])
def test_a_pretty_report_to_a_stage_is_named_as_a_document(stage: str) -> None:
    args = [stage, "-i", "-"] if stage == "forecast" else [stage]
    done = run_cli(args, input=report_json(), expect=1, validate=False)
    assert done.stderr.splitlines() == [
        f"codex-auth {stage}: stdin:1: a JSON document over many lines (report --json or forecast --json?), "
        "not records: the stages read the records collect writes, one per line"
    ]


def test_a_compact_report_to_a_stage_is_named_a_health_report() -> None:
    done = run_cli(["score"], input=report_json("--compact"), expect=1, validate=False)
    assert "a HealthReport (report --json), not records" in done.stderr
    assert "render alone also takes a HealthReport" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_forecast_document_to_render_points_at_the_forecast_view() -> None:
    done = run_cli(["render"], input=forecast_json(), expect=1, validate=False)
    assert done.stderr.splitlines() == [
        "codex-auth render: stdin:1: $: a forecast document (forecast --json), not a HealthReport: "
        "render shows a forecast from the stages, collect | forecast -i - | render --view forecast"
    ]


def test_a_health_report_still_renders() -> None:
    again = run_cli(["render"], input=report_json(), validate=False)
    assert again.stdout.startswith(b"=== Codex Multi-Auth Health Report ===")
