"""Exceptions and exit codes.

Everything our code raises on purpose derives from :class:`PipelineError`::

    PipelineError            a failure with a message meant for a person
    ├── InvalidInput         malformed NDJSON, unknown kind, a record failing its schema
    ├── StorageError         account storage that cannot be read at all
    ├── OutputError          the report could not be written (--out)
    └── ConfigError          a bad option value found after parsing (e.g. --now)

The CLI turns each into ``<stage>: <message>`` on stderr and an :class:`ExitStatus`;
nothing below the CLI prints or exits.
"""

from __future__ import annotations

from enum import IntEnum
from json import JSONDecodeError

# The words every "may not read this file" message uses (a test and the headline look for them).
PERMISSION_DENIED = "permission denied"


class ExitStatus(IntEnum):
    OK = 0
    FAILURE = 1  # no accounts, storage error, write failure, invalid input
    USAGE = 2  # click's own code for usage errors
    GATE = 3  # `report --min-healthy N` found fewer than N healthy accounts
    INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, as a shell reports a process it ended
    BROKEN_PIPE = 141  # the reader went away (`| head -1`): 128 + SIGPIPE, like other tools


class PipelineError(Exception):
    """A failure whose message is fit to show a person as it is."""

    exit_status: ExitStatus = ExitStatus.FAILURE


class InvalidInput(PipelineError):
    """A record on the input cannot be used.

    ``source`` is ``stdin`` or a file name, ``line`` is 1-based, ``path`` is the JSON path of
    the offending field (``$`` for the whole record).
    """

    def __init__(self, source: str, line: int, reason: str, path: str | None = None, column: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        self.path = path
        where = f"{source}:{line}" if column is None else f"{source}:{line}:{column}"
        super().__init__(f"{where}: {path}: {reason}" if path else f"{where}: {reason}")


class StorageError(PipelineError):
    """Account storage could not be read at all."""


class OutputError(PipelineError):
    """The report could not be written where the user asked."""


class ConfigError(PipelineError):
    """An option value that click accepted but that makes no sense."""

    exit_status = ExitStatus.USAGE


def json_error_message(exc: JSONDecodeError) -> str:
    """The parser's message without its position or dangling words: ``Unterminated string
    starting at`` becomes ``unterminated string``."""
    text = exc.msg.strip()
    for tail in (" starting at", " at"):
        if text.endswith(tail):
            text = text[: -len(tail)]
            break
    return text[:1].lower() + text[1:] if text else "syntax error"
