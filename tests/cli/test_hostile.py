"""What a hostile test of an earlier version found, each kept as a regression test: storage
that is a FIFO (a hang), values that broke the output (a traceback), stdout that refuses
bytes, a timeout that does not fit, --out onto links, FIFOs and devices, stored errors that
quote a token."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from testkit import poolkit
from testkit.helpers import ROOT, fixture_secrets, run_cli, snapshot_tree

NOW = poolkit.SEED_NOW
FORMATS = ("text", "json", "prometheus", "html", "markdown")
ACCOUNTS = poolkit.ACCOUNTS_FILE


def cli(
    *args: str, env: dict[str, str] | None = None, stdout: Any = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    """The command in a process of its own, so that a hang is a failed test, not a stuck suite."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def one_line(stderr: bytes, *needles: str) -> str:
    text = stderr.decode()
    assert "Traceback" not in text, text
    lines = text.splitlines()
    assert len(lines) == 1, f"wanted one line on stderr, got:\n{text}"
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- FIFOs and devices in place of storage files -----------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        ACCOUNTS,
        ACCOUNTS + ".wal",
        ACCOUNTS + ".bak",
        poolkit.FLAGGED_FILE,
        "quota-cache.json",
        "codex-auth-report-state.json",
    ],
)
def test_a_fifo_in_place_of_a_storage_file_is_refused_not_waited_on(seed_pool: Path, name: str) -> None:
    if name.endswith((".wal", ".bak")):
        (seed_pool / ACCOUNTS).unlink()  # so that the recovery copies are read
    path = seed_pool / name
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    for command in (["collect"], ["report"], ["report", "--json"]):
        done = cli(*command, "--now", str(NOW))
        assert done.returncode in (0, 1), done.stderr.decode()
        assert b"Traceback" not in done.stderr
        assert b"FIFO" in done.stderr, f"{command}: the FIFO is not named: {done.stderr.decode()}"
    assert stat.S_ISFIFO(os.stat(path).st_mode), "the FIFO is left as it is"


def test_a_fifo_in_place_of_auth_json_is_refused(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_MULTI_AUTH_DIR")
    codex_home = isolated_home / ".codex"
    codex_home.mkdir(parents=True)
    os.mkfifo(codex_home / "auth.json")
    done = cli("report")
    assert done.returncode == 1
    one_line(done.stderr, "auth.json", "FIFO")


def test_a_character_device_as_the_accounts_file_is_not_read(seed_pool: Path) -> None:
    (seed_pool / ACCOUNTS).unlink()
    (seed_pool / ACCOUNTS).symlink_to("/dev/zero")  # reading it would never end
    done = cli("collect", "--now", str(NOW))
    assert done.returncode in (0, 1) and b"a device" in done.stderr, done.stderr.decode()


# --- values that broke the output ------------------------------------------------------------


def _deep(depth: int) -> Any:
    value: Any = {"leaf": True}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_annotations_300_deep_pass_through_score_and_recommend(seed_pool: Path) -> None:
    records = run_cli(["collect", "--now", str(NOW)]).records
    records[1]["annotations"] = _deep(300)
    stream = "".join(json.dumps(r) + "\n" for r in records)
    scored = run_cli(["score", "--now", str(NOW)], input=stream)
    assert scored.records[1]["annotations"] == _deep(300)
    recommended = run_cli(["recommend", "--now", str(NOW)], input=scored.stdout)
    assert recommended.records[-1]["kind"] == "recommendation"
    for fmt in FORMATS:
        run_cli(["render", "--now", str(NOW), "--format", fmt], input=recommended.stdout, validate=False)


@pytest.mark.parametrize("value", [253_402_300_800_000, 2**63 - 1, 10**30])
def test_instants_past_the_year_9999_in_the_stream_are_one_line_and_exit_1(seed_pool: Path, value: int) -> None:
    records = run_cli(["collect", "--now", str(NOW)]).records
    records[1]["lastUsed"] = value
    stream = "".join(json.dumps(r) + "\n" for r in records)
    for stage in (["score"], ["recommend"], *(["render", "--format", fmt] for fmt in FORMATS)):
        result = run_cli([*stage, "--now", str(NOW)], input=stream, expect=1, validate=False)
        line = one_line(result.stderr.encode(), f"{stage[0]}: stdin:2: $.lastUsed")
        assert "maximum" in line or "2^53" in line


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lastUsed", 253_402_300_800_000),
        ("lastUsed", 2**63 - 1),
        ("addedAt", 10**30),
        ("expiresAt", 2**63 - 1),
        ("rateLimitResetTimes", {"codex": 2**63 - 1}),
        ("coolingDownUntil", 10**30),
    ],
)
def test_instants_and_huge_numbers_in_storage_render_in_every_format(pool_dir: Path, field: str, value: Any) -> None:
    account = poolkit.account("alice", NOW, **{field: value})
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account, poolkit.account("bob", NOW)]))
    for fmt in FORMATS:
        result = run_cli(["report", "--now", str(NOW), "--format", fmt], validate=False)
        assert "alice@example.com" in result.text
    collected = run_cli(["collect", "--now", str(NOW)])
    assert collected.records[1]["lastUsed"] is None or collected.records[1]["lastUsed"] < 253_402_300_800_000


