"""Exceptions and exit codes.

Everything the package raises for a user to read derives from :class:`PipelineError`, and
each class has one exit code (its ``exit_status``)::

    Exception
    └── PipelineError       exit 1  a failure with a message meant for a person
        ├── InvalidInput    exit 1  malformed NDJSON, unknown kind, a record failing its schema
        ├── StorageError    exit 1  account storage that cannot be read at all
        ├── OutputError     exit 1  the report could not be written (--out, stdout)
        ├── HistoryError    exit 1  the history cannot be read or written (pipeline.history)
        └── ConfigError     exit 2  a bad option value found after parsing (e.g. --now)

The CLI turns each into ``codex-auth COMMAND: message`` on stderr and its exit code
(pipeline.cli.common.fail); nothing below the CLI prints or exits. Click's own usage errors are
exit 2 in the same style; exit 3 is a gate (--min-healthy), 130 Ctrl-C, 141 a closed stdout.

The other exception classes of the package are signals between two of its own functions,
caught next to where they are raised and never shown as they are (:data:`INTERNAL` names
each and who catches it); ``tests/unit/test_errors.py`` holds every class to this page.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # json itself loads only where a file needs its parser
    from json import JSONDecodeError

# The words every "may not read this file" message uses (a test and the headline look for them).
PERMISSION_DENIED = "permission denied"


class ExitStatus(IntEnum):
    OK = 0
    FAILURE = 1  # no accounts, storage error, write failure, invalid input
    USAGE = 2  # click's own code for usage errors
    GATE = 3  # `report --min-healthy N` found fewer than N healthy accounts
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, like other tools
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


class HistoryError(PipelineError):
    """The history could not be used; the message is one line for a person."""


class ConfigError(PipelineError):
    """An option value that click accepted but that makes no sense."""

    exit_status = ExitStatus.USAGE


# Exception classes that never reach a user: module.Class -> who catches it.
INTERNAL: dict[str, str] = {
    "pipeline.cli.Interrupted": "cli.main: Ctrl-C carried past click, exit 130",
    "pipeline.history.checks.Bad": "the history's readers: a bad row is skipped and counted",
    "pipeline.storage.files.Unreadable": "storage readers: the next candidate file, or a StorageError",
    "pipeline.storage.files.NotRegular": "storage.files: a FIFO or device in place of a file is Unreadable",
    "pipeline.live.atomic.WriteError": "token write-back, lease and journal: a failure of the run, said on stderr",
    "pipeline.live.lease.LeaseTimeout": "token refresh: the account's refresh fails, the run goes on",
    "pipeline.live.journal.JournalError": "token refresh and recovery: no refresh, said as a warning",
    "pipeline.live.journal.JournalRefused": "the journal itself: a journal that is not ours is not used",
    "pipeline.live.locks.LockError": "token refresh and journal: the lock could not be taken, said as a warning",
    "pipeline.live.locks.LockBusy": "token refresh and journal: another process holds the token, wait or skip",
    "pipeline.live.tokens.TokenNotSaved": "never raised: kept in the prober's failures, said as ERROR lines, exit 1",
}


def json_error_message(exc: JSONDecodeError) -> str:
    """The parser's message without its position or dangling words: ``Unterminated string
    starting at`` becomes ``unterminated string``."""
    text = exc.msg.strip()
    for tail in (" starting at", " at"):
        if text.endswith(tail):
            text = text[: -len(tail)]
            break
    return text[:1].lower() + text[1:] if text else "syntax error"
