"""`codex auth watch` as a real process: in a pseudo-terminal it redraws the report in place
and leaves a clean screen on Ctrl-C; in a pipe it prints one event per change, each valid
against the published schema, and --on-event hands each event to the command exactly once."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.schema import schema_errors
from pipeline.service.watch import CLEAR_BELOW, CLEAR_LINE, ENTER, HOME, LEAVE, screen_rows
from testkit import poolkit
from testkit.helpers import ROOT, parse_ndjson, run_cli, stop_with, watch_in_terminal


@contextlib.contextmanager
def terminal_watch(rows: int, columns: int, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``watch`` in a pseudo-terminal, killed (if it still runs) and closed afterwards."""
    process, master = watch_in_terminal(rows, columns, *args)
    try:
        yield process, master
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def read_until(fd: int, done: Any, timeout: float = 30.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while not done(data) and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            data += chunk
    return data


def test_watch_in_a_terminal_redraws_and_exits_cleanly(seed_pool: Path) -> None:
    with terminal_watch(60, 120) as (process, master):
        screen = read_until(master, lambda d: d.count(HOME.encode()) >= 3)
        assert screen.startswith(ENTER.encode()), screen[:40]
        assert screen.count(HOME.encode()) >= 3, "redrawn in place, three times"
        frame = screen.split(HOME.encode())[2].decode()
        assert frame.startswith("Every 1s: codex auth report  (q quits)" + CLEAR_LINE)
        assert "=== Codex Multi-Auth Health Report ===" in frame and "alice@example.com" in frame
        assert all(line.rstrip("\r").endswith(CLEAR_LINE) for line in frame.split("\n")[:-1]), "each line cleared"
        process.send_signal(signal.SIGINT)
        rest = read_until(master, lambda d: LEAVE.encode() in d)
        assert process.wait(timeout=10) == 0
        assert rest.endswith(LEAVE.encode()), rest[-40:]
        assert b"Traceback" not in screen + rest and b"Aborted" not in rest


def test_watch_fits_a_small_terminal_by_wrapped_rows(pool_dir: Path) -> None:
    poolkit.large_pool(pool_dir, 200, poolkit.now_ms())
    with terminal_watch(24, 40, "--sort", "problems") as (process, master):
        screen = read_until(master, lambda d: d.count(HOME.encode()) >= 3)
        frame = screen.split(HOME.encode())[2].decode().replace("\r", "")
        assert frame.endswith(CLEAR_BELOW)
        lines = [line.removesuffix(CLEAR_LINE) for line in frame.removesuffix(CLEAR_BELOW).split("\n")[:-1]]
        assert sum(screen_rows(line, 40) for line in lines) <= 23, "wrapped rows, not lines, fit (one row spare)"
        assert lines[0].startswith("Every 1s: codex auth"), "the header stays on screen"
        text = "\n".join(lines)
        assert "Summary:" in text and "Use account: " in text, "summary and recommendation first"
        assert lines[-1].startswith("... ") and "more accounts" in lines[-1]
        assert "Status: Healthy" not in text, "problems before healthy accounts"
        process.send_signal(signal.SIGINT)
        read_until(master, lambda d: LEAVE.encode() in d)
        assert process.wait(timeout=10) == 0


def test_q_quits_the_watch_in_a_terminal(seed_pool: Path) -> None:
    with terminal_watch(60, 120) as (process, master):
        screen = read_until(master, lambda d: d.count(HOME.encode()) >= 2)
        assert b"(q quits)" in screen
        os.write(master, b"q")
        rest = read_until(master, lambda d: LEAVE.encode() in d)
        assert process.wait(timeout=10) == 0
        assert rest.endswith(LEAVE.encode()) and b"Traceback" not in rest


def test_watch_help_promises_no_exit_for_min_healthy() -> None:
    text = run_cli(["watch", "--help"], validate=False).text
    option = text.split("--min-healthy N")[1].split("\n  --")[0]
    assert "Exit 3" not in option and "never exits" in " ".join(option.split())


def usage_body(used_5h: int, now: float) -> dict[str, Any]:
    def window(used: int, minutes: int, after: int) -> dict[str, Any]:
        return {
            "used_percent": used,
            "limit_window_seconds": minutes * 60,
            "reset_after_seconds": after,
            "reset_at": int(now) + after,
        }

    return {
        "plan_type": "plus",
        "rate_limit": {
            "allowed": True,
            "limit_reached": False,
            "primary_window": window(used_5h, 300, 3 * 3600),
            "secondary_window": window(10, 10080, 3 * 86400),
        },
        "credits": None,
        "additional_rate_limits": [],
    }


def watch_in_a_pipe(args: list[str], enough: Callable[[list[bytes]], bool]) -> tuple[int, list[bytes], bytes]:
    """``codex-auth watch ARGS`` with stdout a pipe, until ``enough(lines)`` (or 60 s), then SIGTERM:
    the exit code, every stdout line and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "watch", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not enough(lines):
        if select.select([process.stdout], [], [], 0.5)[0]:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
    rest, stderr = stop_with(process, signal.SIGTERM)
    return process.returncode, [*lines, *rest.splitlines(keepends=True)], stderr


def test_watch_in_a_pipe_prints_each_change_once(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    now = poolkit.now_ms()
    accounts = [poolkit.account("ann", now), poolkit.account("ben", now)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    ann = [
        {"mode": "ok", "body": usage_body(40, now / 1000)},
        {"mode": "ok", "body": usage_body(92, now / 1000)},  # 8% left: below 25 and 10
        {"mode": "rate_limited", "resetsInSeconds": 600},
        {"mode": "ok", "body": usage_body(92, now / 1000)},
        # refused, and the refresh refused for good (invalid_grant): broken. A refused usage read
        # whose refresh works is only a warning, so the refresh is what breaks the account here.
        "token_invalidated",
        {"mode": "ok", "body": usage_body(92, now / 1000)},
    ]
    overrides = {"acct-ann": {"usage": ann, "refresh": ["invalid_grant", "ok"]}}
    server = backend(poolkit.backend_scenario(accounts, overrides=overrides))
    received = tmp_path / "received.ndjson"
    hook = f"{sys.executable} -c 'import sys; open(sys.argv[1], \"ab\").write(sys.stdin.buffer.read())' {received}"
    args = ["--live", "--interval", "1", "--min-healthy", "3", "--on-event", hook]
    code, lines, stderr = watch_in_a_pipe(args, lambda lines: any(b"account-recovered" in line for line in lines))
    assert code == 0, stderr
    events = [json.loads(line) for line in lines]
    said = stderr.decode().splitlines()
    assert (
        "codex-auth watch: one JSON event per line on stdout when something changes, checked every 1s; Ctrl-C stops"
        in said
    )
    for event in events:
        assert schema_errors(event, "event") == [], event
    kinds = [(e["kind"], e.get("email")) for e in events]
    assert kinds == [
        ("pool-below-min-healthy", None),  # two accounts can never make three healthy
        ("quota-threshold", "ann@example.com"),
        ("rate-limited", "ann@example.com"),
        ("rate-limit-lifted", "ann@example.com"),
        ("account-broken", "ann@example.com"),
        ("account-recovered", "ann@example.com"),
    ], kinds
    assert events[0]["details"] == {"healthy": 2, "minHealthy": 3}
    assert events[1]["details"] == {"threshold": 10, "remainingPercent": 8, "previousPercent": 60}
    assert events[1]["window"] == "5h"
    # the --on-event command got every event, once each, in order
    delivered = [json.loads(line) for line in received.read_bytes().splitlines()]
    assert delivered == events
    assert server.stats()["byAccount"]["acct-ben"]["usage"] >= 6


def test_on_event_failures_and_time_limit_do_not_stop_the_watch(seed_pool: Path, tmp_path: Path) -> None:
    from pipeline.service.watch import EventRunner

    said: list[str] = []
    marker = tmp_path / "slept"
    slow = EventRunner(
        [sys.executable, "-c", f"import time,pathlib; time.sleep(30); pathlib.Path({str(marker)!r}).touch()"],
        0.5,
        said.append,
    )
    slow.run(b"{}\n")
    assert said == [f"--on-event: {sys.executable} took longer than 0.5s and was stopped"]
    assert not marker.exists()
    failing = EventRunner(["false"], 5, said.append)
    failing.run(b"{}\n")
    missing = EventRunner([str(tmp_path / "no-such-command")], 5, said.append)
    missing.run(b"{}\n")
    assert said[1] == "--on-event: false exited with 1"
    assert said[2].startswith(f"--on-event: cannot run {tmp_path / 'no-such-command'}: ")
    for runner in (slow, failing, missing):
        runner.close(1)


def test_watch_usage_errors(seed_pool: Path) -> None:
    assert "--threshold" in run_cli(["watch", "--threshold", "0"], expect=2, validate=False).stderr
    assert "--on-event" in run_cli(["watch", "--on-event", "'unclosed"], expect=2, validate=False).stderr
    assert "--on-event" in run_cli(["watch", "--on-event", "  "], expect=2, validate=False).stderr


def test_watch_takes_report_options_redact_and_history(pool_dir: Path, backend: Any, tmp_path: Path) -> None:
    """watch --redact masks the events' e-mails; --history gets each live snapshot (as serve's)."""
    now = poolkit.now_ms()
    accounts = [poolkit.account("ann", now)]
    poolkit.write_pool(pool_dir, poolkit.accounts_v3(accounts))
    ok = [{"mode": "ok", "body": usage_body(used, now / 1000)} for used in (40, 92)]  # 60% left, then 8%
    overrides = {"acct-ann": {"usage": ok}}
    backend(poolkit.backend_scenario(accounts, overrides=overrides))
    history = tmp_path / "history.sqlite3"
    args = ["--live", "--no-live", "--live", "--interval", "1", "--redact", "--history", str(history)]
    code, lines, stderr = watch_in_a_pipe([*args, "--threshold", "25"], bool)
    assert code == 0, stderr
    events = [json.loads(line) for line in lines]
    assert events and events[0]["kind"] == "quota-threshold", events
    assert all(b"ann@example.com" not in line for line in [*lines, stderr])
    assert str(events[0]["email"]).startswith("a***@"), events[0]
    listed = run_cli(["history", "--history", str(history), "--format", "ndjson"], validate=False)
    samples = parse_ndjson(listed.stdout)
    assert samples and {s["accountId"] for s in samples} == {"acct-ann"}, "the history keeps who it was"


def test_watch_redact_masks_the_screen(seed_pool: Path) -> None:
    with terminal_watch(60, 120, "--redact") as (process, master):
        # a whole second frame: the last one read may still be arriving when the first is complete
        screen = read_until(
            master, lambda d: d.count(HOME.encode()) >= 2 and b"Recommendation" in d.split(HOME.encode())[-1]
        )
        frame = screen.split(HOME.encode())[-1].decode()
        assert "a***@***.com#" in frame, frame
        assert "alice@example.com" not in screen.decode() and "user-abc123" not in screen.decode()
        process.send_signal(signal.SIGINT)
        read_until(master, lambda d: LEAVE.encode() in d)
        assert process.wait(timeout=10) == 0


def test_watch_redact_masks_the_events(seed_pool: Path) -> None:
    import io

    from pipeline.plain import replace
    from pipeline.report.view import build_view
    from pipeline.service.snapshots import LoopState, Snapshot
    from pipeline.service.watch import Watch

    records = run_cli(["collect", "--now", str(poolkit.SEED_NOW)]).records
    view = build_view(records, now=poolkit.SEED_NOW)
    worse = replace(view, accounts=[replace(a, record={**a.record, "status": "error"}) for a in view.accounts])
    out = io.StringIO()
    watch = Watch(
        terminal=False,
        out=out,
        thresholds=(25, 10, 5),
        min_healthy=None,
        runner=None,
        render=str,
        interval=1,
        title="t",
        redact=True,
    )
    for shown in (view, worse):
        watch.after_run(LoopState(), Snapshot(shown, 0.0, 0.0, False), None)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(e["kind"] == "account-broken" for e in events), events
    text = out.getvalue()
    assert "@example.com" not in text and "user-abc123" not in text
    assert any(str(e.get("email", "")).startswith("a***@***.com#") for e in events)
