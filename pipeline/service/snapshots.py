"""Snapshots on a schedule, for the always-on commands (``serve`` and ``watch``).

A :class:`Refresher` takes one snapshot (the report's :class:`View`, default or live), a
:class:`RefreshLoop` takes one every interval in a background thread, one at a time, with
jitter, backing off after failures and honouring ``Retry-After``. Readers get the last good
snapshot whatever happened since: a failed refresh never replaces it.

What counts as a failed refresh: no report at all (the pool is missing or unreadable), or a
live run in which no account got an answer (every probe ended in a network error, a timeout,
a 5xx or a 429): the service is down or throttling us, so its non-answers are not news about
the accounts. A run in which some accounts answered is a good snapshot, whatever the others
said (their outcomes are data). After a failure the next run waits the interval times 2, 4,
8... up to :data:`BACKOFF_CAP` (or the interval, when that is longer); a ``Retry-After``
from the service is waited out in any case (up to :data:`RETRY_AFTER_CAP`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

from pipeline.clock import now_s
from pipeline.context import RunContext
from pipeline.errors import PipelineError
from pipeline.redact import scrub_secrets
from pipeline.report.view import View

BACKOFF_CAP = 900.0  # seconds: the longest wait after failures (unless the interval is longer)
RETRY_AFTER_CAP = 3600.0  # seconds: a Retry-After longer than this is taken as this
JITTER = 0.1  # each wait is lengthened by up to this share of itself, so exporters do not march in step
LIVE_DEFAULT_INTERVAL = 300.0
DEFAULT_INTERVAL = 30.0
ABUSIVE_LIVE_INTERVAL = 60.0  # a live interval below this earns a warning
_TRANSPORT_CODES = {"network_error", "timeout"}


@dataclass(frozen=True)
class Extras:
    """What a snapshot hook adds: exposition lines appended to ``/metrics`` and documents
    served at their own paths (``{"/forecast.json": b"..."}``)."""

    metrics: str = ""
    documents: Mapping[str, bytes] = field(default_factory=dict)


# The one hook the forecast and the history plug into: called in the loop after every good
# snapshot with the view (unredacted) and whether it is live; it may record the snapshot
# (history) and return more metrics and documents (forecast). Its failures are said and
# leave the snapshot without extras; they never fail the refresh.
SnapshotHook = Callable[[View, bool], Extras]


@dataclass(frozen=True)
class Snapshot:
    view: View
    taken_at: float  # Unix seconds, when the refresh finished
    duration: float  # seconds the refresh took
    live: bool
    extras: Extras = Extras()


@dataclass(frozen=True)
class Assessment:
    ok: bool
    reason: str | None = None  # why the refresh failed
    retry_after: float | None = None  # seconds the service asked us to wait


@dataclass
class WireObserver:
    """Watches every HTTP answer of a live run (an httpx response hook): how many came back
    429 and the longest ``Retry-After`` among them. Thread-safe; probes run concurrently."""

    clock: Callable[[], float] = now_s
    throttled: int = 0
    retry_after: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.throttled, self.retry_after = 0, None

    def __call__(self, response: Any) -> None:
        if response.status_code not in (429, 503):
            return
        wait = parse_retry_after(response.headers.get("Retry-After"), self.clock())
        with self._lock:
            self.throttled += response.status_code == 429
            if wait is not None:
                self.retry_after = max(self.retry_after or 0.0, wait)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), capped."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def assess(view: View, live: bool, retry_after: float | None = None) -> Assessment:
    """Whether a snapshot is worth serving (see the module docstring). Pure."""
    if not live:
        return Assessment(True)
    attempted = failed = 0
    kinds: dict[str, int] = {}
    for account in view.accounts:
        probe = account.record.get("probe") or {}
        outcome = probe.get("outcome")
        if outcome in (None, "skipped"):
            continue
        attempted += 1
        kind = _no_answer(probe)
        if kind:
            failed += 1
            kinds[kind] = kinds.get(kind, 0) + 1
    if attempted and failed == attempted:
        what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        return Assessment(False, f"no account got an answer from the service ({what})", retry_after)
    return Assessment(True, None, retry_after)


def _no_answer(probe: Mapping[str, Any]) -> str | None:
    """The kind of non-answer a probe outcome is (the service down or throttling), or None."""
    outcome = probe.get("outcome")
    status = probe.get("httpStatus")
    if outcome in ("network-error", "timeout"):
        return str(outcome)
    if outcome == "refresh-failed" and (probe.get("errorCode") in _TRANSPORT_CODES or (status or 0) >= 500):
        return f"token endpoint {probe.get('errorCode') or status}"
    if status == 429:
        return "throttled (429)"
    if isinstance(status, int) and status >= 500:
        return f"server error ({status})"
    return None


def next_delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until the next run, before jitter: the interval, doubled per consecutive failure
    up to the cap, and never less than the service's Retry-After. Pure."""
    delay = interval
    if failures > 0:
        delay = min(interval * 2.0 ** min(failures, 30), max(BACKOFF_CAP, interval))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def with_jitter(delay: float, rng: Callable[[], float] = random.random) -> float:
    return delay * (1.0 + JITTER * rng())


