"""The page `codex auth serve` serves at `/`, in headless Chromium: it loads with no console
error and fetches nothing (not even from the exporter itself); a screenshot is taken."""

from __future__ import annotations

import os
from pathlib import Path

from testkit.headless import Chromium, find_chromium
from testkit.helpers import system_tool
from testkit.serving import ServeProcess


def test_the_served_page_in_a_browser(seed_pool: Path, tmp_path: Path) -> None:
    executable = find_chromium() or system_tool(os.environ.get("CHROMIUM") or "chromium", "chromium")
    with ServeProcess(["--interval", "30"]) as serve:
        serve.wait_for(lambda h: h["up"])
        with Chromium(executable) as browser:
            page = browser.load(serve.url)
        requests_seen = serve.health()
    assert page.errors == []
    assert page.resources == 0, "nothing fetched: no script, font, image or style sheet"
    assert page.title.startswith("Codex auth report, ")
    assert page.rows == 4 + 1
    assert page.png.startswith(b"\x89PNG") and len(page.png) > 30_000
    assert requests_seen["runs"] >= 1
    (tmp_path / "served.png").write_bytes(page.png)
