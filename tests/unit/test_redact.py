"""`--redact`: no e-mail and no account id of the fixture in any format (nor on stderr), in
fields, reasons, details, warnings and paths alike; masks that are deterministic and keep
every account tellable apart, on 1,000 accounts too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.redact import Masker, mask_account_id, mask_email
from testkit import poolkit
from testkit.helpers import ROOT, json_strings, parse_ndjson, run_cli

NOW = str(poolkit.SEED_NOW)
FORMATS = ("text", "json", "prometheus", "html", "markdown")
RENDER_CASES = ROOT / "tests" / "golden" / "stages" / "render"
EMAIL_MASK = re.compile(r"^[A-Za-z0-9]?\*\*\*@\*\*\*(\.[A-Za-z0-9]+)?#[0-9a-f]{10}$")


def identities(folder: Path) -> set[str]:
    """Every e-mail and account id stored in the pool's files."""
    found: set[str] = set()
    for path in folder.iterdir():
        found |= {
            text
            for key, text in json_strings(json.loads(path.read_text()))
            if key in ("email", "accountId") or "@" in text
        }
    found |= {key.split("|")[1] for key in json.loads((folder / "codex-auth-report-state.json").read_text())["flagged"]}
    return found


def assert_none_of(identifiers: set[str], output: str) -> None:
    lowered = output.lower()
    leaked = sorted(i for i in identifiers if i.lower() in lowered)
    assert not leaked, f"leaked: {leaked}"


