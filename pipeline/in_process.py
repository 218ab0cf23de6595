"""``codex auth report``: collect, (probe,) score, recommend and render as plain function
calls in one process. Its output equals the shell pipe of the stage commands on the same
input and ``--now``; ``tests/test_pipe.py`` holds it to that."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pipeline.context import RunContext
from pipeline.errors import StorageError
from pipeline.gc_pause import Pause, collector_paused
from pipeline.plain import Plain
from pipeline.pool_record import pool_failure
from pipeline.records import Status
from pipeline.report import render_view_parts
from pipeline.report.view import UNSHOWN, View, build_view, redact_view, view_masker
from pipeline.stages.collect import collect, messages, note_pending_tokens, pool_record
from pipeline.stages.recommend import recommend
from pipeline.stages.score import score
from pipeline.storage.pool import Pool, read_pool

if TYPE_CHECKING:  # the live probe loads only for a live run, the masker only with --redact
    from pathlib import Path

    from pipeline.redact import Masker
    from pipeline.stages.probe import Prober


class ReportResult:
    """The report's bytes, and what the command line needs besides. (A plain class: a
    dataclass costs about a millisecond when the command starts.)"""

    __slots__ = ("healthy", "masker", "notes", "output")

    def __init__(
        self,
        output: bytes | Iterable[bytes],
        notes: list[str] | None = None,
        healthy: int = 0,
        masker: Masker | None = None,
    ) -> None:
        self.output = output  # the bytes, or the pieces to write one after the other (made as they are read)
        self.notes = notes if notes is not None else []  # for stderr
        self.healthy = healthy
        self.masker = masker  # with --redact: masks e-mails and ids in any later message


def failure_reason(pool: Pool) -> str | None:
    """Why there is no report to give (exit 1), or None: :func:`pipeline.pool_record.pool_failure`,
    the rule ``render`` applies to a stream, worded with what only the storage reader knows."""
    reason = pool_failure(pool_record(pool), len(pool.accounts), len(pool.flagged.accounts))
    if reason is not None and (pool.source == "none" or pool.storage.state == "missing"):
        lines = messages(pool)
        return lines[0] if lines else reason
    return reason


def collected(
    env: Mapping[str, str], context: RunContext, storage_dir: str | None, prober: Prober | None, redact: bool
) -> tuple[Iterable[dict[str, Any]], int, list[str]]:
    """The pool's records (probed when ``prober`` is given), the time of the report (the
    context's ``now``, else its clock after probing) and the notes for stderr. Raises
    :class:`StorageError` when there is nothing to report on."""
    # A run without the live probe sends no token: the access tokens are kept as their claims.
    pool = read_pool(env, context.instant(), storage_dir, tokens=prober is not None)
    reason = failure_reason(pool)
    if reason is not None:
        if redact:
            from pipeline.redact import Masker

            reason = Masker(set()).text(reason)
        raise StorageError(reason)
    note_pending_tokens(pool, env)
    records: Iterable[dict[str, Any]] = collect(pool, release=prober is None)
    if prober is not None:
        prober.pool_loader = lambda _record: pool
        records = list(prober.run(records))
    return records, context.instant(), list(messages(pool))


class ViewResult(Plain):
    __slots__ = ("notes", "view")

    def __init__(self, view: View, notes: list[str] | None = None) -> None:
        self.view = view
        self.notes: list[str] = [] if notes is None else notes  # for stderr


def report_view(
    *,
    env: Mapping[str, str],
    context: RunContext,
    storage_dir: str | None = None,
    redact: bool = False,
    prober: Prober | None = None,
) -> ViewResult:
    """The report's facts before any format (for ``serve`` and ``watch``, which render one
    view many ways): collect, (probe,) score and recommend, gathered in a :class:`View`.
    Raises :class:`StorageError` when there is nothing to report on."""
    with collector_paused():  # long-lived records only: see pipeline.gc_pause
        records, when, notes = collected(env, context, storage_dir, prober, redact)
        model = context.model
        records = recommend(score(records, now=when, model=model, own=prober is None), now=when)
        return ViewResult(build_view(records, now=when, model=model), notes)


def run_report(
    *,
    env: Mapping[str, str],
    context: RunContext,
    storage_dir: str | None = None,
    fmt: str = "text",
    color: bool = False,
    explain: bool = False,
    redact: bool = False,
    prober: Prober | None = None,
    statuses: Sequence[Status] | None = None,
    history: HistoryOptions | None = None,
    sort: str = "pool",
    compact: bool = False,
) -> ReportResult:
    """The report at the ``context``'s ``now``; None means its clock, read after live probing
    (so the report is dated when its data is); ``prober`` (a :class:`pipeline.stages.probe.Prober`)
    makes it a live report. ``history`` says where a live (or ``--record``) run is kept."""
    # long-lived records only (see pipeline.gc_pause): paused until the last piece is written
    pause = Pause()
    try:
        return _run_report(
            env, context, storage_dir, fmt, color, explain, redact, prober, statuses, history, sort, compact, pause
        )
    except BaseException:
        pause.end()
        raise


def _run_report(
    env: Mapping[str, str],
    context: RunContext,
    storage_dir: str | None,
    fmt: str,
    color: bool,
    explain: bool,
    redact: bool,
    prober: Prober | None,
    statuses: Sequence[Status] | None,
    history: HistoryOptions | None,
    sort: str = "pool",
    compact: bool = False,
    pause: Pause | None = None,
) -> ReportResult:
    # The stored accounts are let go once the last record is made (``collected`` keeps no
    # reference but the records' generator's).
    records, when, notes = collected(env, context, storage_dir, prober, redact)
    model = context.model
    recorded = history is not None and history.wants_record(prober is not None)
    # collect's records are ours alone; the factors only for --explain (no other format shows them),
    # and without what the view drops unless the history keeps them (then the view copies them)
    records = score(
        records,
        now=when,
        model=model,
        own=prober is None,
        factors=explain or recorded,
        leave_out=frozenset() if recorded else UNSHOWN,
    )
    if recorded:
        assert history is not None
        records = list(records)
        notes.extend(record_history(history, records, when, model))
    records = recommend(records, now=when)
    view = build_view(records, now=when, model=model, explain=explain)
    masker = None
    if redact:  # stderr is pasted into incident reports too
        masker = view_masker(view)
        notes = [masker.text(line) for line in notes]
    output = render_view_parts(
        view, fmt=fmt, color=color, explain=explain, redact=redact, statuses=statuses, sort=sort, compact=compact
    )
    if pause is not None:  # the pieces are made as they are written, after run_report has returned
        output = pause.around(output)
    return ReportResult(output, notes, view.status_counts()["healthy"], masker)


# --- history and forecast --------------------------------------------------------------


class HistoryOptions(Plain):
    """``--history PATH`` / ``--no-history`` (path None) and ``--record``."""

    __slots__ = ("location", "record")

    def __init__(self, path: str | os.PathLike[str] | None, record: bool = False) -> None:
        self.location = None if path is None else os.fspath(path)  # a string: no pathlib for a default report
        self.record = record

    @property
    def path(self) -> Path | None:
        if self.location is None:
            return None
        from pathlib import Path

        return Path(self.location)

    def wants_record(self, live: bool) -> bool:
        return self.location is not None and (live or self.record)


def record_history(history: HistoryOptions, records: list[dict[str, Any]], when: int, model: str | None) -> list[str]:
    """Append one run to the history; a failure is a note (one line), never an exception."""
    assert history.path is not None
    from pipeline.errors import HistoryError
    from pipeline.history.samples import observations
    from pipeline.history.store import record_run

    pool = next((r for r in records if r.get("kind") == "pool"), {})
    probe = pool.get("probe") or {}
    mode = "live" if probe.get("mode") == "live" else "default"
    try:
        record_run(history.path, when, mode, probe.get("model") or model, observations(records, when))
    except HistoryError as error:
        return [f"history not recorded: {error}"]
    except OSError as error:  # the folder cannot be made, and the like
        return [f"history not recorded: {history.path}: {error.strerror or error}"]
    return []


READ_CACHE_KIB = 64 * 1024


def _missing(path: str | os.PathLike[str]) -> bool:
    """Nothing at all at ``path`` (not even a dangling link); a path we may not look at is
    not missing (opening it says why)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


