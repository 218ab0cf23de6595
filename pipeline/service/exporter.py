"""``codex auth serve``: the report as a Prometheus exporter and a small read-only web server.

Endpoints: ``/metrics`` (the Prometheus format's metrics plus the exporter's own), ``/``
(the HTML report), ``/report.json`` (the HealthReport), ``/healthz`` (the refresh loop's
state), and whatever the snapshot hook adds (``/forecast.json``). Anything else is a 404;
methods other than GET and HEAD are a 405.

**A request never probes.** Every endpoint serves the last good snapshot, rendered once
when it was taken; the :class:`pipeline.service.snapshots.RefreshLoop` makes the next one in the
background. ``/metrics`` is the ``--format prometheus`` text, the forecast's gauges, then
the exporter's own (``codex_auth_up``, refresh times, failures, the process:
:mod:`pipeline.service.own_metrics`), all written by :mod:`pipeline.report.exposition`.

Safe by default: 127.0.0.1 unless told otherwise; on a loopback address a request must name
a loopback host (``Host:``), so a web page cannot reach the report through DNS rebinding;
no endpoint carries a token (no record holds one).
"""

from __future__ import annotations

import gzip
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from pipeline import scrubbing
from pipeline.errors import ConfigError
from pipeline.loopback import is_loopback
from pipeline.report import render_view
from pipeline.report.exposition import CONTENT_TYPE
from pipeline.report.view import View, redact_view
from pipeline.scrubbing import scrub_bytes
from pipeline.service.own_metrics import OwnMetrics
from pipeline.service.snapshots import Assessment, LoopState, RefreshLoop, Snapshot

