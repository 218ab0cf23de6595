"""``schema``: the JSON Schema of a record kind, or of the JSON report."""

from __future__ import annotations

import click

from pipeline.cli.common import emit_report, stage_command


@click.command()
@click.argument(
    "kind",
    required=False,
    type=click.Choice(["pool", "account", "flagged", "recommendation", "report", "forecast", "event", "common"]),
)
@click.option("--raw", is_flag=True, help="Print the file as published (shared parts stay a $ref to common.json).")
@stage_command("schema")
def schema(kind: str | None, raw: bool) -> None:
    """Print the JSON Schema of a record kind, or of the JSON report.

    \b
    Without KIND, list the kinds and their $id. The printed schema is self-contained
    (the shared definitions are bundled in), ready for any JSON Schema validator:
      codex-auth schema report > report.schema.json
    """
    import json

    from pipeline.schema import SCHEMA_NAMES, bundled_schema, load_schema, load_schema_text

    if kind is None:
        text = "".join(f"{name:<15} {load_schema(name)['$id']}\n" for name in SCHEMA_NAMES)
    elif raw:
        text = load_schema_text(kind)
    else:
        text = json.dumps(bundled_schema(kind), indent=2) + "\n"
    emit_report(text.encode("utf-8"), None)
