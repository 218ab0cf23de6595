"""Canary scan: every token in the pool is a unique canary, the fake backend echoes the token
it is shown in every field it can (401 ``detail`` and ``error.code``, the refresh error's
``error``, ``error_description`` and ``code``, plan and limit names, the credit balance, the
x-codex headers), a flagged account's stored ``lastError`` and ``flaggedReason`` quote its own
refresh token. After every command and every format, with and without ``--redact``, on
stdout and into ``--out`` files, no canary is in any output or in any file we wrote (the
quota cache, the state file), nor in the NDJSON between the stages or on stderr.

Each command runs in its own process, as a user would run it: the secrets registry starts
empty every time, so what holds here holds for the pipe as well as for ``report``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testkit import poolkit
from testkit.helpers import ROOT, fixture_secrets

DAY = poolkit.DAY
FORMATS = ("text", "json", "prometheus", "html", "markdown")


@dataclass
class Scan:
    canaries: set[str] = field(default_factory=set)
    outputs: int = 0
    found: list[str] = field(default_factory=list)

    def check(self, where: str, data: bytes | str) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        self.outputs += 1
        self.found.extend(f"{where}: {canary[:16]}..." for canary in self.canaries if canary in text)


def _pool(folder: Path, now: int) -> dict[str, Any]:
    expired = {"refreshed": now - 20 * DAY, "lifetime": 10 * DAY}
    accounts = [
        poolkit.account("echo-unauthorized", now),
        poolkit.account("echo-usage", now),
        poolkit.account("refresh-flat", now, **expired),
        poolkit.account("refresh-nested", now, **expired),
        poolkit.account("rotates", now, **expired),
        poolkit.account("plain", now),
    ]
    poolkit.write_pool(folder, poolkit.accounts_v3(accounts))
    flaggy = poolkit.flagged("flaggy", now, flagged_at=now - DAY)
    flaggy["lastError"] = f"refresh failed: {flaggy['refreshToken']} (token={flaggy['accessToken']})"
    flaggy["flaggedReason"] = flaggy["refreshToken"]
    poolkit.write_flagged(folder, [flaggy])
    overrides = {
        "acct-echo-unauthorized": {"usage": "echo_secrets", "responses": "echo_secrets"},
        "acct-echo-usage": {"usage": {"mode": "echo_secrets", "status": 200}, "responses": "echo_secrets"},
        "acct-refresh-flat": {"refresh": "echo_secrets"},
        "acct-refresh-nested": {"refresh": {"mode": "echo_secrets", "status": 401}},
        "acct-flaggy": {"refresh": "echo_secrets"},
    }
    return poolkit.backend_scenario([*accounts, flaggy], overrides=overrides)


@pytest.fixture
def hostile(tmp_path: Path, backend: Any) -> Iterator[tuple[Path, Any, dict[str, str]]]:
    now = poolkit.now_ms()
    folder = tmp_path / "pool"
    server = backend(_pool(folder, now))
    env = {
        **os.environ,
        "CODEX_MULTI_AUTH_DIR": str(folder),
        "CODEX_AUTH_BASE_URL": server.base_url,
        "CODEX_AUTH_TOKEN_URL": server.token_url,
        "CODEX_AUTH_FETCH_TIMEOUT_MS": "5000",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "NO_COLOR": "1",
    }
    yield folder, server, env


def run(env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_no_canary_in_any_output_or_file_we_wrote(hostile: tuple[Path, Any, dict[str, str]], tmp_path: Path) -> None:
    folder, server, env = hostile
    scan = Scan(canaries=fixture_secrets(folder))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    results: list[tuple[str, subprocess.CompletedProcess[bytes]]] = []

    def step(name: str, *args: str, stdin: bytes | None = None) -> bytes:
        done = run(env, *args, stdin=stdin)
        results.append((name, done))
        assert done.returncode in (0, 1, 3), f"{name}: exit {done.returncode}\n{done.stderr.decode()}"
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        return done.stdout

    collected = step("collect", "collect")
    probed = step("probe", "probe", stdin=collected)
    probed_responses = step("probe responses", "probe", "--probe-method", "responses", stdin=collected)
    for stream_name, stream in (("usage", probed), ("responses", probed_responses)):
        scored = step(f"score {stream_name}", "score", stdin=stream)
        recommended = step(f"recommend {stream_name}", "recommend", stdin=scored)
        for fmt in FORMATS:
            for redact in ((), ("--redact",)):
                step(f"render {stream_name} {fmt} {redact}", "render", "--format", fmt, *redact, stdin=recommended)
    for number, fmt in enumerate(FORMATS):
        for redact in ((), ("--redact",)):
            # Every format and --redact both ways, live by each probe method, on stdout and in --out.
            method = ("usage", "responses")[(number + len(redact)) % 2]
            live = ("--live", "--probe-method", method)
            step(f"report {method} {fmt} {redact}", "report", *live, "--format", fmt, *redact)
            target = out_dir / f"{method}-{fmt}-{len(redact)}.out"
            step(f"report --out {target.name}", "report", *live, "--format", fmt, *redact, "--out", str(target))
        step(f"report default {fmt}", "report", "--format", fmt)

    # The canaries: every token stored before, every token the backend minted or was given,
    # every token in storage now (the rotated ones).
    scan.canaries |= server.issued_tokens() | fixture_secrets(folder)
    scan.canaries = {c for c in scan.canaries if len(c) >= 16}
    assert len(scan.canaries) >= 14, "the pool and the backend hold at least this many tokens"
    for name, done in results:
        scan.check(f"{name} stdout", done.stdout)
        scan.check(f"{name} stderr", done.stderr)
    for path in sorted(out_dir.iterdir()):
        scan.check(str(path.name), path.read_bytes())
    written = [folder / "quota-cache.json", folder / "codex-auth-report-state.json"]
    for path in written:
        assert path.is_file(), f"{path.name} was not written: the scan would prove nothing"
        scan.check(path.name, path.read_bytes())
    print(f"\ncanary scan: {scan.outputs} outputs scanned, {len(scan.canaries)} canaries, {len(scan.found)} found")
    assert scan.found == [], "\n".join(scan.found[:20])

    # The scan could fail: the echoing accounts did answer with the tokens.
    stats = server.stats()
    assert stats["refresh"]["succeeded"] >= 1, "one account rotated its tokens"
    assert b'"errorCode":"http_401"' in probed and b'"errorCode":"http_400"' in probed, (
        "the echoed codes were replaced by generic ones"
    )
