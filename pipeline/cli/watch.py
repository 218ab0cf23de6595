"""``watch``: the report redrawn on a terminal, or events in a pipe (:mod:`pipeline.service.watch`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from pipeline.cli.common import check_live_clock, note, resolve_history, stage_command, stream_now, use_color
from pipeline.cli.options import (
    color_option,
    dir_option,
    history_options,
    interval_option,
    live_option,
    model_option,
    now_option,
    redact_option,
    sort_option,
)
from pipeline.cli.refreshing import forecast_hook, leave_now, loop_interval, make_refresher


def _command_line(value: str | None) -> list[str] | None:
    """--on-event CMD split as a shell would split it (no shell ever runs it)."""
    import shlex

    if value is None:
        return None
    try:
        argv = shlex.split(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r}: {error}", param_hint="--on-event") from None
    if not argv:
        raise click.BadParameter("the command is empty", param_hint="--on-event")
    return argv


def _thresholds(value: str) -> tuple[int, ...]:
    from pipeline.events import parse_thresholds

    try:
        return parse_thresholds(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--threshold") from None


@click.command()
@interval_option
@live_option
@dir_option
@now_option
@model_option
@redact_option
@history_options(record=False)
@click.option(
    "--on-event",
    "on_event",
    metavar="CMD",
    default=None,
    callback=lambda ctx, param, value: _command_line(value),
    help="Run CMD for each event, with the event as JSON on its stdin (split like a shell would, never run by "
    "one); what CMD prints goes to watch's stderr, so stdout stays the event stream.",
)
@click.option(
    "--on-event-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop an --on-event command (and its children) that runs longer than this.",
)
@click.option(
    "--threshold",
    "thresholds",
    metavar="PERCENT,...",
    default="25,10,5",
    callback=lambda ctx, param, value: _thresholds(value),
    show_default=True,
    help="Quota-left thresholds (percent) whose crossing is an event.",
)
@click.option(
    "--min-healthy",
    type=click.IntRange(min=0),
    metavar="N",
    default=None,
    help="An event (pool-below-min-healthy, then pool-min-healthy-again) when fewer than N accounts "
    "are healthy; the watch goes on (it never exits for it).",
)
@color_option
@sort_option
@stage_command("watch")
def watch(
    interval: str | None,
    live: bool,
    storage_dir: str | None,
    now: str | None,
    model: str | None,
    redact: bool,
    history_file: str | None,
    no_history: bool,
    on_event: list[str] | None,
    on_event_timeout: float,
    thresholds: tuple[int, ...],
    min_healthy: int | None,
    color: str,
    sort: str,
) -> None:
    """Keep the report up to date: redrawn on a terminal, events in a pipe.

    \b
    On a terminal the report is redrawn in place every --interval, cut to the window
    (summary, recommendation and problems first; q or Ctrl-C leaves a clean screen).
    Elsewhere, one JSON event per line when something changes: a quota threshold
    crossed, a window reset, an account broken or recovered, rate-limited or free again,
    the pool below --min-healthy (`codex-auth schema event`). Each live snapshot is added
    to the history (--history, --no-history). Exit 0 on q, Ctrl-C or SIGTERM; 141 when
    the reader of the events went away.
    \b
      codex auth watch
      codex auth watch --live --interval 5m --min-healthy 2 | jq -r .message
      codex auth watch --on-event 'notify-send "Codex accounts"' --threshold 20,5
    """
    from pipeline.plain import replace
    from pipeline.report.text import render_text
    from pipeline.service.watch import watch_pool

    check_live_clock(now, live)
    history = resolve_history(history_file, no_history)
    seconds = loop_interval(interval, live, "watch")

    from pipeline.redact import Masker

    mask = Masker(set()).text if redact else str  # stderr lands in logs: mask e-mails there too

    def say(line: str) -> None:
        note("watch", mask(line))

    def shown(view: Any) -> Any:
        return replace(view, sort=sort)  # masked under --redact by the watch itself

    terminal = sys.stdout.isatty()
    colored = use_color(color, None, "text")  # the report's own rules: --color wins, then NO_COLOR, ...
    refresher = make_refresher(live, storage_dir, model, stream_now(now))
    if not terminal:  # a pipe sees nothing until something changes: say what to expect, once
        say(f"one JSON event per line on stdout when something changes, checked every {seconds:g}s; Ctrl-C stops")
    loop, code = watch_pool(
        refresher,
        interval=seconds,
        title="codex auth report" + (" --live" if live else ""),
        render=lambda view: render_text(shown(view), color=colored),
        terminal=terminal,
        thresholds=thresholds,
        min_healthy=min_healthy,
        on_event=on_event,
        on_event_timeout=on_event_timeout,
        say=say,
        redact=redact,
        hook=forecast_hook(history, model, redact, say) if live and history.path is not None else None,
    )
    leave_now(loop, code)
    refresher.close()
    raise SystemExit(code)
