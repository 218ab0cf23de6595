"""Start-up stays light: each command loads the modules it needs and no others.

A command runs in a fresh interpreter that records ``sys.modules`` on exit. Heavy or
command-specific modules are held to the commands that use them: httpx only live, the
validators only where stdin is validated (and jsonschema itself only to word an error),
orjson only where JSON is read or written, neither subprocess nor the CLI in the wrapper's
hand-over (an exec: the modules are recorded just before it), each report format only when asked for, the history (sqlite3) only where it is used.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from pipeline.cli.table import COMMANDS as TABLE
from testkit import poolkit
from testkit.helpers import ROOT

NOW = str(poolkit.SEED_NOW)
PROBE = """
import atexit, sys
def dump():
    # the modules, and "@cached module.function" for each of our functools caches filled
    cached = [
        f"@cached {name}.{attr}"
        for name, module in list(sys.modules.items()) if name.startswith("pipeline")
        for attr, value in list(vars(module).items())
        if callable(getattr(value, "cache_info", None)) and value.cache_info().currsize
    ]
    with open(sys.argv[1], "w") as out:
        out.write("\\n".join(sorted(sys.modules) + cached))
atexit.register(dump)
if sys.argv[2] == "wrapper":
    import os
    def execve(*args):
        dump()
        os._exit(0)
    os.execve = execve
    from pipeline.wrapper import main
else:
    from pipeline.cli import main
main(sys.argv[3:])
"""

# Never at start-up: only the commands named in the tests below may load these.
LIVE = ("httpx", "httpcore", "pipeline.live.service", "pipeline.stages.probe")
VALIDATION = ("jsonschema", "jsonschema_rs", "referencing", "pipeline.schema")
# The token journal check that every run makes costs a stat call or two: hashing, random
# names and the like load only where a token or a file is written.
ELSEWHERE = (
    "sqlite3",
    "_sqlite3",
    "prometheus_client",
    "subprocess",
    "signal",
    "tempfile",
    "hashlib",
    "secrets",
    "pipeline.live.recovery",
)
# Compiled where they are used, never by a default report of printable ASCII names: the
# secret shapes (serve's error texts), --redact's e-mail pattern, the control characters.
LAZY_PATTERNS = (
    "@cached pipeline.redact._patterns",
    "@cached pipeline.redact._email_or_word",
    "@cached pipeline.visible.control",
)
# pathlib (and the urllib.parse, ipaddress and fnmatch it brings) costs more to import and use
# than the rest of the storage reading: the default report and collect work on string paths.
PATH_MACHINERY = ("pathlib", "urllib", "ipaddress", "fnmatch")
# click's words are taken as written (pipeline/cli/__init__.py): no catalogue search, no locale.
TRANSLATION = ("locale",)
FORMATS = ("pipeline.report.text", "pipeline.report.json_report", "pipeline.report.html", "pipeline.report.prometheus")


def loaded_modules(
    tmp_path: Path, *args: str, entry: str = "cli", stdin: bytes = b"", env: dict[str, str] | None = None
) -> set[str]:
    out = tmp_path / "modules.txt"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), entry, *args], cwd=ROOT, env=env, input=stdin, capture_output=True
    )
    return set(out.read_text().splitlines())


def loads(modules: set[str], *names: str) -> list[str]:
    """Which of ``names`` (a module or a package and everything under it) were loaded."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.fixture
