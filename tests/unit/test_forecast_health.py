"""A failing forecast in ``serve`` is seen (an earlier version dropped /forecast.json and every
forecast gauge while /healthz and ``codex_auth_up`` stayed fine, so run-out alerts stopped
without a sign): /healthz says ``degraded`` with the reason, ``codex_auth_forecast_up`` is 0
and ``codex_auth_forecast_failures_total`` counts it; the next forecast that works clears it.
The shipped alert rules hold a rule on it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.in_process import HistoryOptions
from pipeline.service import forecast_hook as forecasting
from pipeline.service.exporter import Exporter, _Server
from pipeline.service.forecast_hook import ForecastHook
from pipeline.service.snapshots import Refresher, RefreshLoop
from testkit.helpers import ROOT

RULES = ROOT / "examples" / "prometheus" / "codex-auth-rules.yml"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def samples(body: bytes) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def test_a_failing_forecast_shows_in_healthz_and_a_metric(
    seed_pool: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = forecasting.forecast_view
    broken = {"on": True}

    def forecast_view(*args: Any, **kwargs: Any) -> Any:
        if broken["on"]:
            raise OverflowError("(34, 'Numerical result out of range')")
        return real(*args, **kwargs)

    monkeypatch.setattr(forecasting, "forecast_view", forecast_view)
    said: list[str] = []
    hook = ForecastHook(HistoryOptions(tmp_path / "h.sqlite3"), say=said.append)
    loop = RefreshLoop(Refresher(env={"CODEX_MULTI_AUTH_DIR": str(seed_pool)}), 30.0, hook=hook, say=said.append)
    exporter = Exporter(loop)
    loop.run_once()
    server = _Server(("127.0.0.1", 0), exporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, body = get(url + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "degraded" and health["up"] is True
        assert health["forecast"] == {
            "ok": False,
            "failures": 1,
            "lastError": "OverflowError: (34, 'Numerical result out of range')",
        }
        metrics = samples(get(url + "/metrics")[1])
        assert metrics["codex_auth_up"] == 1
        assert metrics["codex_auth_forecast_up"] == 0 and metrics["codex_auth_forecast_failures_total"] == 1
        assert "codex_auth_run_out_timestamp_seconds" not in metrics
        assert get(url + "/forecast.json")[0] == 404
        assert said == ["snapshot hook failed: OverflowError: (34, 'Numerical result out of range')"]

        broken["on"] = False
        loop.run_once()
        health = json.loads(get(url + "/healthz")[1])
        assert health["status"] == "ok" and health["forecast"] == {"ok": True, "failures": 1, "lastError": None}
        metrics = samples(get(url + "/metrics")[1])
        assert metrics["codex_auth_forecast_up"] == 1 and metrics["codex_auth_forecast_failures_total"] == 1
        assert get(url + "/forecast.json")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_an_alert_rule_covers_a_failing_forecast() -> None:
    text = RULES.read_text()
    block = text[text.index("alert: CodexAuthForecastFailing") :].split("- alert:")[0]
    assert "expr: codex_auth_forecast_up == 0" in block
