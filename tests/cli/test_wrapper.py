"""The `codex` wrapper: `codex auth <one of ours>` runs here; everything else, other `codex auth`
commands included, becomes (by exec) the next `codex` on PATH, which sees exactly what it would
see without the wrapper: argv, stdin, environment, signal dispositions, exit status, signals.

The next `codex` is a stand-in shell script in a temporary PATH folder that records what it got.
Each check runs the stand-in once directly and once through the wrapper, and compares."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import wrapper
from testkit import poolkit
from testkit.helpers import ROOT

CONSOLE_SCRIPT = Path(sys.executable).parent / "codex"
WRAPPERS = pytest.mark.parametrize(
    "program", [str(CONSOLE_SCRIPT), str(ROOT / "bin" / "codex")], ids=["console-script", "bin"]
)
SYSTEM_PATH = ["/usr/bin", "/bin"]

# Records argv (NUL-separated), stdin, the environment (NUL-separated), its pid and its
# ignored-signal mask, then exits with $STANDIN_EXIT. With $STANDIN_WAIT it waits for SIGINT,
# which it traps (exit 42) unless $STANDIN_NO_TRAP is set.
STANDIN = r"""#!/bin/sh
out="{out}"
for a in "$@"; do printf '%s\0' "$a"; done > "$out/argv"
cat > "$out/stdin"
env -0 > "$out/env"
echo $$ > "$out/pid"
grep '^SigIgn:' /proc/$$/status > "$out/sigign"
if [ -n "$STANDIN_WAIT" ]; then
    [ -n "$STANDIN_NO_TRAP" ] || trap 'echo INT > "$out/signal"; exit 42' INT
    echo ready > "$out/ready"
    while :; do sleep 0.05; done