@contextmanager
def history_reader(path: Path | None, now: int) -> Iterator[tuple[Any, list[str]]]:
    """A function account key -> window samples, reading the history at ``path`` when it
    exists (None without one), and the notes to show (a damaged file is one line). The
    database is closed when the block ends."""
    if path is None or _missing(path):
        yield None, []
        return
    from pipeline.errors import HistoryError
    from pipeline.history.query import window_samples
    from pipeline.history.store import HistoryStore

    try:
        store = HistoryStore(path, create=False)
    except HistoryError as error:
        yield None, [f"history not used: {error}"]
        return
    failed: list[str] = []
    # one account's samples are one in every n rows of the windows table (the runs interleave
    # the accounts): a page cache that holds the span read reads each page once
    store.db.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")

    def load(key: str, since: int) -> Any:
        if failed:
            return None
        try:
            return window_samples(store, key, since, now)
        except HistoryError as error:
            failed.append(f"history not used: {error}")
            return None

    try:
        yield load, failed
    finally:
        if store.bad_rows:
            rows = "row" if store.bad_rows == 1 else "rows"
            failed.append(
                f"history: skipped {store.bad_rows} {rows} of {path} with a value of the wrong type or out of range"
            )
        store.close()


class ForecastResult(Plain):
    __slots__ = ("document", "masker", "notes", "output")

    def __init__(
        self,
        document: dict[str, Any],
        output: bytes = b"",
        notes: list[str] | None = None,
        masker: Masker | None = None,
    ) -> None:
        self.document = document
        self.output = output
        self.notes: list[str] = [] if notes is None else notes
        self.masker = masker

    @property
    def below_min_healthy(self) -> bool:
        return self.document["pool"]["belowMinHealthyAt"] is not None


