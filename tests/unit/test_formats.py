"""`--format text|json|prometheus|html|markdown`: every format on the seed example, an empty
pool, an all-flagged pool and a 1,000-account pool; Prometheus output checked by
prometheus_client's parser and by `promtool check metrics`; HTML checked for being
self-contained and escaped. Golden files for text, Markdown and Prometheus are in
tests/golden/stages/render (test_golden_stages.py); Chromium loads the HTML in
test_html_browser.py."""

from __future__ import annotations

import json
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.schema import schema_errors
from testkit import poolkit
from testkit.cases import BIG, NOW, RENDER_CASES, SMALL, big_report, render_case
from testkit.helpers import ROOT, pool_record, run_cli, system_tool

FORMATS = ("text", "json", "prometheus", "html", "markdown")
# (case, active accounts, flagged accounts)


# --- one checker per format: what every report in that format must be ----------------


def check_text(data: bytes, active: int, flagged: int) -> None:
    text = data.decode()
    assert text.startswith("=== Codex Multi-Auth Health Report ===\n")
    assert text.count("\n     Health score: ") == active
    assert text.count("\n     Verification count: ") == flagged


def check_json(data: bytes, active: int, flagged: int) -> None:
    report = json.loads(data)
    assert schema_errors(report, "report") == []
    assert (len(report["accounts"]), len(report["flagged"])) == (active, flagged)


def check_prometheus(data: bytes, active: int, flagged: int) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    text = data.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families and all(name.startswith("codex_auth_") for name in families)
    assert all(f.documentation and f.type == "gauge" for f in families.values())
    for name in families:  # HELP and TYPE exactly once per metric
        assert text.count(f"# HELP {name} ") == 1 and text.count(f"# TYPE {name} ") == 1
    total = families["codex_auth_accounts"].samples
    assert [s.value for s in total] == [active + flagged]
    scores = families.get("codex_auth_account_health_score")
    assert len(scores.samples if scores else []) == active
    statuses = families.get("codex_auth_account_status")
    assert sum(s.value for s in (statuses.samples if statuses else [])) == active, "exactly one status is 1 per account"
    verifications = families.get("codex_auth_flagged_account_verifications")
    assert len(verifications.samples if verifications else []) == flagged
    assert families["codex_auth_report_generated_timestamp_seconds"].samples[0].value == poolkit.SEED_NOW / 1000


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.body_rows = 0
        self._tbody = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "tbody":
            self._tbody = True
        elif tag == "tr" and self._tbody:
            self.body_rows += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._tbody = False


def check_html(data: bytes, active: int, flagged: int, explain: bool = False) -> None:
    text = data.decode()
    page = _Page()
    page.feed(text)
    page.close()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert page.body_rows == active * (2 if explain else 1) + flagged
    self_contained(text, page)


def self_contained(text: str, page: _Page) -> None:
    """Nothing that loads from elsewhere: no scripts, links, images, frames, fonts or URLs."""
    assert not {"script", "link", "img", "iframe", "object", "embed", "source", "video", "audio", "base"} & set(
        page.tags
    )
    assert not [
        (name, value)
        for name, value in page.attrs
        if (
            name in ("src", "href", "srcset", "action", "poster")
            and not (name == "href" and (value or "").startswith("#"))
        )
        or name.startswith("on")
    ]
    assert "url(" not in text and "@import" not in text and "@font-face" not in text
    assert not re.search(r"(?i)\b(https?|ftp):|//[a-z0-9]", text)
    assert "default-src 'none'" in text, "the page forbids loading anything itself"


def check_markdown(data: bytes, active: int, flagged: int) -> None:
    lines = data.decode().splitlines()
    assert lines[0].startswith("### Codex auth report, ")
    rows = [line for line in lines if line.startswith("| ")]
    tables = [line for line in rows if not re.match(r"\| (#|--:) ", line)]
    assert len(tables) == active + flagged
    for row in rows:  # every row has as many cells as its table's header
        cells = len(re.split(r"(?<!\\)\|", row)) - 2
        assert cells in (8, 6), row
    assert ("No active accounts." in lines) == (active == 0)
    assert ("No flagged accounts." in lines) == (flagged == 0)


CHECKS = {
    "text": check_text,
    "json": check_json,
    "prometheus": check_prometheus,
    "html": check_html,
    "markdown": check_markdown,
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("case", "active", "flagged"), SMALL, ids=[c for c, _, _ in SMALL])
def test_every_format_on_the_small_cases(case: str, active: int, flagged: int, fmt: str) -> None:
    CHECKS[fmt](render_case(case, "--format", fmt), active, flagged)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_on_1000_accounts(big_pool: Path, fmt: str) -> None:
    CHECKS[fmt](big_report(big_pool, "--format", fmt), BIG, 0)


