"""``serve``: the report for Prometheus and browsers, refreshed in the background
(:mod:`pipeline.service.exporter`)."""

from __future__ import annotations

import click

from pipeline.cli.common import note, resolve_history, stage_command
from pipeline.cli.options import (
    dir_option,
    history_options,
    interval_option,
    live_option,
    model_option,
    redact_option,
)
from pipeline.cli.refreshing import forecast_hook, leave_now, loop_interval, make_refresher
from pipeline.errors import PipelineError


def _listen_advice(error: OSError) -> str:
    """What went wrong binding the address, and what to do, for one line on stderr."""
    import errno

    if error.errno == errno.EADDRINUSE:
        return "the port is in use by another program: stop it, or choose another port with --listen HOST:PORT"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (ports below 1024 need privileges): choose a port above 1023 with --listen"
    if error.errno == errno.EADDRNOTAVAIL:
        return "no interface of this machine has that address: check the host part of --listen"
    why = error.strerror or type(error).__name__
    return f"{why[:1].lower() + why[1:]}: check --listen"


@click.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default="127.0.0.1:9467",
    show_default=True,
    help="Address to listen on. Anything but a loopback address is said on stderr: the report names your accounts.",
)
@interval_option
@live_option
@dir_option
@model_option
@redact_option
@history_options(record=False)
@stage_command("serve")
def serve(
    listen: str,
    interval: str | None,
    live: bool,
    storage_dir: str | None,
    model: str | None,
    redact: bool,
    history_file: str | None,
    no_history: bool,
) -> None:
    """Serve the report to Prometheus and browsers, refreshed in the background.

    \b
    Endpoints: /metrics (Prometheus, the forecast's gauges included), /report.json (the
    HealthReport), /forecast.json (codex-auth schema forecast), / (the HTML report),
    /healthz (the refresh loop's state). Each live snapshot is added to the history
    (--history, --no-history), which the forecast reads. A request never probes: every
    endpoint serves the last good snapshot, and a background loop makes the next one
    every --interval (one at a time, with jitter; after a failure it waits 2x, 4x...
    the interval, and as long as a Retry-After asks). SIGTERM or Ctrl-C stops it (exit 0).
    \b
      codex auth serve                                  # http://127.0.0.1:9467/metrics
      codex auth serve --live --interval 5m --redact
    """
    from pipeline.loopback import is_loopback
    from pipeline.service.exporter import Exporter, parse_listen
    from pipeline.service.exporter import serve as run_server
    from pipeline.service.snapshots import RefreshLoop

    address = parse_listen(listen)
    history = resolve_history(history_file, no_history)
    seconds = loop_interval(interval, live, "serve")
    if not is_loopback(address[0]):
        note(
            "serve",
            f"listening on {address[0]}, not a loopback address: anyone who can reach it reads the report "
            "(e-mails included unless --redact)",
        )

    from pipeline.redact import Masker

    mask = Masker(set()).text if redact else str  # stderr lands in logs: mask e-mails there too

    def say(line: str) -> None:
        note("serve", mask(line))

    refresher = make_refresher(live, storage_dir, model)
    hook = forecast_hook(history, model, redact, say)
    loop = RefreshLoop(refresher, seconds, hook=hook, say=say)
    try:
        documents = ("/forecast.json",) if hook is not None else ()
        code = run_server(Exporter(loop, redact=redact), address, say=say, documents=documents)
    except OSError as error:
        refresher.close()
        raise PipelineError(f"cannot listen on {listen}: {_listen_advice(error)}") from None
    leave_now(loop, code)
    refresher.close()
    raise SystemExit(code)
