"""Helpers the tests share: run the CLI in-process, check records against their schemas,
scan outputs for fixture tokens, find system tools, snapshot folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.schema import schema_errors
from testkit import poolkit

if TYPE_CHECKING:
    from pipeline.history.samples import Observation

ROOT = Path(__file__).resolve().parent.parent


def assert_valid(records: Sequence[dict[str, Any]]) -> None:
    for number, record in enumerate(records, start=1):
        kind = record.get("kind")
        assert kind in ("pool", "account", "flagged", "recommendation"), f"record {number}: bad kind {kind!r}"
        problems = schema_errors(record, kind)
        assert not problems, f"record {number} ({kind}) fails its schema: {problems[:3]}"


def pool_record(accounts: int, flagged: int = 0, now: int = poolkit.SEED_NOW) -> dict[str, Any]:
    """A minimal valid ``pool`` record (the first line of every stream) for hand-made streams."""
    return {
        "kind": "pool",
        "schemaVersion": 1,
        "collectedAt": now,
        "source": "codex-multi-auth",
        "dir": "/pool",
        "storage": {"path": "/pool/openai-codex-accounts.json", "state": "healthy", "format": "accounts-v3"},
        "currentIndex": 0 if accounts else None,
        "accountCount": accounts,
        "flaggedCount": flagged,
        "warnings": [],
    }


def parse_ndjson(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


@dataclass
class Result:
    exit_code: int
    stdout: bytes
    stderr: str
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.stdout.decode()


def run_cli(
    args: Sequence[str], *, input: bytes | str | None = None, expect: int | None = 0, validate: bool = True
) -> Result:
    """Run ``codex-auth ARGS`` in-process. Fails with stderr shown when the exit code is not
    ``expect``; parses NDJSON stdout into ``records`` and validates each against its schema."""
    runner = CliRunner()
    outcome = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    result = Result(outcome.exit_code, outcome.stdout_bytes, outcome.stderr)
    if expect is not None:
        assert outcome.exit_code == expect, f"exit {outcome.exit_code} (wanted {expect})\nstderr:\n{outcome.stderr}"
    if validate:
        try:
            result.records = parse_ndjson(outcome.stdout_bytes)
        except orjson.JSONDecodeError:
            result.records = []
        else:
            assert_valid(result.records)
    return result


def observed(at: int, person: str, *windows: tuple[str, float | None, int | None], **fields: Any) -> Observation:
    """A history observation of ``person`` (``acct-PERSON``, ``PERSON@example.com``): live,
    healthy and on plus unless ``fields`` say otherwise; each window (5h or 7d, its used
    percent, its reset time)."""
    from pipeline.history.samples import Observation, WindowRow

    values: dict[str, Any] = {
        "sampled_at": at,
        "account_key": f"acct-{person}|{person}@example.com",
        "idx": 0,
        "account_id": f"acct-{person}",
        "email": f"{person}@example.com",
        "enabled": True,
        "status": "healthy",
        "health_score": 80,
        "plan": "plus",
        "probe_outcome": "ok",
        "probe_error": None,
        "quota_source": "live",
        "credits_balance": None,
        "has_credits": None,
        "reset_credits": None,
        "limit_reached": None,
        "windows": tuple(
            WindowRow("primary" if name == "5h" else "secondary", name, "codex", 300 if name == "5h" else 10080, u, r)
            for name, u, r in windows
        ),
    }
    return Observation(**(values | fields))


def json_strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, with the key it stands under (a list's items: the list's)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v, key)
    elif isinstance(value, str):
        yield key, value


def fixture_secrets(*folders: Path) -> set[str]:
    """Every token-like string stored in the fixture files under the folders."""
    secrets: set[str] = set()

    def walk(value: Any) -> None:
        for key, text in json_strings(value):
            if key == "content":
                try:
                    walk(orjson.loads(text))
                except orjson.JSONDecodeError:
                    pass
            elif "token" in key.lower() and len(text) >= 8:
                secrets.add(text)
                secrets.update(part for part in text.split(".") if len(part) >= 16)

    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                try:
                    walk(orjson.loads(path.read_bytes()))
                except (orjson.JSONDecodeError, UnicodeDecodeError):
                    continue
    return secrets


def assert_no_secrets(text: str, secrets: set[str]) -> None:
    for marker in poolkit.FAKE_MARKERS:
        assert marker not in text, f"fixture token marker {marker!r} leaked into output"
    for secret in secrets:
        assert secret not in text, f"a fixture token leaked into output: {secret[:12]}..."


def system_tool(name: str, package: str) -> str:
    """The path of a system tool a test needs. When it is missing the test is skipped and
    says why, except in CI (CODEX_AUTH_REQUIRE_TOOLS is set), where that is a failure."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CODEX_AUTH_REQUIRE_TOOLS"):
        pytest.fail(
            f"{name} is required (CODEX_AUTH_REQUIRE_TOOLS is set) but not installed: apt-get install {package}"
        )
    pytest.skip(f"{name} is not installed (apt-get install {package}; .ci/run installs it)")


def iter_files(folder: Path) -> Iterator[Path]:
    yield from (p for p in sorted(folder.rglob("*")) if p.is_file())


def snapshot_tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Contents and modes of every file, to prove a command changed nothing."""
    return {str(p.relative_to(folder)): (p.read_bytes(), os.stat(p).st_mode) for p in iter_files(folder)}


def stop_with(process: subprocess.Popen[bytes], sig: int, timeout: float = 30) -> tuple[bytes, bytes]:
    """Send ``sig`` to ``process`` and wait for it: its stdout and stderr (the rest of them).
    A process that does not end in ``timeout`` seconds is killed, and the wait fails."""
    try:
        process.send_signal(sig)
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return out or b"", err or b""


def watch_in_terminal(rows: int, columns: int, *args: str, env: Mapping[str, str] | None = None) -> tuple[Any, int]:
    """``codex-auth watch --interval 1 ARGS`` in a pseudo-terminal of ``rows`` x ``columns``
    (stdin, stdout and stderr; ``env``, or this process's environment); returns the process
    and the terminal's master side."""
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "watch", "--interval", "1", *args],
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=None if env is None else dict(env),
        start_new_session=True,
    )
    os.close(slave)
    return process, master
