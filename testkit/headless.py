"""Load a local HTML file in headless Chromium, collect every console error, take a screenshot.

    python -m testkit.headless report.html report.png     # prints the errors; exit 1 if any

The browser is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages separated by NUL bytes on file descriptors 3 and 4), so nothing listens on a
port and nothing depends on how a Chromium version formats its log. Console errors are the
protocol's own events: ``Runtime.consoleAPICalled`` of type error or assert,
``Runtime.exceptionThrown``, and ``Log.entryAdded`` at level error (blocked or failed
loads, Content-Security-Policy violations). Chromium is started with a fresh profile and
with every background service off, and is only ever pointed at ``file://`` URLs or at a
server of ours on a loopback address.

Nothing here is imported by the tool itself; the tests use it (tests/test_html_browser.py).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


LOOPBACK_URLS = ("http://127.0.0.1:", "http://localhost:", "http://[::1]:")


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


@dataclass
class PageLoad:
    errors: list[str] = field(default_factory=list)
    title: str = ""
    rows: int = 0  # <tr> elements in <tbody>
    resources: int = 0  # sub-resources the page fetched (should be none)
    png: bytes = b""
    measured: Any = None  # what the ``measure`` expression returned (JSON), measured before the screenshot


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium, driven over the DevTools pipe. Use as a context manager."""

    def __init__(self, executable: str, *, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="codex-auth-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Move the browser's ends above 9, so that moving them onto 3 and 4 clobbers nothing.
        to_browser_r, from_browser_w = (_above_nine(fd) for fd in (to_browser_r, from_browser_w))
        # Chromium wants the pipe on descriptors 3 (commands in) and 4 (answers out);
        # bash puts the inherited ends there and execs the browser.
        argv = [executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"]
        shell = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self._process = subprocess.Popen(
            ["bash", "-c", shell, "chromium", *argv],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._send("Browser.close", wait=False)
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    # --- the protocol -----------------------------------------------------------------

    def _send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, wait: bool = True
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        if not wait:
            return {}
        wanted = self._next_id
        while True:
            reply = self._receive(time.monotonic() + self.timeout)
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._events.append(reply)

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium went away (exit code {self._process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return
            self._events.append(self._receive(deadline))

    # --- what the tests use -----------------------------------------------------------

    def load(
        self,
        page: Path | str,
        *,
        width: int = 1280,
        height: int = 900,
        full_page: bool = True,
        max_height: int = 4000,
        measure: str | None = None,
    ) -> PageLoad:
        """Open ``page`` (a local file, or an ``http://127.0.0.1...`` URL) in a new tab; the
        console errors, a few facts about the page, and a PNG screenshot (the whole page up
        to ``max_height`` pixels). ``measure`` is a JavaScript expression evaluated in the page
        at the window size asked for (layout facts: what scrolls, what overflows); it must
        return a JSON string."""
        local = not (isinstance(page, str) and page.startswith(LOOPBACK_URLS))
        url = Path(page).resolve().as_uri() if local else str(page)
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._events = []
        for domain in ("Page", "Runtime", "Log"):
            self._send(f"{domain}.enable", session=session)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self._send("Page.navigate", {"url": url}, session)
        self._wait_for("Page.loadEventFired", session)
        facts = self._evaluate(
            session,
            "JSON.stringify({title: document.title, rows: document.querySelectorAll('tbody tr').length,"
            " resources: performance.getEntriesByType('resource').length, height: document.documentElement.scrollHeight})",
        )
        result = PageLoad(title=facts["title"], rows=facts["rows"], resources=facts["resources"])
        if measure is not None:
            result.measured = self._evaluate(session, measure)
        if full_page:
            tall = min(max(height, int(facts["height"])), max_height)
            self._send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": tall, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
        shot = self._send("Page.captureScreenshot", {"format": "png"}, session)
        result.png = base64.b64decode(shot["data"])
        result.errors = [
            text for event in self._events if event.get("sessionId") == session and (text := _error_text(event))
        ]
        self._send("Target.closeTarget", {"targetId": target})
        return result

    def _evaluate(self, session: str, expression: str) -> Any:
        reply = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in reply:
            raise BrowserError(f"evaluate failed: {reply['exceptionDetails'].get('text')}")
        return json.loads(reply["result"]["value"])


def _above_nine(fd: int) -> int:
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def _error_text(event: dict[str, Any]) -> str | None:
    method = event.get("method")
    params = event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return "console: " + " ".join(
            str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])
        )
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return "exception: " + str(details.get("exception", {}).get("description") or details.get("text"))
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"{entry.get('source')}: {entry.get('text')}"
    return None


def main(argv: list[str] | None = None) -> None:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m testkit.headless",
        description="Load a local HTML file in headless Chromium, print its console errors (exit 1 if any) "
        "and save a screenshot.",
    )
    parser.add_argument("page", metavar="PAGE.html", type=Path)
    parser.add_argument("shot", metavar="SHOT.png", type=Path)
    parser.add_argument("--width", type=int, default=1280, help="window width in CSS pixels (default 1280)")
    parser.add_argument("--max-height", type=int, default=4000, help="cut the full-page screenshot here")
    args = parser.parse_args(argv)
    executable = find_chromium()
    if executable is None:
        sys.exit("no Chromium found (apt-get install chromium, or set CHROMIUM)")
    with Chromium(executable) as browser:
        page = browser.load(args.page, width=args.width, max_height=args.max_height)
    args.shot.write_bytes(page.png)
    for error in page.errors:
        print(error)
    print(
        f"{args.shot}: {len(page.png)} bytes; {page.rows} table rows; {len(page.errors)} console errors",
        file=sys.stderr,
    )
    sys.exit(1 if page.errors else 0)


if __name__ == "__main__":
    main()
