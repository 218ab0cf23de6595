"""``codex auth report``: collect, (probe,) score, recommend and render as plain function
calls in one process. Its output equals the shell pipe of the stage commands on the same
input and ``--now``; ``tests/test_pipe.py`` holds it to that."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.clock import now_ms
from pipeline.errors import StorageError
from pipeline.memory import collector_paused
from pipeline.redact import Masker
from pipeline.report import render_view
from pipeline.report.view import build_view, view_masker
from pipeline.stages.collect import collect, messages
from pipeline.stages.recommend import recommend
from pipeline.stages.score import score
from pipeline.storage.pool import Pool, read_pool


class ReportResult:
    """The report's bytes, and what the command line needs besides."""

    __slots__ = ("healthy", "masker", "notes", "output")

    def __init__(self, output: bytes, notes: list[str] | None = None, healthy: int = 0, masker: Any = None) -> None:
        self.output = output
        self.notes = notes if notes is not None else []  # for stderr
        self.healthy = healthy
        self.masker = masker  # with --redact: masks e-mails and ids in any later message


def failure_reason(pool: Pool) -> str | None:
    """Why there is no report to give (exit 1), or None."""
    state = pool.storage.state
    if pool.source == "none" or state == "missing":
        lines = messages(pool)
        return lines[0] if lines else f"no account storage found in {pool.resolved.dir}"
    if state == "corrupt":
        return f"account storage is corrupt: {pool.storage_path}: {pool.storage.details}"
    if not pool.accounts and not pool.flagged.accounts:
        if state == "intentional-reset":
            return f"no accounts: the pool in {pool.resolved.dir} was reset on purpose ({pool.storage.details})"
        return (
            f"no accounts in {pool.storage_path}"
            + (f" ({pool.storage.details})" if pool.storage.details else "")
            + "; add one with `codex-multi-auth login`"
        )
    return None


def run_report(
    *,
    env: Mapping[str, str],
    now: int | None,
    storage_dir: str | None = None,
    model: str | None = None,
    fmt: str = "text",
    color: bool = False,
    explain: bool = False,
    redact: bool = False,
    prober: Any = None,
) -> ReportResult:
    """The report. ``now`` None means the real time, taken after live probing (so the
    report is dated when its data is); ``prober`` (a :class:`pipeline.stages.probe.Prober`)
    makes it a live report."""
    with collector_paused():  # long-lived records only: see pipeline.memory
        return _run_report(env, now, storage_dir, model, fmt, color, explain, redact, prober)


def _run_report(
    env: Mapping[str, str],
    now: int | None,
    storage_dir: str | None,
    model: str | None,
    fmt: str,
    color: bool,
    explain: bool,
    redact: bool,
    prober: Any,
) -> ReportResult:
    pool = read_pool(env, now if now is not None else now_ms(), storage_dir)
    reason = failure_reason(pool)
    if reason is not None:
        raise StorageError(Masker(set()).text(reason) if redact else reason)
    records: Iterable[dict[str, Any]] = collect(pool)
    if prober is not None:
        prober.pool_loader = lambda _record, pool=pool: pool
        records = list(prober.run(records))
    when = now if now is not None else now_ms()
    records = recommend(score(records, now=when, model=model), now=when)
    notes = list(messages(pool))
    del pool  # the stored accounts go as soon as the last record is made (not in live mode)
    view = build_view(records, now=when, model=model, explain=explain)
    masker = None
    if redact:  # stderr is pasted into incident reports too
        masker = view_masker(view)
        notes = [masker.text(line) for line in notes]
    output = render_view(view, fmt=fmt, color=color, explain=explain, redact=redact)
    return ReportResult(output, notes, view.status_counts()["healthy"], masker)
