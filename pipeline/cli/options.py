"""Every option that more than one command takes, declared once, and the parameter types
behind them. A command stacks these decorators; the help text, defaults and metavars live
here and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pipeline.live import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from pipeline.records import DEFAULT_MODEL, FORMAT_NAMES, PROBE_METHODS, Status

F = TypeVar("F", bound=Callable[..., Any])

FORECAST_FORMATS = ("text", "json", "markdown", "prometheus")

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


class AliasOption(click.Option):
    """An option with old names that still work but are not shown in ``--help``."""

    def __init__(self, *args: Any, hidden_names: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_names = hidden_names
        # ``opts`` is what help, errors and shell completion show; the parser gets every name
        self.all_opts = list(self.opts)
        self.opts = [name for name in self.opts if name not in hidden_names]

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        shown, self.opts = self.opts, self.all_opts
        try:
            super().add_to_parser(parser, ctx)
        finally:
            self.opts = shown


def dir_option(func: F) -> F:
    """``--dir``, and ``--project`` beside it (which pool of the folder)."""
    func = click.option(
        "--project",
        type=click.Path(exists=True, file_okay=False, path_type=str),
        expose_value=False,
        callback=_set_project,
        metavar="PATH",
        help="Read the pool codex-multi-auth uses for the project at PATH (its projects/<key>/ pool, "
        "or the global one when its settings say so; default: CODEX_AUTH_PROJECT).",
    )(func)
    return click.option(
        "--dir",
        "storage_dir",
        type=click.Path(file_okay=False, path_type=str),
        help="codex-multi-auth's storage folder (default: CODEX_MULTI_AUTH_DIR, else found as "
        "codex-multi-auth finds it; Codex CLI's auth.json when there is no pool).",
    )(func)


def _set_project(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """--project is the same as CODEX_AUTH_PROJECT, which every reader of the pool honours."""
    if value is not None:
        from pipeline.storage.pool import PROJECT_VAR

        os.environ[PROJECT_VAR] = os.path.abspath(value)


def input_option(func: F) -> F:
    return click.option(
        "-i",
        "--input",
        "input_file",
        type=click.File("rb"),
        metavar="FILE",
        default="-",
        show_default=True,
        help="Read NDJSON records from this file (- for stdin).",
    )(func)


class StageOutput(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.5; plain in 8.2
    """A stage's ``-o``: stdout for ``-``, else a :class:`pipeline.output.AtomicStream`
    (private, whole or not at all), dropped when the command ends without committing it."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if value == "-":
            return click.File("wb").convert(value, param, ctx)
        from pipeline.output import AtomicStream

        stream = AtomicStream(value)
        if ctx is not None:
            ctx.call_on_close(stream.discard)
        return stream


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--out",
        "--output",
        "output_file",
        cls=AliasOption,
        hidden_names=("--output",),
        type=StageOutput(),
        metavar="FILE",
        default="-",
        show_default=True,
        help="Write NDJSON records to this file (- for stdout): private (0600) and whole or not at all.",
    )(func)


def model_option(func: F) -> F:
    return click.option(
        "--model",
        metavar="MODEL",
        default=None,
        help=f"Model whose limits count (default {DEFAULT_MODEL}; live mode probes with it and the report echoes it).",
    )(func)


def live_option(func: F) -> F:
    """``--live/--no-live`` of report, serve and watch: one name, one meaning."""
    return click.option(
        "--live/--no-live",
        default=False,
        help="Probe live quota for every account (see `codex-auth probe --help`); --no-live, the default, "
        "reads only what is stored and sends no request.",
    )(func)


def redact_option(func: F) -> F:
    return click.option(
        "--redact",
        is_flag=True,
        help="Mask e-mails and account ids everywhere (a***@***.com#<hash>), for screenshots and incident reports.",
    )(func)


