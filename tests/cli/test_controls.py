"""Stored text never drives a terminal or a document: e-mails, labels and workspace names that
hold an OSC title sequence, a screen clear, other C0 controls, a bidi override or newlines that
forge report lines reach every format, stderr, ``watch`` and the history only as visible
escapes (``\\x1b``, ``\\u202e``; see pipeline/visible.py and docs/formats.md). Each case was
found against an earlier version, where the text went out raw."""

from __future__ import annotations

import json
import os
import re
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.history.samples import Observation
from pipeline.history.store import HistoryStore
from pipeline.report.markdown import code
from pipeline.service.watch import CLEAR_BELOW, CLEAR_LINE, ENTER, HOME, LEAVE
from pipeline.visible import CONTROL, visible
from testkit import poolkit
from testkit.helpers import ROOT, json_strings, observed, run_cli, watch_in_terminal

NOW = poolkit.SEED_NOW
HOSTILE = {
    "osc-title": "\x1b]0;you have been owned\x07osc@example.com",
    "screen-clear": "\x1b[2J\x1b[3J\x1b[Hclear@example.com",
    "c0": "c\x00z\x08y\x0bx\x7fw\x85\x9b@example.com",
    "bidi": "\u202emoc.elpmaxe@live\u2066\u2069",
    "forged-lines": "forged@example.com\n  Status: HEALTHY\r\nActive Accounts: 99\u2028x",
}
FORMATS = ("text", "json", "markdown", "html", "prometheus")


def hostile_pool(folder: Path, names: dict[str, str] = HOSTILE) -> Path:
    accounts = []
    for n, (key, text) in enumerate(names.items()):
        accounts.append(
            poolkit.account(
                f"h{n}",
                NOW,
                email=text,
                accountLabel=f"label {text}",
                workspaces=[{"id": f"ws-{n}", "name": f"space {text}"}],
            )
        )
        # the same e-mail twice: the report names the workspace beside it
        accounts.append(
            poolkit.account(f"h{n}b", NOW, email=text, workspaces=[{"id": f"ws-{n}b", "name": f"other {text}"}])
        )
        del key
    poolkit.write_pool(folder, poolkit.accounts_v3(accounts))
    poolkit.write_flagged(
        folder,
        [
            poolkit.flagged(
                "flagged", NOW, flagged_at=NOW - 3600_000, email=names["osc-title"], accountLabel=names["bidi"]
            )
        ],
    )
    return folder


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    return [c for c in CONTROL.findall(text) if c not in allowed]


def test_visible_escapes_each_kind_once() -> None:
    assert visible("a\x1b]0;t\x07b") == "a\\x1b]0;t\\x07b"
    assert visible("x\ny\r\x7f\x85") == "x\\x0ay\\x0d\\x7f\\x85"
    assert visible("\u202eabc\u2066\u2069\u2028") == "\\u202eabc\\u2066\\u2069\\u2028"
    assert visible("plain é ü 名前 \\ tab-free") == "plain é ü 名前 \\ tab-free"
    once = visible("".join(HOSTILE.values()))
    assert visible(once) == once and not CONTROL.search(once)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_shows_stored_controls(pool_dir: Path, fmt: str) -> None:
    hostile_pool(pool_dir)
    plain = run_cli(["report", "--format", fmt, "--now", str(NOW)], validate=False).text
    assert not raw_controls(plain), f"{fmt}: {raw_controls(plain)}"
    if fmt in ("text", "markdown", "html"):  # JSON and Prometheus escape the backslash once more
        for text in HOSTILE.values():
            shown = " ".join(visible(text).split()) if fmt == "markdown" else visible(text)
            assert shown in plain, f"{fmt} does not show {shown!r}"
    if fmt == "text":
        assert "\n  Status: HEALTHY\n" not in plain.replace("\r", "")
        assert not any(line.startswith("Active Accounts: 99") for line in plain.splitlines())
    if fmt == "json":
        strings = [value for _key, value in json_strings(json.loads(plain))]
        assert not [s for s in strings if CONTROL.search(s)], "JSON values hold the same escapes, decoded"
        assert visible(HOSTILE["osc-title"]) in strings


