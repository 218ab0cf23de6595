"""The ``codex-auth`` command line: one thin command per stage, ``report`` composing them,
and ``schema`` printing the record contract.

Only click is imported here at start-up; each command imports what it needs when it runs,
so ``--help`` and ``collect`` never load httpx or jsonschema.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar, cast

import click

from pipeline import __version__
from pipeline.errors import ExitStatus, PipelineError
from pipeline.live import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from pipeline.records import DEFAULT_MODEL, FORMAT_NAMES, PROBE_METHODS, ProbeMethod, Status

F = TypeVar("F", bound=Callable[..., Any])

ROOT_HELP = """Health and quota report for a pool of ChatGPT/Codex accounts.

\b
The report is five stages passing NDJSON records:
  codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render
(add `codex-auth probe` after collect for live quota). `codex-auth report`
runs them all in one process; `codex auth report` is the same command.
"""


@click.group(help=ROOT_HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="codex-auth")
def cli() -> None:
    pass


def main(argv: list[str] | None = None, prog_name: str = "codex-auth") -> None:
    """The entry point. Whatever happens, the user gets at most one line on stderr per
    failure and a documented exit code, never a traceback: an exception nothing below
    expected becomes ``codex-auth: internal error: <type>`` (the message is left out: it
    could quote a secret) and exit 1."""
    try:
        cli.main(args=argv, prog_name=prog_name)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _drop_stdout()
        raise SystemExit(130) from None
    except BrokenPipeError:
        _quiet_broken_pipe()
    except OSError as exc:
        # Click writes help, --version and `schema` itself; a stdout that refuses them ends here.
        say(
            f"{prog_name}: cannot write to standard output: {os.strerror(exc.errno) if exc.errno else type(exc).__name__}"
        )
        _drop_stdout()
        raise SystemExit(int(ExitStatus.FAILURE)) from None
    except Exception as exc:
        say(f"{prog_name}: internal error: {type(exc).__name__}")
        _drop_stdout()
        raise SystemExit(int(ExitStatus.FAILURE)) from None


# --- shared pieces -------------------------------------------------------------------


def say(line: str) -> None:
    """One line on stderr, scrubbed of the run's secrets, control characters shown as escapes
    (pipeline.visible). A stderr that cannot take it is ignored: there is nowhere else to say anything."""
    from pipeline.secrets import scrub
    from pipeline.visible import visible

    try:
        click.echo(visible(scrub(line)), err=True)
    except (OSError, ValueError):
        pass


tell = say  # for commands whose own ``say`` adds a prefix or a mask


def fail(stage: str, error: PipelineError) -> None:
    say(f"{stage}: {error}")
    raise SystemExit(int(error.exit_status))


def _drop_stdout() -> None:
    from pipeline.terminal import drop_stdout

    drop_stdout()


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head -1``): stop quietly. Point stdout at /dev/null so the
    interpreter's final flush does not complain, then exit like a process killed by SIGPIPE."""
    _drop_stdout()
    raise SystemExit(int(ExitStatus.BROKEN_PIPE))


def stage_command(stage: str) -> Callable[[F], F]:
    """Run a command body with our errors turned into ``stage: message`` and an exit code."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except PipelineError as error:
                fail(stage, error)
            except BrokenPipeError:
                _quiet_broken_pipe()

        return wrapper  # type: ignore[return-value]

    return decorate


NOW_HELP = (
    "Take this as the current time: ISO-8601 (2026-03-03T14:30:00Z; no offset means UTC) or a Unix "
    "time, read as seconds below 100000000000 (what `date +%s` prints) and as milliseconds from there on."
)


def now_option(func: F) -> F:
    return click.option("--now", metavar="TIME", help=NOW_HELP)(func)


def stream_now_option(func: F) -> F:
    return click.option(
        "--now",
        metavar="TIME",
        help=NOW_HELP + " Default: the time the input was collected (its pool record's collectedAt), "
        "so a saved snapshot reads as it did then.",
    )(func)


def resolve_now(value: str | None) -> int:
    from pipeline.clock import now_ms, parse_instant

    return parse_instant(value) if value else now_ms()


def stream_now(value: str | None) -> int | None:
    """``--now`` of a stage reading records: None lets the stage take the stream's own time."""
    from pipeline.clock import parse_instant

    return parse_instant(value) if value else None


class AliasOption(click.Option):
    """An option with old names that still work but are not shown in ``--help``."""

    def __init__(self, *args: Any, hidden_names: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_names = hidden_names

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        shown, self.opts = self.opts, [name for name in self.opts if name not in self.hidden_names]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = shown


def dir_option(func: F) -> F:
    return click.option(
        "--dir",
        "storage_dir",
        type=click.Path(file_okay=False, path_type=str),
        help="codex-multi-auth's storage folder (default: CODEX_MULTI_AUTH_DIR, else found as "
        "codex-multi-auth finds it; Codex CLI's auth.json when there is no pool).",
    )(func)


def input_option(func: F) -> F:
    return click.option(
        "-i",
        "--input",
        "input_file",
        type=click.File("rb"),
        default="-",
        show_default=True,
        help="Read NDJSON records from this file (- for stdin).",
    )(func)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--out",
        "--output",
        "output_file",
        cls=AliasOption,
        hidden_names=("--output",),
        type=click.File("wb"),
        default="-",
        show_default=True,
        help="Write NDJSON records to this file (- for stdout).",
    )(func)


