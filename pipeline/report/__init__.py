"""The report package: the View (everything a report says, gathered once from the record
stream), the shared wording, and one module per output format.

Each format module has ``render(view, *, color, explain) -> bytes``. :data:`FORMATS` is the
one table of formats (its keys are :data:`pipeline.records.FORMAT_NAMES`, the CLI's
``--format`` choices); a format's module is imported only when it is asked for. To add a format, write
``pipeline/report/NAME.py`` with that function, add its name to ``Format`` in
:mod:`pipeline.records` and a row here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib import import_module
from typing import Any, TypeGuard

from pipeline.plain import replace
from pipeline.records import Format, Status
from pipeline.report.view import View, redact_view

FORMATS: dict[Format, str] = {
    "text": "pipeline.report.text",
    "json": "pipeline.report.json_report",
    "prometheus": "pipeline.report.prometheus",
    "html": "pipeline.report.html",
    "markdown": "pipeline.report.markdown",
}


def _known(fmt: str) -> TypeGuard[Format]:
    return fmt in FORMATS


def render_view(view: View, **options: Any) -> bytes:
    """The report, whole: :func:`render_view_parts` (the same options) joined."""
    return b"".join(render_view_parts(view, **options))


def render_view_parts(
    view: View,
    *,
    fmt: str = "text",
    color: bool = False,
    explain: bool = False,
    redact: bool = False,
    statuses: Sequence[Status] | None = None,
    sort: str = "pool",
    compact: bool = False,
) -> Iterator[bytes]:
    """The report in format ``fmt``, in pieces to write one after the other (the text and
    indented JSON formats one per listed account, so that a large pool's report is never held
    whole; the others in one piece); with ``redact``, e-mails and ids masked first; with
    ``statuses`` (``--status``), only the accounts with those statuses listed; ``sort``
    ``problems`` (``--sort``) lists them worst first (see :data:`pipeline.report.view.PROBLEM_ORDER`)."""
    if not _known(fmt):
        raise ValueError(f"unknown format {fmt!r}")
    if redact:
        view = redact_view(view)
    if statuses:
        view = replace(view, shown_statuses=tuple(statuses))
    if sort != "pool":
        view = replace(view, sort=sort)
    if compact and fmt == "json":
        from pipeline.report.json_report import render_compact

        yield render_compact(view, explain=explain)
        return
    module = import_module(FORMATS[fmt])
    if fmt == "json":
        yield from module.render_parts(view, explain=explain)
    elif fmt == "text":
        yield from module.render_parts(view, color=color, explain=explain)
    else:
        output: bytes = module.render(view, color=color, explain=explain)
        yield output
