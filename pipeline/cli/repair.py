"""``repair``: put rotated tokens that storage lacks into storage (:mod:`pipeline.live.recovery`)."""

from __future__ import annotations

import os

import click

from pipeline.cli.common import say, stage_command
from pipeline.cli.options import dir_option
from pipeline.errors import ExitStatus


@click.command()
@dir_option
@click.option("--dry-run", is_flag=True, help="Say how many rotated tokens storage lacks, and write nothing.")
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
    from pipeline.clock import now_ms
    from pipeline.live.recovery import repair as run_repair

    if dry_run:
        say(f"repair: {_what_repair_would_do(storage_dir, now_ms())}")
        return

    result, lines = run_repair(os.environ, now_ms(), storage_dir)
    for line in lines:
        say(f"repair: {line}")
    for failure in result.failures:
        say(f"repair: ERROR: {failure}")
    if result.failures:
        raise SystemExit(int(ExitStatus.FAILURE))


def _what_repair_would_do(storage_dir: str | None, now: int) -> str:
    """The rotated tokens storage lacks, read only (the same survey a default report makes)."""
    from pipeline.live.pending import may_be_waiting
    from pipeline.live.recovery import survey
    from pipeline.storage.pool import read_pool

    pool = read_pool(os.environ, now, storage_dir)
    if pool.source == "none":
        return f"nothing to repair: no account storage in {pool.resolved.dir}"
    count = len(survey(pool, os.environ).waiting) if may_be_waiting(pool, os.environ) else 0
    if not count:
        return "nothing to repair: storage holds every rotated token (dry run: nothing written)"
    return (
        f"would restore {count} rotated token{'s' if count != 1 else ''} from the journal "
        "(dry run: nothing written; run codex auth repair)"
    )
