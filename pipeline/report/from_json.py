"""A saved ``HealthReport`` (``codex auth report --json``) read back as the record stream, so
``render`` turns yesterday's archive into any other format:

    codex-auth render --format html -i reports/health-2026-03-03.json --out report.html

The document is checked against its schema first. It holds the report's conclusions, not all
the facts behind them, so what it does not carry is not shown again: quota reset times (no
Prometheus reset series), a flagged account's re-check error code, the workspace or label that
tells apart accounts sharing an e-mail, and the factors unless it was saved with ``--explain``.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from pipeline.errors import InvalidInput, json_error_message
from pipeline.records import Record

FIVE_HOURS, SEVEN_DAYS, THIRTY_DAYS = 300, 10_080, 43_200


def health_report_document(data: bytes, source: str) -> Record | None:
    """The HealthReport in ``data``, or None when ``data`` is an NDJSON record stream.

    A stream's lines are each an object with a ``kind``; a HealthReport is one object (usually
    over many lines) with ``generatedAt`` and no ``kind``. A pretty-printed document that does
    not parse is reported with the line and column of the error in the whole document."""
    text = data.lstrip()
    if not text.startswith(b"{"):
        return None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        first_line = text.split(b"\n", 1)[0].strip()
        if first_line == b"{":  # pretty-printed: a JSON document, not one record per line
            raise InvalidInput(
                source, exc.lineno, f"invalid JSON: {json_error_message(exc)}", column=exc.colno
            ) from None
        return None  # several records (NDJSON), or a broken first record: the stream reader says which
    if not isinstance(document, dict) or "kind" in document or "generatedAt" not in document:
        return None
    from pipeline.ndjson import is_forecast_document

    if is_forecast_document(document):
        raise InvalidInput(
            source,
            1,
            "a forecast document (forecast --json), not a HealthReport: render shows a forecast from "
            "the stages, collect | forecast -i - | render --view forecast",
            "$",
        )
    from pipeline.schema import schema_errors

    problems = schema_errors(document, "report")
    if problems:
        path, message = problems[0]
        raise InvalidInput(source, 1, f"not a valid HealthReport: {message}", path)
    return document


def records_of(document: Record) -> tuple[list[Record], list[str]]:
    """The record stream that makes the same report, and the report's warnings."""
    generated: int = document["generatedAt"]
    accounts: list[Record] = document["accounts"]
    flagged: list[Record] = document["flagged"]
    storage: Record = document.get("storage") or {}
    path = storage.get("path")
    current = next((a["index"] for a in accounts if a.get("isCurrent")), None)
    pool: Record = {
        "kind": "pool",
        "schemaVersion": 1,
        "collectedAt": generated,
        "source": storage.get("source", "codex-multi-auth"),
        "dir": os.path.dirname(path) if path else None,
        "storage": {
            "path": path,
            "state": storage.get("state", "healthy"),
            "format": None,
            "recoveredFrom": storage.get("recoveredFrom"),
            "details": None,
        },
        "currentIndex": current,
        "accountCount": len(accounts),
        "flaggedCount": len(flagged),
        "warnings": [],
    }
    if document["mode"] == "live":
        pool["probe"] = {"mode": "live", "model": document.get("model"), "method": "usage", "startedAt": generated}
    records: list[Record] = [pool]
    records += [_account(a) for a in accounts]
    records += [_flagged(position, f) for position, f in enumerate(flagged)]
    records.append(_recommendation(document, accounts))
    return records, list(document.get("warnings") or [])


def _account(account: Record) -> Record:
    record: Record = {
        "kind": "account",
        "index": account["index"],
        "accountId": account.get("accountId"),
        "email": account.get("email"),
        "enabled": not account["disabled"],
        "isCurrent": bool(account.get("isCurrent")),
        "addedAt": account.get("addedAt"),
        "lastUsed": account.get("lastUsed"),
        "plan": account.get("plan"),
        "status": account["status"],
        "healthScore": account["healthScore"],
        "reasons": list(account.get("reasons") or []),
        "factors": [dict(f) for f in account.get("factors") or []],
        "rateLimited": account["rateLimited"],
        "rateLimitResetAt": account.get("rateLimitResetAt"),
        "quota": _quota(account),
    }
    return record


def _quota(account: Record) -> Record | None:
    windows = [
        {"windowMinutes": minutes, "usedPercent": 100 - left, "resetAt": None}
        for minutes, left in (
            (FIVE_HOURS, account.get("quota5hPercent")),
            (SEVEN_DAYS, account.get("quota7dPercent")),
            (THIRTY_DAYS, account.get("quota30dPercent")),
        )
        if left is not None
    ]
    if not windows:
        return None
    return {
        "source": account.get("quotaSource", "cache"),
        "sampledAt": account.get("quotaSampledAt"),
        "windows": windows,
    }


def _flagged(position: int, flagged: Record) -> Record:
    record: Record = {
        "kind": "flagged",
        "index": position,
        "accountId": flagged.get("accountId"),
        "email": flagged.get("email"),
        "flaggedAt": flagged.get("flaggedAt"),
        "flaggedReason": flagged.get("flaggedReason"),
        "lastVerified": flagged.get("lastVerified"),
        "verificationCount": flagged.get("verificationCount", 0),
    }
    works: Any = flagged.get("worksAgain")
    if works is not None:
        record["verification"] = {"outcome": "works-again" if works else "still-broken"}
    return record


def _recommendation(document: Record, accounts: list[Record]) -> Record:
    chosen = document.get("recommendation")
    if chosen is not None:
        account = next((a for a in accounts if a["index"] == chosen["index"]), {})
        return {
            "kind": "recommendation",
            "index": chosen["index"],
            "accountId": account.get("accountId"),
            "email": chosen.get("email"),
            "reasoning": chosen["reasoning"],
            "usableCount": None,
            "nextAvailableAt": None,
        }
    advice = document.get("advice") or {}
    return {
        "kind": "recommendation",
        "index": None,
        "accountId": None,
        "email": None,
        "reasoning": advice.get("reasoning", ""),
        "usableCount": 0,
        "nextAvailableAt": advice.get("nextAvailableAt"),
    }