def source_of(stream: IO[bytes]) -> str:
    name = getattr(stream, "name", "-")
    return "stdin" if name in ("-", "<stdin>") or not isinstance(name, str) else name


def read_input(stream: IO[bytes], stage: str) -> Iterator[dict[str, Any]]:
    from pipeline.ndjson import read_records, stdin_hint

    stdin_hint(stream, stage)
    return read_records(stream, source_of(stream), require_pool=True)


def write_output(records: Iterable[dict[str, Any]], stream: IO[bytes], *, flush_each: bool = False) -> int:
    """The records as NDJSON (flushed after each with ``flush_each``, for ``probe``); a stream
    that refuses them is one line (see output.write_stream)."""
    from pipeline.ndjson import write_records

    return write_records(records, stream, flush_each=flush_each)


# --- stages --------------------------------------------------------------------------


@cli.command()
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
    for line in messages(pool):
        say(f"collect: {line}")
    write_output(run_collect(pool), output_file)
    if pool.nothing_read:
        raise SystemExit(int(ExitStatus.FAILURE))


@cli.command()
@click.argument(
    "kind",
    required=False,
    type=click.Choice(["pool", "account", "flagged", "recommendation", "report", "forecast", "event", "common"]),
)
@click.option("--raw", is_flag=True, help="Print the file as published (shared parts stay a $ref to common.json).")
@stage_command("schema")
def schema(kind: str | None, raw: bool) -> None:
    """Print the JSON Schema of a record kind, or of the JSON report.

    \b
    Without KIND, list the kinds and their $id. The printed schema is self-contained
    (the shared definitions are bundled in), ready for any JSON Schema validator:
      codex-auth schema report > report.schema.json
    """
    import json

    from pipeline.schema import SCHEMA_NAMES, bundled_schema, load_schema, load_schema_text

    if kind is None:
        text = "".join(f"{name:<15} {load_schema(name)['$id']}\n" for name in SCHEMA_NAMES)
    elif raw:
        text = load_schema_text(kind)
    else:
        text = json.dumps(bundled_schema(kind), indent=2) + "\n"
    emit_report(text.encode("utf-8"), None)


def model_option(func: F) -> F:
    return click.option(
        "--model",
        metavar="MODEL",
        default=None,
        help=f"Model whose limits count (default {DEFAULT_MODEL}; live mode probes with it and the report echoes it).",
    )(func)


def format_options(func: F) -> F:
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMAT_NAMES),
        default=None,
        help="Report format (default text): json is the HealthReport document (`codex-auth schema report`), "
        "prometheus the text exposition format for node_exporter's textfile collector, html one "
        "self-contained page, markdown a table.",
    )(func)
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Machine-readable JSON (the HealthReport document); same as --format json.",
    )(func)
    func = click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        help="Colour the text report. always/never win over the environment; auto: off when NO_COLOR "
        "is set, on when FORCE_COLOR or CLICOLOR_FORCE is, off when TERM=dumb, else only on a terminal.",
    )(func)
    func = click.option(
        "--explain",
        is_flag=True,
        help="List every reason behind each account's status and score, with its points: text, Markdown "
        "and HTML show them, JSON adds a `factors` list per account; Prometheus has no place for them (exit 2).",
    )(func)
    func = click.option(
        "--redact",
        is_flag=True,
        help="Mask e-mails and account ids everywhere (a***@***.com#<hash>), for screenshots and incident reports.",
    )(func)
    func = click.option(
        "-o",
        "--out",
        "--output",
        "out_path",
        cls=AliasOption,
        hidden_names=("--output",),
        type=click.Path(dir_okay=False, path_type=str),
        default=None,
        help="Write the report to this file (atomically: whole or not at all) instead of stdout; - is stdout. "
        "A symbolic link is written through to its target; a FIFO, a device or /dev/stdout is written into.",
    )(func)
    func = click.option(
        "--out-mode",
        "out_mode",
        type=OctalMode(),
        default="600",
        show_default=True,
        metavar="MODE",
        help="File mode of --out (octal). Files are private by default; e.g. 644 lets node_exporter, "
        "running as its own user, read a metrics file.",
    )(func)
    func = click.option(
        "--status",
        "statuses",
        type=StatusList(),
        default=None,
        metavar="LIST",
        help="List only the active accounts with these statuses (comma-separated: healthy, warning, "
        "rate-limited, disabled, error), in every format; the summary still counts the whole pool and "
        "flagged accounts are always listed. E.g. --status warning,rate-limited,error",
    )(func)
    return func


