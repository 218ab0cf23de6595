"""``serve`` over a history holding rows of the wrong type or range (a ``reset_at`` of text, a
``used_percent`` of 1e308): an earlier version's forecast crashed on them and the exporter then
dropped /forecast.json and every forecast gauge while /healthz and ``codex_auth_up`` stayed
fine. Now the rows are skipped and said on stderr, the forecast is served, and /healthz says
the forecast works. A real process on 127.0.0.1 over real files."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from testkit import poolkit
from testkit.helpers import run_cli
from testkit.serving import ServeProcess

HOUR = 3_600_000


def test_bad_history_rows_leave_the_forecast_served(pool_dir: Path, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    history = tmp_path / "h.sqlite3"
    for hours in (3, 2, 1):
        poolkit.seed_example_pool(pool_dir, now=now - hours * HOUR)
        run_cli(["report", "--record", "--history", str(history), "--now", str(now - hours * HOUR)], validate=False)
    poolkit.seed_example_pool(pool_dir, now=now)
    with sqlite3.connect(history) as db:
        assert db.execute("UPDATE windows SET reset_at = 'soon' WHERE window_key = 'codex/300'").rowcount > 0
        assert db.execute("UPDATE windows SET used_percent = 1e308 WHERE window_key = 'codex/10080'").rowcount > 0
    with ServeProcess(["--interval", "1", "--history", str(history)]) as serve:
        state = serve.wait_for(lambda h: h["runs"] >= 2)
        assert state["status"] == "ok" and state["forecast"]["ok"] is True, state
        status, _, body = serve.request("/forecast.json")
        assert status == 200 and json.loads(body)["accounts"]
        metrics = {
            s.name: s.value
            for f in text_string_to_metric_families(serve.request("/metrics")[2].decode())
            for s in f.samples
        }
        assert metrics["codex_auth_forecast_up"] == 1 and metrics["codex_auth_forecast_failures_total"] == 0
    assert "Traceback" not in serve.stderr and "snapshot hook failed" not in serve.stderr
    skipped = [line for line in serve.stderr.splitlines() if "skipped" in line]
    assert skipped and all("wrong type or out of range" in line for line in skipped), serve.stderr
