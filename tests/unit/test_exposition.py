"""The one Prometheus writer (pipeline/report/exposition.py): escaping, numbers, families, and
that no other module of the package writes the text format itself."""

from __future__ import annotations

import re

import pytest

from pipeline.report import exposition as ex
from testkit.cases import render_case
from testkit.helpers import ROOT


def test_a_family_is_written_once_with_its_samples_and_left_out_without_any() -> None:
    metrics = ex.Metrics()
    metrics.gauge("up", "Back\\slash\nand a new line.", [("", 1), (ex.labels(a="x"), 0.5)])
    metrics.gauge("nothing", "No sample: no HELP, no TYPE either.", [])
    assert metrics.text() == (
        "# HELP codex_auth_up Back\\\\slash\\nand a new line.\n"
        "# TYPE codex_auth_up gauge\n"
        "codex_auth_up 1\n"
        'codex_auth_up{a="x"} 0.5\n'
    )
    with pytest.raises(ValueError, match="codex_auth_up written twice"):
        metrics.gauge("up", "again", [("", 2)])
    assert ex.Metrics().text() == "\n"


def test_label_values_numbers_and_units() -> None:
    assert ex.labels(status='a"b\\c\nd') == 'status="a\\"b\\\\c\\nd"'
    assert ex.labels("", 'index="0"', window="5h") == 'index="0",window="5h"'
    assert ex.account_labels({"index": 2, "email": None, "accountId": "acct"}) == (
        'index="2",number="3",email="",account_id="acct"'
    )
    with pytest.raises(TypeError):
        ex.account_labels({"index": "2"})
    assert [ex.number(v) for v in (3, 2.0, 0.25, 1e-7)] == ["3", "2", "0.25", "1e-07"]
    assert ex.seconds(1_772_548_200_000) == 1_772_548_200 and ex.seconds(1_500) == 1.5
    assert ex.ratio(96.5) == 0.965 and ex.ratio(100 / 3) == 0.333333


def test_no_other_module_writes_the_format() -> None:
    writers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipeline").rglob("*.py")
        if re.search(r"# (HELP|TYPE) |codex_auth_\{", path.read_text())
    )
    assert writers == ["pipeline/report/exposition.py"]


@pytest.mark.parametrize("args", [("--format", "prometheus"), ("--view", "forecast", "--format", "prometheus")])
def test_help_text_names_no_internal_document(args: tuple[str, ...]) -> None:
    text = render_case("seed-example", *args).decode()
    helps = [line for line in text.splitlines() if line.startswith("# HELP ")]
    assert len(helps) > 5
    assert not [line for line in helps if re.search(r"\bseed\b", line, re.I)]


def test_the_exporters_own_metrics_go_through_the_writer_too() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from pipeline.service.own_metrics import OwnMetrics
    from pipeline.service.snapshots import LoopState

    def values(own: OwnMetrics) -> dict[str, float]:
        text = own.text().decode()
        return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}

    own = OwnMetrics()
    before = values(own)
    assert before["codex_auth_up"] == 0 and before["codex_auth_refreshes_total"] == 0
    state = LoopState(runs=3, failures=1, consecutive_failures=1, last_success=1.5, hook_error="no history")
    own.update(state)
    state.runs = 99  # the loop goes on: the metrics keep what the run reported
    after = values(own)
    assert after["codex_auth_up"] == 0 and after["codex_auth_forecast_up"] == 0
    assert after["codex_auth_refreshes_total"] == 3 and after["codex_auth_refresh_failures_total"] == 1
    assert after["codex_auth_last_refresh_success_timestamp_seconds"] == 1.5
    assert after["process_resident_memory_bytes"] > 0 and after["process_open_fds"] >= 1
    assert b"# TYPE codex_auth_refreshes_total counter\n" in own.text()
