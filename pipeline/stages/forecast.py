"""forecast: add to each account when its quota runs out, and settle the forecast's horizon.

Input: the record stream. Output: the same stream; the ``pool`` record gains ``forecast``
(when it was made, the horizon's end, ``--min-healthy``) and each ``account`` record gains
``forecast`` (a pace and a verdict per window, the account's verdict and binding window; see
:mod:`pipeline.forecast`). With a history (``--history``, on by default when the file
exists) the pace of a window with two samples or more comes from them. ``render --view
forecast`` shows the result.

    codex-auth collect | codex-auth forecast --now 2026-03-03T14:30:00Z | codex-auth render --view forecast
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from pipeline.forecast import History, forecast_account, history_since, horizon_end
from pipeline.history.samples import account_key
from pipeline.records import DEFAULT_MODEL, Record
from pipeline.scoring import is_scored, score_account

HistoryLoader = Callable[[str, int], History]  # account key, since -> window samples


def forecast(
    records: Iterable[Record],
    *,
    now: int,
    model: str | None = None,
    history: HistoryLoader | None = None,
    horizon_ms: int | None = None,
    min_healthy: int | None = None,
) -> Iterator[Record]:
    """``history`` maps an account key (:func:`pipeline.history.samples.account_key`) to its
    window samples; None forecasts from each record's own sample."""
    current_model = model or DEFAULT_MODEL
    end = horizon_end(now, horizon_ms)
    for record in records:
        kind = record.get("kind")
        if kind == "pool":
            current_model = (record.get("probe") or {}).get("model") or current_model
            record = {
                **record,
                "forecast": {"generatedAt": now, "horizonEnd": end, "minHealthy": min_healthy},
            }
        elif kind == "account":
            scored = record if is_scored(record) else score_account(record, now, current_model)
            samples = history(account_key(record), history_since(record, now)) if history is not None else None
            record = {**record, "forecast": forecast_account(scored, now, samples, end)}
        yield record
