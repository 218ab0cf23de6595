"""The streaming history queries (pipeline/history/query.py: a cursor, --daily and --account in
SQL) answer exactly what the list-building functions they replaced answer
(pipeline/history/events.py over every observation loaded at once), on any history written
through the store; and the JSON array written row by row is the bytes of the whole list."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from pipeline.history import events as ev
from pipeline.history.query import Query, Tally, daily, events, samples
from pipeline.history.samples import Observation
from pipeline.history.store import HistoryStore
from pipeline.history.writing import write_rows
from testkit import fuzz
from testkit.helpers import observed

START = 1_772_548_200_000
HOUR = 3_600_000
STATUSES = ("healthy", "warning", "rate-limited", "error", "disabled", None)
PEOPLE = ("alice", "bob", "carol")

window = st.builds(
    lambda name, used, reset: (name, used, reset),
    st.sampled_from(("5h", "7d")),
    st.one_of(st.none(), st.integers(0, 100), st.floats(0, 100, allow_nan=False)),
    st.one_of(st.none(), st.integers(0, 12).map(lambda h: START + h * HOUR)),
)
observation = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from(STATUSES),
    st.sampled_from(("plus", "pro", None)),
    st.sampled_from(("ok", "auth-failed", None)),
    st.booleans(),
    st.lists(window, max_size=2, unique_by=lambda w: w[0]),
    st.integers(0, 3),  # hours after the run (a cached sample keeps its own time)
)
run = st.tuples(st.integers(0, 30), st.lists(observation, max_size=4, unique_by=lambda o: o[0]))


def _obs(at: int, spec: tuple[Any, ...], index: int) -> Observation:
    person, status, plan, outcome, enabled, windows, later = spec
    moved = {"idx": index, "enabled": enabled, "status": status, "plan": plan, "probe_outcome": outcome}
    return observed(at + later * HOUR // 4, person, *windows, **moved)


@given(
    st.lists(run, max_size=8),
    st.sampled_from((None, "alice@example.com", "ACCT-BOB", "nobody")),
    st.sampled_from(((None, None), (START + 5 * HOUR, None), (START + 2 * HOUR, START + 20 * HOUR))),
)
def test_streaming_queries_answer_what_the_list_functions_did(
    runs: list[tuple[int, list[tuple[Any, ...]]]], account: str | None, span: tuple[int | None, int | None]
) -> None:
    fuzz.CASES["history-query"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.sqlite3"
        with HistoryStore(path, create=True) as store:
            for hours, specs in runs:
                at = START + hours * HOUR
                store.append(at, "live", None, [_obs(at, spec, n) for n, spec in enumerate(specs)])
        with HistoryStore(path, create=False) as store:
            since, until = span
            observed = store.observations(since, until)
            run_rows = store.runs(since, until)
            query = Query(since, until, account)
            tally = Tally()
            assert list(samples(store, query, tally)) == ev.sample_rows(observed, account)
            assert list(daily(store, query, tally)) == ev.daily(observed, account)
            assert list(events(store, query, tally)) == ev.derive_events(run_rows, observed, account)
            assert tally.bad == 0
            rows = ev.sample_rows(observed, account)
            out = io.BytesIO()
            write_rows(iter(rows), "json", "samples", out)
            assert out.getvalue() == orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
