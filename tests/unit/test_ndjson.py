"""The NDJSON plumbing every stage shares: errors name the place, pipes end quietly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipeline.errors import InvalidInput
from pipeline.ndjson import read_records, write_records


def read(data: bytes, source: str = "stdin"):
    return list(read_records(io.BytesIO(data), source))


def test_reads_records_and_skips_blank_lines() -> None:
    data = b'{"kind":"account","index":0,"enabled":true}\n\n  \n{"kind":"account","index":1,"enabled":false}\n'
    assert [r["index"] for r in read(data)] == [0, 1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"kind":"account","index":0,"enabled":true}\n{oops\n', "stdin:2:2: invalid JSON: unexpected character"),
        (b"[1,2]\n", "stdin:1: $: expected a JSON object, got list"),
        (b'{"index":0}\n', "stdin:1: $.kind: record has no kind"),
        (b'{"kind":"target"}\n', "stdin:1: $.kind: unknown kind 'target'"),
        (
            b'\n\n{"kind":"account","index":0,"enabled":"yes"}\n',
            "stdin:3: $.enabled: account record: 'yes' is not of type 'boolean'",
        ),
        (
            b'{"kind":"account","index":0,"enabled":true,"quota":{"source":"cache","sampledAt":1,"windows":[{"windowMinutes":300,"usedPercent":-4,"resetAt":null}]}}\n',
            "stdin:1: $.quota.windows[0].usedPercent:",
        ),
    ],
)
def test_errors_name_line_and_json_path(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(data)
    assert str(caught.value).startswith(message), str(caught.value)


def test_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^snap\.ndjson:1:1: invalid JSON: invalid literal"):
        read(b"nope\n", "snap.ndjson")


def test_records_stream_lazily() -> None:
    data = b'{"kind":"account","index":0,"enabled":true}\nbroken\n'
    records = read_records(io.BytesIO(data), "stdin")
    assert next(records)["index"] == 0  # the first record arrives before the bad line is read
    with pytest.raises(InvalidInput):
        next(records)


class Counting(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_write_buffers_and_flushes_at_the_end() -> None:
    stream = Counting()
    assert write_records([{"kind": "x", "n": 1}, {"kind": "x", "n": 2}], stream) == 2
    assert stream.getvalue() == b'{"kind":"x","n":1}\n{"kind":"x","n":2}\n'
    assert stream.flushes == 1


def test_write_can_flush_each_record() -> None:
    stream = Counting()
    seen = []

    def records():
        for n in (1, 2):
            yield {"kind": "x", "n": n}
            seen.append(stream.flushes)  # the record was flushed before the next is made

    assert write_records(records(), stream, flush_each=True) == 2
    assert seen == [1, 2]
    assert stream.getvalue() == b'{"kind":"x","n":1}\n{"kind":"x","n":2}\n'
