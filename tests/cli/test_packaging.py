"""Issue 11, points 16 and 17: the package is ready for an index. One version (in
pipeline/__init__.py, read by hatch), printed by `codex-auth --version`; a LICENSE file and the
metadata an index shows; and the sdist carries what its tests need: it is built with
hatchling, unpacked, and the documented subset of the suite runs from it."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import pipeline
from testkit.helpers import ROOT, run_cli

# The subset the README's Development section promises to run from an unpacked sdist.
SDIST_SUBSET = ["tests/unit", "tests/storage", "tests/golden"]


def test_one_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "pipeline/__init__.py"
    assert run_cli(["--version"], validate=False).text == f"codex-auth, version {pipeline.__version__}\n"


def test_license_file() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 codex-auth-report contributors" in text


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out


def metadata(text: str) -> email.message.Message:
    return email.message_from_string(text)


def test_metadata_for_an_index(built: Path) -> None:
    (wheel,) = built.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = metadata(archive.read(meta_name).decode())
    assert meta["Version"] == pipeline.__version__
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["Author"] == "codex-auth-report contributors"
    assert "prometheus" in meta["Keywords"].split(",")
    classifiers = meta.get_all("Classifier") or []
    assert "License :: OSI Approved :: MIT License" not in classifiers, "the license expression says it"
    assert "Programming Language :: Python :: 3.11" in classifiers and "Typing :: Typed" in classifiers
    assert "pipeline/py.typed" in names and "pipeline/schemas/report.json" in names
    # no repository address is known, so none is invented
    assert meta.get_all("Project-URL") is None


def test_the_sdist_runs_its_own_tests(built: Path, tmp_path: Path) -> None:
    (sdist,) = built.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    assert metadata((tree / "PKG-INFO").read_text())["Version"] == pipeline.__version__
    for needed in ("LICENSE", ".ci/run", "docs/report.png", "examples/sample-pool", "bin/codex", "testkit"):
        assert (tree / needed).exists(), needed
    # the unpacked tree's own code runs, also in the subprocesses the tests start
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTEST_ADDOPTS", None)
    probe = subprocess.run(
        [sys.executable, "-c", "import pipeline; print(pipeline.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == str(tree / "pipeline" / "__init__.py")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_SUBSET],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