class StatusList(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.5; plain in 8.2
    """``warning,rate-limited,error``: a comma-separated list of account statuses."""

    name = "statuses"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        from pipeline.records import STATUSES

        chosen = [part.strip() for part in str(value).split(",") if part.strip()]
        unknown = [part for part in chosen if part not in STATUSES]
        if unknown or not chosen:
            self.fail(f"{value!r}: give one or more of {', '.join(STATUSES)}, separated by commas", param, ctx)
        return tuple(dict.fromkeys(chosen))


class OctalMode(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.5; plain in 8.2, which we support
    """A file mode such as 600 or 0644: owner read and write, no execute bits, nothing more."""

    name = "mode"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            mode = int(str(value), 8)
        except ValueError:
            self.fail(f"{value!r} is not an octal file mode such as 600 or 644", param, ctx)
        if mode & ~0o666 or mode & 0o600 != 0o600:
            self.fail(
                f"{value!r}: the mode must let the owner read and write, and set no execute or special bits (600 to 666)",
                param,
                ctx,
            )
        return mode


def pick_format(fmt: str | None, as_json: bool) -> str:
    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json conflicts with --format {fmt}")
    return "json" if as_json else (fmt or "text")


def use_color(choice: str, out_path: str | None, fmt: str) -> bool:
    from pipeline.terminal import want_color

    if fmt != "text":
        return False
    return want_color(choice, env=os.environ, to_terminal=sys.stdout.isatty(), to_file=out_path is not None)


def check_explain(explain: bool, fmt: str) -> None:
    if explain and fmt == "prometheus":
        raise click.UsageError(
            "--explain has no place in Prometheus metrics; use it with text, markdown, html or json "
            "(where each account gets a `factors` list)"
        )


def emit_report(data: bytes, out_path: str | None, out_mode: int = 0o600) -> None:
    """The report, scrubbed of the run's secrets, on stdout or into ``--out``."""
    from pipeline.output import write_out
    from pipeline.secrets import scrub_bytes

    write_out(out_path, scrub_bytes(data), mode=out_mode)


def live_options(func: F) -> F:
    func = click.option(
        "--probe-method",
        type=click.Choice(PROBE_METHODS),
        default="usage",
        show_default=True,
        help="usage: GET /wham/usage (spends no quota). responses: a tiny Codex request read for its "
        "x-codex-* headers (spends a few tokens; only when you ask for it).",
    )(func)
    func = click.option(
        "--concurrency",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help=f"Probes in flight at once (one request per account; at most {MAX_CONCURRENCY}).",
    )(func)
    func = click.option(
        "--max-accounts", type=click.IntRange(min=1), default=None, help="Probe at most the first N enabled accounts."
    )(func)
    func = click.option("--max-probes", type=click.IntRange(min=1), default=None, help="Send at most N quota probes.")(
        func
    )
    func = click.option(
        "--cached-only",
        is_flag=True,
        help="Never refresh tokens or write anything: probe only accounts whose access token is still usable.",
    )(func)
    return func


def make_prober(
    model: str | None,
    probe_method: str,
    concurrency: int,
    max_accounts: int | None,
    max_probes: int | None,
    cached_only: bool,
    **kwargs: Any,
) -> Any:
    from pipeline.stages.probe import ProbeOptions, Prober

    options = ProbeOptions(
        model or DEFAULT_MODEL, cast(ProbeMethod, probe_method), concurrency, max_accounts, max_probes, cached_only
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


def report_live_outcome(stage: str, prober: Any, masker: Any = None) -> None:
    mask = masker.text if masker is not None else (lambda text: text)
    for note in prober.notes:
        say(f"{stage}: {mask(note)}")
    if prober.failures:
        for failure in prober.failures:
            say(f"{stage}: ERROR: {mask(failure)}")
        if prober.lost:
            say(
                f"{stage}: ERROR: {prober.lost} rotated token(s) could not be written back, and no later run can "
                "restore them; the old refresh token is spent, so those accounts will need a new login. Check the "
                "folder's permissions and free space."
            )
        else:
            say(
                f"{stage}: ERROR: {len(prober.failures)} rotated token(s) could not be written into storage; the "
                "token journal keeps them: run `codex auth repair` once the files can be written (check the "
                "folder's permissions and free space)."
            )
        raise SystemExit(int(ExitStatus.FAILURE))


@cli.command()
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


@cli.command()
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


@cli.command()
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


def gate_option(func: F) -> F:
    return click.option(
        "--min-healthy",
        type=click.IntRange(min=0),
        metavar="N",
        default=None,
        help="Exit 3 when fewer than N accounts are healthy (the report is still written): a deployment gate.",
    )(func)


def read_render_input(stream: IO[bytes], *, now: int | None, model: str | None, redact: bool) -> Any:
    """The View of render's input: an NDJSON record stream, or a saved HealthReport document
    (``--json`` output), told apart by their shape."""
    import io

    from pipeline.ndjson import read_records, stdin_hint
    from pipeline.report.from_json import health_report_document, records_of
    from pipeline.stages.render import checked_view

    stdin_hint(stream, "render")
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


def check_gate(stage: str, healthy: int, min_healthy: int | None) -> None:
    if min_healthy is not None and healthy < min_healthy:
        say(f"{stage}: {healthy} healthy account{'' if healthy == 1 else 's'}, fewer than --min-healthy {min_healthy}")
        raise SystemExit(int(ExitStatus.GATE))


@cli.command()
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
        view, fmt=fmt, color=use_color(color, out_path, fmt), explain=explain, redact=redact, statuses=statuses
    )
    emit_report(data, out_path, out_mode)
    check_gate("render", view.status_counts()["healthy"], min_healthy)


@cli.command()
@dir_option
@stage_command("repair")
def repair(storage_dir: str | None) -> None:
    """Put rotated tokens that storage lacks into storage, without probing anything.

    \b
    A refresh token can be used once: every rotated token is written to a journal
    beside the pool before it goes into the accounts file. When a run was killed in
    between, or another program's write put an old token back, the journal (and
    codex-multi-auth's refresh-lease results) still has the new one; this command puts
    it into every record that holds the spent token (accounts, flagged, auth.json),
    and removes what crashed processes left behind (locks, temporary files). Any live
    report does the same before it refreshes; a default report only says so.
    Exit 0: nothing to do, or everything restored; 1: a file could not be written.
    \b
      codex auth repair
      codex auth repair --dir ~/.codex/multi-auth && codex auth report
    """
    from pipeline.clock import now_ms
    from pipeline.live.recovery import repair as run_repair

    result, lines = run_repair(os.environ, now_ms(), storage_dir)
    for line in lines:
        say(f"repair: {line}")
    for failure in result.failures:
        say(f"repair: ERROR: {failure}")
    if result.failures:
        raise SystemExit(int(ExitStatus.FAILURE))


FORECAST_FORMATS = ("text", "json", "markdown", "prometheus")


def check_forecast_format(fmt: str) -> None:
    if fmt not in FORECAST_FORMATS:
        raise click.UsageError(f"the forecast comes as {', '.join(FORECAST_FORMATS)}, not {fmt}")


def history_options(record: bool = True) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        func = click.option(
            "--history",
            "history_file",
            metavar="PATH",
            type=click.Path(path_type=str),
            default=None,
            help="The history database (default: CODEX_AUTH_HISTORY, else "
            "$XDG_STATE_HOME/codex-auth-report/history.sqlite3).",
        )(func)
        func = click.option("--no-history", is_flag=True, help="Neither read nor write the history.")(func)
        if record:
            func = click.option(
                "--record",
                is_flag=True,
                help="Add this run to the history even without --live (live runs always add one).",
            )(func)
        return func

    return decorate


def resolve_history(history_file: str | None, no_history: bool, record: bool = False) -> Any:
    from pipeline.history.location import history_path
    from pipeline.porcelain import HistoryOptions

    if history_file and no_history:
        raise click.UsageError("--history conflicts with --no-history")
    if record and no_history:
        raise click.UsageError("--record conflicts with --no-history")
    return HistoryOptions(history_path(os.environ, history_file, no_history), record)


@cli.command()
@click.option(
    "--live", is_flag=True, help="Probe live quota for every account before reporting (see `codex-auth probe --help`)."
)
@dir_option
@now_option
@model_option
@format_options
@live_options
@gate_option
@history_options()
@stage_command("report")
def report(
    live: bool,
    storage_dir: str | None,
    now: str | None,
    model: str | None,
    fmt: str | None,
    as_json: bool,
    color: str,
    explain: bool,
    out_path: str | None,
    out_mode: int,
    redact: bool,
    min_healthy: int | None,
    statuses: tuple[Status, ...] | None,
    history_file: str | None,
    no_history: bool,
    record: bool,
    **live_settings: Any,
) -> None:
    """Health and status report for every account in the pool.

    \b
    Collects, (with --live probes,) scores, recommends and renders in one process:
    the same as the pipe collect | [probe |] score | recommend | render. Exit codes:
    0 report written; 1 no accounts, storage error or write failure (one line on
    stderr); 2 usage error; 3 fewer healthy accounts than --min-healthy (the report
    is written all the same). A live run (or --record) adds one snapshot to the
    history (see `codex-auth history --help`).
    \b
      codex auth report
      codex auth report --live
      codex auth report --json | jq '.accounts[] | select(.status == "healthy") | .email'
      codex auth report --json --out reports/health-$(date +%F).json
      codex auth report --min-healthy 2 --format markdown --out status.md || exit
    """
    from pipeline.porcelain import run_report

    fmt = pick_format(fmt, as_json)
    check_explain(explain, fmt)
    prober = make_prober(model, **live_settings) if live else None
    result = run_report(
        env=os.environ,
        now=resolve_now(now) if now or not live else None,
        storage_dir=storage_dir,
        model=model,
        fmt=fmt,
        color=use_color(color, out_path, fmt),
        explain=explain,
        redact=redact,
        prober=prober,
        statuses=statuses,
        history=resolve_history(history_file, no_history, record),
    )
    for note in result.notes:
        say(f"report: {note}")
    emit_report(result.output, out_path, out_mode)
    if prober is not None:
        report_live_outcome("report", prober, result.masker)
    check_gate("report", result.healthy, min_healthy)


# --- forecast and history ---------------------------------------------------------------


def horizon_option(func: F) -> F:
    return click.option(
        "--horizon",
        metavar="DURATION",
        default=None,
        help="How far ahead the pool forecast looks (e.g. 24h, 3d; default 7d: one weekly window, so every "
        "weekly reset in the pool falls inside it).",
    )(func)


def parse_horizon(value: str | None) -> int | None:
    from pipeline.clock import parse_duration

    return parse_duration(value, "--horizon") if value else None


# --- always on: serve and watch ------------------------------------------------------------


def interval_option(func: F) -> F:
    return click.option(
        "--interval",
        metavar="DURATION",
        default=None,
        help="Time between refreshes: 30s, 5m, 1h or seconds (default 5m with --live, 30s without). "
        "Honoured as given down to 1s; a live interval under 60s is warned about.",
    )(func)


def loop_interval(value: str | None, live: bool, stage: str) -> float:
    from pipeline.always.snapshots import ABUSIVE_LIVE_INTERVAL, DEFAULT_INTERVAL, LIVE_DEFAULT_INTERVAL
    from pipeline.clock import parse_interval

    if value is None:
        return LIVE_DEFAULT_INTERVAL if live else DEFAULT_INTERVAL
    seconds = parse_interval(value)
    if live and seconds < ABUSIVE_LIVE_INTERVAL:
        click.echo(
            f"{stage}: warning: --interval {value} probes every account every {seconds:g}s; the service may take "
            "that for abuse and throttle or flag the accounts (5m is the default)",
            err=True,
        )
    return seconds


def make_refresher(live: bool, storage_dir: str | None, model: str | None) -> Any:
    from pipeline.always.snapshots import Refresher

    def prober(client: Any) -> Any:
        from pipeline.stages.probe import ProbeOptions, Prober

        return Prober(ProbeOptions(model or "gpt-5-codex"), os.environ, client=client)

    return Refresher(env=os.environ, storage_dir=storage_dir, model=model, live=live, make_prober=prober)


TOKEN_SAVE_GRACE_SECONDS = 30.0
"""How long an early exit waits for a refresh in flight (its request has its own deadline)."""


def leave_now(loop: Any, code: int) -> None:
    """Exit with ``code``; if a run is still in flight past the stop's grace time (a slow
    service), end the process without waiting for it, so that SIGTERM ends it within 2 s
    (the probe threads would otherwise be joined at exit, up to the fetch timeout). The one
    thing it waits for is a token refresh between spending a token and saving its successor."""
    if loop.in_flight:
        from pipeline.live import inflight

        if inflight.in_flight():  # a token is spent and its successor not yet saved: never cut that short
            say("stopping: waiting for a token refresh to be saved")
            inflight.wait_until_saved(TOKEN_SAVE_GRACE_SECONDS)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def forecast_hook(history: Any, model: str | None, redact: bool, say: Callable[[str], None]) -> Any:
    """The forecast's gauges, /forecast.json and the history of live snapshots, plugged into
    the refresh loop (see pipeline.always.snapshots.SnapshotHook)."""
    from pipeline.always.forecasting import ForecastHook

    return ForecastHook(history, model, redact, say)


@cli.command()
@click.option(
    "--live", is_flag=True, help="Probe live quota first (see `codex-auth probe --help`); the run is recorded."
)
@click.option(
    "-i",
    "--input",
    "input_file",
    type=click.File("rb"),
    default=None,
    help="Run as a stage: read NDJSON records from this file (- for stdin) and write them back with "
    "`forecast` added, instead of reading the pool.",
)
@dir_option
@now_option
@model_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORECAST_FORMATS)),
    default=None,
    help="text (default), json (one line, codex-auth schema forecast), markdown or prometheus.",
)
@click.option("--json", "as_json", is_flag=True, help="The forecast as one line of JSON; same as --format json.")
@click.option("--redact", is_flag=True, help="Mask e-mails and account ids everywhere.")
@click.option(
    "-o",
    "--out",
    "--output",
    "out_path",
    cls=AliasOption,
    hidden_names=("--output",),
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Write the forecast to this file (atomically) instead of stdout; with --input, the records.",
)
@click.option(
    "--out-mode",
    "out_mode",
    type=OctalMode(),
    default="600",
    show_default=True,
    metavar="MODE",
    help="File mode of --out (octal).",
)
@click.option(
    "--min-healthy",
    type=click.IntRange(min=0),
    metavar="N",
    default=None,
    help="Say when the usable accounts fall below N; exit 3 when that happens before the horizon ends (a gate).",
)
@horizon_option
@history_options()
@live_options
@stage_command("forecast")
def forecast(
    live: bool,
    input_file: IO[bytes] | None,
    storage_dir: str | None,
    now: str | None,
    model: str | None,
    fmt: str | None,
    as_json: bool,
    redact: bool,
    out_path: str | None,
    out_mode: int,
    min_healthy: int | None,
    horizon: str | None,
    history_file: str | None,
    no_history: bool,
    record: bool,
    **live_settings: Any,
) -> None:
    """When each account and the pool run out of quota, and which account to use next.

    \b
    Per account and window (5h, 7d, the model's own limit, a monthly spend limit): used
    percent, pace in points per hour and a verdict: exhausted (until availableAt),
    runs-out (at runOutAt, before the reset), lasts, or unknown. The pace is a
    least-squares fit over the history's samples of the window since its last reset
    when there are two or more, else the used percent over the time since the window
    began. For the pool: usable accounts now and whenever that changes within the
    horizon, when they fall below --min-healthy, and the account to use next.
    Exit codes: 0 written; 1 no accounts or storage error; 2 usage error; 3 the pool
    falls below --min-healthy before the horizon ends (the forecast is written).
    \b
      codex auth forecast
      codex auth forecast --live --json >> incident.json
      codex auth forecast --min-healthy 2 --horizon 24h || page-someone
      codex-auth collect | codex-auth forecast -i - | codex-auth render --view forecast
    """
    from pipeline.porcelain import build_forecast

    history = resolve_history(history_file, no_history, record)
    horizon_ms = parse_horizon(horizon)
    if input_file is not None:
        if live or storage_dir or fmt or as_json or redact or record:
            raise click.UsageError(
                "with --input, forecast is a stage: it writes records (render them with render --view forecast)"
            )
        with click.open_file(out_path or "-", "wb") as output_file:
            run_forecast_stage(input_file, output_file, now, model, history.path, horizon_ms, min_healthy)
        return
    fmt = pick_format(fmt, as_json)
    prober = make_prober(model, **live_settings) if live else None
    result = build_forecast(
        env=os.environ,
        now=resolve_now(now) if now or not live else None,
        storage_dir=storage_dir,
        model=model,
        prober=prober,
        history=history,
        horizon_ms=horizon_ms,
        min_healthy=min_healthy,
        fmt=fmt,
        redact=redact,
    )
    for note in result.notes:
        say(f"forecast: {note}")
    emit_report(result.output, out_path, out_mode)
    if prober is not None:
        report_live_outcome("forecast", prober, result.masker)
    if min_healthy is not None and result.below_min_healthy:
        pool = result.document["pool"]
        from pipeline.clock import iso_utc

        say(f"forecast: usable accounts fall below --min-healthy {min_healthy} at {iso_utc(pool['belowMinHealthyAt'])}")
        raise SystemExit(int(ExitStatus.GATE))