def test_format_and_short_json_agree(seed_pool: Path) -> None:
    assert (
        run_cli(["report", "--now", NOW, "--json"], validate=False).stdout
        == run_cli(["report", "--now", NOW, "--format", "json"], validate=False).stdout
    )


def test_explain_in_markdown_and_html() -> None:
    markdown = render_case("seed-example", "--format", "markdown", "--explain").decode()
    assert (
        "- #3 `carol@example.com`, score 70:\n  - -10 refresh token aging: tokens last refreshed 12 days ago\n"
        in markdown
    )
    html = render_case("seed-example", "--format", "html", "--explain")
    check_html(html, 4, 1, explain=True)
    assert "<li>&minus;20 quota below 25%: 12% left in the 5h window</li>" in html.decode()
    assert "quota below 25%" not in render_case("seed-example", "--format", "html").decode()


# --- Prometheus ------------------------------------------------------------------------


def samples(data: bytes, name: str) -> list:
    from prometheus_client.parser import text_string_to_metric_families

    return [s for f in text_string_to_metric_families(data.decode()) if f.name == name for s in f.samples]


def test_prometheus_covers_the_seed_exporter_and_more() -> None:
    data = render_case("seed-example", "--format", "prometheus")
    scores = {s.labels["email"]: s.value for s in samples(data, "codex_auth_account_health_score")}
    assert scores == {"alice@example.com": 100, "bob@example.com": 85, "carol@example.com": 70, "dave@example.com": 40}
    assert samples(data, "codex_auth_active_accounts")[0].value == 4
    assert samples(data, "codex_auth_flagged_accounts")[0].value == 1
    left = {
        (s.labels["index"], s.labels["window"]): s.value
        for s in samples(data, "codex_auth_account_quota_remaining_ratio")
    }
    assert left[("0", "5h")] == 0.95 and left[("1", "7d")] == 0.67 and left[("3", "5h")] == 0
    current = {
        s.labels["status"]: s.value for s in samples(data, "codex_auth_account_status") if s.labels["index"] == "2"
    }
    assert current == {"healthy": 0, "warning": 1, "rate-limited": 0, "disabled": 0, "error": 0}
    limited = {s.labels["index"]: s.value for s in samples(data, "codex_auth_account_rate_limited")}
    assert limited == {"0": 0, "1": 0, "2": 0, "3": 1}
    reset = samples(data, "codex_auth_account_rate_limit_reset_timestamp_seconds")
    assert [(s.labels["index"], s.value) for s in reset] == [("3", (poolkit.SEED_NOW + 90 * poolkit.MINUTE) / 1000)]
    used = {s.labels["index"]: s.value for s in samples(data, "codex_auth_account_last_used_timestamp_seconds")}
    assert used["0"] == (poolkit.SEED_NOW - 15 * poolkit.MINUTE) / 1000
    assert [s.labels["index"] for s in samples(data, "codex_auth_account_recommended") if s.value == 1] == ["0"]


def test_prometheus_leaves_unknown_quota_out(big_pool: Path) -> None:
    data = big_report(big_pool, "--format", "prometheus")
    with_quota = {s.labels["index"] for s in samples(data, "codex_auth_account_quota_remaining_ratio")}
    # large_pool caches quota for every account whose index is not a multiple of 5
    assert with_quota == {str(i) for i in range(BIG) if i % 5}
    unknown = render_case("recovered-shared-email", "--format", "prometheus")
    assert samples(unknown, "codex_auth_account_health_score") and not samples(
        unknown, "codex_auth_account_quota_remaining_ratio"
    )
    assert b"_quota_" not in unknown, "no quota series at all, rather than zeros"


def test_prometheus_label_values_are_escaped() -> None:
    nasty = 'we"ird\\name\nline@example.com'
    record = {"kind": "account", "index": 0, "email": nasty, "accountId": None, "enabled": True}
    data = run_cli(
        ["render", "--now", NOW, "--format", "prometheus"],
        input=json.dumps(pool_record(1)) + "\n" + json.dumps(record) + "\n",
        validate=False,
    ).stdout
    # the newline became a visible escape where the record was read (pipeline/visible.py); the
    # quote and the backslashes are escaped as the exposition format wants
    assert 'email="we\\"ird\\\\name\\\\x0aline@example.com"' in data.decode()
    shown = 'we"ird\\name\\x0aline@example.com'
    assert [s.labels["email"] for s in samples(data, "codex_auth_account_health_score")] == [shown]
    assert [s.labels["account_id"] for s in samples(data, "codex_auth_account_health_score")] == [""]


@pytest.fixture
def promtool() -> str:
    return system_tool("promtool", "prometheus")


