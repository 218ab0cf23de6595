"""The history database: stdlib ``sqlite3`` in WAL mode, one file, no server.

Where: ``--history PATH``, else ``CODEX_AUTH_HISTORY``, else
``$XDG_STATE_HOME/codex-auth-report/history.sqlite3`` (``~/.local/state/...`` by default).
The folder is created 0700 and the file 0600 (SQLite gives its ``-wal`` and ``-shm`` files the
database's mode). Writers wait for each other (``busy_timeout``) and each run is one
``BEGIN IMMEDIATE`` transaction, so two cron jobs at once both land whole.

The schema's version is SQLite's ``user_version``; :data:`MIGRATIONS` brings any older file up
to date inside a write transaction. Any failure (a file that is not a database, a folder in
its place, no permission) is a :class:`HistoryError` with one line for a person; callers
report it and go on without the history.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import HistoryError
from pipeline.history import checks
from pipeline.history.observation import COLUMNS, WINDOW_COLUMNS, Observation, WindowRow

BUSY_TIMEOUT_MS = 15_000
MIGRATIONS: tuple[str, ...] = (
    # 1: runs, one observation per account and run, one row per window of an observation
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        sampled_at INTEGER NOT NULL,
        mode TEXT NOT NULL,
        model TEXT,
        accounts INTEGER NOT NULL,
        tool_version TEXT
    );
    CREATE INDEX runs_time ON runs(sampled_at);
    CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        sampled_at INTEGER NOT NULL,
        account_key TEXT NOT NULL,
        idx INTEGER NOT NULL,
        account_id TEXT,
        email TEXT,
        enabled INTEGER NOT NULL,
        status TEXT,
        health_score INTEGER,
        plan TEXT,
        probe_outcome TEXT,
        probe_error TEXT,
        quota_source TEXT,
        credits_balance TEXT,
        has_credits INTEGER,
        reset_credits INTEGER,
        limit_reached INTEGER
    );
    CREATE INDEX observations_account ON observations(account_key, sampled_at);
    CREATE INDEX observations_run ON observations(run_id);
    CREATE TABLE windows (
        observation_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
        window_key TEXT NOT NULL,
        name TEXT NOT NULL,
        limit_id TEXT NOT NULL,
        window_minutes INTEGER,
        used_percent REAL,
        reset_at INTEGER,
        PRIMARY KEY (observation_id, window_key)
    ) WITHOUT ROWID;
    """,
    # 2: the observations in time order, so that `history` writes its first row at once and
    # --since reads only its span (the samples are listed in this order)
    """
    CREATE INDEX observations_time ON observations(sampled_at, id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


class HistoryStore:
    """One open history database. Use as a context manager."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        self.bad_rows = 0  # rows read back with a value of the wrong type or range (skipped)
        try:
            if create:
                _prepare(path)
            elif not path.exists():
                raise HistoryError(f"{path}: no history yet (a live run records one)")
            if path.is_dir():
                raise HistoryError(f"{path}: is a folder, not a history database")
            if path.exists() and not stat.S_ISREG(path.stat().st_mode):
                # a FIFO or a device would block SQLite's first read for ever
                raise HistoryError(f"{path}: is not a regular file, not a history database")
            uri = path.resolve().as_uri() + ("" if create else "?mode=ro")
            if create and _loose(path):
                # known to be a history first (a short read of its own), then 0600; done before our
                # connection opens, as closing any other descriptor of the file would drop SQLite's locks
                probe = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
                try:
                    _check_ours(probe, path)
                finally:
                    probe.close()
                _tighten(path)
            self.db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self.db.text_factory = checks.stored_text  # text that is not UTF-8: a bad row, not an error
        except HistoryError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"{path}: {_why(exc)}") from None
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            version = _check_ours(self.db, path)  # before any pragma or write that could change the file
            if create:
                self._set_up_for_writing()
            elif version < 1:
                raise HistoryError(f"{path}: holds no history tables")
        except HistoryError:
            self.db.close()
            raise
        except sqlite3.Error as exc:
            self.db.close()
            raise HistoryError(f"{path}: {_why(exc)}") from None

    def _set_up_for_writing(self) -> None:
        """WAL mode and the tables. Two first runs at once can find each other converting a
        new file, and SQLite then answers "locked" at once instead of waiting (it would be a
        deadlock): try again, within the busy timeout."""
        import time

        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = 0.005
        while True:
            try:
                mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise HistoryError(f"{self.path}: could not switch to WAL mode (got {mode})")
                self.db.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: {_why(exc)}") from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise HistoryError(f"{self.path}: {_why(exc)}") from None
            raise

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: written by a newer version (schema {version}; this one knows {SCHEMA_VERSION})"
            )
        with self._write() as db:  # another process may have migrated meanwhile: look again inside
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- writing ---------------------------------------------------------------------

    def append(self, sampled_at: int, mode: str, model: str | None, observed: Sequence[Observation]) -> int:
        """Add one run; returns its id."""
        with self._write() as db:
            run = db.execute(
                "INSERT INTO runs(sampled_at, mode, model, accounts, tool_version) VALUES (?, ?, ?, ?, ?)",
                (sampled_at, mode, model, len(observed), __version__),
            ).lastrowid
            first = int(db.execute("SELECT coalesce(max(id), 0) FROM observations").fetchone()[0]) + 1
            # the observation's fields in the columns' order; a flag (bool) is stored as SQLite's 0 or 1
            db.executemany(_INSERT_OBSERVATION, [(first + n, run, *obs[:_WIDTH]) for n, obs in enumerate(observed)])
            db.executemany(  # ids are ours to give: the write lock is held since BEGIN IMMEDIATE
                _INSERT_WINDOW, [(first + n, *w) for n, obs in enumerate(observed) for w in obs.windows]
            )
            return int(run or 0)

    def prune(self, before: int) -> int:
        """Delete runs sampled before ``before``; returns how many runs went."""
        with self._write() as db:
            count = db.execute("DELETE FROM runs WHERE sampled_at < ?", (before,)).rowcount
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        return int(count)

    # --- reading ---------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        try:
            self.db.row_factory = sqlite3.Row
            return list(self.db.execute(sql, params))
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: {_why(exc)}") from None

    def runs(self, since: int | None, until: int | None) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT id, sampled_at, mode, model, accounts FROM runs WHERE sampled_at >= ? AND sampled_at <= ?"
            " ORDER BY sampled_at, id",
            (since if since is not None else 0, until if until is not None else 2**62),
        )
        return [dict(row) for row in rows]

    def observations(self, since: int | None, until: int | None) -> list[Observation]:
        """Every observation in the span with its windows, oldest first, as stored (the
        values unchecked: :mod:`.query` reads them checked, a row at a time)."""
        rows = self._query(
            "SELECT o.*, w.window_key, w.name AS window_name, w.limit_id, w.window_minutes, w.used_percent, w.reset_at"
            " FROM observations o LEFT JOIN windows w ON w.observation_id = o.id"
            " WHERE o.sampled_at >= ? AND o.sampled_at <= ? ORDER BY o.sampled_at, o.id, w.window_key",
            (since if since is not None else 0, until if until is not None else 2**62),
        )
        found: dict[int, tuple[sqlite3.Row, list[WindowRow]]] = {}
        for row in rows:
            _row, windows = found.setdefault(row["id"], (row, []))
            if row["window_key"] is not None:
                windows.append(
                    WindowRow(
                        row["window_key"],
                        row["window_name"],
                        row["limit_id"],
                        row["window_minutes"],
                        _number(row["used_percent"]),
                        row["reset_at"],
                    )
                )
        return [
            Observation._make((*(row[name] for name in COLUMNS), tuple(windows), row["run_id"]))
            for row, windows in found.values()
        ]


