"""The HTML report in headless Chromium: every page loads with no console error, fetches
nothing, shows one table row per account, and a screenshot is taken.

Console errors are read over the DevTools protocol (testkit/headless.py): console.error
calls, uncaught exceptions, and the browser's own log entries at level error, which is where
blocked loads and Content-Security-Policy violations land. The last test proves that a
page with such an error is caught. Without Chromium the module is skipped and says why
(in CI, where CODEX_AUTH_REQUIRE_TOOLS is set, that is a failure instead)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.headless import Chromium, find_chromium
from testkit.helpers import ROOT, run_cli, system_tool

NOW = str(poolkit.SEED_NOW)
RENDER_CASES = ROOT / "tests" / "golden" / "stages" / "render"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    executable = find_chromium() or system_tool(os.environ.get("CHROMIUM") or "chromium", "chromium")
    with Chromium(executable) as chromium:
        yield chromium


def html_of(case: str, *args: str) -> bytes:
    data = (RENDER_CASES / f"{case}.in.ndjson").read_bytes()
    return run_cli(["render", "--now", NOW, "--format", "html", *args], input=data, validate=False).stdout


def test_seed_example_loads_cleanly_and_is_screenshot(browser: Chromium, tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_bytes(html_of("seed-example"))
    page = browser.load(page_file)
    assert page.errors == []
    assert page.resources == 0, "a self-contained page fetches nothing"
    assert page.title == "Codex auth report, 2026-03-03 14:30:00 UTC"
    assert page.rows == 4 + 1
    shot = tmp_path / "report.png"
    shot.write_bytes(page.png)
    assert page.png.startswith(PNG_SIGNATURE)
    # A blank or single-colour 1280x900 page compresses to a few kilobytes; this one has text.
    assert len(page.png) > 30_000, len(page.png)


@pytest.mark.parametrize(
    ("case", "args", "rows"),
    [
        ("all-flagged", [], 2),
        ("seed-example", ["--explain"], 4 * 2 + 1),
        ("redact-everywhere", ["--redact", "--explain"], 2 * 2 + 1),
        ("recovered-shared-email", [], 2),
    ],
)
def test_every_case_loads_cleanly(browser: Chromium, tmp_path: Path, case: str, args: list[str], rows: int) -> None:
    page_file = tmp_path / f"{case}.html"
    page_file.write_bytes(html_of(case, *args))
    page = browser.load(page_file, full_page=False)
    assert page.errors == [] and page.resources == 0
    assert page.rows == rows
    assert page.png.startswith(PNG_SIGNATURE)


def test_1000_accounts_load_cleanly(browser: Chromium, tmp_path: Path) -> None:
    pool = poolkit.large_pool(tmp_path / "pool", 1000, poolkit.SEED_NOW)
    page_file = tmp_path / "big.html"
    run_cli(["report", "--dir", str(pool), "--now", NOW, "--format", "html", "--out", str(page_file)], validate=False)
    page = browser.load(page_file, full_page=False)
    assert page.errors == [] and page.resources == 0
    assert page.rows == 1000


def test_a_console_error_would_be_caught(browser: Chromium, tmp_path: Path) -> None:
    page_file = tmp_path / "broken.html"
    good = html_of("seed-example").decode()
    # an image the page's own Content-Security-Policy forbids, and a failing inline script
    page_file.write_text(
        good.replace(
            "</body>",
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt=""><script>console.error("boom")</script></body>',
        )
    )
    page = browser.load(page_file, full_page=False)
    assert len(page.errors) == 2, page.errors
    assert all("Content Security Policy" in error for error in page.errors)
