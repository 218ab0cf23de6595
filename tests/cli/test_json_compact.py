"""``--json --compact``: the HealthReport on one line (to append one report per line to a
file), the same document as the indented one; with another format it is a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import run_cli

NOW = str(poolkit.SEED_NOW)


@pytest.mark.usefixtures("seed_pool")
def test_json_compact_is_the_same_document_on_one_line(tmp_path: Path) -> None:
    pretty = run_cli(["report", "--now", NOW, "--json"], validate=False).stdout
    compact = run_cli(["report", "--now", NOW, "--json", "--compact"], validate=False).stdout
    assert compact.count(b"\n") == 1 and compact.endswith(b"\n") and pretty.count(b"\n") > 20
    assert json.loads(compact) == json.loads(pretty)
    snapshot = tmp_path / "s.ndjson"
    snapshot.write_bytes(run_cli(["collect", "--now", NOW]).stdout)
    rendered = run_cli(["render", "-i", str(snapshot), "--json", "--compact"], validate=False).stdout
    assert json.loads(rendered) == json.loads(pretty) and rendered.count(b"\n") == 1
    refused = run_cli(["report", "--now", NOW, "--compact"], expect=2, validate=False)
    assert "--compact is for --json" in refused.stderr
