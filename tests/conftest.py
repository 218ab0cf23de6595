"""Fixtures every test shares (helpers live in testkit.helpers).

Every test runs with HOME, CODEX_HOME and CODEX_MULTI_AUTH_DIR pointing into its own
temporary folder, so nothing can read or write the real home directory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit import poolkit


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden expectations from the current code")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setenv("CODEX_MULTI_AUTH_DIR", str(home / ".codex" / "multi-auth"))
    # bin/codex and the scripts use the interpreter running the tests, not a checkout's .venv
    # (an unpacked sdist has none)
    monkeypatch.setenv("CODEX_AUTH_VENV", sys.prefix)
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("CODEX_AUTH_BASE_URL", "CODEX_AUTH_TOKEN_URL", "CODEX_AUTH_FETCH_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def pool_dir(isolated_home: Path) -> Path:
    """The folder CODEX_MULTI_AUTH_DIR points at (not created)."""
    return isolated_home / ".codex" / "multi-auth"


@pytest.fixture
def seed_pool(pool_dir: Path) -> Path:
    return poolkit.seed_example_pool(pool_dir)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``start(scenario, delay_ms=0)`` starts a fake backend and points the tool at it."""
    started: list[Any] = []

    def start(scenario: dict[str, Any], delay_ms: int | None = None) -> Any:
        from testkit.fake_backend import FakeBackend

        server = FakeBackend(scenario, delay_ms).start()
        started.append(server)
        monkeypatch.setenv("CODEX_AUTH_BASE_URL", server.base_url)
        monkeypatch.setenv("CODEX_AUTH_TOKEN_URL", server.token_url)
        return server

    yield start
    for server in started:
        server.stop()