DEFAULT_LISTEN = "127.0.0.1:9467"
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # the HTML format's own meta tag says the same


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9467`` for IPv6; ``:9467`` means 127.0.0.1)."""
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"--listen: {value!r} is not HOST:PORT (e.g. 127.0.0.1:9467)")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port_text)


@dataclass(frozen=True)
class Rendered:
    """A snapshot in every form the server hands out, made once per snapshot."""

    metrics: bytes
    report_json: bytes
    html: bytes
    documents: Mapping[str, bytes]
    generated_at: int


def render_snapshot(snapshot: Snapshot, redact: bool, reload_seconds: float | None = None) -> Rendered:
    """Every form of ``snapshot``; the page reloads itself every ``reload_seconds`` (the
    refresh interval), so an open tab follows the snapshots."""
    view: View = redact_view(snapshot.view) if redact else snapshot.view  # masked once, for every form
    html = render_view(view, fmt="html")
    if reload_seconds:
        html = html.replace(
            b"<head>", f'<head>\n<meta http-equiv="refresh" content="{max(1, round(reload_seconds))}">'.encode(), 1
        )
    return Rendered(
        render_view(view, fmt="prometheus") + snapshot.extras.metrics.encode("utf-8"),
        render_view(view, fmt="json"),
        html,
        dict(snapshot.extras.documents),
        view.generated_at,
    )


class Exporter:
    """The loop, the rendered snapshot and the HTTP server, tied together."""

    def __init__(self, loop: RefreshLoop, *, redact: bool = False) -> None:
        self.loop, self.redact = loop, redact
        self.metrics = OwnMetrics()
        self.metrics_type = CONTENT_TYPE
        self.rendered: Rendered | None = None
        self._rendered_from: Snapshot | None = None
        self._lock = threading.Lock()
        self._packed: _PackedMetrics | None = None
        self._packing = threading.Lock()
        loop.on_run = self._after_run

    def _after_run(self, state: LoopState, snapshot: Snapshot | None, assessment: Assessment | None) -> None:
        if snapshot is not None and snapshot is not self._rendered_from:
            self.rendered = render_snapshot(
                snapshot, self.redact, self.loop.interval
            )  # one swap: readers see old or new, whole
            self._rendered_from = snapshot
            with self._packing:
                self._packed = None  # the last snapshot's packed metrics go with it
        with self._lock:
            self.metrics.update(state)

    def metrics_body(self) -> bytes:
        with self._lock:
            own = self.metrics.text()
        rendered = self.rendered
        return (rendered.metrics if rendered else b"") + own

    def metrics_answer(self, gzip_ok: bool) -> tuple[bytes, bool]:
        """``/metrics`` scrubbed, and gzip-compressed when ``gzip_ok`` and large enough (then
        True). The snapshot's part is scrubbed and compressed once (:class:`_PackedMetrics`);
        each scrape adds only the exporter's own metrics to it."""
        with self._lock:
            own = scrub_bytes(self.metrics.text())
        packed = self._packed_metrics()
        if gzip_ok and len(packed.body) + len(own) >= GZIP_FROM:
            packer = packed.packer.copy()
            return packed.head + packer.compress(own) + packer.flush(), True
        return packed.body + own, False

    def _packed_metrics(self) -> _PackedMetrics:
        rendered, registered = self.rendered, scrubbing.count()
        with self._packing:
            packed = self._packed
            if packed is None or packed.rendered is not rendered or packed.registered != registered:
                packed = self._packed = _PackedMetrics.of(rendered, registered)
            return packed

    def page(self) -> bytes:
        """The HTML report; while refreshes fail, with a line at its top that says so (the page
        is the last good report, not a current one)."""
        rendered = self.rendered
        assert rendered is not None
        state = self.loop.state
        if not state.consecutive_failures:
            return rendered.html
        from html import escape

        from pipeline.humanize import utc_stamp

        note = (
            f'<p class="rec none" role="alert">The last {state.consecutive_failures} refresh'
            f"{'' if state.consecutive_failures == 1 else 'es'} failed ({escape(state.last_error or 'no report')}): "
            f"this is the report of {utc_stamp(rendered.generated_at)}.</p>"
        )
        return rendered.html.replace(b"<body>", b"<body>\n" + note.encode(), 1)

    def not_yet(self) -> bytes:
        """Why there is no report to serve: the first refresh is running, or it failed."""
        state = self.loop.state
        if not state.runs:
            return b"no report yet: the first refresh has not finished\n"
        return (
            f"no report yet: {state.runs} refresh{'' if state.runs == 1 else 'es'} failed ({state.last_error}); "
            f"the next try is in about {state.next_delay:.0f}s (see /healthz)\n"
        ).encode()

    def health(self) -> tuple[int, bytes]:
        state = self.loop.state
        rendered = self.rendered
        status = "ok" if rendered and not state.consecutive_failures else ("failing" if rendered else "starting")
        if status == "ok" and state.hook_error:
            status = "degraded"  # the report is current, its forecast is not
        body = {
            "status": status,
            "up": bool(rendered) and not state.consecutive_failures,
            "runs": state.runs,
            "running": state.running,
            "failures": state.failures,
            "consecutiveFailures": state.consecutive_failures,
            "lastError": state.last_error,
            "lastSuccess": state.last_success,
            "lastDurationSeconds": state.last_duration,
            "nextDelaySeconds": round(state.next_delay, 3),
            "retryAfterSeconds": state.retry_after,
            "snapshotGeneratedAt": rendered.generated_at if rendered else None,
            "live": self.loop.refresher.live,
            "intervalSeconds": self.loop.interval,
            "forecast": {
                "ok": state.hook_error is None,
                "failures": state.hook_failures,
                "lastError": state.hook_error,
            },
        }
        # 503 only while there is nothing to serve; a failing refresh still serves the last snapshot
        return (200 if rendered else 503), orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)


