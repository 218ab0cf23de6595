"""Hypothesis profiles for the property tests, and a count of the cases they ran.

``ci`` (the default) keeps the suite quick; ``deep`` is for a bench run:
``HYPOTHESIS_PROFILE=deep scripts/test tests/property`` (2,000 cases a test, or
``HYPOTHESIS_MAX_EXAMPLES``).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from testkit import fuzz

_COMMON = {
    "deadline": None,
    "derandomize": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=120, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("deep", max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "2000")), **_COMMON)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if fuzz.CASES:
        total = sum(fuzz.CASES.values())
        detail = ", ".join(f"{name} {count}" for name, count in sorted(fuzz.CASES.items()))
        terminalreporter.write_line(f"property cases run: {total} ({detail})")
