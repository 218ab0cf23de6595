"""The ``codex`` wrapper: ``codex auth <command>`` runs ``codex-auth <command>``; every other
invocation goes, unchanged, to the real Codex CLI found on PATH (never to this wrapper).

Installed as the ``codex`` console script, and as ``bin/codex`` for a checkout.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# A file holding this marker is a copy of this wrapper (bin/codex, or the console script
# that imports this module), so handing over to it would loop.
MARKER = "pipeline.wrapper"
_SCAN_BYTES = 8192
COMPLETE_VAR = "_CODEX_COMPLETE"  # click's completion protocol for the program `codex`


def is_wrapper(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return MARKER.encode() in handle.read(_SCAN_BYTES)
    except OSError:
        return False


def _self_paths() -> set[str]:
    paths = {os.path.realpath(sys.argv[0])} if sys.argv and sys.argv[0] not in ("", "-c", "-m") else set()
    launcher = os.environ.get("CODEX_WRAPPER_SELF")  # set by bin/codex, which runs us with -m
    if launcher:
        paths.add(os.path.realpath(launcher))
    return paths


def find_real_codex(env: Mapping[str, str] | None = None, own: set[str] | None = None) -> str | None:
    """The first ``codex`` on PATH after this wrapper's own entry that is not a wrapper."""
    env = os.environ if env is None else env
    own = _self_paths() if own is None else own
    entries = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry]
    own_dirs = {os.path.realpath(os.path.dirname(path)) for path in own}
    start = 0
    for position, entry in enumerate(entries):
        if os.path.realpath(entry) in own_dirs:
            start = position + 1
            break
    for entry in entries[start:]:
        candidate = os.path.join(entry, "codex")
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        if os.path.realpath(candidate) in own or is_wrapper(candidate):
            continue
        return candidate
    return None


def run_real_codex(args: Sequence[str], own: set[str] | None = None) -> int:
    real = find_real_codex(own=own)
    if real is None:
        print(
            "codex: the Codex CLI was not found on PATH after this wrapper "
            "(only `codex auth ...` is handled here). Install it (npm install -g @openai/codex) "
            "or put it on PATH.",
            file=sys.stderr,
        )
        return 127
    # Imported here: `codex auth ...` never hands over, and pays for neither.
    import signal
    import subprocess

    # The child shares our terminal and process group: let it, not us, handle Ctrl-C.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        completed = subprocess.run([real, *args], check=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    code = completed.returncode
    return 128 - code if code < 0 else code


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    own = _self_paths()
    os.environ.pop("CODEX_WRAPPER_SELF", None)  # not for the real Codex CLI's environment
    if os.environ.get(COMPLETE_VAR):  # the shell asks what `codex auth ...` can become
        words = os.environ.get("COMP_WORDS", "").split()
        if len(words) > 1 and not "auth".startswith(words[1]):
            return  # another Codex CLI command: nothing to offer from here
        from pipeline.cli import cli
        from pipeline.cli.completion import wrapper_group

        wrapper_group(cli).main(args=[], prog_name="codex", complete_var=COMPLETE_VAR)  # exits
    if args and args[0] == "auth":
        from pipeline.cli import main as cli_main

        cli_main(args[1:], prog_name="codex auth")  # exits: one line, never a traceback, on any failure
    raise SystemExit(run_real_codex(args, own))


if __name__ == "__main__":
    main()
