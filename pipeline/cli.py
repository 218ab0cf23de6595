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
from typing import IO, Any, TypeVar

import click

from pipeline import __version__
from pipeline.errors import ExitStatus, PipelineError

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
        "-i", "--input", "input_file", type=click.File("rb"), default="-", show_default=True,
        help="Read NDJSON records from this file (- for stdin).",
    )(func)


def output_option(func: F) -> F:
    return click.option(
        "-o", "--output", "output_file", type=click.File("wb"), default="-", show_default=True,
        help="Write NDJSON records to this file (- for stdout).",
    )(func)


def read_input(stream: IO[bytes], stage: str) -> Iterator[dict[str, Any]]:
    from pipeline.ndjson import read_records, stdin_hint

    name = getattr(stream, "name", "-")
    source = "stdin" if name in ("-", "<stdin>") or not isinstance(name, str) else name
    stdin_hint(stream, stage)
    return read_records(stream, source)


def write_output(records: Iterable[dict[str, Any]], stream: IO[bytes]) -> int:
    from pipeline.ndjson import write_records

    return write_records(records, stream)


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
    from pipeline.stages.collect import collect as run_collect, messages
    from pipeline.storage.pool import read_pool

    pool = read_pool(os.environ, resolve_now(now), storage_dir)
    for line in messages(pool):
        click.echo(f"collect: {line}", err=True)
    write_output(run_collect(pool), output_file)
    if pool.nothing_read:
        raise SystemExit(int(ExitStatus.FAILURE))


@cli.command()
@click.argument("kind", required=False, type=click.Choice(["pool", "account", "flagged", "recommendation", "report", "common"]))
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