def color_option(func: F) -> F:
    return click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        help="Colour the text report. always/never win over the environment; auto: off when NO_COLOR "
        "is set, on when FORCE_COLOR or CLICOLOR_FORCE is, off when TERM=dumb, else only on a terminal.",
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
    func = color_option(func)
    func = click.option(
        "--explain",
        is_flag=True,
        help="List every reason behind each account's status and score, with its points: text, Markdown "
        "and HTML show them, JSON adds a `factors` list per account; Prometheus has no place for them (exit 2).",
    )(func)
    func = redact_option(func)
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
    func = click.option(
        "--compact",
        is_flag=True,
        help="With --json: the document on one line, e.g. to append one report per line to a file "
        "(forecast --json is always one line; the report is indented for reading).",
    )(func)
    return sort_option(func)


def sort_option(func: F) -> F:
    return click.option(
        "--sort",
        type=click.Choice(["pool", "problems"]),
        default="pool",
        show_default=True,
        help="The order of the accounts: pool (codex-multi-auth's order) or problems (worst first: "
        "error, rate-limited, warning, disabled, healthy; the lowest health score first within each).",
    )(func)


class StatusList(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.5; plain in 8.2
    """``warning,rate-limited,error``: a comma-separated list of account statuses."""

    name = "statuses"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[Status, ...]:
        if isinstance(value, tuple):
            return value
        from pipeline.records import STATUSES, is_status

        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        chosen = [part for part in parts if is_status(part)]
        if len(chosen) < len(parts) or not chosen:
            self.fail(f"{value!r}: give one or more of {', '.join(STATUSES)}, separated by commas", param, ctx)
        return tuple(dict.fromkeys(chosen))

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        """Each status not yet in the list, after what is typed so far (``warning,ra`` gives
        ``warning,rate-limited``)."""
        from click.shell_completion import CompletionItem

        from pipeline.records import STATUSES

        done, _, last = incomplete.rpartition(",")
        taken = set(done.split(",")) if done else set()
        prefix = done + "," if done else ""
        return [CompletionItem(prefix + s) for s in STATUSES if s.startswith(last) and s not in taken]


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
        metavar="N",
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help=f"Probes in flight at once (one request per account; at most {MAX_CONCURRENCY}).",
    )(func)
    func = click.option(
        "--max-accounts",
        type=click.IntRange(min=1),
        metavar="N",
        default=None,
        help="Probe at most the first N enabled accounts.",
    )(func)
    func = click.option(
        "--max-probes", type=click.IntRange(min=1), metavar="N", default=None, help="Send at most N quota probes."
    )(func)
    func = click.option(
        "--cached-only",
        is_flag=True,
        help="Never refresh tokens or write anything: probe only accounts whose access token is still usable.",
    )(func)
    func = click.option(
        "--reset-credits",
        is_flag=True,
        help="Also read each account's rate-limit reset credits with their expiry (one paced request per "
        "account that holds any; never redeems one). Kept beside the pool for reports without --live.",
    )(func)
    return func


def gate_option(func: F) -> F:
    return click.option(
        "--min-healthy",
        type=click.IntRange(min=0),
        metavar="N",
        default=None,
        help="Exit 3 when fewer than N accounts are healthy (the report is still written): a deployment gate.",
    )(func)


def history_file_option(func: F) -> F:
    return click.option(
        "--history",
        "history_file",
        metavar="PATH",
        type=click.Path(path_type=str),
        default=None,
        help="The history database (default: CODEX_AUTH_HISTORY, else "
        "$XDG_STATE_HOME/codex-auth-report/history.sqlite3).",
    )(func)


def history_options(record: bool = True) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        func = history_file_option(func)
        func = click.option("--no-history", is_flag=True, help="Neither read nor write the history.")(func)
        if record:
            func = click.option(
                "--record",
                is_flag=True,
                help="Add this run to the history even without --live (live runs always add one).",
            )(func)
        return func

    return decorate


def horizon_option(func: F) -> F:
    return click.option(
        "--horizon",
        metavar="DURATION",
        default=None,
        help="How far ahead the pool forecast looks (e.g. 24h, 3d; default 7d: one weekly window, so every "
        "weekly reset in the pool falls inside it).",
    )(func)


def interval_option(func: F) -> F:
    return click.option(
        "--interval",
        metavar="DURATION",
        default=None,
        help="Time between refreshes: 30s, 5m, 1h or seconds (default 5m with --live, 30s without). "
        "Honoured as given down to 1s; a live interval under 60s is warned about.",
    )(func)
