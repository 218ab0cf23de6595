"""The documents say what the code does: every environment variable the code reads is on
docs/ENVIRONMENT.md (and the page names no variable the code does not read), every exit code a
document or a ``--help`` names is one of pipeline.errors.ExitStatus, and every file path the
documents name exists."""

from __future__ import annotations

import ast
import re

from pipeline.cli import all_commands
from pipeline.errors import ExitStatus
from testkit.helpers import ROOT, run_cli

PAGE = ROOT / "docs" / "ENVIRONMENT.md"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # the CHANGELOG names things as they were
CODES = {int(status) for status in ExitStatus}
WRAPPER_CODES = {126, 127}  # the codex wrapper's, as a shell gives them (pipeline/wrapper.py)

# Upper-case strings in pipeline/ that are not environment variables, and why.
NOT_VARIABLES = {
    "O_NOCTTY": "an os.open flag",
    "O_NOFOLLOW": "an os.open flag",
    "SC_CLK_TCK": "an os.sysconf name (the clock ticks of /proc/self/stat)",
    "OPENAI_API_KEY": "a field of Codex CLI's auth.json, never read from the environment",
}
_UPPER = re.compile(r"^_?[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
_READ = re.compile(r"""(?:environ(?:\.get)?|getenv|env\.get|env|_env\(env,)\s*[\[(]?\s*["']([A-Z_][A-Z0-9_]*)["']""")


def variables_read() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "pipeline").rglob("*.py"):
        text = path.read_text()
        names.update(_READ.findall(text))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _UPPER.match(node.value):
                names.add(node.value)
    return names - set(NOT_VARIABLES)


def test_every_variable_the_code_reads_is_on_the_page() -> None:
    read = variables_read()
    assert {"HOME", "PATH", "TERM", "CODEX_AUTH_REFRESH_LEASE_POLL_MS", "NO_COLOR"} <= read, "the scan finds them"
    page = PAGE.read_text()
    missing = sorted(name for name in read if f"`{name}`" not in page)
    assert missing == [], f"read by the code, not on docs/ENVIRONMENT.md: {missing}"


def test_the_page_names_only_variables_the_code_reads() -> None:
    rows = [line for line in PAGE.read_text().splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([A-Z_][A-Z0-9_]+)`", row.split(" | ")[0])}
    assert len(named) >= 20
    assert named - variables_read() == set()


def code_tables(text: str) -> list[set[int]]:
    """The first column of every table headed ``| code |`` or ``| exit |``."""
    tables, current = [], None
    for line in text.splitlines():
        if re.match(r"^\| (code|exit) \|", line):
            current = set()
            tables.append(current)
        elif current is not None and line.startswith("|"):
            first = line.split("|")[1].strip()
            if first.isdigit():
                current.add(int(first))
        else:
            current = None
    return tables


def test_every_exit_code_table_holds_real_codes() -> None:
    tables = {doc.name: code_tables(doc.read_text()) for doc in DOCS}
    assert sum(len(t) for t in tables.values()) >= 3
    for name, found in tables.items():
        for table in found:
            assert table <= CODES, f"{name}: {sorted(table - CODES)} are no ExitStatus"
    (report,) = tables["README.md"]
    assert report == {0, 1, 2, 3, 130, 141}, "report's table: every code report can give"
    (everything,) = tables["ENVIRONMENT.md"]
    assert everything == CODES, "the page lists every ExitStatus"


def test_every_exit_code_in_help_and_prose_is_real() -> None:
    texts = {f"{name} --help": run_cli([name, "--help"], validate=False).text for name in all_commands()}
    texts.update({doc.name: doc.read_text() for doc in DOCS})
    seen = 0
    for where, text in texts.items():
        for part in re.findall(
            r"Exit codes?\**:?\**(?: \([^)]*\))?:?(.{0,600}?)(?:\n\n|\Z)", " ".join(text.split(" ")), re.S
        ):
            for code in re.findall(r"(?:^|[;,:]|\band)\s+(\d{1,3})\s+(?=[a-z`(])", part):
                seen += 1
                assert int(code) in CODES | WRAPPER_CODES, f"{where}: exit {code}"
    assert seen >= 15


def test_every_file_path_the_documents_name_exists() -> None:
    pattern = re.compile(
        r"(?<![\w/.$~-])((?:pipeline|testkit|tests|docs|examples|scripts|bin|schemas|\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_/])"
    )
    missing, checked = [], 0
    for doc in DOCS:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            for match in pattern.finditer(line):
                path = match.group(1)
                if re.search(r"(^|/)[A-Z]+(\.|/|$)", path.split("/", 1)[1]):  # pipeline/report/NAME.py
                    continue
                checked += 1
                if not (ROOT / path).exists():
                    missing.append(f"{doc.relative_to(ROOT)}:{number}: {path}")
    assert checked >= 40
    assert missing == []


def test_the_page_is_linked_from_the_readme() -> None:
    assert "(docs/ENVIRONMENT.md)" in (ROOT / "README.md").read_text()
