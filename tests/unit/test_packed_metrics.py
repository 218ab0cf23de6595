"""``/metrics`` is scrubbed and compressed once per snapshot (:meth:`Exporter.metrics_answer`):
each scrape is the snapshot's metrics and the exporter's own, whole, plain or one valid gzip
stream; a secret registered after the snapshot was packed is masked from the next scrape on;
a new snapshot is served at once."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import scrubbing
from pipeline.service.exporter import Exporter
from pipeline.service.snapshots import Refresher, RefreshLoop
from testkit import poolkit


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    scrubbing.forget_all()
    yield
    scrubbing.forget_all()


def test_each_scrape_is_the_snapshot_and_the_exporters_own_metrics(seed_pool: Path) -> None:
    loop = RefreshLoop(Refresher(env=os.environ, storage_dir=str(seed_pool), now=poolkit.SEED_NOW), 1.0)
    exporter = Exporter(loop)
    loop.run_once()
    assert exporter.rendered is not None
    snapshot = exporter.rendered.metrics
    plain, packed = exporter.metrics_answer(False)
    assert not packed and plain.startswith(snapshot) and b"codex_auth_up 1" in plain[len(snapshot) :]
    for _ in range(2):  # the packed stream is copied per scrape, never finished itself
        body, packed = exporter.metrics_answer(True)
        unpacked = gzip.decompress(body)
        assert packed and unpacked.startswith(snapshot) and b"codex_auth_up 1" in unpacked[len(snapshot) :]
        assert unpacked.count(b"\ncodex_auth_up 1\n") == 1

    email = "alice@example.com"
    assert email.encode() in snapshot
    scrubbing.remember(email)  # a secret registered after the snapshot was packed
    for gzip_ok in (False, True):
        body, packed = exporter.metrics_answer(gzip_ok)
        text = gzip.decompress(body) if packed else body
        assert email.encode() not in text and b"***" in text, gzip_ok

    loop.run_once()  # a new snapshot: its own metrics, packed anew
    assert exporter._packed is None, "the last snapshot is let go, not kept until a scrape"
    assert exporter.rendered.metrics is not snapshot
    body, _ = exporter.metrics_answer(True)
    assert gzip.decompress(body).startswith(scrubbing.scrub_bytes(exporter.rendered.metrics))
    assert exporter.metrics_answer(True)[0][:3] == b"\x1f\x8b\x08", "a gzip stream"
