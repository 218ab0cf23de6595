"""The published contract: every schema is valid, loadable the way an installed copy loads
it, printable by `codex-auth schema`, and actually rejects what it should."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from pipeline.schema import SCHEMA_NAMES, bundled_schema, load_schema, load_schema_text, schema_errors
from testkit.helpers import ROOT, run_cli


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_passes_its_metaschema(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://codex-auth-report.github.io/schemas/v1/{name}.json"


def test_ids_are_unique_and_every_file_is_known() -> None:
    files = sorted(p.stem for p in (ROOT / "pipeline" / "schemas").glob("*.json"))
    assert files == sorted(SCHEMA_NAMES)
    assert len({load_schema(n)["$id"] for n in SCHEMA_NAMES}) == len(SCHEMA_NAMES)


def test_top_level_schemas_folder_is_the_packaged_one() -> None:
    """In a checkout, schemas/ is a link to the package's copy (one source). An sdist cannot
    carry a link to a folder, so there the published schemas are the package's own files."""
    link = ROOT / "schemas"
    if (ROOT / "PKG-INFO").exists():  # an unpacked sdist (tests/cli/test_packaging.py runs it)
        assert not link.exists() and (ROOT / "pipeline" / "schemas" / "report.json").is_file()
        return
    assert link.is_symlink() and link.resolve() == (ROOT / "pipeline" / "schemas").resolve()
    for name in SCHEMA_NAMES:
        assert (link / f"{name}.json").read_text() == load_schema_text(name)


@pytest.mark.parametrize("name", [n for n in SCHEMA_NAMES if n != "common"])
def test_bundled_schema_is_self_contained(name: str) -> None:
    bundled = bundled_schema(name)
    Draft202012Validator.check_schema(bundled)
    # No registry: every $ref must resolve inside the document.
    validator = Draft202012Validator(bundled)
    sample = {
        "pool": {
            "kind": "pool",
            "schemaVersion": 1,
            "collectedAt": 1,
            "source": "none",
            "storage": {"path": None, "state": "missing"},
            "currentIndex": None,
            "accountCount": 0,
            "flaggedCount": 0,
        },
        "account": {
            "kind": "account",
            "index": 0,
            "enabled": True,
            "lastUsed": 5,
            "quota": {
                "source": "cache",
                "sampledAt": 1,
                "windows": [{"windowMinutes": 300, "usedPercent": 5, "resetAt": None}],
            },
        },
        "flagged": {"kind": "flagged", "index": 0, "flaggedAt": 1, "verificationCount": 0},
        "recommendation": {"kind": "recommendation", "index": None, "reasoning": "No usable account"},
        "report": {
            "generatedAt": 1,
            "mode": "default",
            "summary": {"totalAccounts": 0, "activeAccounts": 0, "flaggedAccounts": 0},
            "accounts": [],
            "flagged": [],
        },
        "event": {
            "at": 1,
            "kind": "quota-threshold",
            "account": "a@example.com",
            "window": "5h",
            "details": {"threshold": 10, "remainingPercent": 8, "previousPercent": 30},
            "message": "a@example.com: 8% of the 5h quota left (below 10%)",
        },
        "forecast": {
            "generatedAt": 1,
            "mode": "default",
            "model": "gpt-5-codex",
            "horizon": {"start": 1, "end": 2},
            "pool": {
                "accounts": 0,
                "usableNow": 0,
                "lowestUsable": 0,
                "changes": [],
                "minHealthy": None,
                "belowMinHealthyAt": None,
                "next": None,
            },
            "accounts": [],
        },
    }[name]
    assert list(validator.iter_errors(sample)) == []
    broken = dict(sample, unexpectedField=1)
    assert list(validator.iter_errors(broken)), "unknown fields are rejected"


def test_cli_prints_bundled_schema_and_lists_kinds() -> None:
    listing = run_cli(["schema"], validate=False).text
    assert all(name in listing for name in SCHEMA_NAMES)
    printed = json.loads(run_cli(["schema", "account"], validate=False).text)
    assert printed["$id"].endswith("/account.json") and "common.json" in printed["$defs"]
    raw = run_cli(["schema", "account", "--raw"], validate=False).text
    assert raw == load_schema_text("account")
    bad = run_cli(["schema", "nope"], expect=2, validate=False)
    assert "nope" in bad.stderr


@pytest.mark.parametrize(
    ("record", "path"),
    [
        ({"kind": "account", "index": -1, "enabled": True}, "$.index"),
        ({"kind": "account", "index": 0, "enabled": True, "healthScore": 101}, "$.healthScore"),
        ({"kind": "account", "index": 0, "enabled": True, "status": "fine"}, "$.status"),
        ({"kind": "account", "index": 0, "enabled": True, "accessToken": "x"}, "$"),
        (
            {
                "kind": "account",
                "index": 0,
                "enabled": True,
                "quota": {
                    "source": "cache",
                    "sampledAt": 1,
                    "windows": [{"windowMinutes": "300", "usedPercent": 1, "resetAt": None}],
                },
            },
            "$.quota",
        ),
        ({"kind": "pool", "schemaVersion": 2}, "$"),
        ({"kind": "recommendation", "index": 0, "reasoning": ""}, "$.reasoning"),
    ],
)
def test_schemas_reject_bad_records(record: dict, path: str) -> None:
    problems = schema_errors(record, record["kind"])
    assert problems, "should be rejected"
    assert any(p.startswith(path) for p, _ in problems), problems
