"""click's own words are taken as written (pipeline/cli/__init__.py: no catalogue search per
word), and nothing else in the process loses the standard library's gettext for it. A process
of its own: in pytest's, click is imported long before the CLI."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gettext
standard = gettext.gettext
import pipeline.cli, click.core
assert click.core._ is not standard, "click's words skip the catalogue search"
assert click.core._("Show this message and exit.") == "Show this message and exit."
assert gettext.gettext is standard, "the standard library's gettext is put back"
"""


def test_click_takes_its_words_as_written_and_gettext_stays_the_standard_one() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