def stream(tmp_path: Path) -> dict[str, bytes]:
    """The seed pool's stream after collect, score and recommend, as the stages read them."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    steps: dict[str, bytes] = {}
    data = b""
    for stage in ("collect", "score", "recommend"):
        argv = [sys.executable, "-m", "pipeline", stage, "--now", NOW]
        if stage == "collect":
            argv += ["--dir", str(pool)]
        data = subprocess.run(argv, input=data, capture_output=True, check=True, cwd=ROOT).stdout
        steps[stage] = data
    return steps


@pytest.mark.parametrize(
    "args",
    [["--help"], ["collect", "--help"], ["schema", "--help"], ["--version"], ["serve", "--help"], ["watch", "--help"]],
)
def test_help_loads_no_stage_and_no_json(tmp_path: Path, args: list[str]) -> None:
    modules = loaded_modules(tmp_path, *args)
    assert "pipeline.cli" in modules
    # the command table: the root's help imports no command module, a command's help only its own
    shared = ("table", "options", "common", "probing", "refreshing")
    commands = sorted(m for m in modules if m.startswith("pipeline.cli.") and m.split(".")[2] not in shared)
    assert commands == ([f"pipeline.cli.{TABLE[args[0]].module}"] if args[0] in TABLE else [])
    assert (
        loads(modules, *LIVE, *VALIDATION, *ELSEWHERE, *FORMATS, "orjson", "pipeline.storage", "pipeline.stages") == []
    )
    # orjson brings json and dataclasses with it; help needs neither, nor pathlib
    assert loads(modules, "json", "dataclasses", "pathlib") == []


def test_printing_a_schema_loads_no_validator(tmp_path: Path) -> None:
    modules = loaded_modules(tmp_path, "schema", "report")
    assert loads(modules, "pipeline.schema") == ["pipeline.schema"]
    assert loads(modules, "jsonschema", "jsonschema_rs", "referencing", *LIVE, *ELSEWHERE, "pipeline.stages") == []


def test_collect_reads_storage_and_nothing_more(tmp_path: Path) -> None:
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    modules = loaded_modules(tmp_path, "collect", "--dir", str(pool), "--now", NOW)
    assert loads(modules, "pipeline.stages.collect", "orjson") == ["pipeline.stages.collect", "orjson"]
    assert loads(modules, *LIVE, *VALIDATION, *ELSEWHERE, *FORMATS, "pipeline.policy", "pipeline.choosing") == []
    assert loads(modules, *PATH_MACHINERY) == []


@pytest.mark.parametrize(
    ("stage", "args", "source", "needs", "never"),
    [
        ("score", [], "collect", ("pipeline.policy",), ("pipeline.choosing", "pipeline.report")),
        ("recommend", [], "score", ("pipeline.choosing",), ("pipeline.policy", "pipeline.report")),
        ("render", [], "recommend", ("pipeline.report.text",), ("pipeline.report.json_report",)),
        ("render", ["--json"], "recommend", ("pipeline.report.json_report",), ("pipeline.report.text",)),
    ],
)
def test_stages_load_the_fast_validator_not_jsonschema(
    tmp_path: Path,
    stream: dict[str, bytes],
    stage: str,
    args: list[str],
    source: str,
    needs: tuple[str, ...],
    never: tuple[str, ...],
) -> None:
    modules = loaded_modules(tmp_path, stage, *args, "--now", NOW, stdin=stream[source])
    assert loads(modules, "jsonschema_rs", "pipeline.schema", *needs) == ["jsonschema_rs", "pipeline.schema", *needs]
    # Valid input never loads the pure-Python validator: it only words an error.
    assert loads(modules, "jsonschema", "referencing", *LIVE, *ELSEWHERE, "pipeline.storage", *never) == []


def test_an_invalid_record_brings_in_jsonschema_to_word_the_error(tmp_path: Path) -> None:
    """The guard above can fail: an error is worded by jsonschema."""
    modules = loaded_modules(tmp_path, "score", stdin=b'{"kind":"account","index":-1,"enabled":true}\n')
    assert loads(modules, "jsonschema") == ["jsonschema"]


@pytest.mark.parametrize(
    ("entry", "args", "fmt"),
    [
        ("cli", ["report"], "pipeline.report.text"),
        ("cli", ["report", "--json"], "pipeline.report.json_report"),
        ("wrapper", ["auth", "report"], "pipeline.report.text"),
    ],
)
def test_default_report_is_light(tmp_path: Path, entry: str, args: list[str], fmt: str) -> None:
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(os.environ, CODEX_MULTI_AUTH_DIR=str(pool))
    modules = loaded_modules(tmp_path, *args, "--now", NOW, entry=entry, env=env)
    assert loads(modules, "pipeline.in_process", fmt) == ["pipeline.in_process", fmt]
    others = [f for f in FORMATS if f != fmt]
    assert loads(modules, *LIVE, *VALIDATION, *ELSEWHERE, *others, *PATH_MACHINERY, *TRANSLATION) == []
    # the masker, the live probe's set-up, the history and the Prometheus writer load only with
    # --redact, --live, --record and --format prometheus
    assert (
        loads(modules, "pipeline.redact", "pipeline.cli.probing", "pipeline.history", "pipeline.report.exposition")
        == []
    )
    assert sorted(modules.intersection(LAZY_PATTERNS)) == []
    assert loads(modules, "pipeline.storage.codex_cli") == [], "a pool was found: no auth.json to read"


def test_default_report_defines_no_dataclass_or_typeddict(tmp_path: Path) -> None:
    """Making a dataclass costs most of a millisecond at start-up, a TypedDict a little less:
    the modules a default report loads define plain classes (pipeline.plain) instead."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(os.environ, CODEX_MULTI_AUTH_DIR=str(pool))
    modules = loaded_modules(tmp_path, "report", "--now", NOW, env=env)
    ours = sorted(m for m in modules if m.startswith("pipeline") and not m.startswith("@"))
    assert "pipeline.storage.pool" in ours and "pipeline.report.view" in ours
    made = [
        f"{name}.{attr}"
        for name in ours
        for attr, value in vars(importlib.import_module(name)).items()
        if isinstance(value, type)
        and value.__module__ == name
        and (dataclasses.is_dataclass(value) or typing.is_typeddict(value))
    ]
    assert made == []


