"""The history's rows written as they come: NDJSON, one JSON array, CSV or a table for people.

Nothing is held but a small buffer (and, for the table, the first :data:`LOOKAHEAD` rows,
which set its column widths; a longer value later pushes its row's next columns right).
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson

Row = dict[str, Any]
FORMATS = ("text", "ndjson", "json", "csv")
LOOKAHEAD = 200
CHUNK = 1 << 16


class _Out:
    """A buffered writer onto a byte stream, through the same checks as every report."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        from pipeline.output import write_stream
        from pipeline.scrubbing import scrub_bytes

        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        write_stream(self.stream, scrub_bytes(data))


def write_rows(rows: Iterable[Row], fmt: str, kind: str, stream: IO[bytes] | None = None) -> int:
    """Write ``rows`` (of ``kind``: samples, events or daily) in ``fmt``; returns how many."""
    out = _Out(stream if stream is not None else sys.stdout.buffer)
    count = {"ndjson": _ndjson, "json": _json, "csv": _csv, "text": _text}[fmt](iter(rows), out, kind)
    out.flush()
    return count


def _ndjson(rows: Iterator[Row], out: _Out, kind: str) -> int:
    count = 0
    for row in rows:
        out.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        count += 1
    return count


def _json(rows: Iterator[Row], out: _Out, kind: str) -> int:
    """The same bytes as the whole list through ``orjson`` with two-space indents."""
    count = 0
    for row in rows:
        body = orjson.dumps(row, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  ")
        out.write((b"[\n  " if count == 0 else b",\n  ") + body)
        count += 1
    out.write(b"\n]\n" if count else b"[]\n")
    return count


def _csv(rows: Iterator[Row], out: _Out, kind: str) -> int:
    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in itertools.chain((first,), rows):
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        count += 1
        if buffer.tell() >= CHUNK:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    return count


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value  # a spreadsheet would run it as a formula (an e-mail or label is text)
    return str(value)


# --- the table for people ------------------------------------------------------------------


def utc(ms: int | None) -> str:
    """``2026-03-03 14:30:00`` (UTC; the header says so); ``-`` for none."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _who(row: Row) -> str:
    if row.get("email") or row.get("accountId"):
        return str(row.get("email") or row.get("accountId"))
    index = row.get("index")
    return f"account {index + 1}" if isinstance(index, int) else "-"


def _used(value: Any) -> str:
    return "-" if value is None else f"{value:g}%"


def _plain(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


_TIME_KEYS = ("resetAt", "nextResetAt", "expectedResetAt")


def _details(row: Row) -> str:
    parts = []
    moved = row.get("kind") == "reset-moved-later"
    for key, value in (row.get("details") or {}).items():
        if value is None:
            continue
        if key in _TIME_KEYS or (moved and key in ("from", "to")):
            shown = utc(value) if isinstance(value, int) else str(value)
        elif key in ("usedBefore", "usedAfter", "usedPercent"):
            shown = _used(value)
        else:
            shown = str(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts) or "-"


TABLES: dict[str, tuple[tuple[str, Callable[[Row], str]], ...]] = {
    "samples": (
        ("SAMPLED (UTC)", lambda r: utc(r["sampledAt"])),
        ("ACCOUNT", _who),
        ("WINDOW", lambda r: _plain(r["window"])),
        ("USED", lambda r: _used(r["usedPercent"])),
        ("RESETS (UTC)", lambda r: utc(r["resetAt"])),
        ("STATUS", lambda r: _plain(r["status"])),
        ("HEALTH", lambda r: _plain(r["healthScore"])),
        ("PLAN", lambda r: _plain(r["plan"])),
        ("PROBE", lambda r: _plain(r["probeOutcome"]) + (f" ({r['probeError']})" if r.get("probeError") else "")),
    ),
    "events": (
        ("AT (UTC)", lambda r: utc(r["at"])),
        ("EVENT", lambda r: str(r["kind"])),
        ("ACCOUNT", _who),
        ("WINDOW", lambda r: _plain(r["window"])),
        ("DETAILS", _details),
    ),
    "daily": (
        ("DAY (UTC)", lambda r: str(r["day"])),
        ("RUNS", lambda r: str(r["runs"])),
        ("ACCOUNTS", lambda r: str(r["accounts"])),
        ("ACTIVE", lambda r: str(r["active"])),
        ("HEALTHY", lambda r: str(r["healthy"])),
        ("RATE-LIMITED", lambda r: str(r["rateLimited"])),
        ("ERRORS", lambda r: str(r["errors"])),
    ),
}


def _text(rows: Iterator[Row], out: _Out, kind: str) -> int:
    columns = TABLES[kind]
    head = [[show(row) for _name, show in columns] for row in itertools.islice(rows, LOOKAHEAD)]
    if not head:
        return 0
    widths = [max(len(name), *(len(cells[i]) for cells in head)) for i, (name, _show) in enumerate(columns)]

    def line(cells: list[str]) -> bytes:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=False)]
        return ("  ".join([*padded, cells[-1]]).rstrip() + "\n").encode("utf-8")

    out.write(line([name for name, _show in columns]))
    for cells in head:
        out.write(line(cells))
    count = len(head)
    for row in rows:
        out.write(line([show(row) for _name, show in columns]))
        count += 1
    return count
