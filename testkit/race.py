"""Race and full-disk drills for live mode's token handling, against the fake backend on
127.0.0.1, with the tool as real processes. Used by ``tests/e2e/test_token_guard.py`` and
``scripts/bench --reliability``.

* :func:`race_drill`: several ``codex-auth report --live`` processes started at once on the
  same login, a Codex CLI ``auth.json`` or a pool with ``CODEX_AUTH_REFRESH_LEASE=0`` (where
  codex-multi-auth's lease does not apply), every access token expiring so that every run
  refreshes. The fake backend counts each refresh token presented: one presented twice is a
  token spent twice (``refresh_token_reused``, a broken account). Afterwards storage must
  hold every account's newest refresh token.
* :func:`disk_drill`: ``report --live`` under a file-size limit (``RLIMIT_FSIZE``, what a
  full disk looks like to a writer), at sizes below the journal's reserved room, below the
  room a new copy of the storage file needs, and above both. No token may be spent that
  cannot be kept: after a run without the limit (``repair``), storage holds every account's
  newest refresh token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit import poolkit
from testkit.fake_backend import FakeBackend

ROOT = Path(__file__).resolve().parents[1]
DAY = poolkit.DAY


@dataclass
class Login:
    """A login (a pool, or a Codex CLI ``auth.json``), its environment and a fake backend."""

    home: Path
    backend: FakeBackend
    kind: str  # pool | codex-cli
    ids: list[str]
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.home / ".codex" / ("multi-auth" if self.kind == "pool" else "")

    @property
    def storage(self) -> Path:
        return self.folder / (poolkit.ACCOUNTS_FILE if self.kind == "pool" else "auth.json")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "XDG_"))}
        env.update(
            HOME=str(self.home),
            CODEX_HOME=str(self.home / ".codex"),
            CODEX_AUTH_BASE_URL=self.backend.base_url,
            CODEX_AUTH_TOKEN_URL=self.backend.token_url,
            CODEX_AUTH_REFRESH_LEASE_WAIT_MS="20000",
            XDG_STATE_HOME=str(self.home / ".state"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            **self.extra_env,
        )
        if self.kind == "pool":
            env["CODEX_MULTI_AUTH_DIR"] = str(self.folder)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pipeline", *args]

    def start(self, *args: str, fsize: int | None = None) -> subprocess.Popen[str]:
        def limit() -> None:  # in the child, before it runs the tool
            import resource

            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        return subprocess.Popen(
            self.command(*args),
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=limit if fsize is not None else None,
        )

    def run(self, *args: str, fsize: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        process = self.start(*args, fsize=fsize)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def stored(self) -> dict[str, str | None]:
        """accountId -> the refresh token storage holds."""
        data = json.loads(self.storage.read_text())
        if self.kind == "codex-cli":
            return {self.ids[0]: data["tokens"]["refresh_token"]}
        found: dict[str, str | None] = {}
        for record in data["accounts"]:
            found.setdefault(record.get("accountId"), record.get("refreshToken"))
        return found

    def lost(self) -> list[str]:
        """Accounts whose newest refresh token (the backend's) storage does not hold."""
        stored = self.stored()
        return [i for i in self.ids if stored.get(i) != self.backend.refresh_token(i)]

    def relogin(self, account_id: str) -> None:
        """What a person does after a lost or broken token: log in again (here: storage takes
        the backend's current token), so the drill goes on."""
        data = json.loads(self.storage.read_text())
        token = self.backend.refresh_token(account_id)
        if self.kind == "codex-cli":
            data["tokens"]["refresh_token"] = token
        else:
            for record in data["accounts"]:
                if record.get("accountId") == account_id:
                    record["refreshToken"] = token
        self.storage.write_text(json.dumps(data, indent=2))


def make_login(
    home: Path, kind: str, *, accounts: int = 3, delay_ms: int = 150, lease: bool = False, pad: int = 0
) -> Login:
    """A login whose access tokens have expired, and a backend that mints access tokens living
    2 minutes (inside the 5-minute margin: every run refreshes every account again), its
    refresh answers taking ``delay_ms``. ``pad``: bytes of extra stored data per account (a
    larger storage file)."""
    now = poolkit.now_ms()
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    extra = {} if lease else {"CODEX_AUTH_REFRESH_LEASE": "0"}
    if kind == "codex-cli":
        path = poolkit.write_auth_json(
            codex_home, email="solo@example.com", account_id="acct-solo", now=now, refreshed=now - 11 * DAY
        )
        token = json.loads(path.read_text())["tokens"]["refresh_token"]
        records = [{"accountId": "acct-solo", "email": "solo@example.com", "refreshToken": token}]
        scenario: dict[str, Any] = {"accounts": records}
        extra = {}
    else:
        names = [f"race{i:02d}" for i in range(accounts)]
        pool = [poolkit.account(n, now, refreshed=now - 11 * DAY, lifetime=10 * DAY) for n in names]
        for record in pool:
            if pad:
                record["notes"] = "x" * pad
        folder = codex_home / "multi-auth"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        poolkit.write_pool(folder, poolkit.accounts_v3(pool))
        scenario = poolkit.backend_scenario(pool)
        records = scenario["accounts"]
    scenario["delayMs"] = delay_ms
    scenario["tokenLifetimeSeconds"] = 120
    backend = FakeBackend(scenario).start()
    return Login(home, backend, kind, [r["accountId"] for r in records], extra)


def _reused(login: Login) -> int:
    return int(login.backend.stats()["refresh"]["reused"])


def _twice(login: Login) -> int:
    """Refresh tokens the backend was shown more than once (each extra showing is a spend)."""
    return sum(n - 1 for n in login.backend.stats()["refreshTokensPresented"].values() if n > 1)


# --- the race drill -------------------------------------------------------------------------


@dataclass
class RaceFigures:
    rounds: int = 0
    runs: int = 0
    refreshes: int = 0  # refresh requests the backend answered
    spent_twice: int = 0  # refresh tokens presented more than once (target 0)
    reused: int = 0  # answers of refresh_token_reused (target 0)
    lost: int = 0  # accounts whose newest token storage lacked after the round (target 0)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"rounds {self.rounds}, runs {self.runs}, refreshes {self.refreshes}; tokens spent twice: "
            f"{self.spent_twice} (refresh_token_reused answers: {self.reused}); tokens lost: {self.lost}; "
            f"problems: {len(self.problems)}"
        )