fi
exit "${{STANDIN_EXIT:-0}}"
"""


def make_executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class Standin:
    def __init__(self, folder: Path) -> None:
        self.out = folder / "out"
        self.out.mkdir(parents=True)
        self.path = make_executable(folder / "bin" / "codex", STANDIN.format(out=self.out))

    def recorded(self) -> dict[str, object]:
        argv = (self.out / "argv").read_bytes().split(b"\0")[:-1]
        env = dict(item.split(b"=", 1) for item in (self.out / "env").read_bytes().split(b"\0") if item)
        return {
            "argv": argv,
            "stdin": (self.out / "stdin").read_bytes(),
            "env": env,
            "sigign": (self.out / "sigign").read_text(),
        }

    def pid(self) -> int:
        return int((self.out / "pid").read_text())


@pytest.fixture
def standin(tmp_path: Path) -> Standin:
    return Standin(tmp_path / "next")


def wrapper_path(program: str, *after: Path) -> str:
    return os.pathsep.join([str(Path(program).parent), *(str(p) for p in after), *SYSTEM_PATH])


def run(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=60)


def both_ways(
    program: str, standin: Standin, args: list[str], stdin: bytes = b"", extra: dict[str, str] | None = None
) -> tuple[
    subprocess.CompletedProcess[bytes], dict[str, object], subprocess.CompletedProcess[bytes], dict[str, object]
]:
    env = dict(os.environ, PATH=wrapper_path(program, standin.path.parent), **(extra or {}))
    direct = run([str(standin.path), *args], env, stdin)
    direct_seen = standin.recorded()
    through = run([program, *args], env, stdin)
    return direct, direct_seen, through, standin.recorded()


@WRAPPERS
@pytest.mark.parametrize(
    "args",
    [
        ["exec", "--model", "o3", "two words", "--flag=x", ""],
        [],
        ["--version"],
        ["auth", "login"],
        ["auth", "switch", "2"],
        ["auth", "list", "--json"],
        ["auth", "check"],
        ["auth", "fix", "--dry-run"],
        ["auth", "doctor", "--fix"],
        ["login", "--device-auth"],
        ["auth", "--some-unknown-opt"],  # an option our `codex auth` does not know: not ours
        ["auth", "--profile", "work", "report"],
        ["auth", "--", "report"],
    ],
    ids=lambda args: " ".join(args) or "(none)",
)
def test_what_is_not_ours_reaches_the_next_codex_exactly(program: str, standin: Standin, args: list[str]) -> None:
    direct, direct_seen, through, seen = both_ways(
        program, standin, args, stdin=b"line one\n\0binary\xff\n", extra={"STANDIN_EXIT": "7"}
    )
    assert through.returncode == direct.returncode == 7
    assert seen == direct_seen
    assert seen["argv"] == [a.encode() for a in args]
    assert seen["stdin"] == b"line one\n\0binary\xff\n"
    assert through.stdout == direct.stdout and through.stderr == direct.stderr == b""


@WRAPPERS
def test_the_environment_is_the_one_the_wrapper_was_given(program: str, standin: Standin) -> None:
    # Without a locale Python coerces LC_CTYPE to UTF-8 in its own environment; bin/codex
    # re-runs itself with the checkout's interpreter: neither may show in the next codex.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k != "LANG"}
    env.pop("PYTHONPATH", None)
    env.update(PATH=wrapper_path(program, standin.path.parent), ODD="tab\there", EMPTY="")
    run([str(standin.path), "x"], env)
    direct_env = standin.recorded()["env"]
    through = run([program, "x"], env)
    assert through.returncode == 0, through.stderr
    seen_env = standin.recorded()["env"]
    assert seen_env == direct_env
    assert b"LC_CTYPE" not in seen_env and b"PYTHONPATH" not in seen_env
    assert seen_env[b"ODD"] == b"tab\there" and seen_env[b"EMPTY"] == b""


@WRAPPERS
def test_signal_dispositions_are_a_shells(program: str, standin: Standin) -> None:
    """Python ignores SIGPIPE; an ignored signal stays ignored across exec unless reset."""
    _, direct_seen, through, seen = both_ways(program, standin, ["exec"])
    assert through.returncode == 0
    assert seen["sigign"] == direct_seen["sigign"]
    ignored = int(str(seen["sigign"]).split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))


def wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the stand-in never got ready"
        time.sleep(0.02)


@WRAPPERS
@pytest.mark.parametrize("trapped", [True, False], ids=["trapped", "default"])
def test_sigint_reaches_the_next_codex_and_its_status_is_the_exit_status(
    program: str, standin: Standin, trapped: bool
) -> None:
    env = dict(os.environ, PATH=wrapper_path(program, standin.path.parent), STANDIN_WAIT="1")
    if not trapped:
        env["STANDIN_NO_TRAP"] = "1"
    process = subprocess.Popen([program, "exec"], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(standin.out / "ready", process)
        assert standin.pid() == process.pid, "the wrapper became the next codex (exec), it did not spawn it"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if trapped:
        assert process.returncode == 42
        assert (standin.out / "signal").read_text() == "INT\n"
    else:
        assert process.returncode == -signal.SIGINT  # killed by the signal, as without the wrapper
        assert not (standin.out / "signal").exists()
    assert stderr == b""


@WRAPPERS
def test_opting_out_hands_over_codex_auth_too(program: str, standin: Standin) -> None:
    _, direct_seen, through, seen = both_ways(
        program, standin, ["auth", "report", "--json"], extra={"CODEX_AUTH_WRAPPER": "0"}
    )
    assert through.returncode == 0
    assert seen == direct_seen
    assert seen["argv"] == [b"auth", b"report", b"--json"]


@WRAPPERS
def test_our_commands_run_here_and_never_reach_the_next_codex(program: str, standin: Standin, tmp_path: Path) -> None:
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(os.environ, PATH=wrapper_path(program, standin.path.parent))
    done = run([program, "auth", "collect", "--dir", str(pool)], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(b'"kind":"account"') == 4
    assert not (standin.out / "argv").exists()


@WRAPPERS
def test_codex_auth_help_lists_ours_and_names_the_next_codex(program: str, standin: Standin) -> None:
    env = dict(os.environ, PATH=wrapper_path(program, standin.path.parent))
    for args in (["auth", "--help"], ["auth", "-h"], ["auth"]):
        done = run([program, *args], env)
        text = done.stdout.decode()  # bare `codex auth` too: the help on stdout, exit 0
        assert done.returncode == 0 and "Usage: codex auth" in text, (args, done)
        for name in ("report", "collect", "forecast"):
            assert f"  {name} " in text
        assert str(standin.path) in " ".join(text.split()), text
        assert "CODEX_AUTH_WRAPPER=0" in text
    assert not (standin.out / "argv").exists()


@WRAPPERS
def test_no_next_codex_is_one_line_and_127(program: str, tmp_path: Path) -> None:
    # the wrapper twice on PATH, a symlink to it and a copy of bin/codex: none may be run
    links = tmp_path / "links"
    links.mkdir()
    (links / "codex").symlink_to(program)
    copy = make_executable(tmp_path / "copy" / "codex", (ROOT / "bin" / "codex").read_text())
    path = os.pathsep.join([str(Path(program).parent), str(links), str(copy.parent), str(Path(program).parent)])
    for args in (["--version"], ["auth", "login"]):
        done = run([program, *args], dict(os.environ, PATH=f"{path}{os.pathsep}/usr/bin:/bin"))
        assert done.returncode == 127
        assert done.stdout == b""
        assert done.stderr.count(b"\n") == 1 and b"no other `codex` on PATH" in done.stderr


@WRAPPERS
def test_copies_and_links_of_the_wrapper_are_passed_over(program: str, standin: Standin, tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    (links / "codex").symlink_to(program)
    copy = make_executable(tmp_path / "copy" / "codex", Path(program).read_text())
    path = wrapper_path(program, links, copy.parent, standin.path.parent)
    done = run([program, "auth", "switch", "2"], dict(os.environ, PATH=path))
    assert done.returncode == 0, done.stderr
    assert standin.recorded()["argv"] == [b"auth", b"switch", b"2"]
    # started through the symlink, the wrapper still finds the same next codex
    done = run([str(links / "codex"), "exec"], dict(os.environ, PATH=path))
    assert done.returncode == 0 and standin.recorded()["argv"] == [b"exec"]


def test_our_command_names_come_from_the_cli_table() -> None:
    import click

    from pipeline.cli import cli

    names = set(cli.list_commands(click.Context(cli)))
    assert wrapper.our_commands() == names and {"report", "collect", "forecast"} <= names
    for name in names:
        assert wrapper.is_ours([name, "--help"])
    for name in ("login", "list", "switch", "check", "fix", "doctor", "status", "best", "wat"):
        assert not wrapper.is_ours([name])
    assert wrapper.is_ours([]) and wrapper.is_ours(["--help"]) and wrapper.is_ours(["--version"])
    assert not wrapper.is_ours(["--some-unknown-opt"]) and not wrapper.is_ours(["--json", "report"])


def test_our_root_options_are_the_cli_groups() -> None:
    """The wrapper keeps only our root group's options (it cannot import click); any other
    option after ``codex auth`` goes to the next codex."""

    from pipeline.cli import cli

    context = cli.make_context("codex auth", ["--help"], resilient_parsing=True)
    options = {name for param in cli.get_params(context) for name in param.opts + param.secondary_opts}
    assert options == wrapper.ROOT_OPTIONS


# Ctrl-C while the wrapper is still deciding, before the exec: ``main`` is run with the step
# named by $STEP made to receive a SIGINT (as a Ctrl-C typed at that moment would), and the
# next codex must not run.
SIGINT_AT = r"""
import os, signal, sys
from pipeline import wrapper
step = os.environ["STEP"]
original = getattr(wrapper, step)
def interrupted(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return original(*args, **kwargs)
setattr(wrapper, step, interrupted)
wrapper.main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    ("step", "args"),
    [
        ("_self_paths", ["exec"]),
        ("our_commands", ["auth", "login"]),
        ("find_real_codex", ["exec"]),
        ("initial_environ", ["auth", "--some-unknown-opt"]),
    ],
)
def test_ctrl_c_before_the_hand_off_ends_the_wrapper_by_sigint(standin: Standin, step: str, args: list[str]) -> None:
    env = dict(os.environ, PATH=wrapper_path(sys.executable, standin.path.parent), STEP=step, PYTHONPATH=str(ROOT))
    done = run([sys.executable, "-c", SIGINT_AT, *args], env)
    assert done.returncode == -signal.SIGINT, (done.returncode, done.stderr)  # as a shell sees Ctrl-C
    assert done.stderr == b"", "no traceback, no line"
    assert not (standin.out / "argv").exists(), "the next codex never started"


