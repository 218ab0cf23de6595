"""Crash and concurrent-writer drills for live mode's token handling, against the fake
backend on 127.0.0.1, with the tool as a real process. Used by ``tests/e2e/test_crash.py``
and ``scripts/bench --reliability``.

* :func:`kill_drill`: ``codex-auth report --live`` over a pool whose accounts all need a
  refresh, killed with SIGKILL at seeded random moments spread over the run; after each kill
  the next run (``repair``, or every sixth time a whole ``report --live``) must leave every
  rotated token the backend finished sending in storage, the files valid, and no lock or
  temporary file behind.
* :func:`writer_drill`: while ``report --live`` refreshes the pool, another process saves the
  accounts file the way codex-multi-auth does (read, change ``lastUsed``, add an account,
  temporary file + rename, no lock) in a loop; no account it added may go missing, and after
  the next run every rotated token must be in storage.

A rotated token is *sent* when the fake backend finished writing its answer to the socket
(``refreshTokensSent`` in its stats). Between that instant and the tool's fsync of the
journal there is a window no program can close (the answer must be read from the socket,
then written to the disk): measured at up to ~50 ms on a loaded 2-core machine. A kill less
than ``margin_ms`` (100) after the sending is counted apart (``in_flight``, with its gap),
not as lost; a token sent earlier and missing afterwards is lost.

    python -m testkit.crash writer --file ACCOUNTS.json --log ADDED.txt --stop STOPFILE [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testkit import poolkit
from testkit.fake_backend import FakeBackend, token_hash

ROOT = Path(__file__).resolve().parents[1]
MINUTE = poolkit.MINUTE
DAY = poolkit.DAY
_RESTORED = re.compile(r"restored (\d+) rotated token")


@dataclass
class Drill:
    """A pool folder, its environment and a fake backend serving it."""

    home: Path
    backend: FakeBackend
    names: list[str]
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def pool(self) -> Path:
        return self.home / ".codex" / "multi-auth"

    @property
    def accounts_file(self) -> Path:
        return self.pool / poolkit.ACCOUNTS_FILE

    @property
    def lease_dir(self) -> Path:
        return self.pool / "refresh-leases"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "XDG_"))}
        env.update(
            HOME=str(self.home),
            CODEX_HOME=str(self.home / ".codex"),
            CODEX_MULTI_AUTH_DIR=str(self.pool),
            CODEX_AUTH_BASE_URL=self.backend.base_url,
            CODEX_AUTH_TOKEN_URL=self.backend.token_url,
            # a lock that blocked would show as a refresh failure quickly instead of a 35 s wait
            CODEX_AUTH_REFRESH_LEASE_WAIT_MS="3000",
            XDG_STATE_HOME=str(self.home / ".state"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            **self.extra_env,
        )
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pipeline", *args]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def stored(self) -> dict[str, str]:
        """accountId -> stored refresh token (the first record of each id)."""
        data = json.loads(self.accounts_file.read_text())
        found: dict[str, str] = {}
        for record in data["accounts"]:
            found.setdefault(record.get("accountId"), record.get("refreshToken"))
        return found

    def relogin(self, account_id: str) -> None:
        """What a person does after a lost token: log in again (here: take the backend's token)."""
        data = json.loads(self.accounts_file.read_text())
        token = self.backend.refresh_token(account_id)
        for record in data["accounts"]:
            if record.get("accountId") == account_id:
                record["refreshToken"] = token
        poolkit.write_pool(self.pool, data)


def make_drill(home: Path, accounts: int, *, spread_ms: int, usage_delay_ms: int = 20) -> Drill:
    """A pool of ``accounts`` accounts whose access tokens have expired, and a backend that
    mints access tokens living 2 minutes (so every run refreshes every account again), its
    refresh answers spread over ``spread_ms``."""
    now = poolkit.now_ms()
    names = [f"crash{i:02d}" for i in range(accounts)]
    pool = [poolkit.account(n, now, refreshed=now - 11 * DAY, lifetime=10 * DAY) for n in names]
    drill_home = home
    folder = drill_home / ".codex" / "multi-auth"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    poolkit.write_pool(folder, poolkit.accounts_v3(pool))
    overrides = {
        f"acct-{n}": {
            "refresh": {"mode": "ok", "delayMs": (spread_ms * i) // max(1, accounts - 1)},
            "usage": {"mode": "ok", "delayMs": usage_delay_ms},
        }
        for i, n in enumerate(names)
    }
    scenario = poolkit.backend_scenario(pool, overrides=overrides)
    scenario["tokenLifetimeSeconds"] = 120
    backend = FakeBackend(scenario).start()
    return Drill(drill_home, backend, names)


# --- the kill drill ---------------------------------------------------------------------


@dataclass
class KillFigures:
    kills: int = 0
    finished_before_kill: int = 0  # runs that ended before their kill came
    sent: int = 0  # rotated tokens whose answer the backend finished sending before a kill
    lost: int = 0  # of those, not in storage after the next run (target 0)
    lost_details: list[str] = field(default_factory=list)
    in_flight: int = 0  # sent less than margin_ms before the kill and never received
    in_flight_gaps: list[int] = field(default_factory=list)  # their ms between sending and the kill
    never_sent: int = 0  # rotated by the backend, answer not written out before the kill
    restored: int = 0  # tokens the next run restored from the journal
    recoveries: dict[str, int] = field(default_factory=lambda: {"repair": 0, "live": 0})
    problems: list[str] = field(default_factory=list)  # leftovers, invalid files, failed runs
    reused: int = 0  # refresh_token_reused answers of the backend: a token spent twice (target 0)
    run_ms: float = 0.0  # median length of a whole run, measured first
    first_answer_ms: float = 0.0  # when, in a run, the kills start (just before the first answer)

    def summary(self) -> str:
        return (
            f"kills {self.kills} (runs finished before their kill: {self.finished_before_kill}); "
            f"tokens the backend finished sending before a kill: {self.sent}; lost: {self.lost}; "
            f"in flight at the kill (never received): {self.in_flight}; rotated but never sent: {self.never_sent}; "
            f"restored from the journal: {self.restored}; recoveries: {self.recoveries['repair']} repair, "
            f"{self.recoveries['live']} live; tokens spent twice: {self.reused}; problems: {len(self.problems)}"
        )


def _journal_refresh_tokens(folder: Path) -> set[str]:
    from pipeline.live.journal import Journal

    return {entry.refresh for entry in Journal(folder).read().entries}


def _check_leftovers(drill: Drill, figures: KillFigures, label: str) -> None:
    for folder in (drill.pool, drill.lease_dir):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.endswith(".tmp"):
                figures.problems.append(f"{label}: temporary file left: {path.name}")
            if path.parent == drill.lease_dir and re.fullmatch(r"[0-9a-f]{64}\.lock", path.name):
                figures.problems.append(f"{label}: lease lock left: {path.name}")
            if path.name.startswith(".codex-auth-report") and path.name.endswith(".lock"):
                figures.problems.append(f"{label}: lock file of ours left: {path.name}")
    try:
        data = json.loads(drill.accounts_file.read_text())
        if data.get("version") != 3 or not isinstance(data.get("accounts"), list):
            figures.problems.append(f"{label}: accounts file not in the V3 format")
    except (OSError, ValueError) as exc:
        figures.problems.append(f"{label}: accounts file invalid: {exc}")
    for path in [*drill.lease_dir.glob("*.json"), *drill.pool.glob("*.json")]:
        try:
            json.loads(path.read_text())
        except (OSError, ValueError):
            figures.problems.append(f"{label}: {path.name} is not valid JSON")
    from pipeline.live.journal import Journal

    if Journal(drill.pool).read().damaged:
        figures.problems.append(f"{label}: damaged journal lines left after the recovery")


def kill_drill(
    home: Path,
    kills: int,
    *,
    seed: int = 20261130,
    accounts: int = 20,
    spread_ms: int = 150,
    margin_ms: int = 100,
    live_every: int = 6,
    progress: Callable[[int, KillFigures], None] | None = None,
    lease: bool = True,
) -> KillFigures:
    """``lease`` False: with codex-multi-auth's lease off (``CODEX_AUTH_REFRESH_LEASE=0``), so
    only our own lock guards each refresh."""
    rng = random.Random(seed)
    drill = make_drill(home, accounts, spread_ms=spread_ms)
    if not lease:
        drill.extra_env["CODEX_AUTH_REFRESH_LEASE"] = "0"
    figures = KillFigures()
    try:
        # how long a whole run takes here and now, and when its first answer comes, so that
        # the kills spread over the part of the run that handles tokens
        lengths, firsts = [], []
        for _ in range(2):
            before = set(drill.backend.stats()["refreshTokensSent"])
            started = time.time() * 1000
            done = drill.run("report", "--live", "--json")
            lengths.append(time.time() * 1000 - started)
            sent = [at for h, at in drill.backend.stats()["refreshTokensSent"].items() if h not in before]
            firsts.append((min(sent) - started) if sent else 0.0)
            if done.returncode != 0:
                figures.problems.append(f"calibration run exited {done.returncode}: {done.stderr[-300:]}")
        figures.run_ms = statistics.median(lengths)
        figures.first_answer_ms = max(0.0, min(firsts) - 100)
        for number in range(kills):
            _one_kill(drill, figures, rng, number, margin_ms, live_every)
            if progress is not None:
                progress(number + 1, figures)
        figures.reused = int(drill.backend.stats()["refresh"]["reused"])
    finally:
        drill.backend.stop()
    return figures


def _one_kill(
    drill: Drill, figures: KillFigures, rng: random.Random, number: int, margin_ms: int, live_every: int
) -> None:
    label = f"kill {number + 1}"
    before = set(drill.backend.stats()["refreshTokensSent"])
    delay = rng.uniform(figures.first_answer_ms, figures.run_ms) / 1000
    process = subprocess.Popen(
        drill.command("report", "--live", "--json"),
        cwd=ROOT,
        env=drill.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=delay)
        figures.finished_before_kill += 1
        killed_at = time.time() * 1000
    except subprocess.TimeoutExpired:
        killed_at = time.time() * 1000
        process.send_signal(signal.SIGKILL)
        process.wait()
    figures.kills += 1
    # Requests the killed run had sent are still served (the server does not know the client
    # is gone): wait until the backend has answered them all, as a real server would.
    deadline = time.monotonic() + 30
    while drill.backend.stats()["inFlight"] and time.monotonic() < deadline:
        time.sleep(0.01)
    sent_map = drill.backend.stats()["refreshTokensSent"]
    figures.sent += sum(1 for h, at in sent_map.items() if h not in before and at <= killed_at)
    journal = _journal_refresh_tokens(drill.pool)
    stored = drill.stored()
    must_have: dict[str, str] = {}  # accountId -> token storage must hold after the recovery
    for name in drill.names:
        account_id = f"acct-{name}"
        valid = drill.backend.refresh_token(account_id)
        assert valid is not None
        digest = token_hash(valid)
        if stored.get(account_id) == valid or valid in journal:
            must_have[account_id] = valid
            continue
        sent_at = sent_map.get(digest)
        if sent_at is None:
            figures.never_sent += 1
        elif killed_at - sent_at < margin_ms:
            figures.in_flight += 1
            figures.in_flight_gaps.append(round(killed_at - sent_at))
        else:
            figures.lost += 1
            figures.lost_details.append(f"{label}: {account_id}: sent {killed_at - sent_at:.0f} ms before the kill")
        drill.relogin(account_id)  # so the drill can go on
        must_have[account_id] = valid
    live = number % live_every == live_every - 1
    figures.recoveries["live" if live else "repair"] += 1
    done = drill.run(*(("report", "--live", "--json") if live else ("repair",)))
    if done.returncode != 0:
        figures.problems.append(f"{label}: the recovery run exited {done.returncode}: {done.stderr[-400:]}")
    figures.restored += sum(int(n) for n in _RESTORED.findall(done.stderr))
    if live and done.returncode == 0:
        report = json.loads(done.stdout)
        unhealthy = [(a["email"], a.get("reasons")) for a in report["accounts"] if a["status"] != "healthy"]
        if unhealthy:
            figures.problems.append(
                f"{label}: after the kill, the next live run found {unhealthy} unhealthy; stderr: {done.stderr[-600:]}"
            )
        for name in drill.names:  # the live recovery refreshed them again
            must_have[f"acct-{name}"] = drill.backend.refresh_token(f"acct-{name}") or ""
    stored = drill.stored()
    for account_id, token in must_have.items():
        if stored.get(account_id) != token:
            figures.lost += 1
            figures.lost_details.append(f"{label}: {account_id}: received, but not in storage after the next run")
            drill.relogin(account_id)
    _check_leftovers(drill, figures, label)


# --- the concurrent writer drill ------------------------------------------------------------


@dataclass
class WriterFigures:
    rounds: int = 0
    added: int = 0  # accounts the other writer added
    added_lost: int = 0  # of those, missing afterwards (target 0)
    writes: int = 0  # saves the other writer made
    rotated: int = 0  # rotated tokens of ours
    removed_by_writer: int = 0  # of those, not in storage when our run ended (its stale writes)
    restored: int = 0  # restored from the journal (by the run itself at its end, or the next run)
    missing_after_next_run: int = 0  # rotated tokens still not in storage after the next run (target 0)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"rounds {self.rounds}; accounts added by the other writer: {self.added} ({self.writes} saves), "
            f"lost: {self.added_lost}; rotated tokens: {self.rotated}, removed by the other writer's stale "
            f"writes and not yet restored when the run ended: {self.removed_by_writer}; restored from the journal: "
            f"{self.restored}; missing after the next run: {self.missing_after_next_run}; problems: {len(self.problems)}"
        )


def writer_drill(
    home: Path, *, rounds: int = 1, accounts: int = 20, seed: int = 7, spread_ms: int = 600
) -> WriterFigures:
    drill = make_drill(home, accounts, spread_ms=spread_ms)
    figures = WriterFigures()
    try:
        for number in range(rounds):
            _one_writer_round(drill, figures, seed + number, number)
    finally:
        drill.backend.stop()
    return figures


def _one_writer_round(drill: Drill, figures: WriterFigures, seed: int, number: int) -> None:
    label = f"round {number + 1}"
    log = drill.home / f"writer-{number}.log"
    stop = drill.home / f"writer-{number}.stop"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testkit.crash",
            "writer",
            "--file",
            str(drill.accounts_file),
            "--log",
            str(log),
            "--stop",
            str(stop),
            "--seed",
            str(seed),
            "--prefix",
            f"w{number}",
        ],
        cwd=ROOT,
        env=drill.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not log.exists():  # the writer is writing before our run starts
            if writer.poll() is not None:
                raise RuntimeError(f"the writer stopped: {writer.communicate()[1][-400:]}")
            time.sleep(0.01)
        done = drill.run("report", "--live", "--json")
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    figures.rounds += 1
    if done.returncode != 0:
        figures.problems.append(f"{label}: report --live exited {done.returncode}: {done.stderr[-400:]}")
    if writer.returncode != 0:
        figures.problems.append(f"{label}: the writer exited {writer.returncode}: {err[-400:]}")
    figures.writes += int(out.strip() or 0)
    figures.restored += sum(int(n) for n in _RESTORED.findall(done.stderr))
    added = [line for line in log.read_text().splitlines() if line]
    present = {record.get("accountId") for record in json.loads(drill.accounts_file.read_text())["accounts"]}
    figures.added += len(added)
    figures.added_lost += sum(1 for account_id in added if account_id not in present)
    valid = {f"acct-{n}": drill.backend.refresh_token(f"acct-{n}") for n in drill.names}
    figures.rotated += len(valid)
    stored = drill.stored()
    figures.removed_by_writer += sum(1 for k, v in valid.items() if stored.get(k) != v)
    after = drill.run("repair")
    if after.returncode != 0:
        figures.problems.append(f"{label}: repair exited {after.returncode}: {after.stderr[-400:]}")
    figures.restored += sum(int(n) for n in _RESTORED.findall(after.stderr))
    stored = drill.stored()
    figures.missing_after_next_run += sum(1 for k, v in valid.items() if stored.get(k) != v)
    for path in drill.pool.iterdir():
        if path.name.endswith(".tmp"):
            figures.problems.append(f"{label}: temporary file left: {path.name}")


