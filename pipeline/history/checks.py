"""What a value read back from the history must be before anything uses it.

SQLite keeps whatever a writer gave it in any column (a ``reset_at`` of text, a
``used_percent`` of 1e308), and the file may have been written by an earlier version or by
hand. Every value is checked for its type and range here; a row that fails is skipped by the
caller and counted (one line on stderr says how many), never an internal error. Text comes
back with its control characters as visible escapes (:mod:`pipeline.visible`); text that is
not UTF-8 is a bad value too (:func:`stored_text`).

Pure: plain values in, plain values (or None for a bad row) out.
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.history.observation import COLUMNS, WINDOW_COLUMNS, Observation, WindowRow
from pipeline.numbers import MAX_SAFE, instant
from pipeline.visible import visible

MAX_USED_PERCENT = 1000.0
"""The largest used percent taken from the history (a window past 100 % is exhausted; beyond
1,000 % the value is damage, not a measurement)."""
MAX_TEXT = 10_000
"""The longest text taken from the history (an e-mail is at most 254 characters, 1,524 with
every character a six-character escape)."""


class Bad(Exception):
    """A value of the wrong type or range; the row holding it is skipped."""


def integer(value: object, low: int = 0, high: int = MAX_SAFE) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Bad
    return value


def maybe_integer(value: object, low: int = 0, high: int = MAX_SAFE) -> int | None:
    return None if value is None else integer(value, low, high)


def at(value: object) -> int:
    """Epoch milliseconds (1970 to 9999), stored as an integer."""
    if type(value) is not int or instant(value) is None:
        raise Bad
    return value


def maybe_at(value: object) -> int | None:
    return None if value is None else at(value)


def flag(value: object) -> bool:
    if value not in (0, 1) or type(value) is not int:
        raise Bad
    return bool(value)


def maybe_flag(value: object) -> bool | None:
    return None if value is None else flag(value)


def stored_text(raw: bytes) -> str | bytes:
    """SQLite's TEXT as the history's connection reads it (its ``text_factory``): UTF-8,
    decoded. Text that is not UTF-8 (written by hand or by another program) stays bytes,
    which :func:`text` refuses, so its row is skipped and counted like any other bad row
    (Python's own decoding would end the whole read with an error instead)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def text(value: object) -> str:
    if type(value) is not str or len(value) > MAX_TEXT:
        raise Bad
    return visible(value)


def maybe_text(value: object) -> str | None:
    return None if value is None else text(value)


def percent(value: Any) -> float | int | None:
    """A used percent: a finite number from 0 to :data:`MAX_USED_PERCENT` (ints stay ints)."""
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or not 0 <= value <= MAX_USED_PERCENT:
        raise Bad
    return int(value) if float(value).is_integer() else value


OBSERVATION_COLUMNS = ("run_id", *COLUMNS)
"""The columns :func:`observation` checks, in its order: the run, then the observation's own."""
OBSERVATION_SQL = ", ".join(f"o.{name}" for name in OBSERVATION_COLUMNS)
WINDOW_SQL = ", ".join(f"w.{name}" for name in WINDOW_COLUMNS)


def observation(row: tuple[Any, ...], windows: tuple[WindowRow, ...] = ()) -> Observation:
    """The observation columns (:data:`OBSERVATION_COLUMNS`, in order) checked, with its
    (checked) windows; raises :class:`Bad`."""
    (run, sampled, key, idx, account_id, email, enabled, status, score, plan, outcome, error, source, balance,
     has_credits, reset_credits, reached) = row  # fmt: skip
    run_id = integer(run, 1)
    return Observation(
        at(sampled),
        text(key),
        integer(idx),
        maybe_text(account_id),
        maybe_text(email),
        flag(enabled),
        maybe_text(status),
        maybe_integer(score, 0, 100),
        maybe_text(plan),
        maybe_text(outcome),
        maybe_text(error),
        maybe_text(source),
        maybe_text(balance),
        maybe_flag(has_credits),
        maybe_integer(reset_credits),
        maybe_flag(reached),
        windows,
        run_id,
    )


def window(row: tuple[Any, ...]) -> WindowRow:
    """The window columns (:data:`WINDOW_SQL`, in order) checked; raises :class:`Bad`."""
    key, name, limit, minutes, used, reset_at = row
    return WindowRow(text(key), text(name), text(limit), maybe_integer(minutes), percent(used), maybe_at(reset_at))
