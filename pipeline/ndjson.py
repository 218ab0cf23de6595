"""NDJSON plumbing shared by every stage: one JSON object per line, in and out.

Reading is lazy (a generator over the stream) and, for input from outside the process,
validates each record against the schema of its ``kind``. Writing is one compact line
per record, buffered; ``probe`` flushes after each record so a downstream stage sees its
records as they are made.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO

import orjson

from pipeline.errors import InvalidInput, OutputError, PipelineError, json_error_message
from pipeline.numbers import first_huge
from pipeline.pool_record import EXPECTED_POOL
from pipeline.records import Record
from pipeline.visible import has_control, visible


def read_records(
    stream: IO[bytes], source: str = "stdin", *, validate: bool = True, require_pool: bool = False
) -> Iterator[Record]:
    """Yield the records of an NDJSON byte stream; blank lines are skipped.

    Raises :class:`InvalidInput` naming ``source:LINE`` (and the JSON path of the bad field)
    for a line that is not JSON, not an object, of an unknown kind or against its schema.
    With ``require_pool``, a stream that does not start with a ``pool`` record (an empty one
    from a failed ``collect``, say) is refused the same way.
    """
    check: Callable[[object, str, int], str] | None = None
    if validate:
        from pipeline.schema import check_record

        check = check_record
    loads = orjson.loads
    seen = False
    line_no = 0
    for raw in stream:
        line_no += 1
        try:
            record = loads(raw)  # JSON allows the whitespace around a value, newline included
        except orjson.JSONDecodeError:
            stripped = raw.strip()
            if not stripped:
                continue  # a blank line
            try:  # whitespace JSON does not allow around a value (form feed), or a real error
                record = loads(stripped)
            except orjson.JSONDecodeError as exc:
                if line_no == 1 and stripped in (b"{", b"["):
                    raise InvalidInput(source, 1, SPREAD_DOCUMENT) from None
                raise InvalidInput(
                    source, line_no, f"invalid JSON: {json_error_message(exc)}", column=exc.colno
                ) from None
        if isinstance(record, dict) and "kind" not in record and "generatedAt" in record:
            raise InvalidInput(source, line_no, _document_advice(record), "$")
        if check is not None:
            check(record, source, line_no)
            huge = first_huge(record)
            if huge is not None:
                raise InvalidInput(source, line_no, "a number beyond ±2^53 (9007199254740992)", huge)
            _make_visible(record)
        elif not isinstance(record, dict):
            raise InvalidInput(source, line_no, "expected a JSON object", "$")
        if require_pool and not seen and record.get("kind") != "pool":
            raise InvalidInput(
                source, line_no, f"{EXPECTED_POOL}, found a record of kind {record.get('kind')!r}", "$.kind"
            )
        seen = True
        yield record
    if require_pool and not seen:
        raise PipelineError(f"{source}: no records: {EXPECTED_POOL}; did the command before this one fail?")


SPREAD_DOCUMENT = (
    "a JSON document over many lines (report --json or forecast --json?), not records: "
    "the stages read the records collect writes, one per line"
)


def is_forecast_document(document: Record) -> bool:
    """``forecast --json``'s document (a horizon, no summary), as against a HealthReport."""
    return "horizon" in document and "summary" not in document


def _document_advice(record: Record) -> str:
    """What a whole document fed to a stage is, and what reads it instead."""
    if is_forecast_document(record):
        return (
            "a forecast document (forecast --json), not records: for the forecast as a stage, "
            "collect | forecast -i - | render --view forecast"
        )
    return (
        "a HealthReport (report --json), not records: the stages read the records collect writes; "
        "render alone also takes a HealthReport"
    )


NAME_FIELDS = ("accountId", "email", "label", "workspace")
"""The free text of a record from outside the process that reaches output as it is."""


def _make_visible(record: Record) -> None:
    """The names of a record read from outside, with control characters escaped as ``collect``
    does (:mod:`pipeline.visible`): a hand-made stream is no way around it."""
    for name in NAME_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and has_control(value):
            record[name] = visible(value)
    warnings = record.get("warnings")
    if isinstance(warnings, list):
        record["warnings"] = [visible(w) if isinstance(w, str) else w for w in warnings]


def dumps(record: Record) -> bytes:
    """One compact JSON line. orjson refuses what it cannot write (nesting deeper than 254
    levels, integers beyond 64 bits); those records are written by the standard library,
    in the same compact form."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        import json

        try:
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (ValueError, RecursionError):
            raise OutputError("a record cannot be written as JSON (nested too deeply)") from None
        return text.encode("utf-8") + b"\n"


def write_records(records: Iterable[Record], stream: IO[bytes], *, flush_each: bool = False) -> int:
    """Write each record as one line (scrubbed of the run's secrets, see :mod:`pipeline.scrubbing`)
    as soon as it is made; return how many were written. The stream's buffer is flushed at the
    end, and after every record with ``flush_each`` (for ``probe``, whose records come slowly
    and should reach the next stage as each is made). A stream that refuses the bytes (a full
    disk, ``> /dev/full``) raises :class:`OutputError`."""
    from pipeline.output import refused, write_fully
    from pipeline.scrubbing import scrub_bytes

    count = 0
    write = stream.write
    try:
        for record in records:
            line = scrub_bytes(dumps(record))
            taken = write(line)
            if taken is not None and taken < len(line):  # a pipe whose reader left: raise what it hid
                write_fully(stream, memoryview(line)[taken:])
            if flush_each:
                stream.flush()
            count += 1
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise refused(stream, exc) from None
    return count


def stdin_hint(stream: IO[bytes], stage: str, prefix: str | None = None) -> None:
    """Tell a person at a terminal why nothing happens (the stage waits for records);
    ``prefix`` starts the line (the command line's ``codex-auth STAGE: ``)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        print(
            f"{prefix if prefix is not None else stage + ': '}reading NDJSON records from the terminal; pipe them in "
            f"(codex-auth collect | codex-auth {stage}) or end with Ctrl-D",
            file=sys.stderr,
        )
