"""``codex auth history`` for people: ``--format text`` is a table with UTC times, the default on
a terminal; a pipe still gets NDJSON with epoch-ms times (scripts keep working); an empty
answer says so in one line on stderr and exits 0 (as ``kubectl get`` and ``gh ... list`` do),
where an earlier version printed nothing at all."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT, run_cli

NOW = poolkit.SEED_NOW
HOUR = 3_600_000


@pytest.fixture
def recorded(seed_pool: Path, tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite3"
    for hours in (0, 3, 6):
        run_cli(["report", "--record", "--history", str(path), "--now", str(NOW + hours * HOUR)], validate=False)
    return path


def test_the_table_has_utc_times_and_a_header(recorded: Path) -> None:
    done = run_cli(["history", "--history", str(recorded), "--format", "text"], validate=False)
    lines = done.text.splitlines()
    assert lines[0].split() == [
        "SAMPLED", "(UTC)", "ACCOUNT", "WINDOW", "USED", "RESETS", "(UTC)", "STATUS", "HEALTH", "PLAN", "PROBE",
    ]  # fmt: skip
    ndjson = run_cli(["history", "--history", str(recorded), "--format", "ndjson"], validate=False).text.splitlines()
    assert len(lines) == 1 + len(ndjson)
    first = json.loads(ndjson[0])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(first["sampledAt"] / 1000))
    assert lines[1].startswith(stamp + "  " + first["email"])
    assert f"{first['usedPercent']}%" in lines[1]
    assert str(first["sampledAt"]) not in done.text, "no epoch milliseconds for people"
    # the columns line up
    starts = {line.index("@example.com") for line in lines[1:]}
    assert len({line.index(" ", line.index("@")) for line in lines[1:] if "alice" in line}) == 1 and starts


def test_events_and_daily_tables(recorded: Path) -> None:
    events = run_cli(["history", "--history", str(recorded), "--format", "text", "--events"], validate=False)
    assert events.text.splitlines()[0].split()[:4] == ["AT", "(UTC)", "EVENT", "ACCOUNT"]
    daily = run_cli(["history", "--history", str(recorded), "--format", "text", "--daily"], validate=False).text
    assert daily.splitlines() == [
        "DAY (UTC)   RUNS  ACCOUNTS  ACTIVE  HEALTHY  RATE-LIMITED  ERRORS",
        "2026-03-03  3     4         4       3        0             0",
    ]


def test_a_pipe_still_gets_ndjson(recorded: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "history", "--history", str(recorded), "--daily"],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"day": "2026-03-03", "runs": 3, "accounts": 4, "active": 4, "healthy": 3, "rateLimited": 0, "errors": 0}
    ]


def test_a_terminal_gets_the_table(recorded: Path) -> None:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "history", "--history", str(recorded), "--daily"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    data = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 0
    assert data.decode().replace("\r\n", "\n").startswith("DAY (UTC)   RUNS  ACCOUNTS"), data


@pytest.mark.parametrize(
    ("args", "note"),
    [
        (["--account", "nobody"], "codex-auth history: no samples for --account nobody in the history"),
        (["--events", "--account", "nobody"], "codex-auth history: no events for --account nobody in the history"),
        (
            ["--daily", "--since", "2030-01-01"],
            "codex-auth history: no days with samples since 2030-01-01T00:00:00Z in the history",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["text", "ndjson", "csv", "json"])
def test_an_empty_answer_says_so_in_one_line_and_exits_0(recorded: Path, args: list[str], note: str, fmt: str) -> None:
    done = run_cli(["history", "--history", str(recorded), "--format", fmt, *args], expect=0, validate=False)
    assert done.stderr.splitlines() == [note]
    assert done.text == ("[]\n" if fmt == "json" else "")


def test_no_events_at_all_is_said(seed_pool: Path, tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    run_cli(["report", "--record", "--history", str(path), "--now", str(NOW)], validate=False)
    done = run_cli(["history", "--history", str(path), "--events"], expect=0, validate=False)
    assert done.text == "" and done.stderr.splitlines() == ["codex-auth history: no events in the history"]


def test_a_missing_history_is_exit_1_in_one_line(tmp_path: Path) -> None:
    done = run_cli(["history", "--history", str(tmp_path / "none.sqlite3")], expect=1, validate=False)
    assert len(done.stderr.splitlines()) == 1 and "no history yet" in done.stderr
