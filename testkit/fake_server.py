"""The fake backend over real sockets: a thin HTTP adapter around :meth:`FakeBackend.respond`.

A standard-library ``ThreadingHTTPServer`` on 127.0.0.1 (never any other address), one thread
per connection, so slow answers overlap. It reads a request, hands it to the backend's core
and writes the answer, or closes the connection without one (``drop`` behaviours, or the
backend stopping during a delay). Only the transport lives here: every behaviour, the stats
and the scenario state are the backend's (:mod:`testkit.fake_backend`), shared with the
in-process adapter (:mod:`testkit.fake_transport`).

What needs this adapter rather than the in-process one: other processes (the CLI run as a
subprocess, two processes racing, the demo, the benchmark, shell recipes), real keep-alive
connections, async clients, and the request framing checks below (chunked uploads, bad
``Content-Length``).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from testkit.fake_backend import HOST, MAX_BODY, FakeRequest, FakeResponse, json_body

if TYPE_CHECKING:
    from testkit.fake_backend import FakeBackend

IDLE_TIMEOUT = 10.0  # seconds a keep-alive connection may sit idle


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = False

    def __init__(self, backend: FakeBackend, port: int) -> None:
        self.backend = backend
        self.connections: dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-backend", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop serving, close every open connection, join the threads (the backend has
        already ended its delays)."""
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
        with self.connections_lock:
            open_connections = dict(self.connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in open_connections.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        self.server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="fake-backend-conn", daemon=True
        )
        with self.connections_lock:
            self.connections[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away mid-answer is normal here; say so only when logging
        if self.backend.log is not None:
            exc = sys.exc_info()[1]
            self.backend.log_line(f"connection error: {type(exc).__name__}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-chatgpt-backend"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the backend logs its own lines, without headers or query strings

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        request = FakeRequest(method, self.path, list(self.headers.items()), body)
        response = self.server.backend.respond(request)
        if response.dropped:
            self.close_connection = True
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._write(json_body(411, {"detail": "Length Required"}))
            self.close_connection = True
            return None
        try:
            length = int(length_text) if length_text else 0
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._write(json_body(413 if length > MAX_BODY else 400, {"detail": "Bad Content-Length"}))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _write(self, response: FakeResponse) -> None:
        assert response.status is not None
        self.send_response(response.status)
        headers: Mapping[str, str] = response.headers
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        self.server.backend.answer_sent(response)
