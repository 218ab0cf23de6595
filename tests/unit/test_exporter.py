"""The exporter in-process: the snapshot hook's metrics and documents are served (the forecast
and the history plug in there), HEAD and GET agree, and the server answers on 127.0.0.1."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.loopback import is_loopback
from pipeline.service.exporter import Exporter, _Server, parse_listen
from pipeline.service.snapshots import Extras, Refresher, RefreshLoop

EXTRA = (
    "# HELP codex_auth_test_gauge A gauge from the hook.\n# TYPE codex_auth_test_gauge gauge\ncodex_auth_test_gauge 1\n"
)


@pytest.fixture
def served(seed_pool: Path) -> Iterator[tuple[str, Exporter, list[Any]]]:
    calls: list[Any] = []

    def hook(view: Any, live: bool) -> Extras:
        calls.append((len(view.accounts), live))
        return Extras(metrics=EXTRA, documents={"/forecast.json": b'{"pool": {}}\n'})

    loop = RefreshLoop(Refresher(env={"CODEX_MULTI_AUTH_DIR": str(seed_pool)}), 30.0, hook=hook)
    exporter = Exporter(loop)
    loop.run_once()
    server = _Server(("127.0.0.1", 0), exporter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", exporter, calls
    finally:
        server.shutdown()
        server.server_close()


def get(url: str, method: str = "GET") -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_hook_adds_metrics_and_documents(served: tuple[str, Exporter, list[Any]]) -> None:
    url, _, calls = served
    assert calls == [(4, False)]
    status, metrics = get(url + "/metrics")
    assert status == 200 and EXTRA.encode() in metrics
    assert metrics.index(b"codex_auth_test_gauge 1") < metrics.index(b"codex_auth_up"), "report, hook, then own"
    assert get(url + "/forecast.json") == (200, b'{"pool": {}}\n')
    assert get(url + "/forecast.json", "HEAD") == (200, b"")
    assert get(url + "/history.json")[0] == 404


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:9467") == ("127.0.0.1", 9467)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen(":9000") == ("127.0.0.1", 9000)
    for bad in ("9467", "host:", "host:http", "127.0.0.1:70000"):
        with pytest.raises(ConfigError, match="--listen"):
            parse_listen(bad)
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.2", "::", "example.com"]))
