"""No file of the repository holds a merge's conflict markers (a merge once left them in
docs/ARCHITECTURE.md, and nothing failed). Every file is read, what ``.gitignore`` leaves out
aside (the virtual environment, caches, build output): a line that starts with seven ``<``
and a space, or seven ``>`` and a space, is a conflict left unresolved. ``=======`` alone is
not looked for: Markdown and reStructuredText use it for headings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from testkit.helpers import ROOT

OURS, THEIRS = b"<" * 7 + b" ", b">" * 7 + b" "  # spelt so, this file holds neither
IGNORED_DIRS = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    "build",
    "dist",
    "bench-results",
}


def repository_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            continue  # a link (schemas/) is read where it leads
        if path.is_dir():
            if path.name in IGNORED_DIRS or path.name.endswith(".egg-info") or path == root / ".ci" / "run":
                continue
            yield from repository_files(path)
        elif path.is_file():
            yield path


def markers(path: Path) -> list[tuple[int, str]]:
    """The conflict markers in ``path``: line number, the line's start."""
    lines = enumerate(path.read_bytes().splitlines(), 1)
    return [(n, line[:60].decode("utf-8", "replace")) for n, line in lines if line.startswith((OURS, THEIRS))]


def test_no_file_holds_conflict_markers() -> None:
    files = list(repository_files(ROOT))
    assert len(files) > 100 and ROOT / "docs" / "ARCHITECTURE.md" in files, "the tree was read"
    found = [f"{path.relative_to(ROOT)}:{n}: {line}" for path in files for n, line in markers(path)]
    assert found == [], "conflict markers left by a merge:\n" + "\n".join(found)


def test_a_conflict_left_in_a_file_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_bytes(b"# Title\n=======\n" + OURS + b"HEAD\nours\n=======\ntheirs\n" + THEIRS + b"branch\n")
    assert markers(page) == [(3, "<" * 7 + " HEAD"), (7, ">" * 7 + " branch")], "a heading's underline is no marker"
