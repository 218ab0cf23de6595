"""Every storage file collect reads, damaged one at a time (a hostile value in one field, a
missing or unknown key, garbage bytes, JSON nested 100,000 deep): ``collect`` and the default
``report`` never show a traceback, exit 0 or 1, say each problem in a line of their own, write
only schema-valid records, show no stored token, and change no byte, mode or mtime of the
user's files."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from testkit import fuzz, poolkit
from testkit.helpers import assert_valid, fixture_secrets, parse_ndjson, run_cli

NOW = poolkit.SEED_NOW
ACCOUNTS = poolkit.ACCOUNTS_FILE


def _seed(folder: Path) -> None:
    poolkit.seed_example_pool(folder)


def _doc(name: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pool"
        _seed(folder)
        if name == "accounts-v1":
            data = json.loads((folder / ACCOUNTS).read_text())
            return poolkit.accounts_v1(data["accounts"])
        if name == "wal":
            return json.loads((folder / ACCOUNTS).read_text())
        if name == "auth.json":
            account = json.loads((folder / ACCOUNTS).read_text())["accounts"][0]
            return {
                "OPENAI_API_KEY": None,
                "tokens": {
                    "id_token": account["accessToken"],
                    "access_token": account["accessToken"],
                    "refresh_token": account["refreshToken"],
                    "account_id": account["accountId"],
                },
                "last_refresh": "2026-03-02T14:30:00.123456789Z",
            }
        return json.loads((folder / FILES[name]).read_text())


FILES = {
    "accounts-v3": ACCOUNTS,
    "accounts-v1": ACCOUNTS,
    "wal": ACCOUNTS + ".wal",
    "bak": ACCOUNTS + ".bak",
    "flagged": poolkit.FLAGGED_FILE,
    "quota-cache": "quota-cache.json",
    "state": "codex-auth-report-state.json",
}
BASE = {name: _doc(name) for name in [*FILES, "auth.json"] if name != "bak"}
BASE["bak"] = BASE["accounts-v3"]


@st.composite
def damaged(draw: st.DrawFn, name: str) -> bytes:
    document = BASE[name]
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        return draw(fuzz.garbage())
    text = draw(fuzz.mutations(document)).apply(document)
    if name == "wal":  # the journal's envelope around the damaged content, with a matching checksum
        envelope = {"version": 1, "createdAt": NOW, "checksum": hashlib.sha256(text.encode()).hexdigest()}
        envelope["content"] = text
        text = json.dumps(envelope)
    return text.encode("utf-8", "surrogatepass")


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = os.stat(path)
            out[str(path.relative_to(folder))] = (path.read_bytes(), info.st_mode, info.st_mtime_ns)
    return out


def _secrets(folder: Path) -> set[str]:
    return {s for s in fixture_secrets(folder) if len(s) >= 16 and not any(c.isspace() for c in s)}


def run_damaged(name: str, content: bytes, prepare: Callable[[Path], Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = prepare(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        os.chmod(target, 0o600)
        before = _snapshot(root)
        secrets = _secrets(root)
        env = {
            "HOME": str(root / "home"),
            "CODEX_HOME": str(root / "codex-home"),
            "CODEX_MULTI_AUTH_DIR": None if name == "auth.json" else str(root / "pool"),
        }
        for args in (["collect", "--now", str(NOW)], ["report", "--now", str(NOW)]):
            result = _run(args, env)
            fuzz.CASES[f"{name} {args[0]}"] += 1
            stage = args[0]
            fuzz.assert_one_line_errors(result.stderr, stage, result.exit_code, lambda code: code in (0, 1))
            if stage == "collect":
                assert_valid(parse_ndjson(result.stdout))
            output = result.stdout.decode("utf-8", "replace") + result.stderr
            for secret in secrets:
                assert secret not in output, f"a stored token reached the output: {secret[:12]}..."
        assert _snapshot(root) == before, "a read-only command changed the user's files"


def _run(args: list[str], env: dict[str, str | None]) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            if value is None:
                patch.delenv(key, raising=False)
            else:
                patch.setenv(key, value)
        return run_cli(args, expect=None, validate=False)


def _in_pool(file_name: str, remove: tuple[str, ...] = ()) -> Callable[[Path], Path]:
    def prepare(root: Path) -> Path:
        _seed(root / "pool")
        for name in remove:
            (root / "pool" / name).unlink()
        return root / "pool" / file_name

    return prepare


def _at(name: str, path: tuple[Any, ...], fragment: str) -> bytes:
    return fuzz.Mutation(path, "replace", fragment).apply(BASE[name]).encode("utf-8", "surrogatepass")


# The cases a hostile test of an earlier version found, kept as fixed examples.
@example(_at("accounts-v3", ("accounts", 0, "email"), '"\\ud800"'))
@example(_at("accounts-v3", ("accounts", 1, "workspaces"), '[{"name": "\\udfff"}]'))
@example(_at("accounts-v3", ("accounts", 0, "lastUsed"), str(10**30)))
@example(_at("accounts-v3", ("accounts", 0, "lastUsed"), "253402300800000"))
@example(_at("accounts-v3", ("accounts", 0, "addedAt"), str(2**63 - 1)))
@example(_at("accounts-v3", ("accounts", 3, "rateLimitResetTimes"), '{"codex": 9223372036854775807}'))
@example(_at("accounts-v3", ("accounts", 0, "expiresAt"), "1e400"))
@example(_at("accounts-v3", ("activeIndex",), str(10**30)))
@example(_at("accounts-v3", ("version",), json.dumps(fuzz.CANARY_RT)))
@example(b'{"version": 3, "accounts": ' + fuzz.deep(100_000).encode() + b"}")
@given(damaged("accounts-v3"))
def test_accounts_v3(content: bytes) -> None:
    run_damaged("accounts-v3", content, _in_pool(ACCOUNTS))


@given(damaged("accounts-v1"))
def test_accounts_v1(content: bytes) -> None:
    run_damaged("accounts-v1", content, _in_pool(ACCOUNTS))


@given(damaged("wal"))
def test_wal(content: bytes) -> None:
    """The journal is read when the accounts file is missing."""
    run_damaged("wal", content, _in_pool(ACCOUNTS + ".wal", remove=(ACCOUNTS,)))


@given(damaged("bak"))
def test_backup(content: bytes) -> None:
    """A backup is read when the accounts file is missing."""
    run_damaged("bak", content, _in_pool(ACCOUNTS + ".bak", remove=(ACCOUNTS,)))


@example(
    _at(
        "flagged",
        ("accounts", 0, "lastError"),
        json.dumps("refresh failed: " + BASE["flagged"]["accounts"][0]["refreshToken"]),
    )
)
@example(_at("flagged", ("accounts", 0, "flaggedReason"), json.dumps(BASE["flagged"]["accounts"][0]["refreshToken"])))
@example(_at("flagged", ("version",), fuzz.deep_object(300)))
@given(damaged("flagged"))
def test_flagged(content: bytes) -> None:
    run_damaged("flagged", content, _in_pool(poolkit.FLAGGED_FILE))


@example(_at("quota-cache", ("byAccountId", "user-abc123", "primary", "resetAtMs"), str(2**63 - 1)))
@example(_at("quota-cache", ("byAccountId", "user-abc123", "primary", "windowMinutes"), str(10**30)))
@example(_at("quota-cache", ("byAccountId", "user-abc123", "updatedAt"), "253402300800000"))
@given(damaged("quota-cache"))
def test_quota_cache(content: bytes) -> None:
    run_damaged("quota-cache", content, _in_pool("quota-cache.json"))


@example(_at("state", ("flagged", "user-xyz789|erin@example.com", "verificationCount"), str(10**30)))
@example(_at("state", ("flagged", "user-xyz789|erin@example.com", "lastVerified"), str(2**63 - 1)))
@given(damaged("state"))
def test_state_file(content: bytes) -> None:
    run_damaged("state", content, _in_pool("codex-auth-report-state.json"))


@example(_at("auth.json", ("last_refresh",), '"0001-01-01T00:00:00Z"'))
@example(_at("auth.json", ("last_refresh",), '"9999-12-31T23:59:59-14:00"'))
@given(damaged("auth.json"))
def test_codex_cli_auth_json(content: bytes) -> None:
    """No pool: Codex CLI's own login is the one-account pool."""
    run_damaged("auth.json", content, lambda root: root / "codex-home" / "auth.json")
