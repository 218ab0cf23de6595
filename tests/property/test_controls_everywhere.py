"""Any text in storage (all of Unicode but lone surrogates, which a JSON file cannot hold as
text; controls included) as an e-mail, a label, a workspace name or a flagged account's label,
and any text in the history's rows, gives output free of raw control characters in every
format: text, JSON (its decoded values too), Markdown, HTML, Prometheus, the record stream, the
forecast's text and Markdown, and the history's NDJSON, CSV and table; and it forges no line
(the same line count as a plain name)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.history.samples import Observation, WindowRow
from pipeline.history.store import HistoryStore
from pipeline.visible import CONTROL
from testkit import fuzz, poolkit
from testkit.helpers import json_strings, run_cli

NOW = poolkit.SEED_NOW
FORMATS = ("text", "json", "markdown", "html", "prometheus")
LINE_STABLE = ("text", "markdown", "prometheus", "forecast markdown")
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24)
NASTY = "\x1b]0;t\x07\x1b[2J\r\n\x00\x7f\x85\x9b\u202e\u2066\u2028``"


def _raw(text: str) -> list[str]:
    return [c for c in CONTROL.findall(text) if c != "\n"]


def _pool(folder: Path, text: str) -> None:
    email = f"p{text}q@example.com"
    accounts = [
        poolkit.account("a", NOW, email=email, accountLabel=f"L{text}L", workspaces=[{"id": "w1", "name": f"W{text}"}]),
        poolkit.account("b", NOW, email=email, workspaces=[{"id": "w2", "name": f"V{text}"}]),
    ]
    poolkit.write_pool(folder, poolkit.accounts_v3(accounts))
    flagged = poolkit.flagged("f", NOW, flagged_at=NOW - 60_000, email=f"f{text}@example.com", accountLabel=f"F{text}")
    poolkit.write_flagged(folder, [flagged])


def _outputs(folder: Path) -> dict[str, str]:
    base = ["--dir", str(folder), "--now", str(NOW)]
    found = {fmt: run_cli(["report", "--format", fmt, *base], validate=False).text for fmt in FORMATS}
    found["collect"] = run_cli(["collect", *base], validate=False).text
    for fmt in ("text", "markdown"):
        found[f"forecast {fmt}"] = run_cli(["forecast", "--format", fmt, *base], validate=False).text
    return found


@given(ANY_TEXT)
@example(NASTY)
@example("\n")
@example("a\r\nActive Accounts: 9")
def test_any_stored_text_gives_output_free_of_raw_controls(text: str) -> None:
    fuzz.CASES["controls-report"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        hostile, plain = Path(tmp) / "hostile", Path(tmp) / "plain"
        _pool(hostile, text)
        _pool(plain, "x")
        got, baseline = _outputs(hostile), _outputs(plain)
    for fmt, out in got.items():
        assert not _raw(out), f"{fmt}: raw {_raw(out)!r}"
    for fmt in LINE_STABLE:
        assert got[fmt].count("\n") == baseline[fmt].count("\n"), f"{fmt}: a line was forged"
    for line in got["collect"].splitlines():
        assert not [v for _k, v in json_strings(json.loads(line)) if CONTROL.search(v)]
    assert not [v for _k, v in json_strings(json.loads(got["json"])) if CONTROL.search(v)]


@given(ANY_TEXT, ANY_TEXT)
@example(NASTY, NASTY)
def test_any_text_in_the_history_gives_output_free_of_raw_controls(email: str, other: str) -> None:
    fuzz.CASES["controls-history"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.sqlite3"
        with HistoryStore(path, create=True) as store:
            for n in range(2):
                store.append(NOW + n * 60_000, "live", None, [_observation(email, other, n)])
        for kind in ([], ["--events"], ["--daily"]):
            for fmt in ("ndjson", "json", "csv", "text"):
                done = run_cli(["history", "--history", str(path), "--format", fmt, *kind], validate=False)
                assert not _raw(done.text), f"{kind} {fmt}: raw {_raw(done.text)!r}"
                assert not _raw(done.stderr)
        lines = run_cli(["history", "--history", str(path), "--format", "csv"], validate=False).text.splitlines()
        assert len(lines) == 3, lines  # a header and two rows: nothing forged


def _observation(email: str, other: str, n: int) -> Observation:
    return Observation(
        sampled_at=NOW + n * 60_000,
        account_key=f"{other}|{email}",
        idx=0,
        account_id=other,
        email=email,
        enabled=True,
        status="rate-limited" if n else other,
        health_score=90,
        plan=other if n else "plus",
        probe_outcome="ok",
        probe_error=other,
        quota_source="live",
        credits_balance=other,
        has_credits=None,
        reset_credits=None,
        limit_reached=None,
        windows=(WindowRow("codex/300", other, other, 300, 10.0 * n, NOW + 3_600_000),),
    )
