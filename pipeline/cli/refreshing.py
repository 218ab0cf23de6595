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


def steady_heap() -> bool:
    """Keep the C library's heap from growing refresh after refresh (glibc; elsewhere nothing).

    Each refresh frees the last snapshot's large buffers (the rendered ``/metrics``, the
    forecast's documents: tens of MB at 10,000 accounts). glibc then raises the size from which
    it maps a buffer on its own (up to 32 MiB), so the next ones land in the heap, where they
    stay allocated as fragments: resident memory rose by about 25 MB a refresh at 10,000
    accounts with a flat count of live objects. Fixing the thresholds at glibc's defaults
    (128 KiB) gives every large buffer back when it is freed. True when the library took them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    trim_threshold, mmap_threshold = -1, -3  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD (malloc.h)
    return bool(mallopt(mmap_threshold, 128 * 1024)) and bool(mallopt(trim_threshold, 128 * 1024))


def make_refresher(live: bool, storage_dir: str | None, model: str | None, now: int | None = None) -> Refresher:
    """The refresher of an always-on command (which keeps its heap steady: :func:`steady_heap`)."""
    from pipeline.service.snapshots import Refresher

    steady_heap()

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