def test_prometheus_out_file_is_whole_or_absent(
    seed_pool: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "codex_auth.prom"
    target.write_text("# previous scrape file\n")
    run_cli(["report", "--now", NOW, "--format", "prometheus", "--out", str(target)], validate=False)
    expected = run_cli(["report", "--now", NOW, "--format", "prometheus"], validate=False).stdout
    assert target.read_bytes() == expected
    assert stat.S_IMODE(target.stat().st_mode) == 0o600, "private unless asked"
    # readable by node_exporter, which runs as its own user, when asked for
    run_cli(
        ["report", "--now", NOW, "--format", "prometheus", "--out-mode", "644", "--out", str(target)], validate=False
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["codex_auth.prom"]

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    result = run_cli(["report", "--now", NOW, "--format", "prometheus", "--out", str(target)], expect=1, validate=False)
    assert "no space left" in result.stderr
    assert target.read_bytes() == expected, "a failed write leaves the last whole file"
    assert [p.name for p in tmp_path.iterdir()] == ["codex_auth.prom"], "and no temporary file"


def test_other_out_files_stay_private(seed_pool: Path, tmp_path: Path) -> None:
    for fmt in ("html", "markdown"):
        target = tmp_path / f"report.{fmt}"
        run_cli(["report", "--now", NOW, "--format", fmt, "--out", str(target)], validate=False)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", ["755", "400", "1644", "rw", "9"])
def test_out_mode_refuses_unsafe_or_odd_modes(seed_pool: Path, tmp_path: Path, mode: str) -> None:
    result = run_cli(
        ["report", "--now", NOW, "--out-mode", mode, "--out", str(tmp_path / "r.txt")], expect=2, validate=False
    )
    assert "--out-mode" in result.stderr and not (tmp_path / "r.txt").exists()


# --- HTML --------------------------------------------------------------------------------


def test_html_escapes_everything() -> None:
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>@example.com'
    records = [
        pool_record(1, 1),
        {"kind": "account", "index": 0, "email": hostile, "enabled": True, "label": "<b>label</b>"},
        {
            "kind": "flagged",
            "index": 0,
            "email": None,
            "label": "<i>x</i>",
            "flaggedAt": None,
            "flaggedReason": "<script>bad()</script>",
            "verificationCount": 0,
        },
    ]
    data = run_cli(
        ["render", "--now", NOW, "--format", "html"],
        input="".join(json.dumps(r) + "\n" for r in records),
        validate=False,
    ).stdout
    check_html(data, 1, 1)
    text = data.decode()
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;script&gt;bad()&lt;/script&gt;" in text
    assert "<script" not in text and "<img" not in text


def test_html_reads_without_colour() -> None:
    text = render_case("seed-example", "--format", "html").decode()
    # each status has a symbol and its name in text; quotas have their percentage in text
    for label in ("Healthy", "Warning", "Rate-limited"):
        assert re.search(rf'<span class="st [a-z-]+"><span aria-hidden="true">.</span> {label}</span>', text)
    assert "<small>refresh token aging</small>" in text
    assert 'style="width:95%"></i></span>95%</span>' in text
    assert 'Resets in 1h 30m<br><small>at <time datetime="2026-03-03T16:00:00Z">16:00 UTC</time></small>' in text


def test_html_size_stays_small(big_pool: Path) -> None:
    seed = render_case("seed-example", "--format", "html")
    big = big_report(big_pool, "--format", "html")
    assert len(seed) < 16_000
    assert len(big) < 1000 * 700, f"{len(big)} bytes for 1,000 accounts"


@pytest.mark.parametrize("case", [c for c, _, _ in SMALL])
def test_json_written_account_by_account_equals_the_whole_document_dumped(case: str, big_pool: Path) -> None:
    import orjson

    from pipeline.ndjson import read_records
    from pipeline.report.json_report import health_report, render
    from pipeline.report.view import build_view

    with open(RENDER_CASES / f"{case}.in.ndjson", "rb") as stream:
        view = build_view(read_records(stream, validate=False), now=poolkit.SEED_NOW)
    whole = orjson.dumps(health_report(view), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    assert render(view) == whole
    data = big_report(big_pool, "--json")
    assert data == orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def test_prometheus_numbers_accounts_as_people_and_codex_multi_auth_do() -> None:
    """``number`` is the 1-based number the text report shows (and codex-multi-auth's
    ``switch <number>`` takes) beside the 0-based ``index`` of the JSON; the shipped alert
    names the account by its number."""
    data = render_case("seed-example", "--format", "prometheus")
    text = render_case("seed-example").decode()
    shown = dict(re.findall(r"^  (\d+)\. (\S+@example\.com)$", text.split("Flagged Accounts:")[0], re.M))
    labelled = samples(data, "codex_auth_account_health_score")
    assert len(labelled) == 4
    for sample in labelled:
        assert int(sample.labels["number"]) == int(sample.labels["index"]) + 1
        assert shown[sample.labels["number"]] == sample.labels["email"]
    rules = (ROOT / "examples" / "prometheus" / "codex-auth-rules.yml").read_text()
    assert "$labels.number" in rules and "$labels.index" not in rules
