"""What the terminal gets: whether to colour, and what happens when stdout cannot be written.

Colour, in order of precedence (the README's "Colour" paragraph says the same):

1. ``--color always`` or ``--color never``: an explicit flag wins over everything;
2. ``--color auto`` (the default): ``NO_COLOR`` set to anything turns colour off; else
   ``FORCE_COLOR`` or ``CLICOLOR_FORCE`` set (and not ``0``) turns it on; else ``TERM=dumb``
   turns it off; else colour only when stdout is a terminal.

Only the text report has colour, and ``auto`` never colours a file written with ``--out``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pipeline.errors import OutputError


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, ""))


def _forced(env: Mapping[str, str]) -> bool:
    return any(env.get(name, "") not in ("", "0", "false") for name in ("FORCE_COLOR", "CLICOLOR_FORCE"))


def want_color(choice: str, *, env: Mapping[str, str], to_terminal: bool, to_file: bool) -> bool:
    """Whether the text report is coloured (see the module docstring for the rules)."""
    if choice == "always":
        return True
    if choice == "never" or to_file or _set(env, "NO_COLOR"):
        return False
    if _forced(env):
        return True
    if env.get("TERM") == "dumb":
        return False
    return to_terminal


def stdout_failed(error: OSError) -> OutputError:
    """The error to report when writing to stdout failed (``> /dev/full``). Points the file
    descriptor at /dev/null first, so that the interpreter's last flush at exit does not fail
    a second time with a traceback of its own."""
    drop_stdout()
    return OutputError(f"cannot write to standard output: {error.strerror or error}")


def drop_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of what a failed (or
    abandoned) stdout still holds neither fails nor prints a second message."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
