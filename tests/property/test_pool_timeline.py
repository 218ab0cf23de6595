"""The pool's timeline (:func:`pipeline.forecast_pool.pool_forecast`) is a sweep over the
spans' ends; it must say exactly what looking at every account at every moment says (the
plain definition, kept here), whatever the spans: overlapping, touching, empty, reversed,
starting before now or ending past the horizon, several accounts changing at one moment."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pipeline.forecast_pool import _blocked, _usable_at, pool_forecast

NOW = 1_000
END = 1_100


def by_definition(accounts: list[dict[str, Any]], now: int, end: int, min_healthy: int | None) -> dict[str, Any]:
    """Every account at every moment: the timeline as it is defined (its fields of the forecast)."""
    blocked = [_blocked(a, now, end) for a in accounts]
    usable_now = sum(_usable_at(spans, now) for spans in blocked)
    moments = sorted({t for spans in blocked if spans for span in spans for t in span if now < t < end})
    changes: list[dict[str, Any]] = []
    count = lowest = usable_now
    below_at = now if min_healthy is not None and usable_now < min_healthy else None
    for moment in moments:
        moved = [
            {
                "index": account["index"],
                "accountId": account.get("accountId"),
                "email": account.get("email"),
                "change": "available" if _usable_at(spans, moment) else "runs-out",
            }
            for account, spans in zip(accounts, blocked, strict=True)
            if _usable_at(spans, moment - 1) != _usable_at(spans, moment)
        ]
        new_count = sum(_usable_at(spans, moment) for spans in blocked)
        if not moved or new_count == count:
            continue
        count = new_count
        lowest = min(lowest, count)
        changes.append({"at": moment, "usable": count, "accounts": moved})
        if below_at is None and min_healthy is not None and count < min_healthy:
            below_at = moment
    return {"usableNow": usable_now, "lowestUsable": lowest, "changes": changes, "belowMinHealthyAt": below_at}


moment = st.integers(NOW - 20, END + 20)  # a narrow range: spans touch and share ends often
span = st.fixed_dictionaries({"from": moment, "until": moment})


@st.composite
def accounts(draw: st.DrawFn) -> list[dict[str, Any]]:
    pool = []
    for index in range(draw(st.integers(0, 12))):
        record: dict[str, Any] = {"index": index, "accountId": f"acct-{index}", "email": f"u{index}@example.com"}
        kind = draw(st.sampled_from(["blocked", "blocked", "blocked", "rate-limit", "disabled", "windows"]))
        if kind == "disabled":
            record["enabled"] = False
        elif kind == "rate-limit":
            record["forecast"] = {"bindingWindow": "rate-limit", "availableAt": draw(moment), "blocked": []}
        elif kind == "windows":
            record["forecast"] = {
                "windows": [
                    {"verdict": "runs-out", "runOutAt": draw(moment), "availableAt": draw(moment)},
                    {"verdict": "exhausted", "availableAt": draw(moment)},
                ]
            }
        else:
            record["forecast"] = {"blocked": draw(st.lists(span, max_size=4))}
        pool.append(record)
    return pool


@given(accounts(), st.one_of(st.none(), st.integers(0, 6)))
def test_the_sweep_says_what_the_definition_says(pool: list[dict[str, Any]], min_healthy: int | None) -> None:
    got = pool_forecast(pool, NOW, END, min_healthy)
    expected = by_definition(pool, NOW, END, min_healthy)
    assert {key: got[key] for key in expected} == expected


def test_several_accounts_changing_at_one_moment_are_one_change_in_pool_order() -> None:
    pool = [{"index": i, "forecast": {"blocked": [{"from": NOW + 10, "until": NOW + 50}]}} for i in (0, 1, 2)] + [
        {"index": 3, "forecast": {"blocked": [{"from": NOW, "until": NOW + 10}]}}
    ]
    changes = pool_forecast(pool, NOW, END)["changes"]
    assert [(c["at"], c["usable"], [(a["index"], a["change"]) for a in c["accounts"]]) for c in changes] == [
        (NOW + 10, 1, [(0, "runs-out"), (1, "runs-out"), (2, "runs-out"), (3, "available")]),
        (NOW + 50, 4, [(0, "available"), (1, "available"), (2, "available")]),
    ]
