"""Pool files written by codex-multi-auth's own code (tests/fixtures/neighbour/README.md): this
tool reads the accounts its loaders read, in their order, and a live refresh writes back a file
that keeps everything it wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from testkit import poolkit
from testkit.helpers import run_cli
from testkit.live_helpers import accounts_of, pool_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "neighbour"
SEEN: dict[str, Any] = json.loads((FIXTURES / "seen.json").read_text())
TOKENS = ("refreshToken", "accessToken", "expiresAt", "idToken", "lastRefresh")


def _copy(pool_dir: Path) -> None:
    pool_dir.mkdir(parents=True, mode=0o700)
    for name in ("openai-codex-accounts.json", "openai-codex-flagged-accounts.json", "quota-cache.json"):
        shutil.copyfile(FIXTURES / name, pool_dir / name)


def test_the_files_are_what_codex_multi_auth_wrote() -> None:
    data = json.loads((FIXTURES / "openai-codex-accounts.json").read_text())
    assert SEEN["codexMultiAuth"] == "2.8.7" and SEEN["health"] == "healthy"
    assert data["version"] == 3 and len(data["accounts"]) == len(SEEN["accounts"]) == 10
    assert all(a["recordId"].startswith("record:") for a in data["accounts"]), "its save adds a recordId"


def test_collect_reads_the_accounts_its_loaders_read(pool_dir: Path) -> None:
    _copy(pool_dir)
    result = run_cli(["collect", "--now", str(SEEN["now"])])
    assert result.stderr == ""
    pool = result.records[0]
    assert pool["warnings"] == [] and pool["storage"]["state"] == "healthy"
    ours = accounts_of(result.records)
    assert [(a["email"], a["accountId"], a["enabled"]) for a in ours] == [
        (a["email"], a["accountId"], a["enabled"]) for a in SEEN["accounts"]
    ]
    flagged = [r for r in result.records if r.get("kind") == "flagged"]
    assert [(f["email"], f["accountId"]) for f in flagged] == [(f["email"], f["accountId"]) for f in SEEN["flagged"]]
    cached = set(SEEN["quota"]["byAccountId"]) | set(SEEN["quota"]["byEmail"])
    from_cache = {a["accountId"] for a in ours if (a.get("quota") or {}).get("source") == "cache"}
    expected = {a["accountId"] for a in ours if a["accountId"] in cached or a["email"] in cached}
    assert from_cache == expected and len(expected) == 7


def test_a_live_refresh_keeps_what_codex_multi_auth_wrote(pool_dir: Path, fake_backend: Any) -> None:
    _copy(pool_dir)
    before = pool_file(pool_dir)
    server = fake_backend(poolkit.backend_scenario(before["accounts"]))
    run_cli(["report", "--live", "--json"], validate=False)
    after = pool_file(pool_dir)
    rotated = [
        new
        for old, new in zip(before["accounts"], after["accounts"], strict=True)
        if new["refreshToken"] != old["refreshToken"]
    ]
    assert rotated and server.stats()["refresh"]["succeeded"] == len(rotated)
    for account in rotated:
        assert account["refreshToken"] == server.refresh_token(account["accountId"])
    for old, new in zip(before["accounts"], after["accounts"], strict=True):
        assert {k: v for k, v in new.items() if k not in TOKENS} == {k: v for k, v in old.items() if k not in TOKENS}
    assert {k: v for k, v in after.items() if k != "accounts"} == {k: v for k, v in before.items() if k != "accounts"}
