"""Issue 11, point 3: `--now` takes Unix seconds and milliseconds, told apart by magnitude,
and ISO-8601; anything else is a usage error (exit 2)."""

from __future__ import annotations

import pytest

from pipeline.clock import SECONDS_LIMIT, parse_instant
from pipeline.errors import ConfigError
from testkit import poolkit
from testkit.helpers import ROOT, run_cli

MS = 1772548200000  # 2026-03-03T14:30:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1772548200", MS),  # what `date +%s` prints
        ("1772548200000", MS),  # milliseconds, as generatedAt holds them
        ("1772548200.25", MS + 250),  # `date +%s.%N`, to the millisecond
        (" 1772548200 ", MS),
        ("0", 0),
        (str(SECONDS_LIMIT - 1), (SECONDS_LIMIT - 1) * 1000),  # seconds up to the year 5138
        (str(SECONDS_LIMIT), SECONDS_LIMIT),  # from here on milliseconds (1973-03-03)
        ("2026-03-03T14:30:00Z", MS),
        ("2026-03-03T14:30:00z", MS),
        ("2026-03-03T15:30:00+01:00", MS),
        ("2026-03-03T14:30:00", MS),  # no offset: UTC
        ("2026-03-03 14:30:00", MS),
        ("2026-03-03", MS - (14 * 60 + 30) * 60_000),
    ],
)
def test_accepted_forms(text: str, expected: int) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "-5", "1e9", "", "1772548200000.5", "2026-13-01"])
def test_refused_forms(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_instant(text)


def test_date_plus_s_dates_the_report_right() -> None:
    sample = str(ROOT / "examples" / "sample-pool")
    seconds = run_cli(["report", "--dir", sample, "--now", "1772548200"], validate=False).text
    assert "Generated: 2026-03-03 14:30:00 UTC" in seconds
    assert seconds == run_cli(["report", "--dir", sample, "--now", str(poolkit.SEED_NOW)], validate=False).text


def test_a_bad_now_is_a_usage_error() -> None:
    result = run_cli(["report", "--now", "tomorrow"], expect=2, validate=False)
    assert result.stderr.startswith("codex-auth report: --now: 'tomorrow' is neither a Unix time")


def test_help_documents_the_magnitude_rule() -> None:
    for command in ("report", "render", "score", "recommend", "collect"):
        text = " ".join(run_cli([command, "--help"], validate=False).text.split())
        assert "seconds below 100000000000" in text and "milliseconds" in text, command
