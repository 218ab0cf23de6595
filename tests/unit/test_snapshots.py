"""The refresh loop's rules, without a server: what counts as a failed refresh, how long the
loop waits after one, Retry-After, durations; and the loop keeping the last good snapshot."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pipeline.clock import parse_interval
from pipeline.errors import ConfigError, StorageError
from pipeline.report.view import build_view
from pipeline.service.snapshots import (
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    Extras,
    RefreshLoop,
    WireObserver,
    assess,
    next_delay,
    parse_retry_after,
    with_jitter,
)
from testkit import poolkit

T0 = poolkit.SEED_NOW


def live_view(*probes: dict[str, Any] | None) -> Any:
    records: list[dict[str, Any]] = [{"kind": "pool", "probe": {"mode": "live", "model": "gpt-5-codex"}}]
    for i, probe in enumerate(probes):
        record: dict[str, Any] = {"kind": "account", "index": i, "email": f"u{i}@example.com", "enabled": True}
        if probe is not None:
            record["probe"] = probe
        records.append(record)
    return build_view(records, now=T0)


OK = {"outcome": "ok", "httpStatus": 200}
DOWN = {"outcome": "network-error", "httpStatus": None}
SLOW = {"outcome": "timeout", "httpStatus": None}
THROTTLED = {"outcome": "rate-limited", "httpStatus": 429}
BROKEN = {"outcome": "auth-failed", "httpStatus": 401}
SKIPPED = {"outcome": "skipped", "httpStatus": None}


def test_default_mode_snapshots_are_always_good() -> None:
    assert assess(live_view(DOWN), live=False).ok


@pytest.mark.parametrize(
    ("probes", "ok"),
    [
        ([OK, DOWN], True),  # some accounts answered: their news is good news
        ([DOWN, SLOW], False),
        ([THROTTLED, THROTTLED], False),
        ([{"outcome": "http-error", "httpStatus": 503}], False),
        ([{"outcome": "refresh-failed", "httpStatus": None, "errorCode": "network_error"}], False),
        ([BROKEN, BROKEN], True),  # the service answered: the tokens are broken, that is data
        ([SKIPPED, None], True),  # nothing was asked
        ([DOWN, SKIPPED], False),
    ],
)
def test_a_live_run_fails_only_when_no_account_got_an_answer(probes: list[Any], ok: bool) -> None:
    result = assess(live_view(*probes), live=True)
    assert result.ok is ok
    if not ok:
        assert result.reason and "no account got an answer" in result.reason


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after() -> None:
    assert [next_delay(1, n) for n in range(5)] == [1, 2, 4, 8, 16]
    assert next_delay(300, 10) == BACKOFF_CAP
    assert next_delay(3600, 3) == 3600, "an interval above the cap is the cap"
    assert next_delay(1, 0, retry_after=7) == 7
    assert next_delay(30, 1, retry_after=7) == 60
    assert 10 <= with_jitter(10, rng=lambda: 0.0) < with_jitter(10, rng=lambda: 0.999) < 11.1


def test_retry_after_forms() -> None:
    assert parse_retry_after("120", 0) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", 1445412480) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480) == 0
    assert parse_retry_after("99999999", 0) == RETRY_AFTER_CAP
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


def test_the_wire_observer_keeps_the_longest_retry_after() -> None:
    observer = WireObserver()
    request = httpx.Request("GET", "https://example.invalid/")
    observer(httpx.Response(200, request=request))
    observer(httpx.Response(429, headers={"Retry-After": "5"}, request=request))
    observer(httpx.Response(429, headers={"Retry-After": "9"}, request=request))
    observer(httpx.Response(429, request=request))
    assert (observer.throttled, observer.retry_after) == (3, 9)
    observer.reset()
    assert (observer.throttled, observer.retry_after) == (0, None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("90", 90), ("2.5", 2.5), ("1d", 86400), ("1m30s", 90)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5s", "soon", "5x", "inf", "nan", "0s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError, match="--interval"):
        parse_interval(text)


class Scripted:
    """A refresher that plays a script: a view (good), a failing live view, or an exception."""

    live = True

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.notes: list[str] = []

    def take(self) -> Any:
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step, assess(step, True, 4.0 if step is throttled else None)


good = live_view(OK)
down = live_view(DOWN)
throttled = live_view(THROTTLED)


def test_the_loop_keeps_the_last_good_snapshot_and_counts_failures() -> None:
    said: list[str] = []
    hooked: list[bool] = []

    def hook(view: Any, live: bool) -> Extras:
        hooked.append(live)
        return Extras(metrics="# extra\n", documents={"/forecast.json": b"{}"})

    loop = RefreshLoop(
        Scripted(good, down, StorageError("no accounts"), throttled, good),
        1.0,
        hook=hook,
        say=said.append,
        rng=lambda: 0.0,
    )
    first, _ = loop.run_once()
    assert first is not None and first.view is good and first.extras.documents == {"/forecast.json": b"{}"}
    assert (loop.state.runs, loop.state.consecutive_failures, loop.state.next_delay) == (1, 0, 1.0)
    snapshot, assessment = loop.run_once()
    assert snapshot is first and assessment is not None and not assessment.ok
    assert (loop.state.consecutive_failures, loop.state.next_delay) == (1, 2.0)
    loop.run_once()
    assert loop.snapshot is first and loop.state.last_error == "no accounts" and loop.state.next_delay == 4.0
    loop.run_once()
    assert loop.state.retry_after == 4.0 and loop.state.next_delay == 8.0
    latest, _ = loop.run_once()
    assert latest is not None and latest.view is good and latest is not first
    assert (loop.state.runs, loop.state.failures, loop.state.consecutive_failures) == (5, 3, 0)
    assert hooked == [True, True]
    assert sum("serving the last good snapshot" in line for line in said) == 3


def test_a_bug_in_a_refresh_is_said_and_survived() -> None:
    said: list[str] = []
    loop = RefreshLoop(Scripted(RuntimeError("boom"), good), 1.0, say=said.append)
    loop.run_once()
    assert said == ["refresh failed: RuntimeError: boom; no report to serve yet"]  # none was good yet
    assert loop.run_once()[0] is not None


def test_a_failing_hook_leaves_the_snapshot_without_extras() -> None:
    said: list[str] = []

    def hook(view: Any, live: bool) -> Extras:
        raise ValueError("no history")

    loop = RefreshLoop(Scripted(good), 1.0, hook=hook, say=said.append)
    snapshot, _ = loop.run_once()
    assert snapshot is not None and snapshot.extras == Extras()
    assert said == ["snapshot hook failed: ValueError: no history"]
