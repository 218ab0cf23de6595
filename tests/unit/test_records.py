"""The typed record kinds of ``pipeline/records.py`` name exactly the fields of the published
JSON Schemas (``pipeline/schemas/``), so the type checker and the contract say the same thing.
The TypedDicts exist for the type checker only (they are not made at run time), so the test
reads their fields from the source."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from testkit.helpers import ROOT

SCHEMAS = ROOT / "pipeline" / "schemas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return loaded


def typed_fields() -> dict[str, list[str]]:
    """Each TypedDict of records.py and its fields, in order (its bases' first)."""
    tree = ast.parse((ROOT / "pipeline" / "records.py").read_text())
    classes: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            inherited = [f for base in node.bases if isinstance(base, ast.Name) for f in classes.get(base.id, [])]
            own = [n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
            classes[node.name] = inherited + own
    return classes


def _common(name: str) -> dict[str, Any]:
    found: dict[str, Any] = schema("common")["$defs"][name]
    return found


def _account(name: str) -> dict[str, Any]:
    found: dict[str, Any] = schema("account")["$defs"][name]
    return found


CONTRACT = {
    "QuotaWindow": lambda: _common("window"),
    "Quota": lambda: _common("quota"),
    "QuotaLimit": lambda: _common("limit"),
    "SpendControl": lambda: _common("spendControl"),
    "SpendLimit": lambda: _common("spendControl")["properties"]["limits"]["items"],
    "TokenFacts": lambda: _account("tokenFacts"),
    "ProbeFacts": lambda: _account("probeOutcome"),
    "PoolRecord": lambda: schema("pool"),
    "AccountRecord": lambda: schema("account"),
    "FlaggedRecord": lambda: schema("flagged"),
    "Verification": lambda: schema("flagged")["properties"]["verification"]["anyOf"][0],
    "RecommendationRecord": lambda: schema("recommendation"),
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_each_typed_kind_names_the_fields_of_its_schema(name: str) -> None:
    fields = typed_fields()
    assert name in fields, f"records.py has no {name}"
    assert sorted(fields[name]) == sorted(CONTRACT[name]()["properties"])


def test_every_typed_kind_is_held_to_a_schema() -> None:
    assert set(typed_fields()) == set(CONTRACT), "a new TypedDict in records.py needs its schema here"
