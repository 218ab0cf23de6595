"""``codex auth history``: the history's samples, events and days, read as a stream.

Every answer comes from a cursor and is written as it goes, so memory stays flat in the size
of the database: the samples row by row; ``--daily`` is one SQL aggregate (SQLite sorts on disk
when it must); ``--account`` is a ``WHERE`` clause; ``--events`` walks each account's
observations in time order keeping only the one before, and the runs in time order keeping
only the accounts of the run before; SQLite sorts the events in a temporary table.

Every value read back is checked (:mod:`.checks`); a bad row is skipped and counted, and
:attr:`Answer.notes` holds the one line to show.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pipeline.errors import HistoryError
from pipeline.forecast import Sample
from pipeline.history import checks
from pipeline.history.events import Finder, flat_rows, membership_events
from pipeline.history.store import HistoryStore, _why
from pipeline.numbers import MAX_INSTANT_MS

if TYPE_CHECKING:
    from pipeline.history.events import Member
    from pipeline.history.observation import Observation, WindowRow

Row = dict[str, Any]
DAY_MS = 86_400_000


@dataclass
class Query:
    since: int | None = None
    until: int | None = None
    account: str | None = None

    def span(self) -> tuple[int, int]:
        """[since, until], within the instants a row may hold (1 ms to the end of 9999)."""
        since = max(self.since if self.since is not None else 1, 1)
        until = min(self.until if self.until is not None else MAX_INSTANT_MS, MAX_INSTANT_MS)
        return since, until

    def wanted(self) -> str | None:
        return self.account.strip().lower() if self.account else None


@dataclass
class Tally:
    """Rows skipped because a value was of the wrong type or out of range."""

    bad: int = 0
    where: str = ""

    def note(self) -> str | None:
        if not self.bad:
            return None
        rows = "row" if self.bad == 1 else "rows"
        return (
            f"skipped {self.bad} {rows} of {self.where} with a value of the wrong type or out of range "
            "(written by hand or by another program?)"
        )


def _folded(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _connect(store: HistoryStore) -> sqlite3.Connection:
    db = store.db
    db.row_factory = None
    db.create_function("folded", 1, _folded, deterministic=True)
    return db


_MATCH = "(?1 IS NULL OR folded(o.email) = ?1 OR folded(o.account_id) = ?1)"
_IN_SPAN = "o.sampled_at >= ?2 AND o.sampled_at <= ?3"
# A time no span holds (before 1970, after 9999, or text or bytes, which SQLite sorts after
# every number): such rows are counted apart, from the two ends of the time index.
_UNPLACED = (
    "SELECT count(*) FROM observations o{join}"
    f" WHERE (o.sampled_at < 1 OR o.sampled_at > {MAX_INSTANT_MS}) AND {{match}}"
)


def _unplaced(store: HistoryStore, query: Query, tally: Tally, *, windows: bool) -> None:
    join = " LEFT JOIN windows w ON w.observation_id = o.id" if windows else ""
    for (count,) in _rows(store, _UNPLACED.format(join=join, match=_MATCH), (query.wanted(),)):
        tally.bad += int(count)


def _rows(store: HistoryStore, sql: str, params: dict[str, Any] | tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` one at a time; a database error is a :class:`HistoryError`."""
    try:
        cursor = _connect(store).execute(sql, params)
        while batch := cursor.fetchmany(512):
            yield from batch
    except sqlite3.Error as exc:
        raise HistoryError(f"{store.path}: {_why(exc)}") from None


