"""The built wheel carries the schemas (moved from tests/unit: it builds a wheel)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from pipeline.schema import SCHEMA_NAMES, load_schema_text
from testkit.helpers import ROOT


def test_wheel_carries_the_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("codex_auth_report-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in SCHEMA_NAMES:
            assert archive.read(f"pipeline/schemas/{name}.json").decode() == load_schema_text(name)
        scripts = archive.read(next(n for n in archive.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "codex-auth = pipeline.__main__:main" in scripts and "codex = pipeline.wrapper:main" in scripts