def forecast_view(
    records: Iterable[dict[str, Any]],
    *,
    now: int,
    model: str | None,
    history: HistoryOptions,
    live: bool,
    horizon_ms: int | None = None,
    min_healthy: int | None = None,
) -> tuple[View, list[str]]:
    """Add a run's records to the history when they should be (live, or ``--record``; the
    records must be scored then), and forecast them with the history's samples: the view with
    every account's forecast, and the notes for stderr (one line per history damage). Used by
    ``codex auth forecast`` and by ``serve`` on each snapshot."""
    from pipeline.stages.forecast import forecast

    failed: list[str] = []
    if history.wants_record(live):
        records = list(records)
        failed = record_history(history, records, now, model)
    with history_reader(None if failed else history.path, now) as (loader, history_notes):
        forecasted = forecast(
            records, now=now, model=model, history=loader, horizon_ms=horizon_ms, min_healthy=min_healthy
        )
        view = build_view(forecasted, now=now, model=model)
    return view, [*failed, *history_notes]


def build_forecast(
    *,
    env: Mapping[str, str],
    context: RunContext,
    storage_dir: str | None = None,
    prober: Prober | None = None,
    history: HistoryOptions | None = None,
    horizon_ms: int | None = None,
    min_healthy: int | None = None,
    fmt: str | None = None,
    redact: bool = False,
) -> ForecastResult:
    """The forecast document (``codex-auth schema forecast``) for the pool, in-process: the
    same as ``collect | [probe |] forecast -i - | render --view forecast --json``. With
    ``fmt`` the result also holds the rendered output. Raises :class:`StorageError` when
    there is no pool to forecast."""
    from pipeline.report.forecast_view import forecast_document, render_forecast

    records, when, notes = collected(env, context, storage_dir, prober, redact)
    model = context.model
    history = history or HistoryOptions(None)
    if history.wants_record(prober is not None):
        records = list(score(records, now=when, model=model))
    view, history_notes = forecast_view(
        records,
        now=when,
        model=model,
        history=history,
        live=prober is not None,
        horizon_ms=horizon_ms,
        min_healthy=min_healthy,
    )
    notes.extend(history_notes)
    masker = None
    if redact:
        masker = view_masker(view)
        notes = [masker.text(line) for line in notes]
        view = redact_view(view)
    result = ForecastResult(forecast_document(view), notes=notes, masker=masker)
    if fmt is not None:
        result.output = render_forecast(view, fmt)
    return result
