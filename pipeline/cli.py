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
from pipeline.records import DEFAULT_MODEL, FORMAT_NAMES, PROBE_METHODS, ProbeMethod

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
    cli.main(args=argv, prog_name=prog_name)


# --- shared pieces -------------------------------------------------------------------


def fail(stage: str, error: PipelineError) -> None:
    click.echo(f"{stage}: {error}", err=True)
    raise SystemExit(int(error.exit_status))


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head -1``): stop quietly. Point stdout at /dev/null so the
    interpreter's final flush does not complain, then exit like a process killed by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
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


def now_option(func: F) -> F:
    return click.option(
        "--now",
        metavar="TIME",
        help="Take this as the current time (ISO-8601 such as 2026-03-03T14:30:00Z, or epoch ms); "
        "makes a saved snapshot reproducible.",
    )(func)


def resolve_now(value: str | None) -> int:
    from pipeline.clock import now_ms, parse_instant

    return parse_instant(value) if value else now_ms()


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
        "--output",
        "output_file",
        type=click.File("wb"),
        default="-",
        show_default=True,
        help="Write NDJSON records to this file (- for stdout).",
    )(func)


def read_input(stream: IO[bytes], stage: str) -> Iterator[dict[str, Any]]:
    from pipeline.ndjson import read_records, stdin_hint

    name = getattr(stream, "name", "-")
    source = "stdin" if name in ("-", "<stdin>") or not isinstance(name, str) else name
    stdin_hint(stream, stage)
    return read_records(stream, source)


def write_output(records: Iterable[dict[str, Any]], stream: IO[bytes], *, flush_each: bool = False) -> int:
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
    from pipeline.stages.collect import messages
    from pipeline.storage.pool import read_pool

    pool = read_pool(os.environ, resolve_now(now), storage_dir)
    for line in messages(pool):
        click.echo(f"collect: {line}", err=True)
    write_output(run_collect(pool), output_file)
    if pool.nothing_read:
        raise SystemExit(int(ExitStatus.FAILURE))


@cli.command()
@click.argument(
    "kind", required=False, type=click.Choice(["pool", "account", "flagged", "recommendation", "report", "common"])
)
@click.option("--raw", is_flag=True, help="Print the file as published (shared parts stay a $ref to common.json).")
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
        for name in SCHEMA_NAMES:
            click.echo(f"{name:<15} {load_schema(name)['$id']}")
        return
    if raw:
        click.echo(load_schema_text(kind), nl=False)
        return
    click.echo(json.dumps(bundled_schema(kind), indent=2))


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
        help="Report format (default text): json is the seed's HealthReport, prometheus the text exposition "
        "format for node_exporter's textfile collector, html one self-contained page, markdown a table.",
    )(func)
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Machine-readable JSON (the seed's HealthReport); same as --format json.",
    )(func)
    func = click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        help="Colour the text report (auto: only on a terminal; never when NO_COLOR is set).",
    )(func)
    func = click.option(
        "--explain",
        is_flag=True,
        help="Text, Markdown and HTML: list every reason behind each account's status and score.",
    )(func)
    func = click.option(
        "--redact",
        is_flag=True,
        help="Mask e-mails and account ids everywhere (a***@***.com#<hash>), for screenshots and incident reports.",
    )(func)
    func = click.option(
        "--out",
        "out_path",
        type=click.Path(dir_okay=False, path_type=str),
        default=None,
        help="Write the report to this file (atomically: whole or not at all) instead of stdout.",
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
    return func


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
    if fmt != "text" or os.environ.get("NO_COLOR") or choice == "never":
        return False
    if choice == "always":
        return True
    return out_path is None and sys.stdout.isatty()


def emit_report(data: bytes, out_path: str | None, out_mode: int = 0o600) -> None:
    if out_path is None:
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
        return
    from pipeline.output import write_atomic

    write_atomic(out_path, data, mode=out_mode)


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
        click.echo(f"{stage}: {mask(note)}", err=True)
    if prober.failures:
        for failure in prober.failures:
            click.echo(f"{stage}: ERROR: {mask(failure)}", err=True)
        click.echo(
            f"{stage}: ERROR: {len(prober.failures)} rotated token(s) could not be written back; the old refresh "
            "token is spent, so those accounts will need a new login. Check the folder's permissions and free space.",
            err=True,
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
    CODEX_AUTH_FETCH_TIMEOUT_MS (per request, default 15000).
    \b
      codex-auth collect | codex-auth probe | jq -c 'select(.kind=="account") | [.email, .probe.outcome, .quota.windows]'
    """
    prober = make_prober(model, **live)
    write_output(prober.run(read_input(input_file, "probe")), output_file, flush_each=True)
    report_live_outcome("probe", prober)


@cli.command()
@input_option
@output_option
@now_option
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

    when = resolve_now(now)
    write_output(run_score(read_input(input_file, "score"), now=when, model=model), output_file)


@cli.command()
@input_option
@output_option
@now_option
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

    write_output(run_recommend(read_input(input_file, "recommend"), now=resolve_now(now)), output_file)


@cli.command()
@input_option
@now_option
@model_option
@format_options
@stage_command("render")
def render(
    input_file: IO[bytes],
    now: str | None,
    model: str | None,
    fmt: str | None,
    as_json: bool,
    color: str,
    explain: bool,
    out_path: str | None,
    redact: bool,
    out_mode: int,
) -> None:
    """Turn the record stream into the report (text, JSON, Prometheus, HTML or Markdown).

    \b
      codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render
      codex-auth render --json -i snapshot.ndjson --now 2026-03-03T14:30:00Z
      codex-auth render --format markdown --redact -i snapshot.ndjson
    """
    from pipeline.stages.render import render as run_render

    fmt = pick_format(fmt, as_json)
    data = run_render(
        read_input(input_file, "render"),
        now=resolve_now(now),
        fmt=fmt,
        model=model,
        color=use_color(color, out_path, fmt),
        explain=explain,
        redact=redact,
    )
    emit_report(data, out_path, out_mode)


def gate_option(func: F) -> F:
    return click.option(
        "--min-healthy",
        type=click.IntRange(min=0),
        metavar="N",
        default=None,
        help="Exit 3 when fewer than N accounts are healthy (the report is still written): a deployment gate.",
    )(func)


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
    **live_settings: Any,
) -> None:
    """Health and status report for every account in the pool.

    \b
    Collects, (with --live probes,) scores, recommends and renders in one process:
    the same as the pipe collect | [probe |] score | recommend | render. Exit codes:
    0 report written; 1 no accounts, storage error or write failure (one line on
    stderr); 2 usage error; 3 fewer healthy accounts than --min-healthy (the report
    is written all the same).
    \b
      codex auth report
      codex auth report --live
      codex auth report --json | jq '.accounts[] | select(.status == "healthy") | .email'
      codex auth report --json --out reports/health-$(date +%F).json
      codex auth report --min-healthy 2 --format markdown --out status.md || exit
    """
    from pipeline.porcelain import run_report

    fmt = pick_format(fmt, as_json)
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
    )
    for note in result.notes:
        click.echo(f"report: {note}", err=True)
    emit_report(result.output, out_path, out_mode)
    if prober is not None:
        report_live_outcome("report", prober, result.masker)
    if min_healthy is not None and result.healthy < min_healthy:
        click.echo(
            f"report: {result.healthy} healthy account{'' if result.healthy == 1 else 's'}, fewer than --min-healthy {min_healthy}",
            err=True,
        )
        raise SystemExit(int(ExitStatus.GATE))
