"""The ``codex-auth`` command line: one thin command per stage, ``report`` and ``forecast``
composing them, ``history``, ``serve``, ``watch``, ``repair``, ``schema`` and ``completion``.

Only click is imported at start-up. The root group knows its commands from
:mod:`pipeline.cli.table` and imports a command's module (``pipeline.cli.<module>``) only when
that command runs, so ``--help`` loads no command and ``collect`` never loads httpx or
jsonschema. Each command module imports the rest of the tool when its body runs.

Modules: :mod:`.options` (every shared option, declared once), :mod:`.common` (messages,
errors, records in and out), :mod:`.probing` (the live probe's set-up), :mod:`.refreshing`
(what ``serve`` and ``watch`` share), and one module per command family.
"""

from __future__ import annotations

import gettext
import importlib
import os
import sys
from typing import Any


def _as_written(message: str) -> str:
    return message


# click words its own help ("Show this message and exit.") through gettext, and each call
# searches the locale folders for a "messages" catalogue (the first loading locale: 2% of a
# default report). Everything this tool prints is English and held byte for byte by the
# goldens, so click's words are taken as written, never from another program's catalogue.
# click keeps the function it finds when it is imported; the standard library's own is put
# back at once, for everything else in the process.
if "click" not in sys.modules:
    _gettext = gettext.gettext
    gettext.gettext = _as_written
    try:
        import click
    finally:
        gettext.gettext = _gettext
import click  # noqa: E402 - after the lines above

from pipeline import __version__  # noqa: E402
from pipeline.cli.table import COMMANDS  # noqa: E402
from pipeline.errors import ExitStatus  # noqa: E402

ROOT_HELP = """Health and quota report for a pool of ChatGPT/Codex accounts.

\b
The report is five stages passing NDJSON records:
  codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render
(add `codex-auth probe` after collect for live quota). `codex-auth report`
runs them all in one process; `codex auth report` is the same command.
"""


class Interrupted(BaseException):
    """Ctrl-C inside a command, carried past click (which would print "Aborted!" and exit 1)
    to :func:`main`, which ends with 130."""


# How long Ctrl-C lets the work in flight finish (a refresh being answered journals its
# rotated token) before the process ends regardless: well within a second.
SETTLE_SECONDS = 0.6


class LazyGroup(click.Group):
    """A group whose commands live in the table and are imported when first asked for."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Bare ``codex-auth`` is a request for help, as for gh or kubectl: the help on stdout,
        exit 0 (click's own answer is the help on stderr and exit 2)."""
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = self.commands.get(cmd_name)
        if command is None:
            from pipeline.gc_pause import loading

            with loading():
                module = importlib.import_module(f"pipeline.cli.{entry.module}")
            command = getattr(module, cmd_name.replace("-", "_"))
            assert isinstance(command, click.Command)
            self.commands[cmd_name] = command
        return command

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's main, with every failure click itself reports (a usage error, an unknown
        command, a bad option value) put in our one-line style (common.usage_line) and Ctrl-C
        exiting 130 quietly instead of click's ``Aborted!`` and 1."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from pipeline.cli.common import PROG, say, usage_line

        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            say(usage_line(error))
            raise SystemExit(int(ExitStatus.USAGE)) from None
        except click.ClickException as error:
            say(f"{prog_name or PROG}: {error.format_message()}")
            raise SystemExit(error.exit_code) from None
        except click.Abort:
            _interrupted()
        raise SystemExit(code if isinstance(code, int) else int(ExitStatus.OK))

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        """``COMMAND`` as before: a bare ``codex-auth`` only prints this help."""
        return [*click.Command.collect_usage_pieces(self, ctx), "COMMAND [ARGS]..."]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, from the table (no command module is imported)."""
        rows = [(name, COMMANDS[name].summary) for name in self.list_commands(ctx)]  # wrapped, never cut
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    "codex-auth",
    cls=LazyGroup,
    help=ROOT_HELP,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="codex-auth")
@click.pass_context
def cli(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:  # bare `codex-auth`: the help, and success
        click.echo(ctx.get_help())
        ctx.exit(int(ExitStatus.OK))


def commands_of(group: click.Group) -> dict[str, click.Command]:
    """Every command of ``group`` by name, imported (for the checks that read every help)."""
    ctx = click.Context(group)
    return {name: command for name in group.list_commands(ctx) if (command := group.get_command(ctx, name))}


def all_commands() -> dict[str, click.Command]:
    """Every command of ``codex-auth``, imported."""
    return commands_of(cli)


def main(argv: list[str] | None = None, prog_name: str = "codex-auth") -> None:
    """The entry point. Whatever happens, the user gets at most one line on stderr per
    failure and a documented exit code, never a traceback: an exception nothing below
    expected becomes ``codex-auth: internal error: <type>`` (the message is left out: it
    could quote a secret) and exit 1."""
    if argv is None:  # the process's own entry point (the console script, python -m pipeline)
        from pipeline.gc_pause import keep_what_is_loaded

        keep_what_is_loaded()
    try:
        cli.main(args=argv, prog_name=prog_name)
    except SystemExit:
        raise
    except (KeyboardInterrupt, Interrupted):
        _interrupted()
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


def _interrupted() -> None:
    """Ctrl-C: no "Aborted!", no traceback, exit 130 (128 + SIGINT, as a shell reports it).
    Threads still working (a probe waiting for a slow answer) get :data:`SETTLE_SECONDS` to
    finish; then the process ends without waiting for them (the token journal holds every
    rotated token that arrived, and the next run or ``codex auth repair`` stores it)."""
    import threading
    import time

    _drop_stdout()
    deadline = time.monotonic() + SETTLE_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(int(ExitStatus.INTERRUPTED))
    raise SystemExit(int(ExitStatus.INTERRUPTED)) from None


def say(line: str) -> None:
    from pipeline.cli.common import say as say_line

    say_line(line)


def _drop_stdout() -> None:
    from pipeline.terminal import drop_stdout

    drop_stdout()


def _quiet_broken_pipe() -> None:
    from pipeline.cli.common import _quiet_broken_pipe as quiet

    quiet()
