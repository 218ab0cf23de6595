"""The formats' documentation (the README's Formats section and docs/formats.md) shows what
the tool prints: its Prometheus excerpt and Markdown example are regenerated here and
compared, every metric the tool writes is in its table, and the screenshots it shows are in
the repository."""

from __future__ import annotations

import re

from testkit.helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text()
FORMATS_DOC = (ROOT / "docs" / "formats.md").read_text()
SAMPLE = ["report", "--dir", str(ROOT / "examples" / "sample-pool"), "--now", "2026-03-03T14:30:00Z"]
EXCERPT = re.compile(
    r"^(# (HELP|TYPE) )?codex_auth_(accounts|account_health_score|account_status|account_quota_remaining_ratio)[ {]"
)


def block_after(marker: str, fence: str = "```", text: str = README) -> str:
    return text.split(marker, 1)[1].split(f"{fence}\n", 1)[1].split("```", 1)[0]


def test_prometheus_excerpt_is_what_the_tool_prints() -> None:
    metrics = run_cli([*SAMPLE, "--format", "prometheus"], validate=False).text
    lines = [line for line in metrics.splitlines() if EXCERPT.match(line)]
    # the status series of one account (carol, index 2) stand for the others
    lines = [line for line in lines if not line.startswith("codex_auth_account_status{") or 'index="2"' in line]
    assert block_after("Part of the sample\npool's metrics", text=FORMATS_DOC) == "\n".join(lines) + "\n"


def test_every_metric_is_in_the_table() -> None:
    metrics = run_cli([*SAMPLE, "--format", "prometheus"], validate=False).text
    names = [line.split()[2] for line in metrics.splitlines() if line.startswith("# TYPE ")]
    assert len(names) >= 15
    table = FORMATS_DOC.split("| metric | labels | value |", 1)[1].split("\n\n", 1)[0]
    assert [n for n in names if f"`{n}`" not in table] == []


def test_markdown_example_is_what_the_tool_prints() -> None:
    shown = block_after("ready to paste into an\nissue:", "```markdown", FORMATS_DOC)
    assert shown == run_cli([*SAMPLE, "--format", "markdown", "--redact"], validate=False).text


def test_screenshot_is_in_the_repository() -> None:
    assert "![The HTML report of the sample pool](docs/report.png)" in README
    png = (ROOT / "docs" / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 30_000


def test_options_and_exit_3_are_documented() -> None:
    for needle in (
        "--format",
        "--redact",
        "--min-healthy N",
        "| 3 | fewer healthy accounts than `--min-healthy N`",
        "## Formats",
        "(docs/formats.md)",
    ):
        assert needle in README, needle
    assert "## Redaction" in FORMATS_DOC
    for fmt in ("text", "json", "prometheus", "html", "markdown"):
        assert f"| `{fmt}` |" in README, fmt


def test_forecast_example_is_what_the_tool_prints() -> None:
    shown = block_after("On the sample pool (`CODEX_MULTI_AUTH_DIR=examples/sample-pool`):", "```text")
    command, output = shown.split("\n", 1)
    assert command == "$ codex auth forecast --now 2026-03-03T14:30:00Z"
    sample = [
        "forecast",
        "--dir",
        str(ROOT / "examples" / "sample-pool"),
        "--now",
        "2026-03-03T14:30:00Z",
        "--no-history",
    ]
    assert output == run_cli(sample, validate=False).text
    for needle in ("codex auth history --since 7d --daily", "codex auth history --events", "--prune --keep 90d"):
        assert needle in README, needle
