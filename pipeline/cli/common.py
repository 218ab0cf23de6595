"""What every command body uses: one line on stderr, our errors turned into
``codex-auth COMMAND: message`` and an exit code, the records in and out, the report out, and
the checks that several commands share.

Every line a command writes on stderr goes through :func:`note` (or :func:`line`): the one
style, ``codex-auth COMMAND: what went wrong: what to do``. Click's own usage errors are put
in the same style by the root group (:func:`usage_line`, ``pipeline.cli.LazyGroup.main``)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from pipeline.cli.options import FORECAST_FORMATS
from pipeline.errors import ExitStatus, PipelineError

if TYPE_CHECKING:  # for the annotations only: the module loads when a command runs
    from pipeline.context import RunContext
    from pipeline.in_process import HistoryOptions

F = TypeVar("F", bound=Callable[..., Any])


def say(line: str) -> None:
    """One line on stderr, scrubbed of the run's secrets, control characters shown as escapes
    (pipeline.visible). A stderr that cannot take it is ignored: there is nowhere else to say anything."""
    from pipeline.scrubbing import scrub
    from pipeline.visible import visible

    try:
        click.echo(visible(scrub(line)), err=True)
    except (OSError, ValueError):
        pass


tell = say  # for commands whose own ``say`` adds a prefix or a mask

PROG = "codex-auth"


def program() -> str:
    """The name the tool was run by (``codex-auth``, or ``codex auth`` through the wrapper)."""
    ctx = click.get_current_context(silent=True)
    name = ctx.find_root().info_name if ctx is not None else None
    return name or PROG


def line(command: str, message: str) -> str:
    """The one style of what a command says on stderr: ``codex-auth COMMAND: message``."""
    return f"{program()} {command}: {message}"


def note(command: str, message: str) -> None:
    """``codex-auth COMMAND: message`` on stderr (see :func:`say`)."""
    say(line(command, message))


def usage_line(error: click.UsageError) -> str:
    """Click's usage error (three lines and a blank) as one line in our style, with the way to
    the command's help: ``codex-auth report: invalid value for '--format': ...: see
    'codex-auth report --help'``."""
    path = error.ctx.command_path if error.ctx is not None else PROG
    message = error.format_message().strip().rstrip(".")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[:1].lower() + message[1:]
    return f"{path}: {message}: see '{path} --help'"


def fail(stage: str, error: PipelineError) -> None:
    note(stage, str(error))
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


def run_context(now: str | None, model: str | None = None, *, pinned: bool = True) -> RunContext:
    """The run's one context (:class:`pipeline.context.RunContext`), from ``--now`` and
    ``--model``. ``pinned``: without ``--now``, the clock now (a command reading storage
    dates all its work by its start); else ``now`` stays None, for a stage to take its
    stream's own time, or a live run its clock after probing."""
    from pipeline.context import RunContext

    context = RunContext.from_options(now, model)
    return RunContext(context.instant(), model) if pinned else context


def resolve_now(value: str | None) -> int:
    """``--now``, else the clock now."""
    return run_context(value).instant()


def stream_now(value: str | None) -> int | None:
    """``--now`` of a stage reading records: None lets the stage take the stream's own time."""
    return run_context(value, pinned=False).now


def source_of(stream: IO[bytes]) -> str:
    name = getattr(stream, "name", "-")
    return "stdin" if name in ("-", "<stdin>") or not isinstance(name, str) else name


def read_input(stream: IO[bytes], stage: str) -> Iterator[dict[str, Any]]:
    from pipeline.ndjson import read_records, stdin_hint

    stdin_hint(stream, stage, line(stage, ""))
    return read_records(stream, source_of(stream), require_pool=True)


def write_output(records: Iterable[dict[str, Any]], stream: IO[bytes], *, flush_each: bool = False) -> int:
    """The records as NDJSON (flushed after each with ``flush_each``, for ``probe``); a stream
    that refuses them is one line (see output.write_stream)."""
    from pipeline.ndjson import write_records

    count = write_records(records, stream, flush_each=flush_each)
    commit = getattr(stream, "commit", None)
    if commit is not None:
        commit()  # a -o FILE: renamed into place only now that every record is written
    return count


def pick_format(fmt: str | None, as_json: bool) -> str:
    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json conflicts with --format {fmt}")
    return "json" if as_json else (fmt or "text")


def use_color(choice: str, out_path: str | None, fmt: str) -> bool:
    from pipeline.terminal import want_color

    if fmt != "text":
        return False
    return want_color(choice, env=os.environ, to_terminal=sys.stdout.isatty(), to_file=out_path is not None)


def check_live_clock(now: str | None, live: bool) -> None:
    """One clock for a live run: the service answers now, so a live run is dated by the real
    clock (its token expiry checks, quota samples, history observations and quota cache) and
    refuses another time rather than mix two."""
    if now and live:
        raise click.UsageError(
            "--now cannot be used with --live: a live run reads the service as it is now, so its token "
            "checks, quota samples and history are dated by the real clock (use --now without --live to "
            "look at stored data as of another time)"
        )


def check_compact(compact: bool, fmt: str) -> None:
    if compact and fmt != "json":
        raise click.UsageError(f"--compact is for --json (one line instead of indented), not --format {fmt}")


def check_explain(explain: bool, fmt: str) -> None:
    if explain and fmt == "prometheus":
        raise click.UsageError(
            "--explain has no place in Prometheus metrics; use it with text, markdown, html or json "
            "(where each account gets a `factors` list)"
        )


def emit_report(data: bytes | Iterable[bytes], out_path: str | None, out_mode: int = 0o600) -> None:
    """The report (its bytes, or its pieces in order), scrubbed of the run's secrets, on
    stdout or into ``--out``."""
    from pipeline.output import write_out
    from pipeline.scrubbing import scrub_bytes, scrub_parts

    write_out(out_path, scrub_bytes(data) if isinstance(data, bytes) else scrub_parts(data), mode=out_mode)


def check_gate(stage: str, healthy: int, min_healthy: int | None) -> None:
    if min_healthy is not None and healthy < min_healthy:
        note(stage, f"{healthy} healthy account{'' if healthy == 1 else 's'}, fewer than --min-healthy {min_healthy}")
        raise SystemExit(int(ExitStatus.GATE))


def check_forecast_format(fmt: str) -> None:
    if fmt not in FORECAST_FORMATS:
        raise click.UsageError(f"the forecast comes as {', '.join(FORECAST_FORMATS)}, not {fmt}")


def resolve_history(
    history_file: str | None, no_history: bool, record: bool = False, *, used: bool = True
) -> HistoryOptions:
    """``--history`` / ``--no-history`` / ``--record``, checked; ``used`` False (a report
    that records nothing): checked only, the history's place left unresolved."""
    from pipeline.in_process import HistoryOptions

    if history_file and no_history:
        raise click.UsageError("--history conflicts with --no-history")
    if record and no_history:
        raise click.UsageError("--record conflicts with --no-history")
    if not used:
        return HistoryOptions(None, record)
    from pipeline.history.location import history_path

    return HistoryOptions(history_path(os.environ, history_file, no_history), record)


def parse_horizon(value: str | None) -> int | None:
    from pipeline.clock import parse_duration

    return parse_duration(value, "--horizon") if value else None
