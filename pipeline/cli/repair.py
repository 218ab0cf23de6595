"""``repair``: put rotated tokens that storage lacks into storage (:mod:`pipeline.live.recovery`)."""

from __future__ import annotations

import os

import click

from pipeline.cli.common import note, resolve_now, stage_command
from pipeline.cli.options import dir_option
from pipeline.errors import ExitStatus


@click.command()
@dir_option
@click.option("--dry-run", is_flag=True, help="Only say what would be restored: write and remove nothing.")
@stage_command("repair")
def repair(storage_dir: str | None, dry_run: bool) -> None:
    """Put rotated tokens that storage lacks into storage, without probing anything.

    \b
    A refresh token can be used once: every rotated token is written to a journal
    beside the pool before it goes into the accounts file. When a run was killed in
    between, or another program's write put an old token back, the journal (and
    codex-multi-auth's refresh-lease results) still has the new one; this command puts
    it into every record that holds the spent token (accounts, flagged, auth.json),
    and removes what crashed processes left behind (locks, temporary files). Any live
    report does the same before it refreshes; a default report only says so.
    Exit 0: nothing to do, or everything restored; 1: a file could not be written.
    \b
      codex auth repair --dry-run
      codex auth repair
      codex auth repair --dir ~/.codex/multi-auth && codex auth report
    """
    from pipeline.live.recovery import repair as run_repair

    result, lines = run_repair(os.environ, resolve_now(None), storage_dir, dry_run=dry_run)
    for message in lines:
        note("repair", message)
    for failure in result.failures:
        note("repair", f"ERROR: {failure}")
    if result.failures:
        raise SystemExit(int(ExitStatus.FAILURE))
