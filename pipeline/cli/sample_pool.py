"""``sample-pool``: the bundled sample pool written into a folder, so that anyone who installed
the tool (pip, pipx) can try it without a checkout."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pipeline.cli.common import say, stage_command
from pipeline.errors import OutputError

# The moment the sample pool describes (its accounts were last used, cached, flagged then).
SAMPLE_NOW = "2026-03-03T14:30:00Z"


@click.command("sample-pool")
@click.argument("folder", type=click.Path(path_type=Path), metavar="DIR")
@stage_command("sample-pool")
def sample_pool(folder: Path) -> None:
    """Write a sample pool into DIR (new or empty), to try every command on.

    \b
    Four accounts and a flagged one, as codex-multi-auth keeps them, with made-up
    tokens that no service accepts; dated 2026-03-03 14:30 UTC, so pass that time
    as --now. Files are made 0600 and folders 0700; a DIR that holds anything is
    refused. Exit codes: 0 written; 1 DIR not empty or not writable; 2 usage error.
    \b
      codex-auth sample-pool try-pool
      codex-auth report --dir try-pool --now 2026-03-03T14:30:00Z
      codex-auth report --dir try-pool --now 2026-03-03T14:30:00Z --format html -o report.html
    """
    source = bundled_pool()
    names = sorted(entry.name for entry in source.iterdir() if entry.name.endswith(".json"))
    _make_folder(folder)
    for name in names:
        _write_private(folder / name, (source / name).read_bytes())
    say(f"sample-pool: wrote {len(names)} files to {folder}; try: codex-auth report --dir {folder} --now {SAMPLE_NOW}")


def bundled_pool() -> Path:
    """The sample pool: ``pipeline/sample_pool`` in an installed package (the wheel carries
    examples/sample-pool there), else the checkout's ``examples/sample-pool``."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "sample_pool"
    return installed if installed.is_dir() else package.parent / "examples" / "sample-pool"


def _make_folder(folder: Path) -> None:
    """``folder`` and its missing parents, each 0700; an existing one must be an empty folder."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputError(f"{folder} is not a folder: give a new or empty folder")
    if folder.is_dir():
        try:
            if any(folder.iterdir()):
                raise OutputError(f"{folder} is not empty: give a new or empty folder (nothing was written)")
        except PermissionError:
            raise OutputError(f"{folder}: permission denied: give a folder you can write") from None
        return
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)  # whatever the umask
        except OSError as exc:
            raise OutputError(f"cannot create {path}: {exc.strerror or exc}: give a folder you can write") from None


def _write_private(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}: give a folder you can write") from None
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
