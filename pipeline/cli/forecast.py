"""``forecast``: when each account and the pool run out, from the pool (in one process) or as
a stage over records (``--input``)."""

from __future__ import annotations

import os
from typing import IO, Any

import click

from pipeline.cli.common import (
    check_live_clock,
    emit_report,
    parse_horizon,
    pick_format,
    read_input,
    resolve_history,
    run_context,
    say,
    stage_command,
    write_output,
)
from pipeline.cli.options import (
    FORECAST_FORMATS,
    AliasOption,
    OctalMode,
    StageOutput,
    dir_option,
    history_options,
    horizon_option,
    live_options,
    model_option,
    now_option,
)
from pipeline.cli.probing import make_prober, report_live_outcome
from pipeline.errors import ExitStatus


@click.command()
@click.option(
    "--live", is_flag=True, help="Probe live quota first (see `codex-auth probe --help`); the run is recorded."
)
@click.option(
    "-i",
    "--input",
    "input_file",
    type=click.File("rb"),
    default=None,
    help="Run as a stage: read NDJSON records from this file (- for stdin) and write them back with "
    "`forecast` added, instead of reading the pool.",
)
@dir_option
@now_option
@model_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORECAST_FORMATS)),
    default=None,
    help="text (default), json (one line, codex-auth schema forecast), markdown or prometheus.",
)
@click.option("--json", "as_json", is_flag=True, help="The forecast as one line of JSON; same as --format json.")
@click.option("--redact", is_flag=True, help="Mask e-mails and account ids everywhere.")
@click.option(
    "-o",
    "--out",
    "--output",
    "out_path",
    cls=AliasOption,
    hidden_names=("--output",),
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Write the forecast to this file (atomically) instead of stdout; with --input, the records.",
)
@click.option(
    "--out-mode",
    "out_mode",
    type=OctalMode(),
    default="600",
    show_default=True,
    metavar="MODE",
    help="File mode of --out (octal).",
)
@click.option(
    "--min-healthy",
    type=click.IntRange(min=0),
    metavar="N",
    default=None,
    help="Say when the usable accounts fall below N; exit 3 when that happens before the horizon ends (a gate).",
)
@horizon_option
@history_options()
@live_options
@stage_command("forecast")
def forecast(
    live: bool,
    input_file: IO[bytes] | None,
    storage_dir: str | None,
    now: str | None,
    model: str | None,
    fmt: str | None,
    as_json: bool,
    redact: bool,
    out_path: str | None,
    out_mode: int,
    min_healthy: int | None,
    horizon: str | None,
    history_file: str | None,
    no_history: bool,
    record: bool,
    **live_settings: Any,
) -> None:
    """When each account and the pool run out of quota, and which account to use next.

    \b
    Per account and window (5h, 7d, the model's own limit, a monthly spend limit): used
    percent, pace in points per hour and a verdict: exhausted (until availableAt),
    runs-out (at runOutAt, before the reset, with a likely range and a confidence),
    lasts, or unknown. The pace is the account's own rhythm by hour of the week from
    the history, else the used percent over the time since the window began; the
    windows are played forward together (a fresh 5h window can run out again, the
    weekly binds). For the pool: usable accounts now and whenever that changes within
    the horizon (tomorrow's caps too), when they fall below --min-healthy, and the
    account to use next.
    Exit codes: 0 written; 1 no accounts or storage error; 2 usage error; 3 the pool
    falls below --min-healthy before the horizon ends (the forecast is written).
    \b
      codex auth forecast
      codex auth forecast --live --json >> incident.json
      codex auth forecast --min-healthy 2 --horizon 24h || page-someone
      codex-auth collect | codex-auth forecast -i - | codex-auth render --view forecast
    """
    from pipeline.in_process import build_forecast

    history = resolve_history(history_file, no_history, record)
    horizon_ms = parse_horizon(horizon)
    if input_file is not None:
        if live or storage_dir or fmt or as_json or redact or record:
            raise click.UsageError(
                "with --input, forecast is a stage: it writes records (render them with render --view forecast)"
            )
        # the stages' own -o: stdout for -, else private (0600) and whole, the old file kept on failure
        output_file = StageOutput().convert(out_path or "-", None, click.get_current_context())
        run_forecast_stage(input_file, output_file, now, model, history.path, horizon_ms, min_healthy)
        return
    fmt = pick_format(fmt, as_json)
    check_live_clock(now, live)
    if live_settings.get("reset_credits") and not live:
        raise click.UsageError("--reset-credits asks the service: use it with --live")
    prober = make_prober(model, **live_settings) if live else None
    result = build_forecast(
        env=os.environ,
        context=run_context(now, model, pinned=not live),
        storage_dir=storage_dir,
        prober=prober,
        history=history,
        horizon_ms=horizon_ms,
        min_healthy=min_healthy,
        fmt=fmt,
        redact=redact,
    )
    for note in result.notes:
        say(f"forecast: {note}")
    emit_report(result.output, out_path, out_mode)
    if prober is not None:
        report_live_outcome("forecast", prober, result.masker)
    if min_healthy is not None and result.below_min_healthy:
        pool = result.document["pool"]
        from pipeline.clock import iso_utc

        say(f"forecast: usable accounts fall below --min-healthy {min_healthy} at {iso_utc(pool['belowMinHealthyAt'])}")
        raise SystemExit(int(ExitStatus.GATE))


def run_forecast_stage(
    input_file: IO[bytes],
    output_file: IO[bytes],
    now: str | None,
    model: str | None,
    history: Any,
    horizon_ms: int | None,
    min_healthy: int | None,
) -> None:
    import itertools

    from pipeline.in_process import history_reader
    from pipeline.stages.forecast import forecast as run_forecast

    stream = iter(read_input(input_file, "forecast"))
    first = next(stream, None)
    head = [] if first is None else [first]
    # As score and recommend do: without --now, the stream's own time (a saved snapshot
    # forecasts as of when it was collected), else the clock.
    when = run_context(now, model, pinned=False).instant(first if now is None else None)
    with history_reader(history, when) as (loader, notes):
        records = run_forecast(
            itertools.chain(head, stream),
            now=when,
            model=model,
            history=loader,
            horizon_ms=horizon_ms,
            min_healthy=min_healthy,
        )
        write_output(records, output_file)
    for note in notes:
        say(f"forecast: {note}")