def test_the_record_stream_holds_the_escapes_and_a_hand_made_stream_is_escaped_too(pool_dir: Path) -> None:
    hostile_pool(pool_dir)
    records = run_cli(["collect", "--now", str(NOW)]).records
    emails = [r["email"] for r in records if r["kind"] == "account"]
    assert visible(HOSTILE["forged-lines"]) in emails
    # a stream made by hand (raw controls in its names) is rendered the same way
    for record in records:
        if record["kind"] == "account":
            record["email"] = HOSTILE["osc-title"]
            record["label"] = HOSTILE["bidi"]
    stream = "".join(json.dumps(r) + "\n" for r in records)
    for fmt in FORMATS:
        out = run_cli(["render", "--format", fmt], input=stream, validate=False).text
        assert not raw_controls(out), f"render --format {fmt}: {raw_controls(out)}"


def test_markdown_code_span_cannot_be_closed_by_the_name() -> None:
    name = "x``[click](https://evil.example)``@example.com"
    span = code(name)
    assert span.startswith("``` ") and span.endswith(" ```"), span
    assert code("a```b`c") == "```` a```b`c ````"
    assert code("alice@example.com") == "`alice@example.com`"


def test_markdown_report_with_a_double_backtick_email_makes_no_link(pool_dir: Path) -> None:
    email = "x``[click](https://evil.example)``@example.com"
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("bt", NOW, email=email)]))
    out = run_cli(["report", "--format", "markdown", "--now", str(NOW)]).text
    assert f"``` {email} ```" in out
    # every backtick run in the line is inside the one span: none shorter than the fence closes it
    line = next(line for line in out.splitlines() if email in line)
    opened = line.index("``` ")
    assert line.index(" ```", opened + 4) == opened + 4 + len(email)


@pytest.mark.parametrize(
    "email", ["x``[click](https://evil.example)``@example.com", "<img src=x onerror=alert(1)>_a_*b*@example.com"]
)
def test_markdown_forecast_puts_names_in_code_spans_too(pool_dir: Path, email: str) -> None:
    """The forecast's Markdown names accounts the way the report's does (its own escaping let
    a link, emphasis or an HTML tag in an e-mail through)."""
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("bt", NOW, email=email)]))
    out = run_cli(["forecast", "--format", "markdown", "--now", str(NOW)], validate=False).text
    lines = [line for line in out.splitlines() if email in line]
    assert len(lines) == 2, out  # "Use next" and the table row
    for line in lines:
        assert code(email) in line, line
        opened = line.index(code(email))
        before, after = line[:opened], line[opened + len(code(email)) :]
        assert "`" not in before + after and "<" not in before + after, "nothing of the name outside its span"


def test_stderr_shows_stored_text_escaped(pool_dir: Path) -> None:
    # a rotated-token failure names the account on stderr; here: a warning that quotes stored text
    from pipeline.cli import common as cli_module

    lines: list[str] = []
    import click

    original = click.echo
    try:
        click.echo = lambda message=None, **kw: lines.append(str(message))  # type: ignore[assignment]
        cli_module.say(f"report: {HOSTILE['forged-lines']} {HOSTILE['osc-title']}")
    finally:
        click.echo = original  # type: ignore[assignment]
    assert len(lines) == 1 and not CONTROL.search(lines[0]), lines


def test_stderr_of_a_live_refresh_failure_is_one_escaped_line(pool_dir: Path, fake_backend: Any) -> None:
    hostile = HOSTILE["forged-lines"]
    account = poolkit.account("live", NOW, email=hostile, refreshed=NOW - 20 * poolkit.DAY, lifetime=poolkit.DAY)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    fake_backend(poolkit.backend_scenario([account], overrides={account["accountId"]: {"refresh": "invalid_grant"}}))
    done = run_cli(["report", "--live"], expect=None)
    assert "Traceback" not in done.stderr
    assert not raw_controls(done.stderr), done.stderr
    assert not raw_controls(done.text), done.text


