"""The forecast and the history in the exporter: the snapshot hook of :mod:`.snapshots`.

After every good snapshot it records the snapshot in the history when it is live (as
``report --live`` does), then forecasts the pool from the snapshot and the history (as
``codex auth forecast`` does, without reading the pool again) and hands the exporter the
forecast's gauges (``codex_auth_run_out_timestamp_seconds`` and the others) and the forecast
document, served at ``/forecast.json``. A history that cannot be written or read is one line
on stderr; the forecast then rests on the snapshot alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import orjson

from pipeline.in_process import HistoryOptions, forecast_view
from pipeline.records import Record
from pipeline.report.view import View, redact_view
from pipeline.service.snapshots import Extras


def stream_of(view: View) -> list[Record]:
    """The record stream a view was built from: the pool, the accounts, the flagged, the
    recommendation. The typed accounts go back to the stream as they are (one cast, no copy)."""
    records = [view.pool] if view.pool is not None else []
    return cast("list[Record]", [*records, *(a.record for a in view.accounts), *view.flagged, view.recommendation])


@dataclass
class ForecastHook:
    history: HistoryOptions
    model: str | None = None
    redact: bool = False
    say: Callable[[str], None] = field(default=lambda line: None)

    def __call__(self, view: View, live: bool) -> Extras:
        from pipeline.report.forecast_view import forecast_document, forecast_prometheus

        forecasted, notes = forecast_view(
            stream_of(view), now=view.generated_at, model=self.model, history=self.history, live=live
        )
        for note in notes:
            self.say(note)
        if self.redact:
            forecasted = redact_view(forecasted)
        document = forecast_document(forecasted)
        return Extras(
            metrics=forecast_prometheus(document),
            documents={"/forecast.json": orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)},
        )
