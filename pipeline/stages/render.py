"""render: turn the record stream into the report.

Input: the record stream (scored and recommended; unscored accounts are scored here).
Output: the report in one of the formats of :mod:`pipeline.report` (text by default, the
``HealthReport`` JSON with ``--json``, Prometheus, HTML, Markdown). ``--redact`` masks
e-mails and account ids before any format sees them.

    codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render --json | jq .summary
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.memory import collector_paused
from pipeline.records import Record
from pipeline.report import render_view
from pipeline.report.view import build_view, redact_view


def render(
    records: Iterable[Record],
    *,
    now: int,
    fmt: str = "text",
    model: str | None = None,
    color: bool = False,
    explain: bool = False,
    redact: bool = False,
    view_name: str = "report",
) -> bytes:
    with collector_paused():  # the view keeps every account: see pipeline.memory
        view = build_view(records, now=now, model=model, explain=explain)
        if view_name == "forecast":  # the forecast stage's additions (--view forecast)
            from pipeline.report.forecast import render_forecast

            return render_forecast(redact_view(view) if redact else view, fmt)
        return render_view(view, fmt=fmt, color=color, explain=explain, redact=redact)
