"""render: turn the record stream into the report.

Input: the record stream (scored and recommended; unscored accounts are scored here).
Output: the report in one of the formats of :mod:`pipeline.report` (text by default, the
``HealthReport`` JSON with ``--json``, Prometheus, HTML, Markdown). ``--redact`` masks
e-mails and account ids before any format sees them.

    codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render --json | jq .summary
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.errors import StorageError
from pipeline.gc_pause import collector_paused
from pipeline.pool_record import pool_failure
from pipeline.records import Record
from pipeline.report import render_view
from pipeline.report.view import View, build_view, redact_view, view_masker


def render(
    records: Iterable[Record],
    *,
    now: int | None,
    fmt: str = "text",
    model: str | None = None,
    color: bool = False,
    explain: bool = False,
    redact: bool = False,
    view_name: str = "report",
) -> bytes:
    with collector_paused():  # the view keeps every account: see pipeline.gc_pause
        if view_name == "forecast":  # the forecast stage's additions (--view forecast)
            from pipeline.report.forecast_view import render_forecast

            view = build_view(records, now=now, model=model)
            return render_forecast(redact_view(view) if redact else view, fmt)
        view = checked_view(records, now=now, model=model, redact=redact, explain=explain)
        return render_view(view, fmt=fmt, color=color, explain=explain, redact=redact)


def checked_view(
    records: Iterable[Record], *, now: int | None, model: str | None, redact: bool = False, explain: bool = True
) -> View:
    """The view of a stream that has something to report on; else :class:`StorageError` with
    the reason ``codex auth report`` gives for the same pool (:func:`pipeline.pool_record.pool_failure`).
    Each account keeps its factors only with ``explain``."""
    view = build_view(records, now=now, model=model, explain=explain)
    reason = pool_failure(view.pool, len(view.accounts), len(view.flagged))
    if reason is not None:
        raise StorageError(view_masker(view).text(reason) if redact else reason)
    return view
