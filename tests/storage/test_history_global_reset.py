"""`history --events` on a real history file: a window that resets early on every account of a
run at once is one `reset-global` event (docs/FORECAST.md), by the same engine as the list
functions; one account alone keeps its own `reset-early`."""

from __future__ import annotations

from pathlib import Path

from pipeline.history.samples import Observation
from pipeline.history.store import HistoryStore
from testkit.helpers import observed, parse_ndjson, run_cli

START = 1_772_548_200_000
HOUR = 3_600_000


def seen(at: int, person: str, used: float, reset: int) -> Observation:
    return observed(at, person, ("5h", used, reset), health_score=90)


def test_every_account_resetting_at_once_is_one_global_event(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path, create=True) as store:
        store.append(START, "live", None, [seen(START, p, 60, START + 3 * HOUR) for p in ("ann", "bob")])
        store.append(START + HOUR, "live", None, [seen(START + HOUR, p, 0, START + 6 * HOUR) for p in ("ann", "bob")])
        third, fourth = START + 2 * HOUR, START + 3 * HOUR
        store.append(third, "live", None, [seen(third, p, 40, START + 6 * HOUR) for p in ("ann", "bob")])
        alone = [seen(fourth, "ann", 1, START + 8 * HOUR), seen(fourth, "bob", 45, START + 6 * HOUR)]
        store.append(fourth, "live", None, alone)
    events = parse_ndjson(run_cli(["history", "--history", str(path), "--events"], validate=False).stdout)
    assert [(e["kind"], e["email"]) for e in events] == [("reset-global", None), ("reset-early", "ann@example.com")]
    assert events[0]["details"] == {"accounts": 2, "usedBefore": 60, "usedAfter": 0}
    assert events[0]["at"] == START + HOUR and events[0]["window"] == "5h"
