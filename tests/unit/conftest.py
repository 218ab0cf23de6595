"""tests/unit spawns no process: a test that starts one (subprocess, fork, spawn, system)
fails, even when the code under test swallows the error. Such tests live in tests/cli or
tests/e2e, so that tests/unit runs in seconds."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

SPAWNERS = ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "spawnv", "spawnve", "spawnvp", "spawnvpe")


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    tried: list[str] = []

    def refuse(name: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            tried.append(name)
            raise RuntimeError(f"tests/unit spawns no process ({name}): move this test to tests/cli or tests/e2e")

        return refused

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("subprocess.Popen"))
    for name in SPAWNERS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse(f"os.{name}"))
    monkeypatch.setattr(pty, "fork", refuse("pty.fork"))
    yield tried
    if tried:
        pytest.fail(f"this test started a process ({', '.join(tried)}): it belongs in tests/cli or tests/e2e")