def test_storage_json_nested_100000_deep_is_damaged_storage(pool_dir: Path) -> None:
    pool_dir.mkdir(parents=True)
    (pool_dir / ACCOUNTS).write_text('{"version": 3, "accounts": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = run_cli(["report"], expect=1, validate=False)
    one_line(result.stderr.encode(), "report:", ACCOUNTS, "nested too deeply")


def test_a_pool_folder_that_cannot_be_entered(tmp_path: Path) -> None:
    """As root, run the command as nobody (setpriv); as anyone else, close the folder."""
    folder = tmp_path / "closed" / "pool"
    poolkit.seed_example_pool(folder)
    os.chmod(tmp_path / "closed", 0)
    os.chmod(tmp_path, 0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's privileges"
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "pipeline", "report"],
            capture_output=True,
            env={**os.environ, "CODEX_MULTI_AUTH_DIR": str(folder), "HOME": str(tmp_path)},
            cwd=ROOT,
            timeout=60,
            check=False,
        )
    finally:
        os.chmod(tmp_path / "closed", 0o700)
    assert done.returncode == 1
    one_line(done.stderr, "report:", "permission denied")


def test_a_timeout_that_does_not_fit_is_a_usage_error(seed_pool: Path) -> None:
    done = cli("report", "--live", env={"CODEX_AUTH_FETCH_TIMEOUT_MS": "99999999999999999999999"})
    assert done.returncode == 2
    one_line(done.stderr, "CODEX_AUTH_FETCH_TIMEOUT_MS")


