"""``codex-auth sample-pool DIR``: anyone who installed the package (pip, pipx), with no
checkout, can make the sample pool and try every command on it. The files are private (0600),
the folders made for them 0700 whatever the umask, and a folder that holds anything is refused
without a file written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from testkit.helpers import ROOT, run_cli

NOW = "2026-03-03T14:30:00Z"
SAMPLE = ROOT / "examples" / "sample-pool"


@pytest.fixture
def loose_umask() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_the_sample_pool_is_written_private_and_reports_as_the_bundled_one(tmp_path: Path) -> None:
    target = tmp_path / "new" / "pool"
    done = run_cli(["sample-pool", str(target)], validate=False)
    assert done.stderr == f"sample-pool: wrote 4 files to {target}; try: codex-auth report --dir {target} --now {NOW}\n"
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in SAMPLE.iterdir())
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes()
    for folder in (target, target.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    ours = run_cli(["report", "--dir", str(target), "--now", NOW], validate=False).text
    assert ours == run_cli(["report", "--dir", str(SAMPLE), "--now", NOW], validate=False).text
    assert "Use account: alice@example.com (index 1)" in ours


def test_a_folder_that_holds_anything_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    done = run_cli(["sample-pool", str(tmp_path)], expect=1, validate=False)
    assert done.stderr == (
        f"codex-auth sample-pool: {tmp_path} is not empty: give a new or empty folder (nothing was written)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    run_cli(["sample-pool", str(empty)], validate=False)
    assert len(list(empty.iterdir())) == 4, "an empty folder is fine"
    assert run_cli(["sample-pool", str(tmp_path / "notes.txt")], expect=1, validate=False).stderr.endswith(
        "is not a folder: give a new or empty folder\n"
    )


def test_a_pip_user_without_a_checkout(tmp_path: Path) -> None:
    """The wheel alone (unpacked where a pip install puts it), run outside the checkout."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))

    def tool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args], cwd=away, env=env, capture_output=True, text=True, timeout=60
        )

    where = subprocess.run(
        [sys.executable, "-c", "import pipeline; print(pipeline.__file__)"],
        cwd=away,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip() == str(site / "pipeline" / "__init__.py"), "the wheel's code, not the checkout's"
    made = tool("sample-pool", "try-pool")
    assert made.returncode == 0, made.stderr
    report = tool("report", "--dir", "try-pool", "--now", NOW)
    assert report.returncode == 0, report.stderr
    assert "Use account: alice@example.com (index 1)" in report.stdout