_WIDTH = len(COLUMNS)
_INSERT_OBSERVATION = (
    f"INSERT INTO observations(id, run_id, {', '.join(COLUMNS)}) VALUES ({', '.join('?' * (2 + _WIDTH))})"
)
_INSERT_WINDOW = (
    f"INSERT OR REPLACE INTO windows(observation_id, {', '.join(WINDOW_COLUMNS)})"
    f" VALUES ({', '.join('?' * (1 + len(WINDOW_COLUMNS)))})"
)


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _check_ours(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, once it is known to be ours or new: a database of
    another program (schema version 0 with tables of its own) or of a newer version of
    this tool is refused before anything changes it (no WAL switch, no table added)."""
    # One read transaction for both questions: read one after the other, the version could be
    # read before another first run's commit and the tables after it (a new history of ours
    # taken for another program's database).
    db.execute("BEGIN")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        names = (
            [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")]
            if version == 0
            else []
        )
    finally:
        db.execute("COMMIT")
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: written by a newer version (schema {version}; this one knows {SCHEMA_VERSION}); left as it is"
        )
    if version == 0 and names:
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise HistoryError(
            f"{path}: a database of another program (tables {shown}), not a history; left as it is "
            "(point --history or CODEX_AUTH_HISTORY at a file of its own)"
        )
    return version


def _loose(path: Path) -> bool:
    found = os.lstat(path)
    return stat.S_ISREG(found.st_mode) and bool(found.st_mode & 0o077)


def _prepare(path: Path) -> None:
    """The folder 0700 (created if missing) and the file 0600 (created empty if missing).

    Only what is ours is touched: the history is never written through a symbolic link (its
    target could be any file; refused, with one line); an existing file's mode is set by
    :func:`_tighten` once the file is known to be a history."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # two first runs at once both get here
    if path.is_symlink():
        raise HistoryError(
            f"{path}: is a symbolic link; the history is not written through one (point --history or "
            "CODEX_AUTH_HISTORY at the file itself)"
        )
    if path.is_dir():
        raise HistoryError(f"{path}: is a folder, not a history database")
    if not path.exists():
        try:  # no descriptor of an existing file is opened here: closing it would drop SQLite's locks
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        except FileExistsError:  # another writer made it first
            pass
        except OSError as exc:
            raise HistoryError(f"{path}: {_why(exc)}") from None
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise HistoryError(f"{path}: is not a regular file, not a history database")


def _tighten(path: Path) -> None:
    """Our history file 0600 (once it is known to be ours), through a descriptor opened
    without following links, and only a regular file of the user's."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise HistoryError(f"{path}: {_why(exc)}") from None
    try:
        found = os.fstat(fd)
        if stat.S_ISREG(found.st_mode) and found.st_mode & 0o077:
            if found.st_uid != os.getuid():
                raise HistoryError(f"{path}: belongs to another user and others can read it; left as it is")
            os.fchmod(fd, 0o600)
    except OSError as exc:
        raise HistoryError(f"{path}: {_why(exc)}") from None
    finally:
        os.close(fd)


def record_run(path: Path, sampled_at: int, mode: str, model: str | None, observed: Iterable[Observation]) -> int:
    with HistoryStore(path, create=True) as store:
        return store.append(sampled_at, mode, model, list(observed))
