"""The `codex` wrapper: `codex auth ...` is ours, everything else goes to the real Codex CLI."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from pipeline import wrapper
from testkit import poolkit
from testkit.helpers import ROOT


def make_executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def real_codex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    codex = make_executable(tmp_path / "real-bin" / "codex", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("PATH", f"{ROOT / 'bin'}{os.pathsep}{codex.parent}{os.pathsep}/usr/bin:/bin")
    return codex


def test_other_commands_go_to_the_real_codex_unchanged(fp, real_codex: Path) -> None:
    fp.register([str(real_codex), "exec", "--model", "o3", "fix the bug"], stdout="done\n", returncode=7)
    with pytest.raises(SystemExit) as exited:
        wrapper.main(["exec", "--model", "o3", "fix the bug"])
    assert exited.value.code == 7
    assert fp.call_count([str(real_codex), "exec", "--model", "o3", "fix the bug"]) == 1


def test_no_arguments_also_go_to_the_real_codex(fp, real_codex: Path) -> None:
    fp.register([str(real_codex)], returncode=0)
    with pytest.raises(SystemExit) as exited:
        wrapper.main([])
    assert exited.value.code == 0 and fp.call_count([str(real_codex)]) == 1


def test_signal_death_becomes_128_plus_signal(fp, real_codex: Path) -> None:
    fp.register([str(real_codex), "login"], returncode=-15)
    with pytest.raises(SystemExit) as exited:
        wrapper.main(["login"])
    assert exited.value.code == 143


def test_auth_commands_run_here_and_never_reach_the_real_codex(
    fp, real_codex: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        wrapper.main(["auth", "--help"])
    assert exited.value.code == 0
    assert "Usage: codex auth" in capsys.readouterr().out
    assert fp.call_count([str(real_codex), fp.any()]) == 0


def test_wrappers_on_path_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other_copy = make_executable(
        tmp_path / "venv-bin" / "codex", "#!/usr/bin/env python3\nfrom pipeline.wrapper import main\nmain()\n"
    )
    real = make_executable(tmp_path / "later" / "codex", "#!/bin/sh\nexit 0\n")
    path = os.pathsep.join([str(ROOT / "bin"), str(other_copy.parent), str(real.parent)])
    assert wrapper.find_real_codex({"PATH": path}, own={str(ROOT / "bin" / "codex")}) == str(real)


def test_only_entries_after_our_own_count(tmp_path: Path) -> None:
    earlier = make_executable(tmp_path / "earlier" / "codex", "#!/bin/sh\n")
    later = make_executable(tmp_path / "later" / "codex", "#!/bin/sh\n")
    ours = make_executable(tmp_path / "ours" / "codex", "#!/bin/sh\n# pipeline.wrapper\n")
    path = os.pathsep.join(str(p.parent) for p in (earlier, ours, later))
    assert wrapper.find_real_codex({"PATH": path}, own={str(ours)}) == str(later)
    # invoked from outside PATH: the first real one anywhere
    assert wrapper.find_real_codex({"PATH": path}, own={"/elsewhere/codex"}) == str(earlier)


def run_bin_codex(
    args: list[str], path: str, stdin: bytes = b"", env_extra: dict | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PATH=path, **(env_extra or {}))
    return subprocess.run([str(ROOT / "bin" / "codex"), *args], input=stdin, capture_output=True, env=env, timeout=60)


def test_real_process_passes_arguments_stdin_stdout_and_exit_code(tmp_path: Path) -> None:
    make_executable(
        tmp_path / "real" / "codex",
        '#!/bin/sh\nprintf "args:"; for a in "$@"; do printf "[%s]" "$a"; done; echo; cat; exit 42\n',
    )
    path = os.pathsep.join([str(ROOT / "bin"), str(tmp_path / "real"), "/usr/bin", "/bin"])
    done = run_bin_codex(["exec", "two words", "--flag=x"], path, stdin=b"from stdin\n")
    assert done.returncode == 42
    assert done.stdout == b"args:[exec][two words][--flag=x]\nfrom stdin\n"
    assert done.stderr == b""


def test_clear_message_when_there_is_no_real_codex(tmp_path: Path) -> None:
    # bin/ twice on PATH: the wrapper must not hand over to itself.
    path = os.pathsep.join([str(ROOT / "bin"), str(ROOT / "bin"), "/usr/bin", "/bin"])
    done = run_bin_codex(["--version"], path)
    assert done.returncode == 127
    assert b"Codex CLI was not found on PATH" in done.stderr
    assert b"Traceback" not in done.stderr


def test_codex_auth_collect_through_the_wrapper(tmp_path: Path) -> None:
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    done = run_bin_codex(
        ["auth", "collect", "--dir", str(pool)], os.pathsep.join([str(ROOT / "bin"), "/usr/bin", "/bin"])
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(b'"kind":"account"') == 4
