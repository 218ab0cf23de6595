"""The live probe as the commands set it up (``probe``, ``report --live``, ``forecast
--live``): the prober from the live options, its progress line, and what its outcome says."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from pipeline.cli.common import note
from pipeline.errors import ExitStatus
from pipeline.records import DEFAULT_MODEL, ProbeMethod

if TYPE_CHECKING:  # for the annotations only: the modules load when a command runs
    from pipeline.redact import Masker
    from pipeline.stages.probe import Prober


def make_prober(
    model: str | None,
    probe_method: str,
    concurrency: int,
    max_accounts: int | None,
    max_probes: int | None,
    cached_only: bool,
    reset_credits: bool = False,
    **kwargs: Any,
) -> Prober:
    from pipeline.stages.probe import ProbeOptions, Prober

    options = ProbeOptions(
        model or DEFAULT_MODEL,
        cast(ProbeMethod, probe_method),
        concurrency,
        max_accounts,
        max_probes,
        cached_only,
        reset_credits,
    )
    return Prober(options, os.environ, progress=_progress_printer(), **kwargs)


def _progress_printer() -> Callable[[int, int, int], None] | None:
    """Accounts probed of total, failures so far, on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, failed: int) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\rprobing: {done}/{total} done, {failed} failed{end}")
        sys.stderr.flush()

    return show


def report_live_outcome(stage: str, prober: Prober, masker: Masker | None = None) -> None:
    mask = masker.text if masker is not None else (lambda text: text)
    for message in prober.notes:
        note(stage, mask(message))
    if prober.failures:
        for failure in prober.failures:
            note(stage, f"ERROR: {mask(failure)}")
        if prober.lost:
            note(
                stage,
                f"ERROR: {prober.lost} rotated token(s) could not be written back, and no later run can "
                "restore them; the old refresh token is spent, so those accounts will need a new login. Check the "
                "folder's permissions and free space.",
            )
        else:
            note(
                stage,
                f"ERROR: {len(prober.failures)} rotated token(s) could not be written into storage; the "
                "token journal keeps them: run `codex auth repair` once the files can be written (check the "
                "folder's permissions and free space).",
            )
        raise SystemExit(int(ExitStatus.FAILURE))
    if prober.refused:
        # A refresh refused to keep a token safe: its warning line above names the file and
        # what to do; the report is printed, and the run is a failure.
        raise SystemExit(int(ExitStatus.FAILURE))
