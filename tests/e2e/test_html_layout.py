"""Issue 11, point 13: the HTML report at a 420 px and a 1280 px wide window, for the sample
pool and for 1,000 accounts, in headless Chromium: no console error, problems first (grouped
by status, the summary cards linking to each group), and on a narrow screen the tables'
wrappers scroll sideways while the page itself does not. Layout is measured in the page over
the DevTools protocol (Runtime.evaluate); a screenshot of each is taken."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.headless import Chromium, find_chromium
from testkit.helpers import ROOT, run_cli, system_tool

NOW = str(poolkit.SEED_NOW)
SAMPLE = str(ROOT / "examples" / "sample-pool")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MEASURE = """JSON.stringify((() => {
  const wrappers = [...document.querySelectorAll('.scroll')];
  const first = wrappers[0];
  const before = first ? first.scrollLeft : 0;
  if (first) { first.scrollLeft = 200; }
  const after = first ? first.scrollLeft : 0;
  if (first) { first.scrollLeft = before; }
  return {
    innerWidth: window.innerWidth,
    pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
    wrappers: wrappers.map(w => ({scroll: w.scrollWidth, client: w.clientWidth, overflowX: getComputedStyle(w).overflowX})),
    tablesOutsideWrappers: [...document.querySelectorAll('table')].filter(t => !t.closest('.scroll')).length,
    firstWrapperScrolledTo: after,
    groups: [...document.querySelectorAll('section[id^="status-"]')].map(s => [s.id, s.querySelectorAll('tbody tr').length]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    scripts: document.scripts.length,
  };
})())"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    executable = find_chromium() or system_tool(os.environ.get("CHROMIUM") or "chromium", "chromium")
    with Chromium(executable) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("html")
    big = poolkit.large_pool(folder / "big", 1000, poolkit.SEED_NOW)
    made = {}
    for count, pool in ((5, SAMPLE), (1000, str(big))):
        page = folder / f"report-{count}.html"
        run_cli(["report", "--dir", pool, "--now", NOW, "--format", "html", "--out", str(page)], validate=False)
        made[count] = page
    return made


@pytest.mark.parametrize("width", [420, 1280])
@pytest.mark.parametrize("count", [5, 1000])
def test_layout(browser: Chromium, pages: dict[int, Path], count: int, width: int, tmp_path: Path) -> None:
    page = browser.load(pages[count], width=width, measure=MEASURE, max_height=3000)
    facts = page.measured
    assert page.errors == [] and page.resources == 0 and facts["scripts"] == 0
    assert facts["innerWidth"] == width
    assert facts["pageOverflow"] <= 0, f"the page itself scrolls sideways by {facts['pageOverflow']} px"
    assert facts["tablesOutsideWrappers"] == 0
    assert all(w["overflowX"] == "auto" for w in facts["wrappers"])
    if width == 420:  # the quota columns do not fit: the wrapper scrolls instead of the page
        assert facts["wrappers"][0]["scroll"] > facts["wrappers"][0]["client"]
        assert facts["firstWrapperScrolledTo"] > 0
    # problems first, each card links to a group that is on the page
    ids = [group_id for group_id, _ in facts["groups"]]
    order = ["status-error", "status-rate-limited", "status-warning", "status-disabled", "status-healthy"]
    assert ids == [i for i in order if i in ids] and ids[-1] == "status-healthy"
    assert sorted(facts["links"]) == sorted(f"#{i}" for i in ids)
    assert sum(rows for _, rows in facts["groups"]) == (4 if count == 5 else 1000)
    assert page.png.startswith(PNG_SIGNATURE) and len(page.png) > 10_000
    (tmp_path / f"report-{count}-{width}.png").write_bytes(page.png)


def test_status_filter_in_the_browser(browser: Chromium, tmp_path: Path) -> None:
    page_file = tmp_path / "attention.html"
    page_file.write_bytes(
        run_cli(
            ["report", "--dir", SAMPLE, "--now", NOW, "--format", "html", "--status", "warning,rate-limited,error"],
            validate=False,
        ).stdout
    )
    facts = browser.load(page_file, width=420, measure=MEASURE).measured
    assert [group_id for group_id, _ in facts["groups"]] == ["status-rate-limited", "status-warning"]
    assert sorted(facts["links"]) == ["#status-rate-limited", "#status-warning"], "no link to a group left out"


def test_the_docs_screenshots_exist() -> None:
    for name in ("report-420.png", "report-1000.png"):
        data = (ROOT / "docs" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name
    page = (ROOT / "docs" / "formats.md").read_text()
    assert "](report-420.png)" in page and "](report-1000.png)" in page


ROWS = """JSON.stringify((() => {
  const groups = [...document.querySelectorAll('section[id^="status-"]')];
  return {
    tallest: Math.max(...groups.flatMap(g => [...g.querySelectorAll('tbody tr:not(.why)')].map(r => r.getBoundingClientRect().height))),
    lefts: groups.map(g => [...g.querySelectorAll('thead th')].map(th => Math.round(th.getBoundingClientRect().left))),
    cutNames: [...document.querySelectorAll('.accounts tbody tr:not(.why) td:nth-child(2)')].filter(td => td.scrollWidth > td.clientWidth).length,
  };
})())"""


@pytest.mark.parametrize("width", [420, 1280])
def test_rows_stay_short_and_the_groups_columns_line_up(browser: Chromium, pages: dict[int, Path], width: int) -> None:
    facts = browser.load(pages[1000], width=width, measure=ROWS, max_height=3000).measured
    # one line, two for a status with its reason: no cell wraps (they took 145 px at 420 px)
    assert facts["tallest"] < 64, facts["tallest"]
    assert len(facts["lefts"]) >= 4 and all(lefts == facts["lefts"][0] for lefts in facts["lefts"])
    assert facts["cutNames"] == 0, "every e-mail fits its column"
