"""The fast record check (jsonschema-rs) and jsonschema agree, and every violation the suite
knows is still caught by the fast check with jsonschema's wording.

Stages check each stdin record with jsonschema-rs and ask jsonschema only when it says no
(pipeline/schema.py). Correctness needs one direction (fast "valid" implies jsonschema
"valid"); these tests hold the two to the same verdict on generated records, so the slow path
stays the rare one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline import schema as schemas
from pipeline.errors import InvalidInput
from pipeline.schema import RECORD_KINDS, check_record, fast_says_valid, fast_validator, load_schema, schema_errors
from testkit.helpers import ROOT

ACCOUNT = {"kind": "account", "index": 0, "enabled": True}
WINDOW = {"windowMinutes": 300, "usedPercent": 5, "resetAt": None}
QUOTA = {"source": "cache", "sampledAt": 1, "windows": [WINDOW]}
POOL = {
    "kind": "pool",
    "schemaVersion": 1,
    "collectedAt": 1,
    "source": "none",
    "storage": {"path": None, "state": "missing"},
    "currentIndex": None,
    "accountCount": 0,
    "flaggedCount": 0,
}

# Every schema violation the suite knows (tests/unit, tests/golden/stages, tests/cli), and one
# per keyword the schemas use, with the exact message a stage prints after `stage: ` (each
# taken from the validation as it was before the fast check existed).
KNOWN_VIOLATIONS: list[tuple[dict[str, Any], str]] = [
    ({**ACCOUNT, "enabled": "yes"}, "stdin:1: $.enabled: account record: 'yes' is not of type 'boolean'"),
    ({**ACCOUNT, "index": -1}, "stdin:1: $.index: account record: -1 is less than the minimum of 0"),
    ({**ACCOUNT, "index": 1.5}, "stdin:1: $.index: account record: 1.5 is not of type 'integer'"),
    ({**ACCOUNT, "index": True}, "stdin:1: $.index: account record: True is not of type 'integer'"),
    ({**ACCOUNT, "healthScore": 140}, "stdin:1: $.healthScore: account record: 140 is greater than the maximum of 100"),
    (
        {**ACCOUNT, "status": "fine"},
        "stdin:1: $.status: account record: 'fine' is not one of ['healthy', 'warning', 'rate-limited', 'disabled', 'error']",
    ),
    (
        {**ACCOUNT, "accessToken": "x"},
        "stdin:1: $: account record: Additional properties are not allowed ('accessToken' was unexpected)",
    ),
    ({"kind": "account", "index": 0}, "stdin:1: $: account record: 'enabled' is a required property"),
    (
        {**ACCOUNT, "quota": {**QUOTA, "windows": [{**WINDOW, "windowMinutes": "300"}]}},
        "stdin:1: $.quota.windows[0].windowMinutes: account record: '300' is not of type 'integer', 'null' (and 1 more)",
    ),
    (
        {**ACCOUNT, "quota": {**QUOTA, "windows": [{**WINDOW, "usedPercent": -4}]}},
        "stdin:1: $.quota.windows[0].usedPercent: account record: -4 is less than the minimum of 0 (and 1 more)",
    ),
    (
        {**ACCOUNT, "rateLimit": {"resetTimes": {"codex": -5}, "coolingDownUntil": None}},
        "stdin:1: $.rateLimit.resetTimes.codex: account record: -5 is less than the minimum of 0",
    ),
    ({**ACCOUNT, "reasons": ["ok", 3]}, "stdin:1: $.reasons[1]: account record: 3 is not of type 'string'"),
    ({**ACCOUNT, "annotations": []}, "stdin:1: $.annotations: account record: [] is not of type 'object'"),
    ({**POOL, "schemaVersion": 2}, "stdin:1: $.schemaVersion: pool record: 1 was expected"),
    ({**POOL, "schemaVersion": True}, "stdin:1: $.schemaVersion: pool record: 1 was expected"),
    (
        {**POOL, "storage": {"path": None, "state": "lost"}},
        "stdin:1: $.storage.state: pool record: 'lost' is not one of ['healthy', 'recovered', 'empty', 'missing', "
        "'corrupt', 'intentional-reset']",
    ),
    (
        {"kind": "recommendation", "index": 0, "reasoning": ""},
        "stdin:1: $.reasoning: recommendation record: '' should be non-empty",
    ),
    (
        {"kind": "flagged", "index": 0, "flaggedAt": None},
        "stdin:1: $: flagged record: 'verificationCount' is a required property",
    ),
]


@pytest.mark.parametrize(("record", "message"), KNOWN_VIOLATIONS)
def test_known_violations_are_caught_by_the_fast_check_with_the_same_message(
    record: dict[str, Any], message: str
) -> None:
    assert not fast_says_valid(record, record["kind"]), "the fast check must catch it on its own"
    with pytest.raises(InvalidInput) as caught:
        check_record(record, "stdin", 1)
    assert str(caught.value) == message


@pytest.mark.parametrize(("record", "message"), KNOWN_VIOLATIONS)
def test_without_the_fast_check_the_verdicts_and_messages_are_the_same(
    record: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schemas, "fast_validator", lambda name: None)
    with pytest.raises(InvalidInput) as caught:
        check_record(record, "stdin", 1)
    assert str(caught.value) == message
    assert check_record(dict(ACCOUNT), "stdin", 1) == "account"


def golden_records() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((ROOT / "tests" / "golden" / "stages").glob("*/*.in.ndjson")):
        if path.with_name(path.name.replace(".in.ndjson", ".err")).exists():
            continue
        for line in path.read_bytes().splitlines():
            if line.strip():
                found.append((f"{path.parent.name}/{path.name}", orjson.loads(line)))
    return found


def test_every_golden_input_record_passes_the_fast_check() -> None:
    records = golden_records()
    assert len(records) > 50
    for where, record in records:
        assert fast_says_valid(record, record["kind"]), where
        assert schema_errors(record, record["kind"]) == [], where


def test_values_json_cannot_hold_go_to_jsonschema() -> None:
    odd = {**ACCOUNT, "reasons": {"a set"}}
    assert fast_validator("account") is not None
    assert not fast_says_valid(odd, "account")  # jsonschema-rs refuses a set: no verdict
    with pytest.raises(InvalidInput, match=r"^stdin:1: \$.reasons: account record: \{'a set'\} is not of type 'array'"):
        check_record(odd, "stdin", 1)


# -- generated records -----------------------------------------------------------------------

NOISE = st.sampled_from(
    [None, True, False, 0, 1, -1, 100, 101, 1.0, 2.5, -0.5, 300, 10080, 1772548200000, "", "x", "cache", [], {}]
)
RESOURCES = {load_schema(name)["$id"]: load_schema(name) for name in schemas.SCHEMA_NAMES}


def _resolve(base: str, ref: str) -> tuple[str, Any]:
    uri, _, pointer = ref.partition("#")
    target_base = base if not uri else base.rsplit("/", 1)[0] + "/" + uri
    target: Any = RESOURCES[target_base]
    for token in filter(None, pointer.split("/")):
        target = target[token]
    return target_base, target


def _noisy(strategy: st.SearchStrategy[Any], noisy: bool) -> st.SearchStrategy[Any]:
    """What the schema asks for; when ``noisy``, sometimes any other JSON value."""
    return st.integers(0, 7).flatmap(lambda n: NOISE if n == 0 else strategy) if noisy else strategy


def _typed(name: str, node: Mapping[str, Any], noisy: bool) -> st.SearchStrategy[Any]:
    slack = 2 if noisy else 0
    low, high = node.get("minimum", -3), node.get("maximum", 10**13)
    if name == "integer":
        return st.one_of(
            st.integers(low - slack, min(high, 200) + slack), st.integers(low - slack, high + slack), st.just(3.0)
        )
    if name == "number":
        return st.one_of(st.integers(low - slack, high + slack), st.floats(low - slack, high + slack, allow_nan=False))
    if name == "string":
        shortest = node.get("minLength", 0)
        return st.text(min_size=max(0, shortest - slack), max_size=4)
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "object": st.dictionaries(st.text(max_size=3), NOISE, max_size=3),
        "array": st.lists(NOISE, max_size=3),
    }[name]


def from_schema(base: str, node: Any, noisy: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    """Records shaped by the schema: valid ones (``noisy`` False) or, mostly, nearly valid ones."""
    if node is True or depth > 8:
        return NOISE
    if "$ref" in node:
        target_base, target = _resolve(base, node["$ref"])
        return from_schema(target_base, target, noisy, depth + 1)
    if "anyOf" in node:
        return st.one_of([from_schema(base, option, noisy, depth + 1) for option in node["anyOf"]])
    if "const" in node:
        return _noisy(st.just(node["const"]), noisy)
    if "enum" in node:
        return _noisy(st.sampled_from(node["enum"]), noisy)
    if "properties" in node or (node.get("type") == "object" and "additionalProperties" in node):
        return _noisy(_object(base, node, noisy, depth), noisy)
    if node.get("type") == "array":
        return _noisy(st.lists(from_schema(base, node.get("items", True), noisy, depth + 1), max_size=3), noisy)
    types = node.get("type")
    if types is None:
        return NOISE
    names = [types] if isinstance(types, str) else types
    return _noisy(st.one_of([_typed(name, node, noisy) for name in names]), noisy)


def _object(base: str, node: Mapping[str, Any], noisy: bool, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties: Mapping[str, Any] = node.get("properties", {})
    required = set(node.get("required", []))
    extra = node.get("additionalProperties", True)
    values = {name: from_schema(base, sub, noisy, depth + 1) for name, sub in properties.items()}
    extra_values = from_schema(base, extra, noisy, depth + 1) if isinstance(extra, Mapping) else NOISE

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, strategy in values.items():
            # A required field goes missing only in noisy records.
            dropped = noisy and draw(st.integers(0, 20)) == 0
            if (name in required and not dropped) or (name not in required and draw(st.booleans())):
                out[name] = draw(strategy)
        if (noisy and draw(st.integers(0, 10)) == 0) or (not properties and extra is not False and draw(st.booleans())):
            out[draw(st.sampled_from(["unexpected", "codex", "x"]))] = draw(extra_values)
        return out

    return build()


def records(kind: str) -> st.SearchStrategy[Any]:
    """Valid and nearly valid records of ``kind``, as JSON decoding makes them."""
    schema = load_schema(kind)
    shaped = st.one_of(from_schema(schema["$id"], schema, False), from_schema(schema["$id"], schema, True))

    def as_json(value: Any) -> Any:
        record = orjson.loads(orjson.dumps(value))
        if isinstance(record, dict):
            record["kind"] = kind
        return record

    return shaped.map(as_json)


@pytest.mark.parametrize("kind", RECORD_KINDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_check_and_jsonschema_agree(kind: str, data: st.DataObject) -> None:
    record = data.draw(records(kind))
    valid = schema_errors(record, kind) == []
    event("valid" if valid else "invalid")
    assert fast_says_valid(record, kind) == valid, record


def test_the_generator_makes_both_valid_and_invalid_records() -> None:
    seen = {True: 0, False: 0}

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(record=records("account"))
    def count(record: Any) -> None:
        seen[schema_errors(record, "account") == []] += 1

    count()
    assert seen[True] >= 10 and seen[False] >= 10, seen
