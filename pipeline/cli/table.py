"""The table of commands: each command's name, the module that defines it and its one-line
summary. The root group reads this table, so ``codex-auth --help`` imports no command module,
and running a command imports only its own module (and the option declarations it uses).

``tests/golden/test_cli_golden.py`` holds every summary here to the first line of its
command's own help."""

from __future__ import annotations

from pipeline.plain import Frozen


class Entry(Frozen):
    """A command's module and summary. (A plain class: a NamedTuple costs most of a
    millisecond at start-up.)"""

    __slots__ = ("module", "summary")
    module: str
    summary: str

    def __init__(self, module: str, summary: str) -> None:
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "summary", summary)


COMMANDS: dict[str, Entry] = {
    "collect": Entry("stages", "Read the account pool from disk (read-only) and write its records."),
    "completion": Entry("completion", "Print the shell completion script for codex-auth and for `codex auth`."),
    "forecast": Entry("forecast", "When each account and the pool run out of quota, and which account to use next."),
    "history": Entry("history", "What every live run observed, kept in a local SQLite database."),
    "probe": Entry("stages", "Probe live quota for every enabled account (and re-verify flagged ones)."),
    "recommend": Entry("stages", "Pass every record through and append the account to use next."),
    "render": Entry("stages", "Turn the record stream into the report (text, JSON, Prometheus, HTML or Markdown)."),
    "repair": Entry("repair", "Put rotated tokens that storage lacks into storage, without probing anything."),
    "report": Entry("report", "Health and status report for every account in the pool."),
    "sample-pool": Entry("sample_pool", "Write a sample pool into DIR (new or empty), to try every command on."),
    "schema": Entry("schema", "Print the JSON Schema of a record kind, or of the JSON report."),
    "score": Entry("stages", "Give each account a status, a health score and the reasons for them."),
    "serve": Entry("serve", "Serve the report to Prometheus and browsers, refreshed in the background."),
    "watch": Entry("watch", "Keep the report up to date: redrawn on a terminal, events in a pipe."),
}
