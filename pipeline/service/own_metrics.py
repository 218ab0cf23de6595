"""The exporter's own metrics: the refresh loop's (``codex_auth_up``, refresh times, counters,
the forecast's state) and the process's (``process_*``, named as Prometheus' client libraries
name them), written by the one Prometheus writer (:mod:`pipeline.report.exposition`) after the
report's metrics. Values are taken when the loop reports a run (:meth:`OwnMetrics.update`)."""

from __future__ import annotations

import os
import resource

from pipeline.report.exposition import Metrics
from pipeline.service.snapshots import LoopState


class OwnMetrics:
    """The loop's state as of its last run (None before the first: every value 0)."""

    def __init__(self) -> None:
        self.state: LoopState | None = None

    def update(self, state: LoopState) -> None:
        self.state = LoopState(**vars(state))  # a copy: the loop goes on changing its own

    def text(self) -> bytes:
        return (process_metrics() + loop_metrics(self.state)).encode("utf-8")


def loop_metrics(seen: LoopState | None) -> str:
    state = seen or LoopState()
    metrics = Metrics()
    gauge, counter = metrics.gauge, metrics.counter
    gauge(
        "up",
        "1 when the last refresh of the report succeeded, 0 when it failed (the metrics above are then "
        "from the last good refresh; see codex_auth_last_refresh_success_timestamp_seconds).",
        [("", 0 if seen is None or state.consecutive_failures else 1)],
    )
    gauge(
        "last_refresh_success_timestamp_seconds",
        "When the last successful refresh finished, as Unix time in seconds.",
        [("", state.last_success or 0)],
    )
    gauge(
        "last_refresh_duration_seconds",
        "How long the last successful refresh took (collect, and the live probes with --live), in seconds.",
        [("", state.last_duration or 0)],
    )
    counter("refreshes", "Refreshes run by the exporter's loop, good or failed.", [("", state.runs)])
    counter(
        "refresh_failures",
        "Refreshes that failed: no report (storage missing or unreadable), or a live run where the service "
        "answered no probe (down, timing out, or throttling).",
        [("", state.failures)],
    )
    gauge(
        "refresh_next_delay_seconds",
        "The wait before the next refresh: the interval, longer while backing off after failures or "
        "honouring a Retry-After.",
        [("", state.next_delay)],
    )
    gauge(
        "forecast_up",
        "1 when the forecast of the last good snapshot was made (its gauges and /forecast.json are current), "
        "0 when it failed (they are missing until one works; see /healthz).",
        [("", 0 if seen is None or state.hook_error else 1)],
    )
    counter(
        "forecast_failures",
        "Good snapshots whose forecast failed (their run-out gauges and /forecast.json are missing).",
        [("", state.hook_failures)],
    )
    return metrics.text()


def process_metrics() -> str:
    """Memory, CPU time, start time and file descriptors of this process, read from ``/proc``
    (nothing where there is none)."""
    metrics = Metrics(prefix="process_")
    try:
        with open("/proc/self/stat", "rb") as stat:
            parts = stat.read().split(b")")[-1].split()
        with open("/proc/stat", "rb") as system:
            boot = next(float(line.split()[1]) for line in system if line.startswith(b"btime "))
        fds = len(os.listdir("/proc/self/fd"))
    except (OSError, StopIteration, IndexError, ValueError):
        return ""
    ticks = os.sysconf("SC_CLK_TCK")
    gauge = metrics.gauge
    gauge("virtual_memory_bytes", "Virtual memory size in bytes.", [("", int(parts[20]))])
    gauge("resident_memory_bytes", "Resident memory size in bytes.", [("", int(parts[21]) * resource.getpagesize())])
    gauge(
        "start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        [("", round(int(parts[19]) / ticks + boot, 2))],
    )
    cpu = (int(parts[11]) + int(parts[12])) / ticks
    metrics.counter("cpu_seconds", "Total user and system CPU time spent in seconds.", [("", round(cpu, 2))])
    gauge("open_fds", "Number of open file descriptors.", [("", fds)])
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY:
        gauge("max_fds", "Maximum number of open file descriptors.", [("", soft)])
    return metrics.text()