@pytest.mark.parametrize("explain", [False, True], ids=["plain", "explain"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_email_or_account_id_in_any_redacted_report(seed_pool: Path, fmt: str, explain: bool) -> None:
    explain = explain and fmt != "prometheus"  # Prometheus refuses --explain (exit 2)
    secret = identities(seed_pool)
    assert {"alice@example.com", "erin@example.com", "user-abc123", "user-xyz789"} <= secret
    args = ["report", "--now", NOW, "--format", fmt, "--redact"] + (["--explain"] if explain else [])
    result = run_cli(args, validate=False)
    assert_none_of(secret, result.text + result.stderr)
    assert "@***" in result.text, "the accounts are still there, masked"
    plain = run_cli(args[:-2] if explain else args[:-1], validate=False).text
    assert "alice@example.com" in plain, "the same report without --redact names them"


EVERYWHERE = {
    "alice@example.com",
    "acct-alice",
    "Bob.Smith+codex@example.co.uk",
    "org-Q7x9",
    "erin@example.com",
    "acct-erin",
    "zed@example.org",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_masks_reach_paths_warnings_reasons_and_details(fmt: str) -> None:
    data = (RENDER_CASES / "redact-everywhere.in.ndjson").read_bytes()
    raw = data.decode()
    assert all(i in raw for i in EVERYWHERE), "the fixture holds each identifier"
    assert "/home/ops/pools/alice@example.com" in raw and "upstream said: no workspace org-Q7x9" in raw
    explain = [] if fmt == "prometheus" else ["--explain"]  # Prometheus refuses --explain (exit 2)
    out = run_cli(["render", "--now", NOW, "--format", fmt, "--redact", *explain], input=data, validate=False).text
    assert_none_of(EVERYWHERE, out)
    if fmt in ("text", "markdown", "html"):
        star = "\\*" if fmt == "markdown" else "*"  # Markdown escapes the stars of masks in running text
        assert f"/home/ops/pools/a{star * 3}@{star * 3}.com#" in out and "no workspace acct#" in out


def test_stderr_notes_are_redacted(tmp_path: Path) -> None:
    folder = tmp_path / "carol@example.com"
    poolkit.write_pool(folder, poolkit.accounts_v3([poolkit.account("walter", poolkit.SEED_NOW)]))
    (folder / poolkit.FLAGGED_FILE).write_text("{not json")
    plain = run_cli(["report", "--dir", str(folder), "--now", NOW], validate=False)
    assert "flagged accounts file is corrupt in " in plain.stderr and "carol@example.com" in plain.stderr, (
        "the note names the file"
    )
    redacted = run_cli(["report", "--dir", str(folder), "--now", NOW, "--redact"], validate=False)
    assert_none_of({"carol@example.com", "walter@example.com", "acct-walter"}, redacted.stderr + redacted.text)


def test_failure_message_is_redacted(tmp_path: Path) -> None:
    folder = tmp_path / "dana@example.com"
    poolkit.write_pool(folder, poolkit.accounts_v3([]))
    result = run_cli(["report", "--dir", str(folder), "--now", NOW, "--redact"], expect=1, validate=False)
    assert "no accounts in" in result.stderr and "dana@example.com" not in result.stderr


def test_redaction_is_deterministic(seed_pool: Path) -> None:
    first = run_cli(["report", "--now", NOW, "--json", "--redact"], validate=False).stdout
    assert first == run_cli(["report", "--now", NOW, "--json", "--redact"], validate=False).stdout
    report = json.loads(first)
    emails = [a["email"] for a in report["accounts"]] + [f["email"] for f in report["flagged"]]
    ids = [a["accountId"] for a in report["accounts"]] + [f["accountId"] for f in report["flagged"]]
    assert all(EMAIL_MASK.match(e) for e in emails), emails
    assert all(re.fullmatch(r"acct#[0-9a-f]{10}", i) for i in ids), ids
    assert len(set(emails)) == 5 and len(set(ids)) == 5
    assert report["summary"]["currentAccountEmail"] == emails[0] == report["recommendation"]["email"]


def test_masks_stay_unique_on_1000_accounts(tmp_path: Path) -> None:
    pool = poolkit.large_pool(tmp_path / "pool", 1000, poolkit.SEED_NOW)
    report = json.loads(
        run_cli(["report", "--dir", str(pool), "--now", NOW, "--json", "--redact"], validate=False).stdout
    )
    emails = [a["email"] for a in report["accounts"]]
    ids = [a["accountId"] for a in report["accounts"]]
    assert len(set(emails)) == len(set(ids)) == 1000
    assert all(e.startswith("u***@***.com#") for e in emails)


def test_mask_scheme() -> None:
    assert EMAIL_MASK.match(mask_email("alice@example.com")) and mask_email("alice@example.com").startswith(
        "a***@***.com#"
    )
    assert mask_email("Alice@Example.COM") == mask_email("alice@example.com"), "one mailbox, one mask"
    assert mask_email("alice@example.com") != mask_email("alicia@example.com")
    assert mask_email("root@localhost").startswith("r***@***#")
    assert mask_account_id("user-abc123") != mask_account_id("user-abc124")
    masker = Masker({"user-abc123", "a b"})
    assert (
        masker.text("user-abc123 and user-abc1234 and a b")
        == f"{mask_account_id('user-abc123')} and user-abc1234 and {mask_account_id('a b')}"
    )
    assert masker.text("write to alice@example.com.") == f"write to {mask_email('alice@example.com')}."
    assert masker.value({"email": "alice@example.com", "accountId": "user-abc123", "n": 3}) == {
        "email": mask_email("alice@example.com"),
        "accountId": mask_account_id("user-abc123"),
        "n": 3,
    }


def test_redacted_stream_renders_like_a_redacted_report(seed_pool: Path) -> None:
    """The pipe and the in-process report agree under --redact too (redaction happens in render)."""
    collected = run_cli(["collect", "--now", NOW]).stdout
    scored = run_cli(["score", "--now", NOW], input=collected).stdout
    recommended = run_cli(["recommend", "--now", NOW], input=scored).stdout
    assert parse_ndjson(recommended)[-1]["kind"] == "recommendation"
    piped = run_cli(
        ["render", "--now", NOW, "--format", "markdown", "--redact"], input=recommended, validate=False
    ).stdout
    assert piped == run_cli(["report", "--now", NOW, "--format", "markdown", "--redact"], validate=False).stdout
