"""A real Prometheus scrapes `codex auth serve --live` (against the fake backend, everything on
127.0.0.1): the values arrive, scrapes cause no probe, and the shipped alert rules, loaded by
the same server, fire for a broken account. Also: the rules pass `promtool check rules`, and
every metric the rules and the Grafana dashboard use is one the exporter exposes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit import poolkit
from testkit.helpers import ROOT, system_tool
from testkit.serving import ServeProcess

EXAMPLES = ROOT / "examples" / "prometheus"
RULES = EXAMPLES / "codex-auth-rules.yml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    def __init__(self, folder: Path, target: str, rules: Path) -> None:
        executable = system_tool("prometheus", "prometheus")
        self.port = free_port()
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {rules}\n"
            "scrape_configs:\n  - job_name: codex-auth\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = (folder / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                executable,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=expr)["result"])

    def wait(self, what: str, check: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "prometheus exited"
            try:
                last = check()
            except OSError:  # not listening yet
                last = None
            if last:
                return last
            time.sleep(0.25)
        raise AssertionError(f"Prometheus: gave up waiting for {what}; last: {last}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def immediate_rules(tmp_path: Path) -> Path:
    """The shipped rules with every `for:` set to 0s, so an alert fires at its first evaluation."""
    path = tmp_path / "rules.yml"
    path.write_text(re.sub(r"for: \S+", "for: 0s", RULES.read_text()))
    return path


@pytest.fixture
def broken_pool(pool_dir: Path, backend: Any) -> Iterator[Any]:
    """The seed example pool, live, with carol's tokens refused (her status turns to error)."""
    poolkit.seed_example_pool(pool_dir, now=poolkit.now_ms())
    scenario = poolkit.seed_example_scenario(pool_dir)
    for account in scenario["accounts"]:
        if account["accountId"] == "user-ghi789":
            account.update({"usage": "token_invalidated", "refresh": "invalid_grant"})
    yield backend(scenario)


def test_a_real_prometheus_scrapes_the_exporter(tmp_path: Path, broken_pool: Any, immediate_rules: Path) -> None:
    # --no-history: each forecast rests on the snapshot alone (a history of a few seconds of
    # unchanging figures would say "no pace" and nothing would run out)
    # a long interval: on a loaded machine scrapes (every second) must still outnumber the runs
    with ServeProcess(["--live", "--interval", "20", "--no-history"]) as serve:
        serve.wait_for(lambda h: h["runs"] >= 1)
        prometheus = Prometheus(tmp_path, f"127.0.0.1:{serve.port}", immediate_rules)
        try:
            prometheus.wait("codex_auth_accounts", lambda: prometheus.query("codex_auth_accounts"))
            prometheus.wait("a few scrapes", lambda: _scrapes(prometheus) >= 4)
            accounts = prometheus.query("codex_auth_accounts")
            assert [float(r["value"][1]) for r in accounts] == [5.0]
            assert accounts[0]["metric"]["job"] == "codex-auth"
            scores = {
                r["metric"]["email"]: float(r["value"][1]) for r in prometheus.query("codex_auth_account_health_score")
            }
            report = json.loads(serve.get("/report.json"))
            assert scores == {a["email"]: a["healthScore"] for a in report["accounts"]}
            assert scores == {
                "alice@example.com": 100,
                "bob@example.com": 85,
                "carol@example.com": 0,
                "dave@example.com": 40,
            }
            assert float(prometheus.query("codex_auth_up")[0]["value"][1]) == 1
            # the broken account's alert fires, with its labels
            firing = prometheus.wait(
                "CodexAuthAccountBroken",
                lambda: [
                    a
                    for a in prometheus.api("alerts")["alerts"]
                    if a["labels"]["alertname"] == "CodexAuthAccountBroken" and a["state"] == "firing"
                ],
            )
            assert [a["labels"]["email"] for a in firing] == ["carol@example.com"]
            # bob used 55% of his 5h window in its first hour (carol, by her cached figures, 88%):
            # at that pace it is empty within the hour, hours before it resets
            running_out = prometheus.wait(
                "CodexAuthQuotaRunsOutWithinHour",
                lambda: [
                    a
                    for a in prometheus.api("alerts")["alerts"]
                    if a["labels"]["alertname"] == "CodexAuthQuotaRunsOutWithinHour" and a["state"] == "firing"
                ],
            )
            assert {(a["labels"]["email"], a["labels"]["window"]) for a in running_out} == {
                ("bob@example.com", "5h"),
                ("carol@example.com", "5h"),
            }
            names = {a["labels"]["alertname"] for a in prometheus.api("alerts")["alerts"]}
            assert "CodexAuthExporterDown" not in names and "CodexAuthRefreshFailing" not in names
            scrapes = _scrapes(prometheus)
            runs, stats = serve.runs_and_stats(broken_pool)
        finally:
            prometheus.stop()
        # scrapes never probe: every usage request belongs to a run of the loop (alice, bob,
        # carol, dave: four per run; carol's 401 ends in a refused refresh, not a second call)
        assert stats["requests"]["usage"] == 4 * runs
        assert scrapes > runs, "more scrapes than runs, and still one probe per account per run"
        assert serve.stop() == 0


