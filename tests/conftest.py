"""Fixtures every test shares (helpers live in testkit.helpers).

Every test runs with HOME, CODEX_HOME, CODEX_MULTI_AUTH_DIR and XDG_STATE_HOME/XDG_CONFIG_HOME
pointing into its own temporary folder (so the history database lands there too), so nothing can read or write the real home directory.
"""

from __future__ import annotations

import functools
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
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    # bin/codex and the scripts use the interpreter running the tests, not a checkout's .venv
    # (an unpacked sdist has none)
    monkeypatch.setenv("CODEX_AUTH_VENV", sys.prefix)
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "CODEX_AUTH_BASE_URL",
        "CODEX_AUTH_TOKEN_URL",
        "CODEX_AUTH_FETCH_TIMEOUT_MS",
        "CODEX_AUTH_HISTORY",
        "CODEX_AUTH_PROJECT",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def pool_dir(isolated_home: Path) -> Path:
    """The folder CODEX_MULTI_AUTH_DIR points at (not created)."""
    return isolated_home / ".codex" / "multi-auth"


@pytest.fixture
def seed_pool(pool_dir: Path) -> Path:
    return poolkit.seed_example_pool(pool_dir)


def _fake_backends(monkeypatch: pytest.MonkeyPatch, *, in_process: bool) -> Iterator[Any]:
    """``start(scenario, delay_ms=None)``: a fake backend the tool is pointed at (stopped at teardown)."""
    from pipeline.live import endpoints
    from testkit.fake_backend import FakeBackend

    started: list[FakeBackend] = []
    make_client = endpoints.make_client

    def start(scenario: dict[str, Any], delay_ms: int | None = None) -> FakeBackend:
        fake = FakeBackend(scenario, delay_ms)
        started.append(fake)
        if in_process:
            monkeypatch.setattr(endpoints, "make_client", functools.partial(make_client, transport=fake.transport()))
        else:
            fake.start()
        monkeypatch.setenv("CODEX_AUTH_BASE_URL", fake.base_url)
        monkeypatch.setenv("CODEX_AUTH_TOKEN_URL", fake.token_url)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``start(scenario, delay_ms=None)``: the fake backend in-process, no socket. The tool's live
    client is built on the backend's httpx transport, and CODEX_AUTH_BASE_URL/TOKEN_URL name the
    transport's own URLs, which nothing serves (a client without the transport fails to connect).
    Only for the tool run in this process (``run_cli``); subprocesses need ``backend``."""
    yield from _fake_backends(monkeypatch, in_process=True)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``start(scenario, delay_ms=None)`` starts the fake backend as a server on 127.0.0.1 and
    points the tool at it: for the tool run as another process, or real sockets."""
    yield from _fake_backends(monkeypatch, in_process=False)


@pytest.fixture(scope="module")
def big_pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pool of testkit.cases.BIG (1,000) accounts, made once per test module."""
    from testkit.cases import BIG

    return poolkit.large_pool(tmp_path_factory.mktemp("big") / "pool", BIG, poolkit.SEED_NOW)
