"""``completion``: the shell completion scripts ``codex-auth completion SHELL`` prints, and the
answers the ``codex`` wrapper gives for ``codex auth <TAB>``.

Both speak click's protocol: the shell calls the program with ``_CODEX_AUTH_COMPLETE`` (for
``codex-auth``) or ``_CODEX_COMPLETE`` (for ``codex``) set to ``<shell>_complete`` and the
words typed so far in ``COMP_WORDS``/``COMP_CWORD``; the program prints the candidates.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from pipeline.cli.common import emit_report, stage_command

SHELLS = ("bash", "zsh", "fish")
TOOL_VAR = "_CODEX_AUTH_COMPLETE"
WRAPPER_VAR = "_CODEX_COMPLETE"  # pipeline.wrapper.COMPLETE_VAR


def wrapper_group(tool: click.Group) -> click.Group:
    """``codex`` as click sees it for completion: one subcommand, ``auth``, which is the tool."""
    return click.Group("codex", commands={"auth": tool})


def script(tool: click.Group, shell: str, *, wrapper: bool = True) -> str:
    """The completion script for ``codex-auth`` and (``wrapper``) for ``codex auth``."""
    parts = [_source(tool, "codex-auth", TOOL_VAR, shell)]
    if wrapper:
        parts.append(_source(wrapper_group(tool), "codex", WRAPPER_VAR, shell))
    return "\n".join(parts)


def _source(command: click.Command, prog: str, var: str, shell: str) -> str:
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click.Choice limits the shells
        raise click.UsageError(f"no completion for {shell}")
    text = cls(command, {}, prog, var).source()
    return text if text.endswith("\n") else text + "\n"


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]), metavar="SHELL")
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
    from pipeline.cli import cli

    emit_report(script(cli, shell, wrapper=not no_wrapper).encode("utf-8"), None)