def run_forecast_stage(
    input_file: IO[bytes],
    output_file: IO[bytes],
    now: str | None,
    model: str | None,
    history: Any,
    horizon_ms: int | None,
    min_healthy: int | None,
) -> None:
    from pipeline.porcelain import history_reader
    from pipeline.stages.forecast import forecast as run_forecast

    when = resolve_now(now)
    with history_reader(history, when) as (loader, notes):
        records = run_forecast(
            read_input(input_file, "forecast"),
            now=when,
            model=model,
            history=loader,
            horizon_ms=horizon_ms,
            min_healthy=min_healthy,
        )
        write_output(records, output_file)
    for note in notes:
        say(f"forecast: {note}")


@cli.command()
@click.option(
    "--since",
    metavar="TIME",
    default=None,
    help="From this time: ISO-8601, epoch seconds or ms, or back from now (7d, 12h).",
)
@click.option("--until", metavar="TIME", default=None, help="Up to this time (same forms as --since).")
@click.option("--account", metavar="EMAIL|ID", default=None, help="Only this account (its e-mail or account id).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "ndjson", "json", "csv"]),
    default=None,
    help="text: a table with UTC times (the default on a terminal); ndjson: one object a line with epoch-ms "
    "times (the default in a pipe); json: one array; csv: a header and one row each.",
)
@click.option("--events", is_flag=True, help="What happened, derived from consecutive samples, instead of the samples.")
@click.option("--daily", is_flag=True, help="Per UTC day: runs, accounts, active, healthy, rate-limited, in error.")
@click.option("--prune", is_flag=True, help="Delete the runs older than --keep (and print how many went).")
@click.option("--keep", metavar="DURATION", default=None, help="With --prune: how much to keep (e.g. 90d).")
@click.option(
    "--history",
    "history_file",
    metavar="PATH",
    type=click.Path(path_type=str),
    default=None,
    help="The history database (default: CODEX_AUTH_HISTORY, else $XDG_STATE_HOME/codex-auth-report/history.sqlite3).",
)
@now_option
@stage_command("history")
def history(
    since: str | None,
    until: str | None,
    account: str | None,
    fmt: str | None,
    events: bool,
    daily: bool,
    prune: bool,
    keep: str | None,
    history_file: str | None,
    now: str | None,
) -> None:
    """What every live run observed, kept in a local SQLite database.

    \b
    Every `report --live` and `forecast --live` (and any run with --record) adds one
    snapshot: per account and window the used percent, window length, reset time,
    status, health score, plan, credits and probe outcome. Never a token.
    --events derives what happened between consecutive samples: reset, reset-early,
    reset-moved-later, plan-changed, rate-limit-hit/-lifted, token-broken/-recovered,
    account-added/-removed (each with at, kind, accountId, email, window, details).
    \b
      codex auth history --since 24h --account alice@example.com
      codex auth history --events --since 7d --format csv
      codex auth history --since 7d --daily
      codex auth history --prune --keep 90d
    """
    from pipeline.clock import parse_duration, parse_time
    from pipeline.errors import ConfigError
    from pipeline.history.location import history_path
    from pipeline.history.store import HistoryError

    when = resolve_now(now)
    path = history_path(os.environ, history_file, False)
    assert path is not None
    if prune:
        if not keep:
            raise click.UsageError("--prune needs --keep DURATION (e.g. --keep 90d)")
        if events or daily or since or until or account:
            raise click.UsageError("--prune takes only --keep (and --history)")
        from pipeline.history.query import prune as prune_runs

        try:
            count = prune_runs(path, when - parse_duration(keep, "--keep"))
        except HistoryError as error:
            raise HistoryUnavailable(str(error)) from None
        say(f"history: pruned {count} run{'' if count == 1 else 's'} older than {keep}")
        return
    if keep:
        raise click.UsageError("--keep goes with --prune")
    if events and daily:
        raise click.UsageError("--events conflicts with --daily")
    start = parse_time(since, when, "--since") if since else None
    end = parse_time(until, when, "--until") if until else None
    if start is not None and end is not None and start > end:
        raise ConfigError("--since is after --until")
    from pipeline.history.query import Query, answer

    kind = "events" if events else "daily" if daily else "samples"
    fmt = fmt or ("text" if sys.stdout.isatty() else "ndjson")
    try:
        done = answer(path, kind, fmt, Query(start, end, account))
    except HistoryError as error:
        raise HistoryUnavailable(str(error)) from None
    for note in done.notes:
        say(f"history: {note}")