def race_drill(
    home: Path,
    kind: str,
    *,
    rounds: int,
    processes: int = 3,
    accounts: int = 3,
    delay_ms: int = 150,
    progress: Callable[[int, RaceFigures], None] | None = None,
) -> RaceFigures:
    """``processes`` live runs at once, ``rounds`` times, on one login (see the module docstring)."""
    login = make_login(home, kind, accounts=accounts, delay_ms=delay_ms)
    figures = RaceFigures()
    try:
        for number in range(rounds):
            label = f"{kind} round {number + 1}"
            started = [login.start("report", "--live", "--json") for _ in range(processes)]
            for process in started:
                try:
                    _out, err = process.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    process.kill()
                    _out, err = process.communicate()
                    figures.problems.append(f"{label}: a run did not end within 120 s")
                if process.returncode != 0:
                    figures.problems.append(f"{label}: a run exited {process.returncode}: {err[-300:]}")
            figures.rounds += 1
            figures.runs += processes
            for account_id in login.lost():
                figures.lost += 1
                figures.problems.append(f"{label}: {account_id}: storage lacks the newest token")
                login.relogin(account_id)
            figures.problems.extend(f"{label}: {line}" for line in leftovers(login))
            if progress is not None:
                progress(number + 1, figures)
        stats = login.backend.stats()
        figures.refreshes = int(stats["refresh"]["succeeded"]) + int(stats["refresh"]["failed"])
        figures.spent_twice = _twice(login)
        figures.reused = _reused(login)
    finally:
        login.backend.stop()
    return figures


def leftovers(login: Login) -> list[str]:
    """Lock files of ours, and a lease folder we made, still there after every run ended."""
    found = []
    for folder in (login.folder, login.folder / "refresh-leases"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith(".codex-auth-report") and path.name.endswith(".lock"):
                found.append(f"lock file left: {path.relative_to(login.home)}")
            if path.name.endswith(".tmp"):
                found.append(f"temporary file left: {path.relative_to(login.home)}")
    leases = login.folder / "refresh-leases"
    if leases.is_dir() and not any(leases.iterdir()):
        found.append("empty refresh-leases/ left")
    return found


# --- the full-disk drill ----------------------------------------------------------------------


@dataclass
class DiskCase:
    limit: int | None  # RLIMIT_FSIZE of the run, bytes
    exit: int
    refreshes: int  # refresh requests the run made
    lines: list[str]  # its stderr


@dataclass
class DiskFigures:
    runs: int = 0
    refused: int = 0  # runs that refreshed nothing for want of room
    refreshes: int = 0
    spent_twice: int = 0
    lost: int = 0  # accounts whose newest token storage lacked after the next run (target 0)
    cases: list[DiskCase] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"runs {self.runs} under a file-size limit; refreshed nothing for want of room: {self.refused}; "
            f"refreshes: {self.refreshes}; tokens spent twice: {self.spent_twice}; tokens lost: {self.lost}; "
            f"problems: {len(self.problems)}"
        )


def disk_drill(home: Path, limits: list[int | None], *, accounts: int = 4, pad: int = 3000) -> DiskFigures:
    """One ``report --live`` per limit (None: no limit), each followed by ``repair`` without a
    limit; every account needs a refresh in every run."""
    login = make_login(home, "pool", accounts=accounts, delay_ms=0, pad=pad)
    figures = DiskFigures()
    try:
        for number, limit in enumerate(limits):
            label = f"limit {limit}"
            before = login.backend.stats()["requests"]["refresh"]
            done = login.run("report", "--live", "--json", fsize=limit)
            refreshes = login.backend.stats()["requests"]["refresh"] - before
            figures.runs += 1
            figures.refreshes += refreshes
            figures.cases.append(DiskCase(limit, done.returncode, refreshes, done.stderr.splitlines()))
            if refreshes == 0:
                figures.refused += 1
            if done.returncode not in (0, 1):
                figures.problems.append(f"{label}: exit {done.returncode}: {done.stderr[-300:]}")
            after = login.run("repair")
            if after.returncode != 0:
                figures.problems.append(f"{label}: repair exited {after.returncode}: {after.stderr[-300:]}")
            for account_id in login.lost():
                figures.lost += 1
                figures.problems.append(f"{label} (run {number + 1}): {account_id}: the newest token is lost")
                login.relogin(account_id)
        figures.spent_twice = _twice(login)
    finally:
        login.backend.stop()
    return figures