# The forecast's read: the four columns it uses, one account's span, from the account's index;
# the values checked in SQL (the rules of :mod:`pipeline.history.checks`): a row that fails
# comes with no window key, so each row costs Python one tuple. The window key comes as bytes
# (decoded once per window, not once per row by the connection's text factory).
_SAMPLE_OK = (
    f"typeof(o.sampled_at) = 'integer' AND o.sampled_at BETWEEN 1 AND {MAX_INSTANT_MS}"
    " AND (w.used_percent IS NULL OR (typeof(w.used_percent) IN ('integer', 'real')"
    f" AND w.used_percent BETWEEN 0 AND {checks.MAX_USED_PERCENT}))"
    f" AND (w.reset_at IS NULL OR (typeof(w.reset_at) = 'integer' AND w.reset_at BETWEEN 1 AND {MAX_INSTANT_MS}))"
    f" AND typeof(w.window_key) = 'text' AND length(w.window_key) <= {checks.MAX_TEXT}"
)
WINDOW_SAMPLES_SQL = (
    f"SELECT CASE WHEN {_SAMPLE_OK} THEN CAST(w.window_key AS BLOB) END, o.sampled_at, w.used_percent, w.reset_at"
    " FROM observations o JOIN windows w ON w.observation_id = o.id"
    " WHERE o.account_key = ? AND o.sampled_at >= ? AND o.sampled_at <= ?"
    " ORDER BY o.sampled_at, o.id"
)


def window_samples(store: HistoryStore, key: str, since: int, until: int) -> dict[str, list[Sample]]:
    """One account's window samples in [since, until]: window key -> samples, oldest first. A
    row with a bad value is skipped and counted in ``store.bad_rows``."""
    found: dict[bytes | None, list[Sample]] = {}
    make = tuple.__new__
    try:  # the cursor itself, not :func:`_rows`: a generator's step per row is a tenth of the read
        for window, at, used, reset_at in _connect(store).execute(WINDOW_SAMPLES_SQL, (key, since, until)):
            samples = found.get(window)
            if samples is None:
                samples = found[window] = []
            samples.append(make(Sample, (at, used, reset_at)))
    except sqlite3.Error as exc:
        raise HistoryError(f"{store.path}: {_why(exc)}") from None
    named: dict[str, list[Sample]] = {}
    bad = 0
    for window, samples in found.items():  # None: the rows whose values failed the checks
        name = checks.stored_text(window) if window is not None else None
        if type(name) is str:  # text that is not UTF-8 stays bytes: bad rows (checks.stored_text)
            named[checks.text(name)] = samples
        else:
            bad += len(samples)
    store.bad_rows += bad
    return named


_WIDTH = len(checks.OBSERVATION_COLUMNS)


SAMPLE_ORDER = "o.sampled_at"
EVENT_ORDER = "o.account_key, o.sampled_at, o.run_id"


def observations_sql(order: str) -> str:
    """The observations with their windows, one row per window, in ``order`` (parameters: the
    account wanted or None, since, until)."""
    return (
        f"SELECT o.id, {checks.OBSERVATION_SQL}, {checks.WINDOW_SQL} FROM observations o"
        " LEFT JOIN windows w ON w.observation_id = o.id"
        f" WHERE {_MATCH} AND {_IN_SPAN} ORDER BY {order}, o.id, w.window_key"
    )


def _observations(store: HistoryStore, query: Query, order: str, tally: Tally) -> Iterator[Observation]:
    """Checked observations with their checked windows, in ``order``. A bad observation counts
    all its rows; a bad window of a good one, its own row."""
    since, until = query.span()
    sql = observations_sql(order)
    _unplaced(store, query, tally, windows=True)
    rows = _rows(store, sql, (query.wanted(), since, until))
    for _id, group in itertools.groupby(rows, key=lambda row: row[0]):
        members = list(group)  # one observation's rows: one per window
        windows: list[WindowRow] = []
        bad = 0
        for row in members:
            part = row[1 + _WIDTH :]
            if part[0] is None:
                continue  # an observation without windows
            try:
                windows.append(checks.window(part))
            except checks.Bad:
                bad += 1
        try:
            obs = checks.observation(members[0][1 : 1 + _WIDTH], tuple(windows))
        except checks.Bad:
            tally.bad += len(members)
            continue
        tally.bad += bad
        yield obs


def observations(store: HistoryStore, query: Query, tally: Tally) -> Iterator[Observation]:
    """The checked observations in the span, oldest first (the samples' order)."""
    return _observations(store, query, SAMPLE_ORDER, tally)


def samples(store: HistoryStore, query: Query, tally: Tally) -> Iterator[Row]:
    """One flat row per observation and window (window fields null for an observation without
    one), oldest first: the same rows as before, for NDJSON, JSON, CSV or the table."""
    for obs in _observations(store, query, SAMPLE_ORDER, tally):
        yield from flat_rows(obs)


