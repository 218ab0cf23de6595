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


def literal_fields() -> dict[tuple[str, str], set[str]]:
    """(TypedDict, field) and the strings of the ``Literal[...]`` written in its annotation."""
    tree = ast.parse((ROOT / "pipeline" / "records.py").read_text())
    found: dict[tuple[str, str], set[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            for part in ast.walk(item.annotation):
                if isinstance(part, ast.Subscript) and isinstance(part.value, ast.Name) and part.value.id == "Literal":
                    values = part.slice.elts if isinstance(part.slice, ast.Tuple) else [part.slice]
                    found[(node.name, item.target.id)] = {v.value for v in values if isinstance(v, ast.Constant)}
    return found


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
    "Credits": lambda: _common("credits"),
    "ResetCredits": lambda: _common("quota")["properties"]["resetCredits"]["anyOf"][0],
    "RateLimitFacts": lambda: _account("rateLimitFacts"),
    "ResetCreditDetails": lambda: schema("account")["properties"]["resetCreditDetails"],
    "ResetCredit": lambda: schema("account")["properties"]["resetCreditDetails"]["properties"]["credits"]["items"],
    "FactorRecord": lambda: _common("factor"),
    "FileState": lambda: schema("pool")["$defs"]["fileState"],
    "QuotaCacheFacts": lambda: schema("pool")["properties"]["quotaCache"],
    "ProbeRun": lambda: schema("pool")["$defs"]["probeRun"],
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


def test_each_literal_field_allows_what_its_schema_allows() -> None:
    literals = literal_fields()
    assert len(literals) >= 8, "the scan finds the Literal fields"
    for (name, field), values in sorted(literals.items()):
        prop = CONTRACT[name]()["properties"][field]
        allowed = {prop["const"]} if "const" in prop else {v for v in prop["enum"] if v is not None}
        assert values == allowed, f"{name}.{field}"
