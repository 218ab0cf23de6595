"""Golden cases for score, recommend and render: tests/golden/stages/<stage>/<case>.in.ndjson
is fed to `codex-auth <stage> --now <seed time> [args]` in-process; stdout must equal
<case>.out, stderr <case>.err and the exit code <case>.exit (0 when absent). Cases are
discovered by file name; `scripts/test --update-golden` rewrites the expectations."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit import poolkit
from testkit.helpers import parse_ndjson, run_cli

CASES = Path(__file__).parent / "stages"


def cases() -> list[tuple[str, str]]:
    return sorted((p.parent.name, p.name[: -len(".in.ndjson")]) for p in CASES.glob("*/*.in.ndjson"))


@pytest.mark.parametrize(("stage", "name"), cases(), ids=[f"{s}/{n}" for s, n in cases()])
def test_stage_golden(stage: str, name: str, request: pytest.FixtureRequest) -> None:
    folder = CASES / stage
    args_file = folder / f"{name}.args"
    args = args_file.read_text().split("\n") if args_file.exists() else []
    args = [a for a in args if a]
    exit_file = folder / f"{name}.exit"
    data = (folder / f"{name}.in.ndjson").read_bytes()
    if request.config.getoption("--update-golden"):
        result = run_cli([stage, "--now", str(poolkit.SEED_NOW), *args], input=data, expect=None, validate=False)
        (folder / f"{name}.out").write_bytes(result.stdout)
        (folder / f"{name}.err").write_text(result.stderr) if result.stderr else (folder / f"{name}.err").unlink(
            missing_ok=True
        )
        exit_file.write_text(f"{result.exit_code}\n") if result.exit_code else exit_file.unlink(missing_ok=True)
    expected_exit = int(exit_file.read_text()) if exit_file.exists() else 0
    err_file = folder / f"{name}.err"
    ndjson_out = stage != "render"
    result = run_cli(
        [stage, "--now", str(poolkit.SEED_NOW), *args], input=data, expect=expected_exit, validate=ndjson_out
    )
    assert result.stdout == (folder / f"{name}.out").read_bytes()
    assert result.stderr == (err_file.read_text() if err_file.exists() else "")
    if expected_exit == 0:
        # the input is a valid stream too (fixtures cannot rot), and a stage never drops a record
        inputs = parse_ndjson(data)
        from testkit.helpers import assert_valid

        assert_valid(inputs)
        if ndjson_out:
            kinds_in = [r["kind"] for r in inputs]
            kinds_out = [r["kind"] for r in result.records]
            assert kinds_out[: len(kinds_in)] == kinds_in
            assert [r.get("index") for r in result.records[: len(inputs)]] == [r.get("index") for r in inputs]
    else:
        # one line naming the stage: where in the input (stdin:LINE) or, for a pool with nothing
        # to report, where the storage was
        assert "Traceback" not in result.stderr and result.stderr.startswith(f"codex-auth {stage}: ")
        assert result.stderr.count("\n") == 1


def test_every_case_has_an_expectation() -> None:
    for stage, name in cases():
        assert (CASES / stage / f"{name}.out").exists(), f"{stage}/{name}: run scripts/test --update-golden"
