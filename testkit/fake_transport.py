"""The fake backend in-process: an ``httpx.MockTransport`` around :meth:`FakeBackend.respond`.

A client built on this transport talks to the backend without a socket: every request goes to
the backend's core in the calling thread, so concurrent clients overlap as they would against
the server. The transport answers only at its own origin, ``http://127.0.0.1:9`` (port 9 is
never served here): a request to any other URL fails with ``httpx.ConnectError``, and a client
built without the transport that is pointed at these URLs meets a refused connection instead of
another server.

What a real client would see, emulated:

* a delay: the handler sleeps it (in the calling thread); when it is longer than the request's
  read timeout, the handler sleeps the timeout and raises ``httpx.ReadTimeout``;
* a dropped connection (``drop``, ``drop_after_rotate``, the backend stopping during a delay):
  ``httpx.RemoteProtocolError``, as httpx raises when a server closes without an answer;
* malformed answers (``not_json``, ``wrong_shape``, ``rawBody``): the same bytes and headers
  the server would send.

What needs the real server (:mod:`testkit.fake_server`): other processes, keep-alive and other
connection-level behaviour, async clients (this handler blocks), and the server's request
framing checks (chunked uploads, bad ``Content-Length``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from testkit.fake_backend import HOST, FakeRequest

if TYPE_CHECKING:
    from testkit.fake_backend import FakeBackend

IN_PROCESS_PORT = 9  # the discard port: nothing of ours listens there


class FakeTransport(httpx.MockTransport):
    """``FakeBackend(...).transport()``: use with ``httpx.Client(transport=...)`` and the
    :attr:`base_url`/:attr:`token_url` below."""

    url = f"http://{HOST}:{IN_PROCESS_PORT}"
    base_url = url + "/backend-api"
    token_url = url + "/oauth/token"

    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        target = (request.url.scheme, request.url.host, request.url.port)
        if target != ("http", HOST, IN_PROCESS_PORT):
            raise httpx.ConnectError(f"the in-process fake backend answers only at {self.url}", request=request)
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")

        def wait(seconds: float) -> bool:
            if read_timeout is not None and seconds > read_timeout:
                self.backend.wait(read_timeout)
                raise httpx.ReadTimeout("timed out", request=request)
            return self.backend.wait(seconds)

        fake = FakeRequest(
            request.method, request.url.raw_path.decode("ascii"), request.headers.items(), request.read()
        )
        response = self.backend.respond(fake, wait)
        if response.dropped:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        assert response.status is not None
        answer = httpx.Response(
            response.status, headers=list(response.headers.items()), content=response.body, request=request
        )
        self.backend.answer_sent(response)
        return answer
