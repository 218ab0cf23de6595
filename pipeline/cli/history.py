"""``history``: what every live run observed, read from the history database."""

from __future__ import annotations

import os
from typing import Any

import click

from pipeline.cli.common import emit_report, resolve_now, say, stage_command
from pipeline.cli.options import now_option
from pipeline.errors import PipelineError


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
    type=click.Choice(["ndjson", "json", "csv"]),
    default="ndjson",
    show_default=True,
    help="ndjson: one object a line; json: one array; csv: a header and one row each.",
)
@click.option("--events", is_flag=True, help="What happened, derived from consecutive samples, instead of the samples.")
@click.option("--daily", is_flag=True, help="Per UTC day: runs, accounts, active, healthy, rate-limited, in error.")
@click.option("--prune", is_flag=True, help="Delete the runs older than --keep (and print how many went).")
@click.option("--keep", metavar="DURATION", default=None, help="With --prune: how much to keep (e.g. 90d).")
@click.option(
    "--history",
    "history_file",
    metavar="PATH",
    type=click.Path(path_type=str),
    default=None,
    help="The history database (default: CODEX_AUTH_HISTORY, else $XDG_STATE_HOME/codex-auth-report/history.sqlite3).",
)
@now_option
@stage_command("history")
def history(
    since: str | None,
    until: str | None,
    account: str | None,
    fmt: str,
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
    \b
      codex auth history --since 24h --account alice@example.com
      codex auth history --events --since 7d --format csv
      codex auth history --since 7d --daily
      codex auth history --prune --keep 90d
    """
    from pipeline.clock import parse_duration, parse_time
    from pipeline.errors import ConfigError
    from pipeline.history.location import history_path
    from pipeline.history.store import HistoryError, HistoryStore

    when = resolve_now(now)
    path = history_path(os.environ, history_file, False)
    assert path is not None
    if prune:
        if not keep:
            raise click.UsageError("--prune needs --keep DURATION (e.g. --keep 90d)")
        if events or daily or since or until or account:
            raise click.UsageError("--prune takes only --keep (and --history)")
        before = when - parse_duration(keep, "--keep")
        try:
            if not path.is_file():
                raise HistoryError(f"{path}: no history yet (a live run records one)")
            with HistoryStore(path, create=True) as store:
                count = store.prune(before)
        except HistoryError as error:
            raise HistoryUnavailable(str(error)) from None
        say(f"history: pruned {count} run{'' if count == 1 else 's'} older than {keep}")
        return
    if keep:
        raise click.UsageError("--keep goes with --prune")
    if events and daily:
        raise click.UsageError("--events conflicts with --daily")
    start = parse_time(since, when, "--since") if since else None
    end = parse_time(until, when, "--until") if until else None
    if start is not None and end is not None and start > end:
        raise ConfigError("--since is after --until")
    from pipeline.history import events as ev

    try:
        with HistoryStore(path, create=False) as store:
            observed = store.observations(start, end)
            runs = store.runs(start, end) if events else []
    except HistoryError as error:
        raise HistoryUnavailable(str(error)) from None
    if events:
        rows = ev.derive_events(runs, observed, account)
    elif daily:
        rows = ev.daily(observed, account)
    else:
        rows = ev.sample_rows(observed, account)
    emit_report(format_rows(rows, fmt), None)


class HistoryUnavailable(PipelineError):
    """The history cannot be read (exit 1)."""


def format_rows(rows: list[dict[str, Any]], fmt: str) -> bytes:
    import orjson

    if fmt == "ndjson":
        return b"".join(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows)
    if fmt == "json":
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    import csv
    import io

    buffer = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    writer = csv.writer(buffer, lineterminator="\n")
    if columns:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> str:
    import orjson

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value  # a spreadsheet would run it as a formula (an e-mail or label is text)
    return str(value)
