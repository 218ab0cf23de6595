"""The report is written piece by piece (pipeline/report: render_view_parts, pipeline/scrubbing.py:
scrub_parts, pipeline/output.py): the same bytes as the whole document, every token scrubbed, and an
--out file whole or untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import scrubbing
from pipeline.output import write_out
from pipeline.report import json_report, render_view, render_view_parts
from pipeline.report.view import View, build_view
from pipeline.stages.collect import collect
from pipeline.stages.recommend import recommend
from pipeline.stages.score import score
from pipeline.storage.pool import read_pool
from testkit import poolkit

NOW = poolkit.SEED_NOW


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    scrubbing.forget_all()
    yield
    scrubbing.forget_all()


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> View:
    folder = poolkit.real_pool(tmp_path_factory.mktemp("pool"), 60, NOW)
    pool = read_pool({}, NOW, folder, tokens=False)
    records = recommend(score(collect(pool, release=True), now=NOW, model=None), now=NOW)
    return build_view(records, now=NOW, model=None)


@pytest.mark.parametrize(
    "options",
    [
        {"fmt": "json"},
        {"fmt": "json", "explain": True, "sort": "problems"},
        {"fmt": "json", "statuses": ("healthy",)},
        {"fmt": "json", "statuses": ("error",)},  # none listed
        {"fmt": "text"},
        {"fmt": "text", "explain": True, "redact": True},
        {"fmt": "text", "statuses": ("error",)},
        {"fmt": "markdown"},
    ],
)
def test_the_pieces_are_the_document(view: View, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "BATCH", 7)  # several batches of accounts, the last one short
    parts = list(render_view_parts(view, **options))
    with monkeypatch.context() as patched:
        patched.setattr(json_report, "BATCH", 1000)
        assert b"".join(parts) == render_view(view, **options)
    if options["fmt"] in ("json", "text") and "statuses" not in options:
        listed = len(view.listed)
        # the head, the accounts (text: one by one; JSON: 7 at a time), the rest
        pieces = listed + 1 if options["fmt"] == "text" else -(-listed // 7) + 2
        assert len(parts) == pieces > 9
    if options["fmt"] == "text":
        assert all(part.endswith(b"\n") for part in parts)
    if options["fmt"] == "json":
        assert all(part.endswith((b"}", b"[\n    ", b"\n")) for part in parts)


def _pieces_with(token: str) -> list[bytes]:
    # tokens next to the ends of pieces, as a report's pieces stand
    return [b'{\n  "a": [\n    ', f'{{"t": "{token}"}}'.encode(), f',\n    {{"t": "x{token}"}}'.encode(), b"\n  ]\n}\n"]


def test_scrub_parts_scrubs_as_the_whole_does(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "rt_" + "Ab9-" * 20
    scrubbing.remember(token)
    monkeypatch.setattr(scrubbing, "_BATCH", 8)  # a batch per piece
    pieces = _pieces_with(token)
    scrubbed = list(scrubbing.scrub_parts(pieces))
    assert len(scrubbed) > 1
    assert b"".join(scrubbed) == scrubbing.scrub_bytes(b"".join(pieces))
    assert token.encode() not in b"".join(scrubbed) and b"***" in b"".join(scrubbed)


def test_a_token_that_could_run_across_pieces_is_scrubbed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = "secret with\nnewline " + "Zq9" * 10  # characters outside a token's: replaced as a substring
    scrubbing.remember(odd)
    monkeypatch.setattr(scrubbing, "_BATCH", 8)
    pieces = [b"head " + odd[:12].encode(), odd[12:].encode() + b" tail\n"]
    scrubbed = b"".join(scrubbing.scrub_parts(pieces))
    assert odd.encode() not in scrubbed
    assert scrubbed == b"head *** tail\n"


def test_an_out_file_is_whole_or_untouched(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old\n")

    def failing() -> Iterator[bytes]:
        yield b"new "
        raise RuntimeError("a piece that cannot be made")

    with pytest.raises(RuntimeError):
        write_out(str(target), failing())
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"], "no temporary file left"
    write_out(str(target), iter([b"new ", b"report\n"]))
    assert target.read_bytes() == b"new report\n"
