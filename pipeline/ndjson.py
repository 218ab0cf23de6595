"""NDJSON plumbing shared by every stage: one JSON object per line, in and out.

Reading is lazy (a generator over the stream) and, for input from outside the process,
validates each record against the schema of its ``kind``. Writing is one compact line
per record, flushed at once so a downstream stage sees records as they are made.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from pipeline.errors import InvalidInput, OutputError, PipelineError, json_error_message
from pipeline.numbers import first_huge
from pipeline.pool_rules import EXPECTED_POOL

Record = dict[str, Any]


def read_records(
    stream: IO[bytes], source: str = "stdin", *, validate: bool = True, require_pool: bool = False
) -> Iterator[Record]:
    """Yield the records of an NDJSON byte stream; blank lines are skipped.

    Raises :class:`InvalidInput` naming ``source:LINE`` (and the JSON path of the bad field)
    for a line that is not JSON, not an object, of an unknown kind or against its schema.
    With ``require_pool``, a stream that does not start with a ``pool`` record (an empty one
    from a failed ``collect``, say) is refused the same way.
    """
    if validate:
        from pipeline.schema import check_record
    seen = False
    for line_no, raw in enumerate(stream, start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(source, line_no, f"invalid JSON: {json_error_message(exc)}", column=exc.colno) from None
        if validate:
            check_record(record, source, line_no)
            huge = first_huge(record)
            if huge is not None:
                raise InvalidInput(source, line_no, "a number beyond ±2^53 (9007199254740992)", huge)
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


def write_records(records: Iterable[Record], stream: IO[bytes]) -> int:
    """Write each record as one line (scrubbed of the run's secrets, see
    :mod:`pipeline.secrets`) and flush it; return how many were written. A stream that
    refuses the bytes (a full disk, ``> /dev/full``) raises :class:`OutputError`."""
    from pipeline.output import write_stream
    from pipeline.secrets import scrub_bytes

    count = 0
    for record in records:
        write_stream(stream, scrub_bytes(dumps(record)))
        count += 1
    return count


def stdin_hint(stream: IO[bytes], stage: str) -> None:
    """Tell a person at a terminal why nothing happens (the stage waits for records)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        print(
            f"{stage}: reading NDJSON records from the terminal; pipe them in "
            f"(codex-auth collect | codex-auth {stage}) or end with Ctrl-D",
            file=sys.stderr,
        )
