"""``codex auth watch``'s events: a :class:`View` boiled down to the event engine's state
(:func:`pool_state`), and the events between two of them (:func:`detect_events`). The rules,
the kinds, their details and messages are the engine's (:mod:`pipeline.events`); each event is
one JSON object (``codex-auth schema event``): ``quota-threshold``, ``window-reset``,
``account-broken`` / ``account-recovered``, ``rate-limited`` / ``rate-limit-lifted``,
``pool-below-min-healthy`` / ``pool-min-healthy-again``.

The first snapshot has nothing to compare with: it makes only ``pool-below-min-healthy``,
when the pool starts below the minimum.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.events import DEFAULT_THRESHOLDS, Account, Event, Pool, Window, pool_changes, watch_events
from pipeline.records import account_key
from pipeline.report.view import View
from pipeline.report.wording import flagged_name

WINDOWS = ("5h", "7d", "30d")  # first, in this order; then any other length (pipeline.quota.window_label)


def pool_state(view: View) -> Pool:
    at = view.generated_at
    accounts = {}
    for account in view.accounts:
        record = account.record
        labelled = dict(account.labelled_windows())
        order = [w for w in WINDOWS if w in labelled] + sorted(set(labelled) - set(WINDOWS))
        windows = tuple(
            (label, Window(label, None if w.remaining is None else 100 - w.remaining, w.reset_at))
            for label in order
            for w in (labelled[label],)
        )
        state = Account(
            account_key(record),
            at,
            record.get("accountId"),
            record.get("email"),
            account.name,
            account.index,
            account.status,
            bool(record.get("rateLimited")),
            record.get("rateLimitResetAt"),
            windows=windows,
        )
        accounts[state.key] = state
    flagged = {
        account_key(f): Account(
            account_key(f), at, f.get("accountId"), f.get("email"), flagged_name(f), None, "flagged", False
        )
        for f in view.flagged
    }
    return Pool(at, view.status_counts()["healthy"], accounts, flagged)


def detect_events(
    previous: Pool | None,
    current: Pool,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    min_healthy: int | None = None,
) -> list[Event]:
    """The events between two snapshots, in a stable order: pool first, then per account in
    pool order, then flagged accounts."""
    return watch_events(pool_changes(previous, current, thresholds, min_healthy), current.at)
