"""``report``: the stages composed in one process (:mod:`pipeline.in_process`)."""

from __future__ import annotations

import os
from typing import Any

import click

from pipeline.cli.common import (
    check_compact,
    check_explain,
    check_gate,
    check_live_clock,
    emit_report,
    note,
    pick_format,
    resolve_history,
    run_context,
    stage_command,
    use_color,
)
from pipeline.cli.options import (
    dir_option,
    format_options,
    gate_option,
    history_options,
    live_option,
    live_options,
    model_option,
    now_option,
)
from pipeline.records import Status


@click.command()
@live_option
@dir_option
@now_option
@model_option
@format_options
@live_options
@gate_option
@history_options()
@stage_command("report")
def report(
    live: bool,
    storage_dir: str | None,
    now: str | None,
    model: str | None,
    fmt: str | None,
    as_json: bool,
    color: str,
    explain: bool,
    out_path: str | None,
    out_mode: int,
    redact: bool,
    min_healthy: int | None,
    statuses: tuple[Status, ...] | None,
    sort: str,
    compact: bool,
    history_file: str | None,
    no_history: bool,
    record: bool,
    **live_settings: Any,
) -> None:
    """Health and status report for every account in the pool.

    \b
    Collects, (with --live probes,) scores, recommends and renders in one process:
    the same as the pipe collect | [probe |] score | recommend | render. Exit codes:
    0 report written; 1 no accounts, storage error or write failure (one line on
    stderr); 2 usage error; 3 fewer healthy accounts than --min-healthy (the report
    is written all the same). A live run (or --record) adds one snapshot to the
    history (see `codex-auth history --help`).
    \b
      codex auth report
      codex auth report --live
      codex auth report --json | jq '.accounts[] | select(.status == "healthy") | .email'
      codex auth report --json --out reports/health-$(date +%F).json
      codex auth report --min-healthy 2 --format markdown --out status.md || exit
    """
    from pipeline.gc_pause import loading

    with loading():
        from pipeline.in_process import run_report

    fmt = pick_format(fmt, as_json)
    check_explain(explain, fmt)
    check_compact(compact, fmt)
    check_live_clock(now, live)
    if live_settings.get("reset_credits") and not live:
        raise click.UsageError("--reset-credits asks the service: use it with --live")
    prober = None
    if live:  # the probe's set-up loads only for a live run
        from pipeline.cli.probing import make_prober

        prober = make_prober(model, **live_settings)
    result = run_report(
        env=os.environ,
        context=run_context(now, model, pinned=not live),
        storage_dir=storage_dir,
        fmt=fmt,
        color=use_color(color, out_path, fmt),
        explain=explain,
        redact=redact,
        prober=prober,
        statuses=statuses,
        sort=sort,
        compact=compact,
        history=resolve_history(history_file, no_history, record, used=live or record),
    )
    for message in result.notes:
        note("report", message)
    emit_report(result.output, out_path, out_mode)
    if prober is not None:
        from pipeline.cli.probing import report_live_outcome

        report_live_outcome("report", prober, result.masker)
    check_gate("report", result.healthy, min_healthy)
