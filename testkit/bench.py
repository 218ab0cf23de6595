"""One table: the tool's figures beside the floor Python and click set, as real processes.

    scripts/bench                  # everything (about 10 minutes on 2 cores)
    scripts/bench --quick          # a small run: 5 and 1,000 accounts, a 10,000-record stream, no live
    scripts/bench --parts floor,report --runs 31
    scripts/bench --parts live     # report --live, 50 accounts, backend answering after 500 ms
    scripts/bench --parts history  # the cost of recording one live run in the history (50, 1,000 accounts)
    scripts/bench --forecast       # the forecast's accuracy against ground truth, and its cost
    scripts/bench --wrapper        # the codex wrapper's hand-off cost (testkit/bench_wrapper.py)
    scripts/bench --neighbour DIR  # beside codex-multi-auth's report --json (a built checkout in DIR)
    scripts/bench --reliability    # 200 SIGKILLs of report --live over 20 refreshing accounts,
                                   # a concurrent codex-multi-auth-style writer, the journal's cost

Parts (``--parts``, comma-separated; all by default):

- ``floor``: ``python -c pass`` and ``python -c "import click"`` beside ``codex-auth report``
  and ``codex auth report`` (the wrapper) on 5 accounts, interleaved run by run so that a
  busy machine weighs on all of them alike;
- ``report``: ``codex-auth report --json`` on 5, 1,000, 10,000 and 100,000 accounts;
- ``stages``: ``score``, ``recommend`` and ``render --json`` each on a 100,000-record stream
  (records per second and peak memory);
- ``pipe``: ``collect | score | recommend | render --json`` against ``report --json`` on
  10,000 and 100,000 accounts;
- ``live``: ``report --live`` on 50 accounts, the fake backend answering after 500 ms, at the
  default concurrency and at ``--concurrency 1``;
- ``registry``: the secrets registry in-process: registering 50,000 accounts' real-shaped access and
  refresh tokens (cost per token) and scrubbing a 10 MB report with them registered;
- ``history`` (only when asked for): recording one live run in the history, in-process, on 50
  and 1,000 accounts (ms and bytes per account);
- ``journal`` (only when asked for): the default report on 5 accounts beside a 95 MB token
  journal of settled entries (:func:`testkit.bench_tokens.settled_journal`), without its index
  (one pass over the journal) and with the index a compaction writes (a few stat calls);
- ``history-read`` (only when asked for): ``codex auth history`` on a generated 500 MB history
  (``testkit/bench_history.py``): wall time and peak memory of ``--daily``, ``--account``,
  ``--events`` and every sample.
- ``serve`` (only when asked for): one ``serve`` refresh (default mode), its ``/metrics`` and
  ``/report.json`` and its memory, and one ``watch`` redraw of a changed pool, on 1,000 and
  10,000 accounts (``testkit/bench_serving.py``);
- ``repair`` (only when asked for): ``codex-auth repair`` beside token journals of 25, 50 and
  100 MB (``testkit/bench_journal.py``).

Each figure is the median wall time of ``--runs`` runs after one warm-up (fewer runs for the
large pools), and the peak resident memory of the process (of the largest stage, for a pipe)
from ``wait4``. Pools are written by poolkit into a temporary folder, never the real home,
shaped like real ones (:func:`testkit.poolkit.real_pool`: JWTs sharing one header, ``rt_``
refresh tokens, realistic e-mails, workspaces, a quota cache and flagged accounts).
The package is byte-compiled first, as an installed copy is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from testkit import poolkit

PARTS = ("floor", "report", "registry", "stages", "pipe", "live")
EXTRA_PARTS = ("history", "history-read", "journal", "serve", "repair")
NOW = str(poolkit.SEED_NOW)


@dataclass
class Sample:
    wall_ms: float
    peak_mib: float
    cpu_ms: float = float("nan")  # user + system time of the process


@dataclass
class Row:
    what: str
    size: str
    median_ms: float
    peak_mib: float
    extra: str = ""
    cpu_ms: float = float("nan")


TIME = "/usr/bin/time"  # GNU time: reports the peak memory of the process it starts


def run_once(argv: Sequence[str], env: dict[str, str], stdin: Path | None = None) -> Sample:
    """Run one process to its end; its wall time and peak memory (with its children's).

    The peak comes from GNU time, which starts the command from its own small process: a
    child forked from this (large) benchmark process would report this one's memory too."""
    handle = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115 - closed below
    with tempfile.NamedTemporaryFile("r", prefix="peak-") as peak_file:
        timed = [TIME, "-f", "%U %S %M", "-o", peak_file.name, *argv] if os.path.exists(TIME) else list(argv)
        try:
            start = time.perf_counter()
            child = subprocess.Popen(timed, env=env, stdin=handle, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, error = child.communicate()
            elapsed = (time.perf_counter() - start) * 1000
        finally:
            if stdin:
                handle.close()  # type: ignore[union-attr]
        lines = peak_file.read().strip().splitlines()
    if child.returncode not in (0, 3):
        sys.exit(f"{' '.join(argv)} exited {child.returncode}: {error.decode(errors='replace')[-500:]}")
    figures = lines[-1].split() if lines else []
    if len(figures) == 3 and figures[2].isdigit():
        return Sample(elapsed, int(figures[2]) / 1024, (float(figures[0]) + float(figures[1])) * 1000)
    return Sample(elapsed, float("nan"))


def measure(argv: Sequence[str], env: dict[str, str], runs: int, stdin: Path | None = None) -> Sample:
    run_once(argv, env, stdin)  # warm-up: file cache, first compile
    samples = [run_once(argv, env, stdin) for _ in range(runs)]
    return Sample(
        statistics.median(s.wall_ms for s in samples),
        max(s.peak_mib for s in samples),
        statistics.median(s.cpu_ms for s in samples),
    )


def interleaved(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, rounds: dict[str, list[Sample]] | None = None
) -> dict[str, Sample]:
    """Each command once per round, ``runs`` rounds: a side-by-side comparison (``rounds``, when
    given, receives every run's sample, in round order)."""
    for argv in commands.values():
        run_once(argv, env)
    samples: dict[str, list[Sample]] = rounds if rounds is not None else {}
    samples.update({name: [] for name in commands})
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_once(argv, env))
    return {
        name: Sample(
            statistics.median(s.wall_ms for s in got),
            max(s.peak_mib for s in got),
            statistics.median(s.cpu_ms for s in got),
        )
        for name, got in samples.items()
    }


def runs_for(size: int, runs: int) -> int:
    return runs if size <= 1000 else max(3, runs // 4) if size <= 10_000 else 3


class Bench:
    def __init__(self, tmp: Path, runs: int, quick: bool) -> None:
        self.tmp = tmp
        self.runs = runs
        self.quick = quick
        bindir = Path(sys.executable).parent
        self.exe = str(bindir / "codex-auth")
        self.wrapper = str(bindir / "codex")
        self.env = dict(os.environ, HOME=str(tmp), CODEX_HOME=f"{tmp}/.codex", NO_COLOR="1")
        self.rows: list[Row] = []
        self.pools: dict[int, Path] = {}

    def pool(self, size: int) -> Path:
        if size not in self.pools:
            folder = self.tmp / f"pool-{size}"
            poolkit.real_pool(folder, size, poolkit.SEED_NOW)
            self.pools[size] = folder
        return self.pools[size]

    def cli(self, *args: str, size: int | None = None) -> list[str]:
        extra = ["--dir", str(self.pool(size))] if size is not None else []
        return [self.exe, *args, *extra, "--now", NOW]

    def add(self, what: str, size: str, sample: Sample, extra: str = "") -> None:
        row = Row(what, size, sample.wall_ms, sample.peak_mib, extra, sample.cpu_ms)
        self.rows.append(row)
        print(format_row(row), flush=True)

    # -- parts ----------------------------------------------------------------------------
    def floor(self) -> None:
        pool = str(self.pool(5))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "codex-auth report": [self.exe, "report", "--dir", pool, "--now", NOW],
            "codex auth report (wrapper)": [self.wrapper, "auth", "report", "--dir", pool, "--now", NOW],
        }
        rounds: dict[str, list[Sample]] = {}
        got = interleaved(commands, self.env, max(self.runs, 5), rounds)
        report_ms = got["codex-auth report"].wall_ms
        paired = statistics.median(
            r.wall_ms / c.wall_ms
            for r, c in zip(rounds["codex-auth report"], rounds['python -c "import click"'], strict=True)
        )
        for name, sample in got.items():
            extra = ""
            if name == "codex-auth report":
                extra = f"{paired:.2f}x import click (median of {len(rounds[name])} pairs)"
            elif name.startswith("codex auth"):
                extra = f"{(sample.wall_ms / report_ms - 1) * 100:+.1f}% over codex-auth report"
            self.add(name, "5" if "report" in name else "", sample, extra)

    def report(self) -> None:
        sizes = (5, 1000) if self.quick else (5, 1000, 10_000, 100_000)
        base = None
        for size in sizes:
            sample = measure(self.cli("report", "--json", size=size), self.env, runs_for(size, self.runs))
            extra = ""
            if size == 10_000:
                base = sample.wall_ms
            elif size == 100_000 and base:
                extra = f"{sample.wall_ms / base:.1f}x the 10,000"
            self.add("codex-auth report --json", f"{size:,}", sample, extra)

    def registry(self, accounts: int = 50_000) -> None:
        """The secrets registry, in-process: ``accounts`` real-shaped accounts' access and refresh
        tokens registered (the time, and the memory the registry grew by), then a report-sized
        text scrubbed with them registered."""
        size = 5_000 if self.quick else accounts
        code = (
            "import time, statistics\n"
            "from pipeline import scrubbing\n"
            "from testkit import poolkit\n"
            f"tokens = [t for i in range({size}) for t in (poolkit.real_access_token(account_id=f'a{{i}}', "
            "email=f'u{i}@example.com', issued_ms=i, expires_ms=i + 1), poolkit.real_refresh_token(str(i)))]\n"
            "def resident(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
            "before = resident()\n"
            "start = time.perf_counter(); scrubbing.remember(*tokens); took = time.perf_counter() - start\n"
            "grown = resident() - before\n"
            "text = ''.join(f'{i:06d} user{i}@example.com healthy 98 5h 12% 2026-03-03T14:30:00Z '\n"
            "    f'b1dd3f8f-9926-4b5e-9e3c-7ad2f3c4a801\\n' for i in range(120_000))\n"
            "start = time.perf_counter(); assert scrubbing.scrub(text) == text; scrubbed = time.perf_counter() - start\n"
            "print(f'{took / len(tokens) * 1e6:.2f} {scrubbed * 1000:.0f} {len(text) / 1e6:.1f} {len(tokens)} '\n"
            "    f'{took * 1000:.0f} {grown:.0f}')\n"
        )
        script = self.tmp / "registry.py"
        script.write_text(code)
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run(
            [sys.executable, str(script)],
            env=dict(self.env, PYTHONPATH=str(root)),
            capture_output=True,
            text=True,
            check=True,
        )
        per_token, scrub_ms, mb, tokens, register_ms, grown = done.stdout.split()
        self.add(
            "secrets registry, real-shaped tokens",
            f"{int(tokens):,} tokens",
            Sample(float(register_ms), float(grown)),
            f"{per_token} us/token; a {mb} MB text scrubbed in {scrub_ms} ms (MiB: the registry's own)",
        )

    def stream(self, size: int) -> dict[str, Path]:
        """The stream each stage reads, as the stage before it writes it."""
        files: dict[str, Path] = {}
        previous: Path | None = None
        for stage, args in (
            ("collect", ["collect"]),
            ("score", ["score"]),
            ("recommend", ["recommend"]),
        ):
            target = self.tmp / f"{stage}-{size}.ndjson"
            argv = self.cli(*args, size=size) if stage == "collect" else self.cli(*args)
            with open(target, "wb") as out:
                stdin = open(previous, "rb") if previous else subprocess.DEVNULL  # noqa: SIM115
                try:
                    subprocess.run(argv, env=self.env, stdin=stdin, stdout=out, check=True)
                finally:
                    if previous:
                        stdin.close()  # type: ignore[union-attr]
            files[stage] = target
            previous = target
        return files

    def stages(self) -> None:
        size = 10_000 if self.quick else 100_000
        files = self.stream(size)
        records = sum(1 for _ in open(files["collect"], "rb"))  # noqa: SIM115
        for stage, args, source in (
            ("score", ["score"], "collect"),
            ("recommend", ["recommend"], "score"),
            ("render --json", ["render", "--json"], "recommend"),
        ):
            sample = measure(self.cli(*args), self.env, 3, stdin=files[source])
            rate = records / (sample.wall_ms / 1000)
            self.add(stage, f"{records:,} records", sample, f"{rate:,.0f} records/s")

    def pipe(self) -> None:
        sizes = (1000,) if self.quick else (10_000, 100_000)
        for size in sizes:
            dir_ = str(self.pool(size))
            line = (
                f"set -o pipefail; {self.exe} collect --dir {dir_} --now {NOW} | {self.exe} score --now {NOW}"
                f" | {self.exe} recommend --now {NOW} | {self.exe} render --json --now {NOW}"
            )
            runs = runs_for(size, self.runs)
            report = measure(self.cli("report", "--json", size=size), self.env, runs)
            piped = measure(["bash", "-c", line], self.env, runs)
            self.add(
                "collect | score | recommend | render --json",
                f"{size:,}",
                piped,
                f"{piped.wall_ms / report.wall_ms:.2f}x report --json ({report.wall_ms / 1000:.2f} s)",
            )

    def journal(self, megabytes: float = 95) -> None:
        from pipeline.live.journal import Journal
        from testkit.bench_tokens import settled_journal

        folder = self.tmp / "pool-journal"
        poolkit.real_pool(folder, 5, poolkit.SEED_NOW)
        size = 10 if self.quick else megabytes
        entries = settled_journal(folder, size, poolkit.SEED_NOW)
        argv = [self.exe, "report", "--dir", str(folder), "--now", NOW]
        self.add(
            "codex-auth report, journal, no index",
            "5",
            measure(argv, self.env, self.runs),
            f"{size:g} MB, {entries:,} entries",
        )
        Journal(folder).compact(set(), poolkit.now_ms())  # nothing settled: every entry kept, the index written
        self.add(
            "codex-auth report, journal, indexed",
            "5",
            measure(argv, self.env, self.runs),
            f"{size:g} MB, {entries:,} entries",
        )

    def live(self, accounts: int = 50, delay_ms: int = 500) -> None:
        now = poolkit.now_ms()
        pool = [poolkit.real_account(i, now) for i in range(accounts)]
        folder = self.tmp / "live-pool"
        poolkit.write_pool(folder, poolkit.accounts_v3(pool))
        scenario = self.tmp / "scenario.json"
        scenario.write_text(json.dumps(poolkit.backend_scenario(pool)))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "testkit.fake_backend",
                "--scenario",
                str(scenario),
                "--delay-ms",
                str(delay_ms),
                "--max-seconds",
                "900",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            urls = json.loads(server.stdout.readline())
            env = dict(self.env, CODEX_AUTH_BASE_URL=urls["base_url"], CODEX_AUTH_TOKEN_URL=urls["token_url"])
            base = [self.exe, "report", "--live", "--dir", str(folder)]
            default = measure(base, env, max(3, self.runs // 4))
            self.add("report --live, default concurrency", f"{accounts} x {delay_ms} ms", default)
            single = measure([*base, "--concurrency", "1"], env, 1)
            self.add(
                "report --live --concurrency 1",
                f"{accounts} x {delay_ms} ms",
                single,
                f"{single.wall_ms / default.wall_ms:.1f}x the default",
            )
        finally:
            server.terminate()
            server.wait(timeout=10)


def history_cost(accounts: int, runs: int) -> None:
    """Record ``runs`` live-like snapshots of a pool (two windows per account) into a fresh
    history, in-process, after ``runs`` earlier snapshots: the median time of one recording
    (observations built from the records, one transaction) and the file growth per run."""
    from pipeline.history.samples import observations
    from pipeline.history.store import record_run
    from pipeline.scoring import score_account

    with tempfile.TemporaryDirectory() as tmp:
        now = poolkit.now_ms()
        records = []
        for i in range(accounts):
            record = {
                "kind": "account",
                "index": i,
                "accountId": f"acct-{i:05d}",
                "email": f"user{i:05d}@example.com",
                "enabled": True,
                "plan": "plus",
                "quota": {
                    "source": "live",
                    "sampledAt": now,
                    "windows": [
                        {"windowMinutes": 300, "usedPercent": i % 100, "resetAt": now + 3_600_000},
                        {"windowMinutes": 10080, "usedPercent": (3 * i) % 100, "resetAt": now + 86_400_000},
                    ],
                    "credits": {"hasCredits": True, "unlimited": False, "balance": "12.50"},
                },
                "probe": {"outcome": "ok", "at": now},
            }
            records.append(score_account(record, now, "gpt-5-codex"))
        db = Path(tmp) / "state" / "history.sqlite3"

        def files_size() -> int:
            return sum(p.stat().st_size for p in db.parent.iterdir())

        for run in range(runs):  # earlier history
            record_run(db, now - (runs - run) * 300_000, "live", None, observations(records, now))
        before = files_size()
        times = []
        for run in range(runs):
            started = time.perf_counter()
            record_run(db, now + run * 300_000, "live", None, observations(records, now + run * 300_000))
            times.append((time.perf_counter() - started) * 1000)
        import sqlite3

        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        grown = (files_size() - before) / runs
        median = statistics.median(times)
        print(
            f"history, {accounts} accounts: {median:.1f} ms per run ({median / accounts * 1000:.0f} us per account), "
            f"{grown / 1024:.1f} KB per run ({grown / accounts:.0f} bytes per account)"
        )


def reliability(kills: int, seed: int) -> None:
    from testkit.crash import kill_drill, writer_drill

    with tempfile.TemporaryDirectory() as tmp:
        print(f"journal: {journal_cost(Path(tmp) / 'journal')}")
        started = time.monotonic()

        def progress(done: int, figures: object) -> None:
            if done % 25 == 0:
                print(f"  ... {done}/{kills} kills, {time.monotonic() - started:.0f} s", flush=True)

        figures = kill_drill(Path(tmp) / "kill", kills, seed=seed, progress=progress)
        print(f"kill drill ({time.monotonic() - started:.0f} s, a whole run {figures.run_ms:.0f} ms):")
        print(f"  kills: {figures.kills} (runs that ended before their kill: {figures.finished_before_kill})")
        print(f"  tokens the backend finished sending before a kill: {figures.sent}")
        print(f"  tokens lost (sent 100 ms or more before the kill, not in storage after the next run): {figures.lost}")
        gaps = sorted(figures.in_flight_gaps)
        print(
            f"  tokens in flight at the kill (sent less than 100 ms before it, never received): {figures.in_flight}"
            + (f", gaps {gaps[0]}..{gaps[-1]} ms, median {statistics.median(gaps):.0f} ms" if gaps else "")
        )
        print(f"  tokens rotated but never sent (the kill came first): {figures.never_sent}")
        print(f"  tokens restored from the journal by the next run: {figures.restored}")
        print(f"  recoveries: {figures.recoveries['repair']} by repair, {figures.recoveries['live']} by report --live")
        print(f"  problems (leftover locks or temporary files, invalid files, failed runs): {len(figures.problems)}")
        for line in figures.problems[:10] + figures.lost_details[:10]:
            print(f"    {line}")
        started = time.monotonic()
        writer = writer_drill(Path(tmp) / "writer", rounds=5)
        print(f"concurrent writer ({time.monotonic() - started:.0f} s, {writer.rounds} rounds of report --live):")
        print(f"  accounts the other writer added: {writer.added} ({writer.writes} saves), lost: {writer.added_lost}")
        print(
            f"  rotated tokens: {writer.rotated}, removed by its stale writes after our run: {writer.removed_by_writer},"
            f" restored from the journal: {writer.restored}, missing after the next run: {writer.missing_after_next_run}"
        )
        for line in writer.problems[:10]:
            print(f"    {line}")
        from testkit.bench_tokens import drills

        drills(Path(tmp) / "guard")


def journal_cost(folder: Path, count: int = 200) -> str:
    """Median time of one journal append (line, fsync) on this machine's disk."""
    from pipeline.live.journal import Journal, Rotation

    folder.mkdir(parents=True)
    book = Journal(folder)
    access = "x" * 900  # about the size of a real access token
    times = []
    for n in range(count):
        entry = Rotation(f"{n:064x}", access, f"rt_fixture_bench_{n}", 0, "y" * 900, "acct-bench", n)
        start = time.perf_counter()
        book.append(entry)
        times.append((time.perf_counter() - start) * 1000)
    return (
        f"one append (line + fsync) median {statistics.median(times):.2f} ms, max {max(times):.2f} ms ({count} appends)"
    )


HEADER = f"| {'what':<44} | {'size':>16} | {'median':>9} | {'CPU':>9} | {'peak MiB':>8} | {'':<36} |"


def _ms(value: float) -> str:
    if value != value:  # NaN: not measured
        return ""
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.2f} s"


def format_row(row: Row) -> str:
    return (
        f"| {row.what:<44} | {row.size:>16} | {_ms(row.median_ms):>9} | {_ms(row.cpu_ms):>9} "
        f"| {row.peak_mib:>8.0f} | {row.extra:<36} |"
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, load {load}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="runs per figure for small pools (default 21)")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS + EXTRA_PARTS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small pools and stream, 5 runs, no live part")
    parser.add_argument("--live", action="store_true", help="the same as --parts live")
    parser.add_argument("--history", action="store_true", help="the same as --parts history")
    parser.add_argument("--reliability", action="store_true", help="the kill and concurrent-writer drills")
    parser.add_argument("--kills", type=int, default=200, help="--reliability: how many SIGKILLs")
    parser.add_argument("--seed", type=int, default=20261130, help="--reliability: seed of the kill moments")
    parser.add_argument(
        "--wrapper", action="store_true", help="the codex wrapper's hand-off cost (testkit/bench_wrapper)"
    )
    parser.add_argument(
        "--forecast",
        action="store_true",
        help="the forecast's accuracy on simulated pools against their ground truth, and its cost (testkit/bench_forecast)",
    )
    parser.add_argument(
        "--neighbour",
        metavar="DIR",
        type=Path,
        help="report --json beside codex-multi-auth's, built in DIR, on the same pools (testkit/bench_neighbour)",
    )
    parser.add_argument("--pools", help="--forecast: comma-separated simulated pools (default 1-6; 4-6 held out)")
    args = parser.parse_args(argv)
    if args.neighbour:
        from testkit import bench_neighbour

        bench_neighbour.main(args.neighbour, args.runs if args.runs != 21 else 5)
        return
    if args.forecast:
        from testkit import bench_forecast

        seeds = args.pools or ("1,2" if args.quick else "1,2,3,4,5,6")
        bench_forecast.main(["--seeds", seeds] if args.quick else ["--seeds", seeds, "--cost"])
        return
    if args.wrapper:
        from testkit.bench_wrapper import report

        report(args.runs if args.runs != 21 else 41)
        return
    if args.reliability:
        reliability(args.kills, args.seed)
        return
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if args.live or args.history:
        parts = [name for name, wanted in (("live", args.live), ("history", args.history)) if wanted]
    unknown = [p for p in parts if p not in PARTS + EXTRA_PARTS]
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    if args.quick:
        args.runs = min(args.runs, 5)
        parts = [p for p in parts if p != "live"]
    if "history-read" in parts:  # reading a 500 MB history (testkit/bench_history.py)
        from testkit import bench_history

        bench_history.main(["--size-mb", "20" if args.quick else "500"])
        parts.remove("history-read")
        if not parts:
            return
    for name, module, quick in (
        ("serve", "bench_serving", ["--sizes", "1000", "--refreshes", "2"]),
        ("repair", "bench_journal", ["--sizes-mb", "5,10", "--runs", "1"]),
    ):
        if name in parts:
            import importlib

            importlib.import_module(f"testkit.{module}").main(quick if args.quick else [])
            parts.remove(name)
            if not parts:
                return
    if "history" in parts:
        for size in (50, 1000):
            history_cost(size, args.runs)
        parts.remove("history")
        if not parts:
            return
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "pipeline")], check=True)
    print(f"machine: {machine()}", flush=True)
    print(HEADER)
    print(f"|{'-' * 46}|{'-' * 18}|{'-' * 11}|{'-' * 11}|{'-' * 10}|{'-' * 38}|", flush=True)
    with tempfile.TemporaryDirectory(prefix="codex-auth-bench-") as tmp:
        bench = Bench(Path(tmp), args.runs, args.quick)
        for part in (*PARTS, "journal"):
            if part in parts:
                getattr(bench, part)()
    print(f"load at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