class HistoryUnavailable(PipelineError):
    """The history cannot be read (exit 1)."""


@cli.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default="127.0.0.1:9467",
    show_default=True,
    help="Address to listen on. Anything but a loopback address is said on stderr: the report names your accounts.",
)
@interval_option
@click.option("--live/--no-live", default=False, help="Probe live quota on every refresh (default: cached data).")
@dir_option
@model_option
@click.option("--redact", is_flag=True, help="Mask e-mails and account ids in every endpoint, labels included.")
@history_options(record=False)
@stage_command("serve")
def serve(
    listen: str,
    interval: str | None,
    live: bool,
    storage_dir: str | None,
    model: str | None,
    redact: bool,
    history_file: str | None,
    no_history: bool,
) -> None:
    """Serve the report to Prometheus and browsers, refreshed in the background.

    \b
    Endpoints: /metrics (Prometheus, the forecast's gauges included), /report.json (the
    HealthReport), /forecast.json (codex-auth schema forecast), / (the HTML report),
    /healthz (the refresh loop's state). Each live snapshot is added to the history
    (--history, --no-history), which the forecast reads. A request never probes: every
    endpoint serves the last good snapshot, and a background loop makes the next one
    every --interval (one at a time, with jitter; after a failure it waits 2x, 4x...
    the interval, and as long as a Retry-After asks). SIGTERM or Ctrl-C stops it (exit 0).
    \b
      codex auth serve                                  # http://127.0.0.1:9467/metrics
      codex auth serve --live --interval 5m --redact
    """
    from pipeline.always.exporter import Exporter, is_loopback_host, parse_listen
    from pipeline.always.exporter import serve as run_server
    from pipeline.always.snapshots import RefreshLoop

    address = parse_listen(listen)
    history = resolve_history(history_file, no_history)
    seconds = loop_interval(interval, live, "serve")
    if not is_loopback_host(address[0]):
        click.echo(
            f"serve: listening on {address[0]}, not a loopback address: anyone who can reach it reads the report "
            "(e-mails included unless --redact)",
            err=True,
        )

    from pipeline.redact import Masker

    mask = Masker(set()).text if redact else str  # stderr lands in logs: mask e-mails there too

    def say(line: str) -> None:
        tell(f"serve: {mask(line)}")

    refresher = make_refresher(live, storage_dir, model)
    loop = RefreshLoop(refresher, seconds, hook=forecast_hook(history, model, redact, say), say=say)
    try:
        code = run_server(Exporter(loop, redact=redact), address, say=say)
    except OSError as error:
        refresher.close()
        raise click.ClickException(f"cannot listen on {listen}: {error.strerror or error}") from None
    leave_now(loop, code)
    refresher.close()
    raise SystemExit(code)