def test_history_csv_and_text_show_old_raw_rows_escaped(tmp_path: Path) -> None:
    """A history written by an earlier version holds the names raw: the reader escapes them."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path, create=True) as store:
        store.append(
            NOW,
            "live",
            None,
            [
                _observation(HOSTILE["forged-lines"], HOSTILE["osc-title"]),
                _observation(HOSTILE["bidi"], "acct-\x1b[2J"),
            ],
        )
    for fmt in ("csv", "ndjson", "json", "text"):
        out = run_cli(["history", "--history", str(path), "--format", fmt], validate=False).text
        assert not raw_controls(out), f"history --format {fmt}: {raw_controls(out)}"
        assert visible(HOSTILE["forged-lines"]) in out or "\\\\x0a" in out, out
    csv_lines = run_cli(["history", "--history", str(path), "--format", "csv"], validate=False).text.splitlines()
    assert len(csv_lines) == 3, csv_lines  # a header and one row per observation: no forged row


def _observation(email: str, account_id: str) -> Observation:
    fields = {"account_key": f"{account_id}|{email}", "account_id": account_id, "email": email}
    return observed(NOW, "", ("5h", 10.0, NOW + 3_600_000), health_score=100, limit_reached=False, **fields)


def _read_until(fd: int, done: Any, timeout: float = 30.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while not done(data) and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_watch_on_a_terminal_sends_only_its_own_sequences(pool_dir: Path) -> None:
    hostile_pool(pool_dir)
    process, master = watch_in_terminal(200, 200)
    try:
        screen = _read_until(master, lambda d: d.count(HOME.encode()) >= 2).decode("utf-8", "replace")
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(master)
    assert screen.count(HOME) >= 2, screen[:200]
    assert "osc@example.com" in screen
    for ours in (ENTER, LEAVE, HOME, CLEAR_LINE, CLEAR_BELOW):
        screen = screen.replace(ours, "")
    screen = re.sub("\x1b\\[[0-9;]*m", "", screen)  # the report's own colours
    assert not raw_controls(screen, allowed="\n\r"), raw_controls(screen, allowed="\n\r")
    assert "\\x1b]0;you have been owned\\x07osc@example.com" in screen


def test_history_records_escaped_names_from_a_live_run(tmp_path: Path) -> None:
    """What collect makes visible is what the history keeps."""
    folder = hostile_pool(tmp_path / "pool")
    path = tmp_path / "h.sqlite3"
    env = {"CODEX_MULTI_AUTH_DIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", "--record", "--history", str(path), "--now", str(NOW)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(path) as db:
        emails = [row[0] for row in db.execute("SELECT email FROM observations")]
    assert emails and not [e for e in emails if e and CONTROL.search(e)], emails


def test_a_live_run_on_hostile_names_keeps_its_rotated_token_and_the_stored_keys(
    pool_dir: Path, fake_backend: Any
) -> None:
    """The escapes are for output only: the probe finds the stored account, saves the rotated
    token into it and keys codex-multi-auth's quota cache by the e-mail as stored."""
    hostile = HOSTILE["osc-title"]
    account = poolkit.account("rot", NOW, email=hostile, accountLabel=HOSTILE["bidi"], lifetime=1)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    backend = fake_backend(poolkit.backend_scenario([account]))
    done = run_cli(["report", "--live", "--json"], expect=None, validate=False)
    assert "Traceback" not in done.stderr and not raw_controls(done.stderr) and not raw_controls(done.text)
    stored = json.loads((pool_dir / poolkit.ACCOUNTS_FILE).read_text())["accounts"][0]
    assert stored["email"] == hostile, "the stored e-mail is left as it was"
    assert stored["refreshToken"] != account["refreshToken"], "the rotated token was saved"
    assert backend.stats()["refresh"]["succeeded"] == 1 and backend.stats()["refresh"]["reused"] == 0
    cache = json.loads((pool_dir / "quota-cache.json").read_text())
    assert hostile.lower() in cache["byEmail"], list(cache["byEmail"])
    report = json.loads(done.text)
    assert report["accounts"][0]["email"] == visible(hostile)