@pytest.mark.parametrize("command", [["report"], ["report", "--json"], ["collect"], ["schema", "report"], ["--help"]])
def test_stdout_that_refuses_bytes_is_one_line_and_exit_1(seed_pool: Path, command: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        done = cli(*command, stdout=full)
    assert done.returncode == 1
    one_line(done.stderr, "No space left on device")


def test_an_unexpected_exception_is_one_line_without_its_message(
    seed_pool: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "rt_must_not_show_" + "x" * 20

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"something quoted {secret}")

    monkeypatch.setattr("pipeline.in_process.run_report", explode)
    with pytest.raises(SystemExit) as stopped:
        main(["report"])
    assert stopped.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == "codex-auth: internal error: RuntimeError\n"
    assert secret not in captured.out + captured.err


# --- --out writes through -----------------------------------------------------------------------


def test_out_through_a_symlink_writes_its_target(seed_pool: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "health.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    run_cli(["report", "--json", "--now", str(NOW), "--out", str(link)], validate=False)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["summary"]["totalAccounts"] == 5
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["health.json"], "no temporary file left"


def test_out_through_a_dangling_symlink_creates_its_target(seed_pool: Path, tmp_path: Path) -> None:
    link = tmp_path / "latest.md"
    link.symlink_to("made-by-report.md")
    run_cli(["report", "--format", "markdown", "--now", str(NOW), "--out", str(link)], validate=False)
    assert link.is_symlink() and (tmp_path / "made-by-report.md").read_text().startswith("#")


def test_out_into_a_fifo_writes_into_it(seed_pool: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    run_cli(["report", "--json", "--now", str(NOW), "--out", str(fifo)], validate=False)
    reader.join(timeout=30)
    assert json.loads(received[0])["summary"]["totalAccounts"] == 5
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_out_into_a_character_device_and_dev_stdout(seed_pool: Path) -> None:
    done = cli("report", "--now", str(NOW), "--out", "/dev/null")
    assert done.returncode == 0 and done.stdout == b""
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    before = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None
    done = cli("report", "--json", "--now", str(NOW), "--out", "/dev/stdout")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["summary"]["totalAccounts"] == 5
    after = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None
    assert before == after, "/dev/stdout is left as it was"


def test_out_dash_is_stdout(seed_pool: Path) -> None:
    result = run_cli(["report", "--json", "--now", str(NOW), "--out", "-"], validate=False)
    assert json.loads(result.stdout)["summary"]["totalAccounts"] == 5
    assert not Path("-").exists()


# --- stored text that quotes a token ----------------------------------------------------------


def test_a_flagged_account_quoting_its_own_token_is_shown_without_it(pool_dir: Path) -> None:
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([poolkit.account("alice", NOW)]))
    erin = poolkit.flagged("erin", NOW, flagged_at=NOW - poolkit.DAY)
    erin["lastError"] = f"refresh failed: {erin['refreshToken']} invalid_grant"
    erin["flaggedReason"] = erin["refreshToken"]
    poolkit.write_flagged(pool_dir, [erin])
    before = snapshot_tree(pool_dir)
    secrets = fixture_secrets(pool_dir)
    outputs = [run_cli(["collect", "--now", str(NOW)])]
    outputs += [run_cli(["report", "--format", fmt, "--now", str(NOW)], validate=False) for fmt in FORMATS]
    flagged = next(r for r in outputs[0].records if r["kind"] == "flagged")
    assert (flagged["lastError"], flagged["flaggedReason"]) == ("invalid_grant", "unrecognised")
    for result in outputs:
        for secret in secrets:
            assert secret not in result.text + result.stderr
    assert snapshot_tree(pool_dir) == before


def test_fifos_as_lease_files_block_no_refresh(pool_dir: Path, fake_backend: Any) -> None:
    """codex-multi-auth's lease lock and result for the token about to be refreshed are FIFOs:
    the refresh neither waits on them nor reads them; the run ends."""
    import hashlib

    now = poolkit.now_ms()
    account = poolkit.account("alice", now, refreshed=now - 20 * poolkit.DAY, lifetime=poolkit.DAY)
    poolkit.write_pool(pool_dir, poolkit.accounts_v3([account]))
    fake_backend(poolkit.backend_scenario([account]))
    leases = pool_dir / "refresh-leases"
    leases.mkdir()
    digest = hashlib.sha256(account["refreshToken"].encode()).hexdigest()
    os.mkfifo(leases / f"{digest}.result.json")
    os.mkfifo(leases / f"{digest}.lock")
    os.environ["CODEX_AUTH_REFRESH_LEASE_WAIT_MS"] = "1000"
    try:
        result = run_cli(["report", "--live", "--json"], expect=None, validate=False)
    finally:
        del os.environ["CODEX_AUTH_REFRESH_LEASE_WAIT_MS"]
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    # A lock that is not a regular file is taken as held: the token is not spent, the run ends.
    assert "token refresh failed" in report["accounts"][0]["reasons"]