def _command_line(value: str | None) -> list[str] | None:
    """--on-event CMD split as a shell would split it (no shell ever runs it)."""
    import shlex

    if value is None:
        return None
    try:
        argv = shlex.split(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r}: {error}", param_hint="--on-event") from None
    if not argv:
        raise click.BadParameter("the command is empty", param_hint="--on-event")
    return argv


def _thresholds(value: str) -> tuple[int, ...]:
    from pipeline.always.events import parse_thresholds

    try:
        return parse_thresholds(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--threshold") from None


@cli.command()
@interval_option
@click.option("--live", is_flag=True, help="Probe live quota on every refresh (default: cached data).")
@dir_option
@model_option
@click.option(
    "--on-event",
    "on_event",
    metavar="CMD",
    default=None,
    callback=lambda ctx, param, value: _command_line(value),
    help="Run CMD for each event, with the event as JSON on its stdin (split like a shell would, never run by one).",
)
@click.option(
    "--on-event-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop an --on-event command (and its children) that runs longer than this.",
)
@click.option(
    "--threshold",
    "thresholds",
    metavar="PERCENT,...",
    default="25,10,5",
    callback=lambda ctx, param, value: _thresholds(value),
    show_default=True,
    help="Quota-left thresholds (percent) whose crossing is an event.",
)
@gate_option
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the redrawn report, by the same rules as report --color.",
)
@stage_command("watch")
def watch(
    interval: str | None,
    live: bool,
    storage_dir: str | None,
    model: str | None,
    on_event: list[str] | None,
    on_event_timeout: float,
    thresholds: tuple[int, ...],
    min_healthy: int | None,
    color: str,
) -> None:
    """Keep the report up to date: redrawn on a terminal, events in a pipe.

    \b
    On a terminal the report is redrawn in place every --interval (Ctrl-C leaves a clean
    screen). Elsewhere, one JSON event per line when something changes: a quota threshold
    crossed, a window reset, an account broken or recovered, rate-limited or free again,
    the pool below --min-healthy (`codex-auth schema event`). Exit 0 on Ctrl-C or SIGTERM.
    \b
      codex auth watch
      codex auth watch --live --interval 5m --min-healthy 2 | jq -r .message
      codex auth watch --on-event 'notify-send "Codex accounts"' --threshold 20,5
    """
    from pipeline.always.watch import watch_pool
    from pipeline.report.text import render_text

    seconds = loop_interval(interval, live, "watch")

    def say(line: str) -> None:
        tell(f"watch: {line}")

    terminal = sys.stdout.isatty()
    colored = use_color(color, None, "text")  # the report's own rules: --color wins, then NO_COLOR, ...
    refresher = make_refresher(live, storage_dir, model)
    loop, code = watch_pool(
        refresher,
        interval=seconds,
        title="codex auth report" + (" --live" if live else ""),
        render=lambda view: render_text(view, color=colored),
        terminal=terminal,
        thresholds=thresholds,
        min_healthy=min_healthy,
        on_event=on_event,
        on_event_timeout=on_event_timeout,
        say=say,
    )
    leave_now(loop, code)
    refresher.close()
    raise SystemExit(code)


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.option(
    "--no-wrapper",
    is_flag=True,
    help="Only `codex-auth`; leave the completion of `codex` (the Codex CLI's own) alone.",
)
@stage_command("completion")
def completion(shell: str, no_wrapper: bool) -> None:
    """Print the shell completion script for codex-auth and for `codex auth`.

    \b
    Load it in your shell's start-up file:
      bash:  eval "$(codex-auth completion bash)"          (in ~/.bashrc)
      zsh:   eval "$(codex-auth completion zsh)"           (in ~/.zshrc, after compinit)
      fish:  codex-auth completion fish | source               (in ~/.config/fish/config.fish)
    The script also completes `codex auth ...` through the codex wrapper; that takes
    over completion of `codex` itself (its other commands get none), so with the
    Codex CLI's own completion loaded add --no-wrapper.
    """
    from pipeline.completion import script

    emit_report(script(cli, shell, wrapper=not no_wrapper).encode("utf-8"), None)
