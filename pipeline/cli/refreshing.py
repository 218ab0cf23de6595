"""What ``serve`` and ``watch`` share: the refresh interval, the refresher, the forecast hook
and leaving without cutting a token refresh short."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.cli.common import note, say

if TYPE_CHECKING:  # for the annotations only: the modules load when a command runs
    import httpx

    from pipeline.in_process import HistoryOptions
    from pipeline.service.forecast_hook import ForecastHook
    from pipeline.service.snapshots import Refresher, RefreshLoop
    from pipeline.stages.probe import Prober


def loop_interval(value: str | None, live: bool, stage: str) -> float:
    from pipeline.clock import parse_interval
    from pipeline.service.snapshots import ABUSIVE_LIVE_INTERVAL, DEFAULT_INTERVAL, LIVE_DEFAULT_INTERVAL

    if value is None:
        return LIVE_DEFAULT_INTERVAL if live else DEFAULT_INTERVAL
    seconds = parse_interval(value)
    if live and seconds < ABUSIVE_LIVE_INTERVAL:
        note(
            stage,
            f"warning: --interval {value} probes every account every {seconds:g}s; the service may take "
            "that for abuse and throttle or flag the accounts (5m is the default)",
        )
    return seconds


def make_refresher(live: bool, storage_dir: str | None, model: str | None, now: int | None = None) -> Refresher:
    from pipeline.service.snapshots import Refresher

    def prober(client: httpx.Client) -> Prober:
        from pipeline.stages.probe import ProbeOptions, Prober

        return Prober(ProbeOptions(model or "gpt-5-codex"), os.environ, client=client)

    return Refresher(env=os.environ, storage_dir=storage_dir, model=model, live=live, make_prober=prober, now=now)


TOKEN_SAVE_GRACE_SECONDS = 30.0
"""How long an early exit waits for a refresh in flight (its request has its own deadline)."""


def leave_now(loop: RefreshLoop, code: int) -> None:
    """Exit with ``code``; if a run is still in flight past the stop's grace time (a slow
    service), end the process without waiting for it, so that SIGTERM ends it within 2 s
    (the probe threads would otherwise be joined at exit, up to the fetch timeout). The one
    thing it waits for is a token refresh between spending a token and saving its successor."""
    if loop.in_flight:
        from pipeline.live import inflight

        if inflight.in_flight():  # a token is spent and its successor not yet saved: never cut that short
            say("stopping: waiting for a token refresh to be saved")
            inflight.wait_until_saved(TOKEN_SAVE_GRACE_SECONDS)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def forecast_hook(history: HistoryOptions, model: str | None, redact: bool, say: Callable[[str], None]) -> ForecastHook:
    """The forecast's gauges, /forecast.json and the history of live snapshots, plugged into
    the refresh loop (see pipeline.service.snapshots.SnapshotHook)."""
    from pipeline.service.forecast_hook import ForecastHook

    return ForecastHook(history, model, redact, say)
