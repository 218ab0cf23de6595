"""The import rule of docs/ARCHITECTURE.md, checked on the source: imports go down the floors,
never up; nothing but the CLI, the in-process runs and the stages themselves imports a stage; no
module takes part in an import cycle (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.records import FORMAT_NAMES, STATUSES
from pipeline.report import FORMATS
from testkit.helpers import ROOT

PACKAGE = ROOT / "pipeline"

# From the top floor (0) down. A module may import modules on its own floor or below.
FLOORS: list[tuple[str, ...]] = [
    ("pipeline.cli", "pipeline.wrapper", "pipeline.__main__"),
    ("pipeline.in_process", "pipeline.service"),
    ("pipeline.stages",),
    ("pipeline.report", "pipeline.live"),
    (
        "pipeline.storage",
        "pipeline.policy",
        "pipeline.scoring",
        "pipeline.choosing",
        "pipeline.forecast",
        "pipeline.forecast_pool",
        "pipeline.history",
        "pipeline.events",
    ),
    (
        "pipeline.records",
        "pipeline.clock",
        "pipeline.context",
        "pipeline.humanize",
        "pipeline.quota",
        "pipeline.redact",
        "pipeline.errors",
        "pipeline.ndjson",
        "pipeline.schema",
        "pipeline.output",
        "pipeline.numbers",
        "pipeline.scrubbing",
        "pipeline.vocabulary",
        "pipeline.gc_pause",
        "pipeline.pool_record",
        "pipeline.terminal",
        "pipeline.visible",
        "pipeline.loopback",
        "pipeline",
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor_of(module: str) -> int:
    best: tuple[int, int] | None = None  # (prefix length, floor): the longest prefix decides
    for floor, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), floor)
    assert best is not None, f"{module} is on no floor: add it to FLOORS and docs/ARCHITECTURE.md"
    return best[1]


def imports_of(path: Path) -> set[str]:
    """Every pipeline module the file imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("pipeline"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(
                    candidate
                    if (PACKAGE / Path(*candidate.split(".")[1:])).with_suffix(".py").exists()
                    or (PACKAGE / Path(*candidate.split(".")[1:]) / "__init__.py").exists()
                    else node.module
                )
    return found


GRAPH = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_go_down(module: str) -> None:
    upward = [target for target in GRAPH[module] if floor_of(target) < floor_of(module)]
    assert not upward, f"{module} (floor {floor_of(module)}) imports from a higher floor: {upward}"


def test_only_the_top_imports_stages() -> None:
    allowed = ("pipeline.cli", "pipeline.in_process", "pipeline.stages")
    offenders = {
        module: sorted(t for t in targets if t.startswith("pipeline.stages"))
        for module, targets in GRAPH.items()
        if not module.startswith(allowed) and any(t.startswith("pipeline.stages") for t in targets)
    }
    assert not offenders


def test_no_import_cycles() -> None:
    modules = set(GRAPH)
    edges = {m: {t for t in GRAPH[m] if t in modules and t != m} for m in modules}
    # A package's own __init__ importing its submodules is not a cycle of concern; leave those
    # edges out (``pipeline.report`` importing ``pipeline.report.view`` is the package's door).
    for module in modules:
        edges[module] = {t for t in edges[module] if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module)


def test_the_rule_can_fail() -> None:
    """The checks above see what they must: a stage importing the CLI would be caught."""
    assert floor_of("pipeline.cli") < floor_of("pipeline.stages.score")
    assert "pipeline.scoring" in GRAPH["pipeline.stages.score"]
    assert "pipeline.report.view" in GRAPH["pipeline.report.text"]


def test_one_table_of_formats() -> None:
    assert tuple(FORMATS) == FORMAT_NAMES


def test_every_status_has_its_words() -> None:
    from pipeline.report.html import SYMBOLS
    from pipeline.report.text import _COLORS
    from pipeline.report.wording import STATUS_LABELS

    for table in (STATUS_LABELS, _COLORS, SYMBOLS):
        assert tuple(table) == STATUSES


def test_record_literals_match_the_schemas() -> None:
    from typing import get_args

    from pipeline.records import PROBE_METHODS, PROBE_OUTCOMES, Kind
    from pipeline.schema import load_schema

    assert list(STATUSES) == load_schema("common")["$defs"]["status"]["enum"]
    probe = load_schema("account")["$defs"]["probeOutcome"]["properties"]
    assert list(PROBE_OUTCOMES) == probe["outcome"]["enum"]
    assert [*PROBE_METHODS, None] == probe["method"]["enum"]
    assert set(get_args(Kind)) == {"pool", "account", "flagged", "recommendation"}


MAX_MODULE_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert len(sizes) > 50, "the walk found the package"
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}, "split along a natural seam"