def test_wrappers_on_path_are_skipped(tmp_path: Path) -> None:
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


def test_a_next_codex_without_a_shebang_runs_as_a_shell_script(tmp_path: Path) -> None:
    out = tmp_path / "ran"
    make_executable(tmp_path / "next" / "codex", f'echo "$@" > "{out}"\nexit 5\n')
    path = wrapper_path(str(CONSOLE_SCRIPT), tmp_path / "next")
    done = run([str(CONSOLE_SCRIPT), "exec", "x"], dict(os.environ, PATH=path))
    assert done.returncode == 5, done.stderr
    assert out.read_text() == "exec x\n"


def test_a_next_codex_that_cannot_run_is_one_line_and_127(tmp_path: Path) -> None:
    broken = make_executable(tmp_path / "next" / "codex", "#!/nonexistent/interpreter\n")
    done = run([str(CONSOLE_SCRIPT), "exec"], dict(os.environ, PATH=wrapper_path(str(CONSOLE_SCRIPT), broken.parent)))
    assert done.returncode == 127  # its interpreter is missing (ENOENT): what a shell answers
    assert done.stdout == b""
    assert done.stderr.count(b"\n") == 1 and f"codex: cannot run {broken}".encode() in done.stderr


FORWARDER = """#!/bin/sh
# a forwarding wrapper (as codex-multi-auth-codex is): runs the `codex` it finds on PATH as a child
echo forwarded >> "{out}/forwards"
codex "$@"
"""


