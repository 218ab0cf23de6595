"""Helpers the live tests share: run the probe stage, read and write pool files, make accounts
whose access token has expired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testkit import poolkit
from testkit.helpers import Result, run_cli
from testkit.poolkit import DAY


def now() -> int:
    return poolkit.now_ms()


def accounts_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "account"]


def probe(*args: str, expect: int = 0) -> Result:
    """``codex-auth collect | codex-auth probe ARGS``, in-process."""
    collected = run_cli(["collect"]).stdout
    return run_cli(["probe", *args], input=collected, expect=expect)


def pool_file(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "openai-codex-accounts.json").read_text())
    return data


def write_accounts(folder: Path, accounts: list[dict[str, Any]], **extra: Any) -> None:
    poolkit.write_pool(folder, poolkit.accounts_v3(accounts, **extra))


def expired(name: str, t: int, **extra: Any) -> dict[str, Any]:
    """A pool account whose access token expired a day ago (refreshed 11 days ago, 10-day lifetime)."""
    return poolkit.account(name, t, refreshed=t - 11 * DAY, lifetime=10 * DAY, **extra)