def writer_main(argv: list[str]) -> int:
    """The other writer: codex-multi-auth's way of saving, in a loop, until the stop file
    appears. Prints how many saves it made; ``--log`` gets each added accountId after its save."""
    parser = argparse.ArgumentParser(prog="python -m testkit.crash writer")
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--stop", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prefix", default="w")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    saves = 0
    with open(args.log, "a", encoding="utf-8") as log:
        log.flush()
        while not args.stop.exists():
            data = json.loads(args.file.read_text())
            now = poolkit.now_ms()
            accounts = data["accounts"]
            if accounts:
                rng.choice(accounts)["lastUsed"] = now
            name = f"{args.prefix}-{saves:05d}"
            added = poolkit.account(name, now, enabled=False)
            accounts.append(added)
            time.sleep(rng.uniform(0, 0.004))  # the work between reading and saving
            temp = args.file.with_name(f"{args.file.name}.{os.getpid()}.{now}.{secrets.token_hex(4)}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(data, indent=2))
            os.replace(temp, args.file)
            saves += 1
            log.write(added["accountId"] + "\n")
            log.flush()
            time.sleep(rng.uniform(0, 0.006))
    print(saves)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["writer"]:
        return writer_main(argv[1:])
    print("usage: python -m testkit.crash writer --file F --log L --stop S", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