def test_redact_compiles_its_pattern(tmp_path: Path) -> None:
    """The guard above can fail: --redact does compile the e-mail pattern."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(os.environ, CODEX_MULTI_AUTH_DIR=str(pool))
    modules = loaded_modules(tmp_path, "report", "--redact", "--now", NOW, env=env)
    assert "@cached pipeline.redact._email_or_word" in modules


def test_wrapper_hands_over_without_the_cli(tmp_path: Path) -> None:
    real = tmp_path / "bin" / "codex"
    real.parent.mkdir()
    real.write_text("#!/bin/sh\nexit 0\n")
    real.chmod(0o755)
    env = dict(os.environ, PATH=f"{real.parent}{os.pathsep}{os.environ['PATH']}")
    modules = loaded_modules(tmp_path, "--version", entry="wrapper", env=env)
    assert "pipeline.wrapper" in modules
    assert loads(modules, "subprocess", "click", "pipeline.cli", "orjson", *VALIDATION, *LIVE) == []


def test_live_report_loads_httpx(tmp_path: Path) -> None:
    """The guards above can fail: the live path does import httpx."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(
        os.environ,
        CODEX_MULTI_AUTH_DIR=str(pool),
        CODEX_AUTH_BASE_URL="http://127.0.0.1:9/backend-api",
        CODEX_AUTH_TOKEN_URL="http://127.0.0.1:9/t",
        CODEX_AUTH_FETCH_TIMEOUT_MS="200",
    )
    modules = loaded_modules(tmp_path, "report", "--live", "--cached-only", "--max-probes", "1", env=env)
    assert "httpx" in modules


def test_history_is_loaded_only_where_it_is_used(tmp_path: Path) -> None:
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    env = dict(os.environ, CODEX_MULTI_AUTH_DIR=str(pool), CODEX_AUTH_HISTORY=str(tmp_path / "h.sqlite3"))
    forecast = loaded_modules(tmp_path, "forecast", env=env)
    assert "pipeline.report.forecast_view" in forecast
    assert "sqlite3" not in forecast, "no history file yet: nothing to read"
    recorded = loaded_modules(tmp_path, "report", "--record", env=env)
    assert "sqlite3" in recorded and "pipeline.history.store" in recorded
    assert (tmp_path / "h.sqlite3").exists()


FREEZE_PROBE = """
import atexit, gc, sys
out, how, *args = sys.argv[1:]
atexit.register(lambda: open(out, "w").write(str(gc.get_freeze_count())))
from pipeline.cli import main
if how == "entry":
    sys.argv = ["codex-auth", *args]
    main()
main(args)
"""


@pytest.mark.parametrize("how", ["entry", "library"])
def test_only_the_entry_point_keeps_what_is_loaded_from_the_collector(tmp_path: Path, how: str) -> None:
    """The console script (main() with no arguments) freezes what start-up loaded, so that the
    collections while the command's modules load do not walk it again; a caller passing its
    own arguments (a test, an embedding program) keeps its collector as it was."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    out = tmp_path / "frozen.txt"
    argv = [sys.executable, "-c", FREEZE_PROBE, str(out), how, "report", "--dir", str(pool), "--now", NOW]
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    frozen = int(out.read_text())
    assert (frozen > 10_000) if how == "entry" else (frozen == 0)


LOADING_PROBE = """
import atexit, gc, sys
out, how, *args = sys.argv[1:]
def dump():
    import pipeline.in_process as loaded
    walked = any(o is loaded.run_report for o in gc.get_objects())
    open(out, "w").write(f"{gc.get_freeze_count() > 0} {walked} {gc.isenabled()}")
atexit.register(dump)
sys.argv = ["codex-auth", *args]
if how == "script":
    from pipeline.__main__ import main
    main()
from pipeline.cli import main
main(args)
"""


@pytest.mark.parametrize(("how", "kept"), [("script", True), ("library", False)])
def test_the_console_script_keeps_the_commands_modules_from_the_collector(tmp_path: Path, how: str, kept: bool) -> None:
    """``codex-auth`` (pipeline.__main__) loads the command line and the report's modules with
    the collector paused and moves what they define out of its reach (its last collection, as
    the process exits, would walk it all again); a library caller's collector walks them as
    before. Either way the collector is running when the process ends."""
    pool = poolkit.seed_example_pool(tmp_path / "pool")
    out = tmp_path / "gc.txt"
    argv = [sys.executable, "-c", LOADING_PROBE, str(out), how, "report", "--dir", str(pool), "--now", NOW]
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    frozen, walked, enabled = out.read_text().split()
    assert (frozen, walked, enabled) == (str(kept), str(not kept), "True")