_DAILY = f"""
WITH o AS (
    SELECT o.run_id, o.sampled_at, o.account_key, o.enabled, o.status, o.sampled_at / {DAY_MS} AS day
    FROM observations o
    WHERE {_MATCH} AND o.sampled_at >= ?2 AND o.sampled_at <= ?3
      AND typeof(o.sampled_at) = 'integer' AND o.sampled_at > 0 AND o.sampled_at <= ?4
      AND typeof(o.run_id) = 'integer' AND typeof(o.account_key) = 'text'
      AND o.enabled IN (0, 1) AND (o.status IS NULL OR typeof(o.status) = 'text')
),
per_day AS (SELECT day, count(DISTINCT run_id) AS runs FROM o GROUP BY day),
last AS (
    SELECT day, enabled, status,
           row_number() OVER (PARTITION BY day, account_key ORDER BY sampled_at DESC, run_id DESC) AS n
    FROM o
)
SELECT per_day.day, per_day.runs, count(*),
       sum(last.enabled = 1 AND coalesce(last.status, '') != 'disabled'),
       sum(last.status = 'healthy'), sum(last.status = 'rate-limited'), sum(last.status = 'error')
FROM last JOIN per_day ON per_day.day = last.day
WHERE last.n = 1
GROUP BY per_day.day ORDER BY per_day.day
"""
_DAILY_BAD = f"""
SELECT count(*) FROM observations o
WHERE {_MATCH} AND {_IN_SPAN}
  AND NOT (typeof(o.sampled_at) = 'integer' AND o.sampled_at > 0 AND o.sampled_at <= ?4
       AND typeof(o.run_id) = 'integer' AND typeof(o.account_key) = 'text'
       AND o.enabled IN (0, 1) AND (o.status IS NULL OR typeof(o.status) = 'text'))
"""


def daily(store: HistoryStore, query: Query, tally: Tally) -> Iterator[Row]:
    """Per UTC day: runs, accounts seen, and of each account's last observation that day how
    many were active (enabled), healthy, rate-limited and in error. One SQL aggregate."""
    since, until = query.span()
    params = (query.wanted(), since, until, MAX_INSTANT_MS)
    _unplaced(store, query, tally, windows=False)
    for row in _rows(store, _DAILY_BAD, params):
        tally.bad += int(row[0])
    for day, runs, accounts, active, healthy, limited, errors in _rows(store, _DAILY, params):
        yield {
            "day": datetime.fromtimestamp(int(day) * DAY_MS / 1000, tz=UTC).strftime("%Y-%m-%d"),
            "runs": int(runs),
            "accounts": int(accounts),
            "active": int(active or 0),
            "healthy": int(healthy or 0),
            "rateLimited": int(limited or 0),
            "errors": int(errors or 0),
        }


def events(store: HistoryStore, query: Query, tally: Tally) -> Iterator[Row]:
    """Every event (see :mod:`.events`), oldest first. They are found account by account and
    sorted by SQLite in a temporary table (on disk when large), so memory stays flat however
    many there are."""
    import orjson

    db = _connect(store)
    try:
        db.execute("DROP TABLE IF EXISTS temp.found_events")
        db.execute(
            "CREATE TEMP TABLE found_events (at INTEGER, email TEXT, account TEXT, kind TEXT, win TEXT, "
            "seq INTEGER, body BLOB)"
        )
    except sqlite3.Error as exc:
        raise HistoryError(f"{store.path}: {_why(exc)}") from None

    def found() -> Iterator[Row]:
        finder = Finder()
        for obs in _observations(store, query, EVENT_ORDER, tally):
            yield from finder.observe(obs)
        yield from finder.finish()  # the early resets, merged where a run's accounts all reset
        yield from _membership(store, query, tally)

    batch: list[tuple[Any, ...]] = []
    for seq, event in enumerate(found()):
        key = (event["at"], event["email"] or "", event["accountId"] or "", event["kind"], event["window"] or "")
        batch.append((*key, seq, orjson.dumps(event)))
        if len(batch) >= 1000:
            _keep(store, batch)
    _keep(store, batch)
    sql = "SELECT body FROM temp.found_events ORDER BY at, email, account, kind, win, seq"
    for (body,) in _rows(store, sql, ()):
        yield orjson.loads(body)