class Refresher:
    """Takes one snapshot: the report's view, default or live. A live refresher keeps one
    HTTP client (and its connections) for all its runs, and a fresh prober per run."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        storage_dir: str | None = None,
        model: str | None = None,
        live: bool = False,
        make_prober: Callable[..., Any] | None = None,
        now: int | None = None,
    ) -> None:
        self.env, self.storage_dir, self.live = env, storage_dir, live
        self.context = RunContext(now, model)  # now None: each snapshot is dated by the clock
        self.make_prober = make_prober
        self.wire = WireObserver()
        self.notes: list[str] = []  # what the last run had to say (stderr)
        self.client: Any = None
        if live:
            from pipeline.live import endpoints as live_endpoints

            endpoints = live_endpoints.Endpoints.from_env(env)  # a bad base URL fails now, not in the loop
            self.client = live_endpoints.make_client(endpoints, 32)
            self.client.event_hooks["response"] = [self.wire]

    def take(self) -> tuple[View, Assessment]:
        from pipeline.in_process import report_view

        self.wire.reset()
        prober = self.make_prober(client=self.client) if self.live and self.make_prober else None
        result = report_view(env=self.env, context=self.context, storage_dir=self.storage_dir, prober=prober)
        self.notes = list(result.notes)
        if prober is not None:
            self.notes += list(prober.notes)
            self.notes += [f"ERROR: {failure}" for failure in prober.failures]
        return result.view, assess(result.view, self.live, self.wire.retry_after)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@dataclass
class LoopState:
    """What the loop has done, for ``/healthz``, the exporter's own metrics and the tests."""

    runs: int = 0
    failures: int = 0  # failed runs in all
    consecutive_failures: int = 0
    running: bool = False
    last_error: str | None = None
    last_success: float | None = None  # Unix seconds
    last_duration: float | None = None  # seconds, of the last good run
    next_delay: float = 0.0  # the wait chosen after the last run (jitter included)
    retry_after: float | None = None
    hook_failures: int = 0  # good snapshots whose hook (the forecast) failed, in all
    hook_error: str | None = None  # why the last good snapshot's hook failed; None when it worked


class RefreshLoop:
    """Runs ``refresher.take`` now and then every interval in a daemon thread. ``snapshot``
    is the last good one (None before the first). ``on_run`` is called after every run."""

    def __init__(
        self,
        refresher: Refresher,
        interval: float,
        *,
        hook: SnapshotHook | None = None,
        on_run: Callable[[LoopState, Snapshot | None, Assessment | None], None] | None = None,
        say: Callable[[str], None] = lambda line: None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.refresher, self.interval, self.hook, self.on_run, self.say = refresher, interval, hook, on_run, say
        self.rng = rng
        self.state = LoopState()
        self.snapshot: Snapshot | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="refresh", daemon=True)

    def start(self) -> RefreshLoop:
        self._thread.start()
        return self

    def stop(self, wait: float = 1.5) -> None:
        """Stop after the run in flight, waiting for it at most ``wait`` seconds."""
        self._stop.set()
        self._thread.join(wait)

    @property
    def in_flight(self) -> bool:
        """A run is still going (after :meth:`stop` gave up waiting for it)."""
        return self._thread.is_alive()

    def run_once(self) -> tuple[Snapshot | None, Assessment | None]:
        started = time.monotonic()
        self.state = replace(self.state, running=True)
        self._idle.clear()
        assessment: Assessment | None = None
        success: Snapshot | None = None
        failure: str | None = None
        hook_error: str | None = None
        try:
            view, assessment = self.refresher.take()
        except PipelineError as error:
            failure = str(error)
        except Exception as error:  # a bug must not end the exporter; say it, keep serving
            failure = f"{type(error).__name__}: {scrub_secrets(str(error))}"
        else:
            for note in self.refresher.notes:
                self.say(note)
            if assessment.ok:
                duration = time.monotonic() - started
                extras, hook_error = self._extras(view)
                success = Snapshot(view, now_s(), duration, self.refresher.live, extras)
            else:
                failure = assessment.reason or "the refresh failed"
        finally:
            self._publish(success, failure, assessment, hook_error)
        if self.on_run is not None:
            self.on_run(self.state, self.snapshot, assessment)
        return self.snapshot, assessment

    def _publish(
        self,
        success: Snapshot | None,
        failure: str | None,
        assessment: Assessment | None,
        hook_error: str | None = None,
    ) -> None:
        """The run's outcome, as one new state: a reader (``/healthz``, the exporter's metrics)
        sees the state before the run or after it, never half of it."""
        state = self.state
        consecutive = state.consecutive_failures
        changes: dict[str, Any] = {}
        if success is not None:
            self.snapshot = success
            consecutive = 0
            changes = {
                "last_error": None,
                "last_success": success.taken_at,
                "last_duration": success.duration,
                "hook_error": hook_error,
                "hook_failures": state.hook_failures + (hook_error is not None),
            }
        elif failure is not None:
            consecutive += 1
            changes = {"failures": state.failures + 1, "last_error": failure}
            kept = "serving the last good snapshot" if self.snapshot is not None else "no report to serve yet"
            self.say(f"refresh failed: {failure}; {kept}")
        retry_after = assessment.retry_after if assessment else None
        delay = with_jitter(next_delay(self.interval, consecutive, retry_after), self.rng)
        self.state = replace(
            state,
            runs=state.runs + 1,
            running=False,
            consecutive_failures=consecutive,
            retry_after=retry_after,
            next_delay=delay,
            **changes,
        )
        self._idle.set()

    def _extras(self, view: View) -> tuple[Extras, str | None]:
        """The hook's extras, and why it failed (None when it worked): the snapshot then stands
        without them, and ``/healthz`` and the exporter's metrics say so."""
        if self.hook is None:
            return Extras(), None
        try:
            return self.hook(view, self.refresher.live), None
        except Exception as error:  # the snapshot stands without its extras
            why = f"{type(error).__name__}: {scrub_secrets(str(error))}"[:300]
            self.say(f"snapshot hook failed: {why}")
            return Extras(), why

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_once()
            left = self.state.next_delay - (time.monotonic() - started)
            if left > 0 and self._stop.wait(left):
                break
