"""A deadline per request: a server on 127.0.0.1 that trickles its answer one byte at a time
(the body, or the headers themselves) is cut at CODEX_AUTH_FETCH_TIMEOUT_MS, where httpx's
own timeouts, which bound each read, would wait for the whole answer.

The servers would trickle for two minutes; the assertions are on how much of that they got to
send before the client hung up (a handful of bytes, not 120), not on the clock."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.live import backend, oauth
from pipeline.live.endpoints import Endpoints, make_client
from testkit import poolkit
from testkit.helpers import ROOT

TRICKLE_BYTES = 120  # at one byte a second: two minutes without a deadline


class Trickle(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, headers_too: bool, interval: float = 1.0) -> None:
        self.headers_too = headers_too
        self.interval = interval
        self.sent: list[int] = []  # bytes of trickle each connection got to send
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.BaseRequestHandler):
    server: Trickle

    def handle(self) -> None:
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {TRICKLE_BYTES}\r\n\r\n".encode()
        sent = 0
        try:
            if self.server.headers_too:
                trickle, rest = head, b""
            else:
                sock.sendall(head)
                trickle, rest = b" " * TRICKLE_BYTES, b""
            for byte in trickle + rest:
                if self.server.stopping.wait(self.server.interval):
                    break
                sock.sendall(bytes([byte]))
                sent += 1
        except OSError:
            pass  # the client hung up: that is the point
        finally:
            self.server.sent.append(sent)


@pytest.fixture(params=[False, True], ids=["body", "headers"])
def trickle(request: pytest.FixtureRequest) -> Iterator[Trickle]:
    server = Trickle(headers_too=request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()


def _wait_for_hangup(server: Trickle, connections: int) -> None:
    for _ in range(100):
        if len(server.sent) >= connections:
            return
        time.sleep(0.05)


def test_a_trickled_answer_is_cut_at_the_deadline(trickle: Trickle) -> None:
    endpoints = Endpoints(trickle.url + "/backend-api", trickle.url + "/oauth/token", 1000)
    started = time.monotonic()
    with make_client(endpoints, 2) as client:
        probed = backend.probe_usage(client, endpoints, "t" * 40, "acct", "gpt-5-codex", 0)
        refreshed = oauth.refresh(client, endpoints, "r" * 40, 0)
    elapsed = time.monotonic() - started
    _wait_for_hangup(trickle, 2)
    print(f"\ntrickle ({'headers' if trickle.headers_too else 'body'}), deadline 1 s: two requests in {elapsed:.2f} s")
    assert probed.outcome == "timeout"
    assert refreshed.code == "timeout" and not refreshed.ok
    assert len(trickle.sent) == 2 and max(trickle.sent) < TRICKLE_BYTES // 4, trickle.sent


def test_report_live_against_a_trickling_backend_ends(tmp_path: Path, trickle: Trickle) -> None:
    """The case as it was found: CODEX_AUTH_FETCH_TIMEOUT_MS=2000, a body trickling one byte a
    second, `report --live` over a pool of three accounts (one refreshing)."""
    now = poolkit.now_ms()
    folder = tmp_path / "pool"
    accounts = [
        poolkit.account("alice", now),
        poolkit.account("bob", now),
        poolkit.account("carol", now, refreshed=now - 20 * poolkit.DAY, lifetime=poolkit.DAY),
    ]
    poolkit.write_pool(folder, poolkit.accounts_v3(accounts))
    env = {
        **os.environ,
        "CODEX_MULTI_AUTH_DIR": str(folder),
        "CODEX_AUTH_BASE_URL": trickle.url + "/backend-api",
        "CODEX_AUTH_TOKEN_URL": trickle.url + "/oauth/token",
        "CODEX_AUTH_FETCH_TIMEOUT_MS": "2000",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", "--live", "--json"],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=100,
        check=False,
    )
    elapsed = time.monotonic() - started
    _wait_for_hangup(trickle, 3)
    print(f"\nreport --live, trickling {'headers' if trickle.headers_too else 'body'}, deadline 2 s: {elapsed:.2f} s")
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    reasons = [account["reasons"] for account in json.loads(done.stdout)["accounts"]]
    assert reasons[0] == reasons[1] == ["live probe failed (timeout)"], reasons
    assert "token refresh failed" in reasons[2], reasons
    assert len(trickle.sent) >= 3 and max(trickle.sent) < TRICKLE_BYTES // 4, trickle.sent
