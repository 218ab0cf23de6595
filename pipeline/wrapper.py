"""The ``codex`` wrapper: ``codex auth <one of our commands>`` runs codex-auth-report; every
other invocation (other ``codex auth ...`` commands included) is handed, unchanged, to the next
``codex`` on PATH that is not this wrapper: the official Codex CLI, or a wrapper of
codex-multi-auth's that the user put there.

The hand-off is an ``exec``: the next ``codex`` runs in this very process, with the same
arguments, stdin, terminal, environment (as this process received it) and signal
dispositions a shell would have given it, so its exit status and its signals are its own.

``CODEX_AUTH_WRAPPER=0`` (or ``off``, ``false``, ``no``) hands everything over, ``codex auth``
included: the wrapper is then as good as not installed.

Installed as the ``codex`` console script, and as ``bin/codex`` for a checkout.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing would double the cost of a hand-off
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

# A file holding this marker is a copy of this wrapper (bin/codex, or the console script
# that imports this module), so handing over to it would loop.
MARKER = "pipeline.wrapper"
_SCAN_BYTES = 8192
COMPLETE_VAR = "_CODEX_COMPLETE"  # click's completion protocol for the program `codex`
OPT_OUT_VAR = "CODEX_AUTH_WRAPPER"
_OFF = frozenset({"0", "off", "false", "no"})
NOT_FOUND = 127  # what a shell answers for a command it cannot find
CANNOT_RUN = 126  # ... and for one it found but cannot execute


def is_wrapper(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return MARKER.encode() in handle.read(_SCAN_BYTES)
    except OSError:
        return False


def _self_paths(self_path: str | None = None) -> set[str]:
    paths: set[str] = set()
    if self_path:
        paths.add(os.path.realpath(self_path))
    if sys.argv and sys.argv[0] not in ("", "-c", "-m"):
        paths.add(os.path.realpath(sys.argv[0]))
    return paths


def _path_entries(env: Mapping[str, str]) -> list[str]:
    return [entry for entry in env.get("PATH", "").split(os.pathsep) if entry]


def parent_programs(pid: int | None = None) -> set[str]:
    """The program files of the process that started this one (its executable, and the script
    an interpreter runs), as real paths; empty where /proc cannot tell."""
    pid = os.getppid() if pid is None else pid
    found: set[str] = set()
    try:
        found.add(os.path.realpath(os.readlink(f"/proc/{pid}/exe")))
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = [os.fsdecode(word) for word in handle.read().split(b"\0")[:3] if word]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return found
    for word in words:
        if not word.startswith("-"):
            found.add(os.path.realpath(os.path.join(cwd, word)))
    return found


def find_real_codex(
    env: Mapping[str, str] | None = None, own: set[str] | None = None, parents: set[str] | None = None
) -> str | None:
    """The next ``codex`` on PATH: the first after this wrapper's own entry (from the start
    when the wrapper was run from outside PATH) that is neither this wrapper nor a copy of it,
    nor the program that started this one: a forwarding wrapper (codex-multi-auth-codex) that
    ran ``codex`` looking for the Codex CLI and found this wrapper would get itself back, and
    the two would start each other for ever."""
    env = os.environ if env is None else env
    own = _self_paths() if own is None else own
    parents = parent_programs() if parents is None else parents
    entries = _path_entries(env)
    start = 0
    for position, entry in enumerate(entries):
        if os.path.realpath(os.path.join(entry, "codex")) in own:
            start = position + 1
            break
    for entry in entries[start:]:
        candidate = os.path.join(entry, "codex")
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        real = os.path.realpath(candidate)
        if real in own or real in parents or is_wrapper(candidate):
            continue
        return candidate
    return None


def initial_environ() -> dict[bytes, bytes] | dict[str, str]:
    """The environment this process was started with. Python's start-up may have changed
    ``os.environ`` (the C locale coerced to UTF-8 sets ``LC_CTYPE``); Linux keeps the
    original in /proc/self/environ. Elsewhere ``os.environ`` is the best there is."""
    try:
        with open("/proc/self/environ", "rb") as handle:
            block = handle.read()
    except OSError:
        return dict(os.environ)
    env: dict[bytes, bytes] = {}
    for item in block.split(b"\0"):
        name, equals, value = item.partition(b"=")
        if equals:
            env[name] = value
    return env


def hand_off(args: Sequence[str], own: set[str]) -> NoReturn:
    """Become the next ``codex`` on PATH (never returns)."""
    real = find_real_codex(own=own)
    if real is None:
        _say(
            "codex: no other `codex` on PATH after this wrapper (nor than the program that started it; "
            "the wrapper runs only codex-auth-report's `codex auth` commands); install the Codex CLI "
            "(npm install -g @openai/codex) or put it on PATH"
        )
        raise SystemExit(NOT_FOUND)
    import signal

    # Python ignores SIGPIPE (and SIGXFSZ) at start-up, and an ignored signal stays ignored
    # across exec: give the next codex the defaults a shell would have given it.
    for name in ("SIGPIPE", "SIGXFSZ"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_DFL)
    env = initial_environ()
    try:
        os.execve(real, ["codex", *args], env)
    except OSError as error:
        import errno

        if error.errno == errno.ENOEXEC:  # no #! line: a shell runs it as a script, so do we
            try:
                os.execve("/bin/sh", ["sh", real, *args], env)
            except OSError as again:
                error = again
        _say(f"codex: cannot run {real}: {error.strerror or type(error).__name__}")
        raise SystemExit(NOT_FOUND if error.errno == errno.ENOENT else CANNOT_RUN) from None


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def our_commands() -> frozenset[str]:
    """The names of codex-auth-report's commands: the CLI's own command table (which imports
    neither click nor any command)."""
    from pipeline.cli.table import COMMANDS

    return frozenset(COMMANDS)


#: The options of our own ``codex auth`` (the CLI's root group); tests/cli checks this list
#: against the group, which is not imported here (a hand-off must stay cheap).
ROOT_OPTIONS = frozenset({"-h", "--help", "--version"})


def is_ours(auth_args: Sequence[str]) -> bool:
    """``codex auth`` alone, with one of our root options first (``--help``, ``--version``),
    or with one of our commands: ours. Any other word or option after ``auth``
    (``codex auth --some-option``, ``codex auth login``) belongs to the next ``codex``."""
    if not auth_args:
        return True
    first = auth_args[0]
    if first.startswith("-"):
        return first in ROOT_OPTIONS
    return first in our_commands()


def _ours(auth_args: Sequence[str], *, entry: bool) -> bool:
    """:func:`is_ours`; in the process's own entry point, with the command table (and so the
    command line) loaded as ``pipeline.__main__`` loads it for ``codex-auth``."""
    if not entry:
        return is_ours(auth_args)
    from pipeline.gc_pause import keep_what_is_loaded, loading

    keep_what_is_loaded()
    with loading():
        return is_ours(auth_args)


def next_codex_help(own: set[str]) -> str:
    real = find_real_codex(own=own)
    where = real if real is not None else "none is on PATH now"
    return (
        "\b\nOther commands, `codex auth` ones included (login, switch, ...), go unchanged to\n"
        f"the next `codex` on PATH that is not this wrapper ({where}).\n"
        f"{OPT_OUT_VAR}=0 hands every command to it, `codex auth` ones too."
    )


def main(argv: Sequence[str] | None = None, self_path: str | None = None) -> None:
    """The wrapper. A Ctrl-C before the hand-off (or before one of our commands takes over)
    ends it as SIGINT ends a program, never in a traceback (:func:`end_by_sigint`)."""
    try:
        _main(argv, self_path)
    except KeyboardInterrupt:
        end_by_sigint()


def end_by_sigint() -> NoReturn:
    """End this process by SIGINT with its default action, so that the shell (and a loop or a
    script around it) sees a program stopped by Ctrl-C, exactly as if the next ``codex`` had
    been stopped; 130 (what a shell reports for that) where the signal cannot be raised."""
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except (OSError, ValueError):
        pass
    raise SystemExit(130)


def _main(argv: Sequence[str] | None, self_path: str | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    own = _self_paths(self_path)
    if os.environ.get(OPT_OUT_VAR, "").strip().lower() in _OFF:
        hand_off(args, own)
    if os.environ.get(COMPLETE_VAR):  # the shell asks what `codex auth ...` can become
        words = os.environ.get("COMP_WORDS", "").split()
        if len(words) > 1 and not "auth".startswith(words[1]):
            return  # another Codex CLI command: nothing to offer from here
        from pipeline.cli import cli
        from pipeline.cli.completion import wrapper_group

        wrapper_group(cli).main(args=[], prog_name="codex", complete_var=COMPLETE_VAR)  # exits
    if args and args[0] == "auth" and _ours(args[1:], entry=argv is None):
        from pipeline.cli import cli
        from pipeline.cli import main as cli_main

        if len(args) == 1 or args[1] in ("-h", "--help"):
            cli.epilog = next_codex_help(own)
        cli_main(args[1:], prog_name="codex auth")  # exits: one line, never a traceback, on any failure
    hand_off(args, own)


if __name__ == "__main__":
    main()