@dataclass(frozen=True)
class _PackedMetrics:
    """A snapshot's metrics scrubbed, and a gzip stream that has compressed them (copied and
    finished by each scrape): a scrape of 10,000 accounts' 45 MB no longer scrubs and compresses
    them all again. Made again when the snapshot changes or a secret is registered since."""

    rendered: Rendered | None
    registered: int  # the secrets registered when it was scrubbed
    body: bytes
    packer: Any  # zlib compressor (gzip container) fed with ``body``
    head: bytes  # what it gave back so far

    @classmethod
    def of(cls, rendered: Rendered | None, registered: int) -> _PackedMetrics:
        import zlib

        body = scrub_bytes(rendered.metrics) if rendered else b""
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return cls(rendered, registered, body, packer, packer.compress(body))


# Bodies this large or larger go gzip-compressed to a client that asks (Prometheus does): the
# report's metrics of 1,000 accounts are 1.6 MB as text and 100 KB compressed.
GZIP_FROM = 1024
GZIP_LEVEL = 5


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header takes gzip (``gzip;q=0`` refuses it)."""
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], exporter: Exporter) -> None:
        import socket

        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.exporter = exporter
        self.loopback = is_loopback(address[0])
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def version_string(self) -> str:
        return "codex-auth-report"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log: the lines would carry nothing a scrape needs

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _other(self) -> None:
        self._send(405, b"method not allowed\n", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

    def _answer(self, head: bool) -> None:
        if self.server.loopback and not self._loopback_host():
            self._send(403, b"forbidden: this exporter answers only to a loopback host name\n", "text/plain")
            return
        path = self.path.split("?", 1)[0]
        exporter = self.server.exporter
        rendered = exporter.rendered
        if path == "/metrics":
            body, packed = exporter.metrics_answer(accepts_gzip(self.headers.get("Accept-Encoding")))
            headers = {"Content-Encoding": "gzip"} if packed else {}
            self._send(200, body, exporter.metrics_type, headers, head=head, ready=True)
        elif path == "/healthz":
            status, body = exporter.health()
            self._send(status, body, "application/json", head=head)
        elif path in ("/", "/report.json") or (rendered is not None and path in rendered.documents):
            if rendered is None:
                self._send(503, exporter.not_yet(), "text/plain; charset=utf-8", head=head)
            elif path == "/":
                headers = {"Content-Security-Policy": HTML_CSP}
                self._send(200, exporter.page(), "text/html; charset=utf-8", headers, head=head)
            elif path == "/report.json":
                self._send(200, rendered.report_json, "application/json", head=head)
            else:
                self._send(200, rendered.documents[path], "application/json", head=head)
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", head=head)

    def _loopback_host(self) -> bool:
        host = (self.headers.get("Host") or "").strip()
        if host.startswith("["):
            host = host[1 : host.find("]")] if "]" in host else host
        else:
            host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return not host or is_loopback(host)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        head: bool = False,
        ready: bool = False,
    ) -> None:
        """``ready``: the body is scrubbed and encoded already (``/metrics``)."""
        extra = dict(headers or {})
        if not ready:
            body = scrub_bytes(body)  # the run's tokens never leave, whatever a page holds
            if len(body) >= GZIP_FROM and accepts_gzip(self.headers.get("Accept-Encoding")):
                body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
                extra["Content-Encoding"] = "gzip"
        if status == 200:
            extra["Vary"] = "Accept-Encoding"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def serve(
    exporter: Exporter,
    listen: tuple[str, int],
    *,
    say: Callable[[str], None],
    ready: Callable[[str], None] | None = None,
    documents: tuple[str, ...] = (),
) -> int:
    """Listen, run the loop, and return 0 once SIGTERM or SIGINT arrives (within 2 s: the run
    in flight gets 1.5 s to finish, then the process ends without it)."""
    server = _Server(listen, exporter)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    paths = ", ".join(("/metrics", "/report.json", *documents, "/", "/healthz"))
    (ready or say)(f"listening on {url} ({paths})")
    exporter.loop.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        started = time.monotonic()
        server.shutdown()
        server.server_close()
        exporter.loop.stop(wait=max(0.1, 1.5 - (time.monotonic() - started)))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say("stopped")
    return 0