def _keep(store: HistoryStore, batch: list[tuple[Any, ...]]) -> None:
    try:
        store.db.executemany("INSERT INTO temp.found_events VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    except sqlite3.Error as exc:
        raise HistoryError(f"{store.path}: {_why(exc)}") from None
    batch.clear()


def _membership(store: HistoryStore, query: Query, tally: Tally) -> Iterator[Row]:
    """account-added / account-removed between consecutive runs, holding two runs' accounts
    (a run in the span where none of the chosen accounts was seen counts, with none)."""
    since, until = query.span()
    sql = (
        "SELECT r.id, r.sampled_at, o.account_key, o.account_id, o.email FROM runs r"
        " LEFT JOIN observations o ON o.run_id = r.id AND o.sampled_at >= ?2 AND o.sampled_at <= ?3"
        f" AND {_MATCH} WHERE r.sampled_at >= ?2 AND r.sampled_at <= ?3 ORDER BY r.sampled_at, r.id"
    )
    before: dict[str, Member] | None = None
    unplaced = f"SELECT count(*) FROM runs WHERE sampled_at < 1 OR sampled_at > {MAX_INSTANT_MS}"
    for (count,) in _rows(store, unplaced, ()):
        tally.bad += int(count)  # runs whose time no span holds
    rows = _rows(store, sql, (query.wanted(), since, until))
    for (_run, sampled), group in itertools.groupby(rows, key=lambda row: (row[0], row[1])):
        now: dict[str, Member] = {}
        for _r, _s, key, account_id, email in group:
            if key is None:
                continue  # a run without any of the chosen accounts
            try:
                now[checks.text(key)] = (checks.maybe_text(account_id), checks.maybe_text(email))
            except checks.Bad:
                continue  # counted where the observations are read
        try:
            at = checks.at(sampled)
        except checks.Bad:
            tally.bad += 1  # the run's own row
            continue
        if before is not None:
            yield from membership_events(at, before, now)
        before = now


# --- the command's one call ----------------------------------------------------------------

KINDS: dict[str, Callable[[HistoryStore, Query, Tally], Iterable[Row]]] = {
    "samples": samples,
    "events": events,
    "daily": daily,
}
NOTHING = {"samples": "no samples", "events": "no events", "daily": "no days with samples"}


@dataclass
class Answer:
    written: int
    notes: list[str] = field(default_factory=list)


def answer(path: Path, kind: str, fmt: str, query: Query, stream: IO[bytes] | None = None) -> Answer:
    """Write the ``kind`` rows (samples, events, daily) of the history at ``path`` matching
    ``query`` in ``fmt`` as they are read. The notes: the bad rows skipped, and an empty answer
    said in words (the exit code stays 0). Raises :class:`HistoryError`."""
    from pipeline.history.writing import write_rows

    tally = Tally(where=str(path))
    with HistoryStore(path, create=False) as store:
        written = write_rows(KINDS[kind](store, query, tally), fmt, kind, stream)
    notes = [note] if (note := tally.note()) else []
    if not written:
        notes.append(empty_note(kind, query))
    return Answer(written, notes)


def empty_note(kind: str, query: Query) -> str:
    from pipeline.clock import iso_utc

    words = [NOTHING[kind]]
    if query.account:
        words.append(f"for --account {query.account}")
    if query.since is not None:
        words.append(f"since {iso_utc(query.since)}")
    if query.until is not None:
        words.append(f"until {iso_utc(query.until)}")
    return " ".join(words) + " in the history"


def prune(path: Path, before: int) -> int:
    """Delete the runs sampled before ``before``; returns how many went. Raises :class:`HistoryError`."""
    if not path.is_file() or path.is_symlink():
        if path.is_symlink():
            raise HistoryError(f"{path}: is a symbolic link; point --history at the database itself")
        raise HistoryError(f"{path}: no history yet (a live run records one)")
    with HistoryStore(path, create=True) as store:
        return store.prune(before)
