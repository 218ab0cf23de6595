"""Issue 11, point 18: the developer tools behave like commands: `--help` prints help,
a missing argument is a usage error (exit 2), and poolkit never overwrites a folder that
holds files unless told to with --force."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import ROOT, snapshot_tree


def python_m(module: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("module", ["testkit.poolkit", "testkit.headless", "testkit.bench", "testkit.fake_backend"])
def test_help(module: str, tmp_path: Path) -> None:
    done = python_m(module, "--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("usage: "), done.stderr
    assert list(tmp_path.iterdir()) == [], "--help writes nothing (no folder named --help)"


def test_poolkit_without_a_folder_prints_usage(tmp_path: Path) -> None:
    done = python_m("testkit.poolkit", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("usage: python -m testkit.poolkit")
    assert "the following arguments are required: DIR" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_poolkit_never_overwrites_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "pool"
    done = python_m("testkit.poolkit", str(folder))
    assert done.returncode == 0 and (folder / poolkit.ACCOUNTS_FILE).is_file(), done.stderr
    (folder / poolkit.ACCOUNTS_FILE).write_text('{"mine": true}')
    before = snapshot_tree(folder)
    refused = python_m("testkit.poolkit", str(folder))
    assert refused.returncode == 2 and "is not empty; add --force" in refused.stderr
    assert snapshot_tree(folder) == before
    forced = python_m("testkit.poolkit", str(folder), "--force")
    assert forced.returncode == 0 and "mine" not in (folder / poolkit.ACCOUNTS_FILE).read_text()


def test_poolkit_writes_a_large_pool_and_into_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    done = python_m("testkit.poolkit", str(folder), "--accounts", "25")
    assert done.returncode == 0 and "25 accounts" in done.stdout
    assert (folder / poolkit.ACCOUNTS_FILE).read_text().count('"refreshToken"') == 25
    assert python_m("testkit.poolkit", str(tmp_path / "x"), "--accounts", "0").returncode == 2


def test_poolkit_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("keep")
    done = python_m("testkit.poolkit", str(target), "--force")
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr and target.read_text() == "keep"


@pytest.mark.parametrize("script", ["demo", "lint"])
def test_scripts_take_help(script: str, tmp_path: Path) -> None:
    env = dict(os.environ, CODEX_AUTH_VENV=str(tmp_path / "no-venv"))
    done = subprocess.run(
        [str(ROOT / "scripts" / script), "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and f"scripts/{script}" in done.stdout
    assert not (tmp_path / "no-venv").exists(), "--help installs nothing"
