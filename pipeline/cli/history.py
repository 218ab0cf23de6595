"""``history``: what every live run observed, read from the history database."""

from __future__ import annotations

import os
import sys

import click

from pipeline.cli.common import note, resolve_now, stage_command
from pipeline.cli.options import history_file_option, now_option


@click.command()
@click.option(
    "--since",
    metavar="TIME",
    default=None,
    help="From this time: ISO-8601, epoch seconds or ms, or back from now (7d, 12h).",
)
@click.option("--until", metavar="TIME", default=None, help="Up to this time (same forms as --since).")
@click.option("--account", metavar="EMAIL|ID", default=None, help="Only this account (its e-mail or account id).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "ndjson", "json", "csv"]),
    default=None,
    help="text: a table with UTC times (the default on a terminal); ndjson: one object a line with epoch-ms "
    "times (the default in a pipe); json: one array; csv: a header and one row each.",
)
@click.option("--events", is_flag=True, help="What happened, derived from consecutive samples, instead of the samples.")
@click.option("--daily", is_flag=True, help="Per UTC day: runs, accounts, active, healthy, rate-limited, in error.")
@click.option("--prune", is_flag=True, help="Delete the runs older than --keep (and print how many went).")
@click.option(
    "--keep", metavar="DURATION", default=None, help="With --prune: how much to keep (e.g. 90d, 12h, or seconds)."
)
@history_file_option
@now_option
@stage_command("history")
def history(
    since: str | None,
    until: str | None,
    account: str | None,
    fmt: str | None,
    events: bool,
    daily: bool,
    prune: bool,
    keep: str | None,
    history_file: str | None,
    now: str | None,
) -> None:
    """What every live run observed, kept in a local SQLite database.

    \b
    Every `report --live` and `forecast --live` (and any run with --record) adds one
    snapshot: per account and window the used percent, window length, reset time,
    status, health score, plan, credits and probe outcome. Never a token.
    --events derives what happened between consecutive samples: reset, reset-early,
    reset-moved-later, plan-changed, rate-limit-hit/-lifted, token-broken/-recovered,
    account-added/-removed (each with at, kind, accountId, email, window, details).
    A table with UTC times on a terminal (--format text), NDJSON elsewhere.
    Exit codes: 0 written, an empty answer too (said in one line on stderr), bad rows
    skipped and counted in one line; 1 the history cannot be read (none yet, damaged,
    another program's database, a newer version's); 2 usage error.
    \b
      codex auth history --since 24h --account alice@example.com
      codex auth history --events --since 7d --format csv
      codex auth history --since 7d --daily
      codex auth history --prune --keep 90d
    """
    from pathlib import Path

    from pipeline.clock import parse_duration, parse_time
    from pipeline.errors import ConfigError
    from pipeline.history.location import history_path

    when = resolve_now(now)
    location = history_path(os.environ, history_file, False)
    assert location is not None
    path = Path(location)
    if prune:
        if not keep:
            raise click.UsageError("--prune needs --keep DURATION (e.g. --keep 90d)")
        if events or daily or since or until or account:
            raise click.UsageError("--prune takes only --keep (and --history)")
        from pipeline.history.query import prune as prune_runs

        count = prune_runs(path, when - parse_duration(keep, "--keep"))
        note("history", f"pruned {count} run{'' if count == 1 else 's'} older than {keep}")
        return
    if keep:
        raise click.UsageError("--keep goes with --prune")
    if events and daily:
        raise click.UsageError("--events conflicts with --daily")
    start = parse_time(since, when, "--since") if since else None
    end = parse_time(until, when, "--until") if until else None
    if start is not None and end is not None and start > end:
        raise ConfigError("--since is after --until")
    from pipeline.history.query import Query, answer

    kind = "events" if events else "daily" if daily else "samples"
    fmt = fmt or ("text" if sys.stdout.isatty() else "ndjson")
    done = answer(path, kind, fmt, Query(start, end, account))
    for message in done.notes:
        note("history", message)
