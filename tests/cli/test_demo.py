"""`scripts/demo` cannot escape its temporary folder: every mode, in any flag order, under an
environment that points everything (home, XDG folders, pool, history, service URLs, proxies)
at sentinel places, leaves the repository, the sentinels and the temporary root as they were
and never opens a connection to the address the environment names."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT

MODES = [
    [],
    ["--json"],
    ["--explain"],
    ["--live"],
    ["--json", "--live"],
    ["--live", "--json"],
    ["--explain", "--live", "--max-probes", "4"],
]


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every path under ``folder`` with its mode and content digest (folders: empty digest)."""
    seen: dict[str, tuple[int, str]] = {}
    for path in sorted(folder.rglob("*")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        seen[str(path.relative_to(folder))] = (path.stat().st_mode, digest)
    return seen


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored=no"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


class Listener:
    """A socket on 127.0.0.1 that counts the connections it is offered."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[dict[str, str], Path, Path, Listener]:
    sentinel = tmp_path / "sentinel"
    home = sentinel / "home"
    poolkit.seed_example_pool(home / ".codex" / "multi-auth")  # a real-looking pool in the real-looking home
    poolkit.seed_example_pool(sentinel / "pool")
    for folder in ("state", "config", "cache", "data", "codex-home", "run"):
        (sentinel / folder).mkdir(parents=True)
    (sentinel / "history.sqlite3").write_bytes(b"")
    tmp_root = tmp_path / "tmp-root"
    tmp_root.mkdir()
    listener = Listener()
    trap = f"http://127.0.0.1:{listener.port}"
    env = dict(
        os.environ,
        HOME=str(home),
        XDG_STATE_HOME=str(sentinel / "state"),
        XDG_CONFIG_HOME=str(sentinel / "config"),
        XDG_CACHE_HOME=str(sentinel / "cache"),
        XDG_DATA_HOME=str(sentinel / "data"),
        XDG_RUNTIME_DIR=str(sentinel / "run"),
        CODEX_HOME=str(sentinel / "codex-home"),
        CODEX_MULTI_AUTH_DIR=str(sentinel / "pool"),
        CODEX_AUTH_HISTORY=str(sentinel / "history.sqlite3"),
        CODEX_AUTH_PROJECT=str(sentinel / "pool"),
        CODEX_AUTH_BASE_URL=f"{trap}/backend-api",
        CODEX_AUTH_TOKEN_URL=f"{trap}/oauth/token",
        CODEX_AUTH_REFRESH_LEASE_DIR=str(sentinel / "leases"),
        HTTP_PROXY=trap,
        HTTPS_PROXY=trap,
        ALL_PROXY=trap,
        TMPDIR=str(tmp_root),
    )
    return env, sentinel, tmp_root, listener


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: " ".join(mode) or "(default)")
def test_every_demo_mode_stays_in_its_temporary_folder(
    mode: list[str], hostile: tuple[dict[str, str], Path, Path, Listener]
) -> None:
    env, sentinel, tmp_root, listener = hostile
    sentinel_before, status_before = snapshot(sentinel), git_status()
    sample_before = snapshot(ROOT / "examples" / "sample-pool")
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo"), *mode], cwd=sentinel, env=env, capture_output=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    if "--json" in mode:
        report = json.loads(done.stdout)
        assert report["mode"] == ("live" if "--live" in mode else "default")
        assert report["summary"]["totalAccounts"] == 5
        assert report["recommendation"]["email"] == "alice@example.com"
    else:
        assert b"=== Codex Multi-Auth Health Report ===" in done.stdout
    if "--live" in mode:
        assert b"Mode: Live" in done.stdout or b'"mode": "live"' in done.stdout
    assert snapshot(sentinel) == sentinel_before, "a sentinel folder was written to"
    assert git_status() == status_before, "the demo changed the repository"
    assert snapshot(ROOT / "examples" / "sample-pool") == sample_before
    assert list(tmp_root.iterdir()) == [], "the temporary folder was left behind"
    assert listener.connections == 0, "the demo contacted the address in the environment"


@pytest.mark.parametrize(
    "mode",
    [
        ["--dir", "{pool}"],
        ["--json", "--dir={pool}"],
        ["--project", "{pool}"],
        ["--live", "--history", "{history}"],
        ["--history={history}", "--live"],
    ],
    ids=lambda mode: " ".join(mode),
)
def test_options_that_point_at_real_data_are_refused(
    mode: list[str], hostile: tuple[dict[str, str], Path, Path, Listener]
) -> None:
    env, sentinel, tmp_root, listener = hostile
    args = [a.format(pool=sentinel / "pool", history=sentinel / "history.sqlite3") for a in mode]
    before = snapshot(sentinel)
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo"), *args], cwd=sentinel, env=env, capture_output=True, timeout=180
    )
    name = next(a.split("=", 1)[0] for a in args if a.split("=", 1)[0] in ("--dir", "--project", "--history"))
    assert done.returncode == 2, done.stderr
    assert done.stdout == b"", "no report of the real pool"
    assert done.stderr.decode().splitlines() == [
        f"demo: {name} would point the demo at real data; the demo runs only on a copy of the sample pool: "
        f"run `codex auth report {name} ...` for yours"
    ]
    assert snapshot(sentinel) == before
    assert list(tmp_root.iterdir()) == [] and listener.connections == 0