def _scrapes(prometheus: Prometheus) -> int:
    result = prometheus.query('count_over_time(up{job="codex-auth"}[10m])')
    return int(float(result[0]["value"][1])) if result else 0


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    promtool = system_tool("promtool", "prometheus")
    rules = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 7 rules found" in rules.stdout
    config = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(EXAMPLES / "prometheus.yml")],
        capture_output=True,
        text=True,
        cwd=EXAMPLES,
    )
    assert config.returncode == 0, config.stdout + config.stderr


def exposed_names(seed_pool: Path) -> set[str]:
    """Every sample name the exporter serves for the seed pool (report, forecast, own metrics)."""
    from pipeline.context import RunContext
    from pipeline.in_process import HistoryOptions, report_view
    from pipeline.service.exporter import OwnMetrics, render_snapshot
    from pipeline.service.forecast_hook import ForecastHook
    from pipeline.service.snapshots import LoopState, Snapshot

    view = report_view(env={"CODEX_MULTI_AUTH_DIR": str(seed_pool)}, context=RunContext(poolkit.SEED_NOW)).view
    extras = ForecastHook(HistoryOptions(None))(view, False)
    own = OwnMetrics()
    own.update(LoopState(runs=1, last_success=1.0, last_duration=0.1))
    text = render_snapshot(Snapshot(view, 1.0, 0.1, False, extras), False).metrics + own.text()
    return {s.name for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def test_rules_and_dashboard_use_only_metrics_that_exist(seed_pool: Path) -> None:
    names = exposed_names(seed_pool)
    dashboard = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    used = {n for e in [*exprs, RULES.read_text()] for n in re.findall(r"\bcodex_auth_[a-z0-9_]+", e)}
    assert used, "the expressions name our metrics"
    assert used <= names, f"not exposed: {sorted(used - names)}"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["type"] == "prometheus" and panel["gridPos"]["w"] > 0


def test_the_systemd_unit_is_hardened() -> None:
    unit = (EXAMPLES / "codex-auth-serve.service").read_text()
    for line in ("NoNewPrivileges=true", "ProtectSystem=strict", "PrivateTmp=true", "UMask=0077"):
        assert f"\n{line}\n" in unit
    assert re.search(r"^ExecStart=\S+ serve --live", unit, re.M)
    # a fresh install has no history folder: systemd makes it (a ReadWritePaths= of a missing
    # folder is skipped, and the read-only home refuses to create it), and the history is there
    assert "\nStateDirectory=codex-auth-report\n" in unit and "\nStateDirectoryMode=0700\n" in unit
    assert "\nEnvironment=CODEX_AUTH_HISTORY=%S/codex-auth-report/history.sqlite3\n" in unit
    assert "ReadWritePaths=-" not in unit, "no path that is skipped when it does not exist"
