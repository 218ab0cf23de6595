"""The record contract: load the published JSON Schemas and validate records against them.

Schemas ship inside the package (``pipeline/schemas``; the top-level ``schemas/`` folder
is the same directory) and are always read through :func:`load_schema_text`, in a
checkout and in an installed copy alike.

Reading the files is cheap and needs no third-party module (``codex-auth schema`` uses
only that). Validation runs in two steps, each built once per schema on first use:

- the check every record read from stdin goes through is jsonschema-rs (compiled; a few
  microseconds for an account record, against about a millisecond in pure Python);
- :func:`schema_errors` is jsonschema: it runs only when the fast check said no, to word the
  error (the JSON path and the reason) and to have the last word, so what is accepted and
  what a rejection says are jsonschema's.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

from pipeline.errors import InvalidInput

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

RECORD_KINDS = ("pool", "account", "flagged", "recommendation")
SCHEMA_NAMES = (*RECORD_KINDS, "report", "forecast", "event", "common")


def load_schema_text(name: str) -> str:
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    # Beside this module, in a checkout and an installed copy alike (importlib.resources, for
    # a package inside a zip file, costs pathlib and tempfile at start-up: only as a fallback).
    try:
        with open(os.path.join(os.path.dirname(__file__), "schemas", f"{name}.json"), encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        from importlib import resources

        return (resources.files("pipeline") / "schemas" / f"{name}.json").read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(load_schema_text(name))
    return schema


def bundled_schema(name: str) -> dict[str, Any]:
    """The schema as one self-contained document: the shared definitions ride along as an
    embedded resource (JSON Schema 2020-12 bundling), so any validator resolves them offline."""
    schema = dict(load_schema(name))
    if name == "common":
        return schema
    defs = dict(schema.get("$defs", {}))
    defs["common.json"] = load_schema("common")
    schema["$defs"] = defs
    return schema


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    return Registry().with_resources(
        (load_schema(name)["$id"], Resource.from_contents(load_schema(name))) for name in SCHEMA_NAMES
    )


@cache
def validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name), registry=_registry())


@cache
def fast_validator(name: str) -> Any:
    """jsonschema-rs's validator for the bundled schema, or None when it cannot be loaded
    (then every record goes through jsonschema: slower, the same verdicts)."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(bundled_schema(name))


def fast_says_valid(instance: object, name: str) -> bool:
    """True when the fast check accepts ``instance``; False means "ask jsonschema"."""
    fast = fast_validator(name)
    if fast is None:
        return False
    try:
        return bool(fast.is_valid(instance))
    except ValueError:  # a value JSON cannot hold (a set, a non-string key): jsonschema judges
        return False


def schema_errors(instance: Any, name: str) -> list[tuple[str, str]]:
    """All problems as ``(json_path, message)``, best match first; empty when valid."""
    from jsonschema.exceptions import best_match

    errors = list(validator(name).iter_errors(instance))
    if not errors:
        return []
    best = best_match(errors)
    ordered = [best] + [e for e in errors if e is not best]
    return [(e.json_path, _short(e.message)) for e in ordered]


def check_record(record: object, source: str, line: int) -> str:
    """Validate one input record; return its kind or raise :class:`InvalidInput`."""
    if not isinstance(record, dict):
        raise InvalidInput(source, line, f"expected a JSON object, got {type(record).__name__}", "$")
    kind: Any = record.get("kind")
    if kind not in RECORD_KINDS:
        known = ", ".join(RECORD_KINDS)
        if kind is None:
            raise InvalidInput(source, line, f"record has no kind (expected one of: {known})", "$.kind")
        raise InvalidInput(source, line, f"unknown kind {kind!r} (expected one of: {known})", "$.kind")
    name: str = kind
    if fast_says_valid(record, name):
        return name
    problems = schema_errors(record, name)
    if problems:
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(source, line, f"{name} record: {message}{more}", path)
    return name


def _short(message: str, limit: int = 200) -> str:
    # jsonschema quotes the whole offending instance; keep messages to one readable line.
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."
