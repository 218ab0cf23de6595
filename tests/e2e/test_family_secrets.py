"""Header families are upstream text (issue 16, point 4), end to end: a Responses answer whose
header family is the account's own refresh token (``x-codex-<token>-primary-used-percent``,
picked by ``x-codex-active-limit``), sent as it is or with ``-`` and ``_`` swapped, leaves no
trace of the token, nor of a swapped copy, in ``probe`` output, ``forecast --live --json``, the
history database or what ``codex auth history`` prints."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.live import endpoints
from testkit import poolkit
from testkit.helpers import run_cli

# Short lower-case words joined by "-": the shape of a header family (and of some tokens).
TOKEN = "rt-a1b2c3d4e5f6g7h8-i9j8k7l6m5n4o3p2-q1r2s3t4u5v6w7x8"


def variants() -> list[str]:
    return [TOKEN, TOKEN.replace("-", "_")]


def hostile(family: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {
            "x-codex-primary-used-percent": "20",
            "x-codex-primary-window-minutes": "300",
            "x-codex-plan-type": "plus",
            f"x-codex-{family}-primary-used-percent": "55",
            f"x-codex-{family}-primary-window-minutes": "300",
            f"x-codex-{family}-limit-name": "Spark",
            "x-codex-active-limit": family,
        }
        if request.url.path.endswith("/codex/responses"):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream", **headers}, content=b"data: {}\n\n"
            )
        return httpx.Response(200, headers=headers, json={"plan_type": "plus", "rate_limit": None})

    return handler


@pytest.mark.parametrize("family", variants(), ids=["as-sent", "swapped"])
def test_a_token_named_header_family_reaches_no_output_and_no_history(
    family: str, pool_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = poolkit.now_ms()
    account = poolkit.account("fam", t)
    account["refreshToken"] = TOKEN
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    monkeypatch.setenv("CODEX_AUTH_BASE_URL", "http://127.0.0.1:9/backend-api")
    monkeypatch.setenv("CODEX_AUTH_TOKEN_URL", "http://127.0.0.1:9/oauth/token")
    transport = httpx.MockTransport(hostile(family))
    monkeypatch.setattr(endpoints, "make_client", functools.partial(endpoints.make_client, transport=transport))
    history = tmp_path / "history.sqlite3"

    probed = run_cli(["probe", "--probe-method", "responses"], input=run_cli(["collect"]).stdout)
    forecast = run_cli(
        ["forecast", "--live", "--json", "--probe-method", "responses", "--history", str(history)], validate=False
    )
    printed = run_cli(["history", "--history", str(history), "--format", "json"], validate=False)
    outputs = {
        "probe": probed.stdout,
        "forecast --live --json": forecast.stdout,
        "history": printed.stdout,
        "stderr": (probed.stderr + forecast.stderr + printed.stderr).encode(),
    }
    outputs |= {f"history file {p.name}": p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("history")}
    assert json.loads(forecast.stdout)["accounts"], "the forecast ran"
    for where, data in outputs.items():
        for copy in variants():
            assert copy.encode() not in data, f"{copy[:12]}... reached {where}"
    (record,) = [r for r in probed.records if r["kind"] == "account"]
    assert record["probe"]["outcome"] == "ok" and record["quota"]["windows"], "the honest family still reads"
    assert record["quota"]["additionalLimits"] == [], "the token-named family is dropped"
