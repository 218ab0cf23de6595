"""`codex auth serve` as a real process on 127.0.0.1: the endpoints, what they refuse, no token
anywhere, a scrape that never probes, and a clean stop on SIGTERM and SIGINT."""

from __future__ import annotations

import gzip
import json
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.schema import schema_errors
from testkit import poolkit
from testkit.helpers import assert_no_secrets, fixture_secrets, run_cli
from testkit.serving import ServeProcess


def samples(text: bytes) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_default_mode_endpoints(seed_pool: Path) -> None:
    with ServeProcess(["--interval", "1"]) as serve:
        state = serve.wait_for(lambda h: h["runs"] >= 2)
        assert state["up"] and state["live"] is False and state["intervalSeconds"] == 1
        status, headers, body = serve.request("/metrics")
        assert status == 200 and headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        metrics = samples(body)
        assert metrics["codex_auth_accounts"][0].value == 5
        assert metrics["codex_auth_up"][0].value == 1
        assert metrics["codex_auth_refreshes_total"][0].value >= 2
        assert metrics["codex_auth_refresh_failures_total"][0].value == 0
        assert "process_resident_memory_bytes" in metrics
        scores = {s.labels["email"]: s.value for s in metrics["codex_auth_account_health_score"]}
        assert len(scores) == 4
        # the report the textfile format writes, same names and labels
        textfile = samples(run_cli(["report", "--format", "prometheus"], validate=False).stdout)
        assert set(textfile) <= set(metrics)
        report = json.loads(serve.get("/report.json"))
        assert schema_errors(report, "report") == []
        assert [a["healthScore"] for a in report["accounts"]] == list(scores.values())
        status, headers, page = serve.request("/")
        assert status == 200 and headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
        assert b"<title>Codex auth report" in page
        forecast = json.loads(serve.get("/forecast.json"))
        assert schema_errors(forecast, "forecast") == []
        assert [a["email"] for a in forecast["accounts"]] == [a["email"] for a in report["accounts"]]
        assert "codex_auth_account_forecast_verdict" in metrics and "codex_auth_forecast_usable_accounts" in metrics
        for path in ("/nope", "/metrics/", "/../etc/passwd", "/report.json.bak"):
            assert serve.request(path)[0] == 404, path
        assert serve.request("/metrics", method="POST")[0] == 405
        status, _, head = serve.request("/metrics", method="HEAD")
        assert status == 200 and head == b""
        assert serve.request("/report.json", headers={"Host": "attacker.example"})[0] == 403, "DNS rebinding"
        assert serve.request("/report.json", headers={"Host": "localhost:1"})[0] == 200
        everything = b"".join(serve.get(p) for p in ("/metrics", "/report.json", "/", "/healthz", "/forecast.json"))
        assert_no_secrets(everything.decode(), fixture_secrets(seed_pool))
        assert serve.stop() == 0
    assert "codex-auth serve: stopped" in serve.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_it_with_exit_0(seed_pool: Path, sig: signal.Signals) -> None:
    with ServeProcess(["--interval", "1"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 1)
        serve.process.send_signal(sig)
        assert serve.process.wait(timeout=10) == 0
        assert "Traceback" not in serve.stderr


def test_before_the_first_good_refresh(pool_dir: Path) -> None:
    # no pool at all: every refresh fails, nothing to serve but the exporter's own metrics
    with ServeProcess(["--interval", "1"]) as serve:
        state = serve.wait_for(lambda h: h["runs"] >= 2)
        assert state["status"] == "starting" and state["consecutiveFailures"] >= 2
        assert serve.request("/healthz")[0] == 503
        assert serve.request("/report.json")[0] == 503 and serve.request("/")[0] == 503
        metrics = samples(serve.get("/metrics"))
        assert metrics["codex_auth_up"][0].value == 0 and "codex_auth_accounts" not in metrics
        assert "refresh failed: no account storage found" in serve.stderr


def test_live_scrapes_never_probe(pool_dir: Path, backend: Any) -> None:
    poolkit.seed_example_pool(pool_dir, now=poolkit.now_ms())
    server = backend(poolkit.seed_example_scenario(pool_dir))
    with ServeProcess(["--live", "--interval", "2"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 1)
        for _ in range(30):
            serve.get("/metrics")
            serve.get("/report.json")
        runs, stats = serve.runs_and_stats(server)
        assert stats["requests"]["usage"] == 4 * runs, "one probe per account per run, none per scrape"
        assert stats["requests"]["refresh"] == runs, "erin, the flagged account, re-checked once per run"
    assert "warning: --interval 2 probes every account every 2s" in serve.stderr


def test_listen_elsewhere_is_said_and_bad_listen_refused(seed_pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.service.exporter

    monkeypatch.setattr(pipeline.service.exporter, "serve", lambda exporter, listen, say, **_: 0)
    result = run_cli(["serve", "--listen", "0.0.0.0:9467"], validate=False)
    assert "codex-auth serve: listening on 0.0.0.0, not a loopback address" in result.stderr
    assert "not a loopback" not in run_cli(["serve", "--listen", "[::1]:9467"], validate=False).stderr
    bad = run_cli(["serve", "--listen", "9467"], expect=2, validate=False)
    assert bad.stderr == "codex-auth serve: --listen: '9467' is not HOST:PORT (e.g. 127.0.0.1:9467)\n"
    assert "--interval: 'soon'" in run_cli(["serve", "--interval", "soon"], expect=2, validate=False).stderr


def test_redact_masks_every_endpoint(seed_pool: Path) -> None:
    with ServeProcess(["--interval", "30", "--redact"]) as serve:
        serve.wait_for(lambda h: h["up"])
        everything = b"".join(
            serve.get(p) for p in ("/metrics", "/report.json", "/", "/healthz", "/forecast.json")
        ).decode()
    for clear in ("alice@example.com", "erin@example.com", "user-abc123", "user-xyz789"):
        assert clear not in everything
    assert 'email="a***@***.com#dd69f66d0a"' in everything


def test_live_snapshots_go_into_the_history_which_the_forecast_reads(
    pool_dir: Path, backend: Any, isolated_home: Path
) -> None:
    from pipeline.history.store import HistoryStore

    poolkit.seed_example_pool(pool_dir, now=poolkit.now_ms())
    server = backend(poolkit.seed_example_scenario(pool_dir))
    history = isolated_home / "history.sqlite3"
    with ServeProcess(["--live", "--interval", "1", "--history", str(history)]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 3)
        runs, _ = serve.runs_and_stats(server)
        forecast = json.loads(serve.get("/forecast.json"))
    with HistoryStore(history, create=False) as store:
        recorded = store.runs(None, None)
    assert len(recorded) == runs, "one history snapshot per live run"
    assert all(run["mode"] == "live" for run in recorded)
    bases = {w["basis"] for a in forecast["accounts"] for w in a["windows"]}
    assert "history" in bases, "after two runs the forecast's pace comes from the history"
    assert oct(history.stat().st_mode & 0o777) == "0o600"


def test_default_snapshots_and_no_history_record_nothing(seed_pool: Path, isolated_home: Path) -> None:
    with ServeProcess(["--interval", "1"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 2)
    assert not (isolated_home / ".local" / "state" / "codex-auth-report").exists()


def test_gzip_when_asked_a_start_line_naming_every_path_and_a_page_that_reloads(seed_pool: Path) -> None:
    with ServeProcess(["--interval", "2"]) as serve:
        serve.wait_for(lambda h: h["up"])
        assert "(/metrics, /report.json, /forecast.json, /, /healthz)" in serve.lines[0]
        status, headers, plain = serve.request("/metrics")
        assert "Content-Encoding" not in headers and headers["Vary"] == "Accept-Encoding"
        status, headers, packed = serve.request("/metrics", headers={"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert int(headers["Content-Length"]) == len(packed) < len(plain)
        unpacked = samples(gzip.decompress(packed))
        assert unpacked["codex_auth_accounts"][0].value == 5
        assert "Content-Encoding" not in serve.request("/metrics", headers={"Accept-Encoding": "gzip;q=0"})[1]
        _, headers, page = serve.request("/", headers={"Accept-Encoding": "br, gzip"})
        page = gzip.decompress(page) if headers.get("Content-Encoding") == "gzip" else page
        assert b'<meta http-equiv="refresh" content="2">' in page, "an open tab follows the snapshots"


def test_no_pool_says_the_refresh_failed_not_that_it_is_running(pool_dir: Path) -> None:
    with ServeProcess(["--interval", "1"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 1)
        status, _, body = serve.request("/")
        assert status == 503
        assert b"has not finished" not in body and b"failed (no account storage found" in body, body
    assert "refresh failed: no account storage found" in serve.stderr
    assert "last good snapshot" not in serve.stderr, "there is none"
    assert "no report to serve yet" in serve.stderr


def test_a_busy_port_is_one_line_with_what_to_do(seed_pool: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = run_cli(["serve", "--listen", f"127.0.0.1:{port}"], expect=1, validate=False)
    assert done.stderr == (
        f"codex-auth serve: cannot listen on 127.0.0.1:{port}: the port is in use by another program: stop it, "
        "or choose another port with --listen HOST:PORT\n"
    )


def test_the_page_says_when_it_is_the_last_good_report(seed_pool: Path) -> None:
    with ServeProcess(["--interval", "1"]) as serve:
        serve.wait_for(lambda h: h["up"])
        assert b'role="alert"' not in serve.get("/")
        for path in seed_pool.iterdir():
            path.unlink()
        serve.wait_for(lambda h: h["consecutiveFailures"] >= 1)
        page = serve.get("/").decode()
    assert 'role="alert"' in page and "failed (no account storage found" in page
    assert "this is the report of 20" in page