@WRAPPERS
def test_a_forwarding_wrapper_after_ours_gets_the_codex_cli_not_itself_again(
    program: str, standin: Standin, tmp_path: Path
) -> None:
    forwarder = make_executable(tmp_path / "forwarder" / "codex", FORWARDER.format(out=standin.out))
    env = dict(os.environ, PATH=wrapper_path(program, forwarder.parent, standin.path.parent), STANDIN_EXIT="9")
    done = run([program, "auth", "switch", "2"], env, stdin=b"typed\n")
    assert done.returncode == 9, done.stderr
    assert (standin.out / "forwards").read_text() == "forwarded\n", "the forwarder ran once, not in a loop"
    seen = standin.recorded()
    assert seen["argv"] == [b"auth", b"switch", b"2"] and seen["stdin"] == b"typed\n"
    # no Codex CLI after the forwarder: one line and 127 from the second wrapper, no loop
    (standin.out / "forwards").unlink()
    env["PATH"] = wrapper_path(program, forwarder.parent)
    done = run([program, "exec"], env)
    assert done.returncode == 127 and done.stderr.count(b"\n") == 1
    assert (standin.out / "forwards").read_text() == "forwarded\n"


def test_the_parent_program_is_known(tmp_path: Path) -> None:
    script = make_executable(tmp_path / "parent.sh", '#!/bin/sh\n"$@"\n')
    probe = "from pipeline.wrapper import parent_programs; print(sorted(parent_programs()))"
    done = subprocess.run([str(script), sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert str(script) in done.stdout, done


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    args=st.lists(
        st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), max_size=12), max_size=6
    ),
    stdin=st.binary(max_size=200),
)
def test_any_arguments_and_input_reach_the_next_codex_unchanged(
    standin: Standin, args: list[str], stdin: bytes
) -> None:
    if args[:1] == ["auth"] and wrapper.is_ours(args[1:]):
        args = ["x", *args]  # ours run here: the property is about what is handed on
    env = dict(os.environ, PATH=wrapper_path(str(CONSOLE_SCRIPT), standin.path.parent), STANDIN_EXIT="5")
    done = run([str(CONSOLE_SCRIPT), *args], env, stdin)
    assert done.returncode == 5, done.stderr
    seen = standin.recorded()
    assert seen["argv"] == [os.fsencode(a) for a in args] and seen["stdin"] == stdin
