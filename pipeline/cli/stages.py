"""The five stages: ``collect``, ``probe``, ``score``, ``recommend`` and ``render``, each a
thin adapter from NDJSON records in to records (or the report) out over
:mod:`pipeline.stages`."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any

import click

from pipeline.cli.common import (
    check_compact,
    check_explain,
    check_forecast_format,
    check_gate,
    emit_report,
    line,
    note,
    pick_format,
    read_input,
    resolve_now,
    source_of,
    stage_command,
    stream_now,
    use_color,
    write_output,
)
from pipeline.cli.options import (
    dir_option,
    format_options,
    gate_option,
    input_option,
    live_options,
    model_option,
    now_option,
    output_option,
    stream_now_option,
)
from pipeline.cli.probing import make_prober, report_live_outcome
from pipeline.errors import ExitStatus
from pipeline.records import Status

if TYPE_CHECKING:  # for the annotations only: the module loads when a command runs
    from pipeline.report.view import View


@click.command()
@dir_option
@now_option
@output_option
@stage_command("collect")
def collect(storage_dir: str | None, now: str | None, output_file: IO[bytes]) -> None:
    """Read the account pool from disk (read-only) and write its records.

    \b
    Writes one `pool` record, then `account` records in pool order, then `flagged`
    records. No token ever enters a record. Exits 1 only when nothing could be read.
    \b
      codex-auth collect --dir ~/.codex/multi-auth | jq -c 'select(.kind=="account")'
    """
    from pipeline.stages.collect import collect as run_collect
    from pipeline.stages.collect import messages, note_pending_tokens
    from pipeline.storage.pool import read_pool

    pool = read_pool(os.environ, resolve_now(now), storage_dir)
    note_pending_tokens(pool, os.environ)
    for message in messages(pool):
        note("collect", message)
    write_output(run_collect(pool), output_file)
    if pool.nothing_read:
        raise SystemExit(int(ExitStatus.FAILURE))


@click.command()
@input_option
@output_option
@model_option
@live_options
@stage_command("probe")
def probe(input_file: IO[bytes], output_file: IO[bytes], model: str | None, **live: Any) -> None:
    """Probe live quota for every enabled account (and re-verify flagged ones).

    \b
    One GET /wham/usage per account with its token (read from the storage the pool
    record names, never from the stream), concurrently; records leave in pool order.
    Expiring access tokens are refreshed first and the rotated tokens written back at
    once into the file they came from, under codex-multi-auth's refresh lease. Each
    failure is an outcome in the record, never a crash.
    \b
    Environment: CODEX_AUTH_BASE_URL (default https://chatgpt.com/backend-api),
    CODEX_AUTH_TOKEN_URL (default https://auth.openai.com/oauth/token),
    CODEX_AUTH_FETCH_TIMEOUT_MS (a deadline for each whole request, body included;
    default 15000, at most 3600000).
    \b
      codex-auth collect | codex-auth probe | jq -c 'select(.kind=="account") | [.email, .probe.outcome, .quota.windows]'
    """
    prober = make_prober(model, **live)
    write_output(prober.run(read_input(input_file, "probe")), output_file, flush_each=True)
    report_live_outcome("probe", prober)


@click.command()
@input_option
@output_option
@stream_now_option
@model_option
@stage_command("score")
def score(input_file: IO[bytes], output_file: IO[bytes], now: str | None, model: str | None) -> None:
    """Give each account a status, a health score and the reasons for them.

    \b
    Reads the record stream, writes it back with `status` (healthy, warning,
    rate-limited, disabled, error), `healthScore` (0-100, higher is better),
    `reasons`, `factors`, `rateLimited` and `rateLimitResetAt` on every account.
    The policy is the README's "Scoring policy" table.
    \b
      codex-auth collect | codex-auth score | jq -c 'select(.kind=="account") | [.email, .status, .healthScore]'
    """
    from pipeline.stages.score import score as run_score

    when = stream_now(now)
    write_output(run_score(read_input(input_file, "score"), now=when, model=model), output_file)


@click.command()
@input_option
@output_option
@stream_now_option
@stage_command("recommend")
def recommend(input_file: IO[bytes], output_file: IO[bytes], now: str | None) -> None:
    """Pass every record through and append the account to use next.

    \b
    Never picks a disabled, errored, rate-limited or exhausted account while a usable
    one exists; when none is usable, `index` is null and `reasoning` says what to do
    and when the soonest account frees up.
    \b
      codex-auth collect | codex-auth score | codex-auth recommend | jq -c 'select(.kind=="recommendation")'
    """
    from pipeline.stages.recommend import recommend as run_recommend

    write_output(run_recommend(read_input(input_file, "recommend"), now=stream_now(now)), output_file)


def read_render_input(stream: IO[bytes], *, now: int | None, model: str | None, redact: bool) -> View:
    """The View of render's input: an NDJSON record stream, or a saved HealthReport document
    (``--json`` output), told apart by their shape."""
    import io

    from pipeline.ndjson import read_records, stdin_hint
    from pipeline.report.from_json import health_report_document, records_of
    from pipeline.stages.render import checked_view

    stdin_hint(stream, "render", line("render", ""))
    source = source_of(stream)
    data = stream.read()
    document = health_report_document(data, source)
    if document is None:
        records = read_records(io.BytesIO(data), source, require_pool=True)
        return checked_view(records, now=now, model=model, redact=redact)
    stream_records, warnings = records_of(document)
    view = checked_view(stream_records, now=now, model=model or document.get("model"), redact=redact)
    view.warnings = warnings
    return view


@click.command()
@input_option
@stream_now_option
@model_option
@format_options
@gate_option
@click.option(
    "--view",
    "view_name",
    type=click.Choice(["report", "forecast"]),
    default="report",
    show_default=True,
    help="report: the health report; forecast: what the forecast stage added (text, json, markdown or prometheus).",
)
@stage_command("render")
def render(
    input_file: IO[bytes],
    now: str | None,
    model: str | None,
    view_name: str,
    fmt: str | None,
    as_json: bool,
    color: str,
    explain: bool,
    out_path: str | None,
    redact: bool,
    out_mode: int,
    min_healthy: int | None,
    statuses: tuple[Status, ...] | None,
    sort: str,
    compact: bool,
) -> None:
    """Turn the record stream into the report (text, JSON, Prometheus, HTML or Markdown).

    \b
    Reads what collect, score and recommend write (unscored accounts are scored
    here). Without --now the report is dated by its input (the pool record's
    collectedAt), so a saved snapshot reads as it did then. Exits 1 when the input
    has no pool record or the pool has nothing to report, as `report` does.
    \b
      codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render
      codex-auth render --json -i snapshot.ndjson
      codex-auth render --format markdown --redact -i snapshot.ndjson
      codex-auth render --min-healthy 2 -i snapshot.ndjson --out status.txt || exit
      codex-auth collect | codex-auth forecast -i - | codex-auth render --view forecast
    """
    from pipeline.report import render_view

    fmt = pick_format(fmt, as_json)
    check_explain(explain, fmt)
    check_compact(compact, fmt)
    if view_name == "forecast":
        from pipeline.stages.render import render as run_render

        check_forecast_format(fmt)
        data = run_render(
            read_input(input_file, "render"),
            now=stream_now(now),
            fmt=fmt,
            model=model,
            color=use_color(color, out_path, fmt),
            explain=explain,
            redact=redact,
            view_name=view_name,
        )
        emit_report(data, out_path, out_mode)
        return
    view = read_render_input(input_file, now=stream_now(now), model=model, redact=redact)
    data = render_view(
        view,
        fmt=fmt,
        color=use_color(color, out_path, fmt),
        explain=explain,
        redact=redact,
        statuses=statuses,
        sort=sort,
        compact=compact,
    )
    emit_report(data, out_path, out_mode)
    check_gate("render", view.status_counts()["healthy"], min_healthy)
