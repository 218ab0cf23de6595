"""Run ``codex auth serve`` as a real process on 127.0.0.1, for the tests and the measurements.

    with ServeProcess(["--live", "--interval", "1"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 2)
        serve.get("/metrics")

It listens on a free port (``--listen 127.0.0.1:0``; the address comes from its first stderr
line), keeps its stderr, and is stopped with SIGTERM (then killed, if it must be). Every wait
is bounded. Nothing here is imported by the tool itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from testkit.helpers import ROOT

_LISTENING = re.compile(r"listening on (http://\S+/)")


class ServeProcess:
    def __init__(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, startup_timeout: float = 30.0
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", "--listen", "127.0.0.1:0", *args],
            cwd=ROOT,
            env=dict(env if env is not None else os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.url = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(startup_timeout):
            self.stop()
            raise RuntimeError(f"serve did not start listening; stderr: {self.stderr}")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not self.url:
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def request(
        self, path: str, *, method: str = "GET", headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url.rstrip("/") + path, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get(self, path: str) -> bytes:
        status, _, body = self.request(path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {body[:200]!r}")
        return body

    def health(self) -> dict[str, Any]:
        _, _, body = self.request("/healthz")
        return dict(json.loads(body))

    def wait_for(self, check: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """Poll /healthz until ``check`` holds; the last state either way (fails past ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.health()
            if check(state):
                return state
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"gave up waiting; last /healthz: {state}\nstderr:\n{self.stderr}")
            time.sleep(0.05)

    def quiet_state(self, timeout: float = 30.0) -> dict[str, Any]:
        """/healthz while no run is in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            first = self.health()
            if not first["running"]:
                return first
            time.sleep(0.02)
        raise AssertionError("the exporter never stopped running")

    def runs_and_stats(self, backend: Any) -> tuple[int, dict[str, Any]]:
        """The exporter's run count and the fake backend's stats, read while no run was in
        flight (and none started in between), so the two can be compared exactly."""
        for _ in range(100):
            before = self.quiet_state()
            stats = dict(backend.stats())
            if self.quiet_state()["runs"] == before["runs"]:
                return int(before["runs"]), stats
        raise AssertionError("the exporter never paused between runs")

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        if self.process.stderr and not self._reader.is_alive():
            self.process.stderr.close()
        return self.process.returncode

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def measure(
    cycles: int = 200, every: int = 20, scrapes: int = 500, accounts: int = 50, live: bool = False
) -> dict[str, Any]:
    """The exporter's memory over ``cycles`` refreshes at a 1 s interval on a pool of
    ``accounts``, and the latency of ``scrapes`` GET /metrics (python -m testkit.serving)."""
    import statistics
    import tempfile

    from testkit import poolkit
    from testkit.fake_backend import FakeBackend

    with tempfile.TemporaryDirectory() as folder:
        pool = poolkit.large_pool(Path(folder) / "pool", accounts, poolkit.now_ms())
        env = {**os.environ, "CODEX_MULTI_AUTH_DIR": str(pool), "HOME": folder}
        backend = None
        if live:
            records = json.loads((pool / poolkit.ACCOUNTS_FILE).read_text())["accounts"]
            backend = FakeBackend(poolkit.backend_scenario(records)).start()
            env.update(CODEX_AUTH_BASE_URL=backend.base_url, CODEX_AUTH_TOKEN_URL=backend.token_url)
        try:
            with ServeProcess(["--interval", "1", *(["--live"] if live else [])], env=env) as serve:
                rss: list[tuple[int, int]] = []
                for target in range(every, cycles + 1, every):
                    serve.wait_for(lambda h, t=target: h["runs"] >= t, timeout=every * 10)
                    rss.append((target, rss_kib(serve.process.pid)))
                timings = []
                for _ in range(scrapes):
                    started = time.perf_counter()
                    serve.get("/metrics")
                    timings.append((time.perf_counter() - started) * 1000)
                timings.sort()
                size = len(serve.get("/metrics"))
        finally:
            if backend is not None:
                backend.stop()
    growth = (rss[-1][1] - rss[0][1]) / (rss[-1][0] - rss[0][0])
    return {
        "live": live,
        "accounts": accounts,
        "rssKiB": rss,
        "growthKiBPerCycle": round(growth, 2),
        "metricsBytes": size,
        "scrapeMs": {
            "median": round(statistics.median(timings), 2),
            "p99": round(timings[int(len(timings) * 0.99) - 1], 2),
        },
    }


if __name__ == "__main__":
    live = "--live" in sys.argv
    print(json.dumps(measure(live=live)))
