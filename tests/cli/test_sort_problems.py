"""``--sort problems`` lists the worst accounts first (error, rate-limited, warning, disabled,
healthy; the lowest score first within each) in every format, and a long text report gives the
status counts and the account to use next in its Summary, on the first screen, as well as in
the Recommendation at its end. A short report stays the usage guide's example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.report.view import PROBLEM_ORDER
from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)
RANK = {status: place for place, status in enumerate(PROBLEM_ORDER)}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return poolkit.large_pool(tmp_path_factory.mktemp("big") / "pool", 200, poolkit.SEED_NOW)


def report(pool: Path, *args: str) -> str:
    return run_cli(["report", "--dir", str(pool), "--now", NOW, *args], validate=False).text


def test_json_lists_the_worst_first(big: Path) -> None:
    pool_order = json.loads(report(big, "--json"))["accounts"]
    worst = json.loads(report(big, "--json", "--sort", "problems"))["accounts"]
    assert sorted(a["index"] for a in worst) == [a["index"] for a in pool_order], "the same accounts"
    keys = [(RANK[a["status"]], a["healthScore"], a["index"]) for a in worst]
    assert keys == sorted(keys)
    assert worst[0]["status"] != "healthy" and worst[-1]["status"] == "healthy"
    assert [a["index"] for a in worst] != [a["index"] for a in pool_order]


def test_text_and_markdown_list_the_worst_first(big: Path) -> None:
    text = report(big, "--sort", "problems")
    statuses = re.findall(r"^     Status: ([A-Za-z-]+)", text, re.M)
    ranks = [RANK[s.lower()] for s in statuses]
    assert ranks == sorted(ranks) and len(ranks) == 200
    markdown = report(big, "--format", "markdown", "--sort", "problems")
    rows = [
        line.split(" | ")[2].split(" (")[0].lower() for line in markdown.splitlines() if re.match(r"\| \d+ \| `", line)
    ]
    assert [RANK[s] for s in rows] == sorted(RANK[s] for s in rows) and len(rows) == 200


def test_html_groups_put_the_lowest_score_first(big: Path) -> None:
    html = report(big, "--format", "html", "--sort", "problems")
    assert (
        html.index('id="status-rate-limited"') < html.index('id="status-warning"') < html.index('id="status-healthy"')
    )
    warning = html.split('id="status-warning"')[1].split("</section>")[0]
    scores = [int(n) for n in re.findall(r"(?:</span>|</small>)</td><td class=n>(\d+)</td>", warning)]
    assert scores == sorted(scores) and len(set(scores)) > 1, "the lowest score first"
    pool_order = report(big, "--format", "html").split('id="status-warning"')[1].split("</section>")[0]
    assert sorted(int(n) for n in re.findall(r"(?:</span>|</small>)</td><td class=n>(\d+)</td>", pool_order)) == scores


def test_a_long_text_report_answers_in_its_summary(big: Path) -> None:
    text = report(big)
    summary = text.split("\nActive Accounts:")[0]
    use = re.search(r"^  Use next: (.+)$", summary, re.M)
    assert use, summary
    assert f"  Use account: {use.group(1)}\n" in text.split("\nRecommendation:\n")[1], "the same answer at the end"
    counts = re.search(r"^  Statuses: (.+)$", summary, re.M)
    assert counts and "healthy" in counts.group(1)
    document = json.loads(report(big, "--json"))["summary"]["statusCounts"]
    assert counts.group(1) == ", ".join(f"{n} {s}" for s, n in document.items() if n)
    assert len(summary.splitlines()) < 15, "on the first screen"


@pytest.mark.usefixtures("seed_pool")
def test_a_short_report_is_the_guides_example() -> None:
    text = run_cli(["report", "--now", NOW], validate=False).text
    assert "Statuses:" not in text and "Use next:" not in text
    assert run_cli(["report", "--now", NOW, "--sort", "pool"], validate=False).text == text
