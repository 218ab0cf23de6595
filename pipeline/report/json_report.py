"""The JSON report: the ``HealthReport`` document (``--json``; schema: ``codex-auth schema report``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

import orjson

from pipeline.records import Mode, Record, Status
from pipeline.report.extra_limits import credit_fields, first_expiring, report_fields
from pipeline.report.view import AccountView, View
from pipeline.report.wording import flagged_reason

if TYPE_CHECKING:
    from pipeline.records import FlaggedRecord

_ACCOUNTS_SLOT = b'"accounts": []'


class Summary(TypedDict, total=False):
    """The HealthReport's ``summary`` (schemas/report.json)."""

    totalAccounts: int
    activeAccounts: int
    flaggedAccounts: int
    currentAccountEmail: str
    statusCounts: dict[Status, int]


class HealthReport(TypedDict, total=False):
    """The ``--json`` document's top level (schemas/report.json); accounts, flagged and the
    optional parts stay plain objects: their optional fields are left out when unknown."""

    generatedAt: int
    mode: Mode
    model: str
    summary: Summary
    accounts: list[Record]
    flagged: list[Record]
    recommendation: Record
    advice: Record
    storage: Record
    resetCredits: Record
    warnings: list[str]
    shownStatuses: list[str]


def render(view: View, *, color: bool = False, explain: bool = False) -> bytes:
    """The document, indented by two: :func:`render_parts` joined."""
    return b"".join(render_parts(view, explain=explain))


def render_parts(view: View, *, explain: bool = False) -> Iterator[bytes]:
    """The document in pieces, to be written one after the other: the part before the
    accounts, the accounts :data:`BATCH` at a time (with the comma before them), the rest. The same bytes as dumping
    the whole document at once, without holding it (50 MB on 100,000 accounts), nor every
    account's part of it as objects. Every piece ends between two JSON values, where no
    token can run across (see :func:`pipeline.scrubbing.scrub_parts`)."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
    head = orjson.dumps(health_report(view, explain=explain, accounts=False), option=options)
    listed = view.listed
    if not listed:
        yield head
        return
    slot = head.index(_ACCOUNTS_SLOT)  # a key: inside strings a quote is always escaped
    yield head[:slot] + b'"accounts": [\n    '
    separator = b""
    for start in range(0, len(listed), BATCH):
        # A batch dumped as {"accounts": [...]}: its accounts come out at the document's own
        # indent, and the wrapper's bytes are cut off.
        batch = [_report_account(account, explain) for account in listed[start : start + BATCH]]
        dumped = orjson.dumps({"accounts": batch}, option=orjson.OPT_INDENT_2)
        yield separator + dumped[len(_BATCH_OPEN) : -len(_BATCH_CLOSE)]
        separator = b",\n    "
    yield b"\n  ]" + head[slot + len(_ACCOUNTS_SLOT) :]


BATCH = 256  # accounts dumped at once
_BATCH_OPEN = b'{\n  "accounts": [\n    '
_BATCH_CLOSE = b"\n  ]\n}"


def render_compact(view: View, *, explain: bool = False) -> bytes:
    """The same document on one line (``--json --compact``), for a file of one report per line."""
    return orjson.dumps(health_report(view, explain=explain), option=orjson.OPT_APPEND_NEWLINE)


def health_report(view: View, *, explain: bool = False, accounts: bool = True) -> HealthReport:
    """The HealthReport document (schemas/report.json): optional fields left out when unknown;
    with ``explain``, each account's ``factors`` too (an extension the schema documents). With
    ``accounts`` False, the accounts list is left empty (:func:`render` fills it in)."""
    summary: Summary = {
        "totalAccounts": len(view.accounts) + len(view.flagged),
        "activeAccounts": len(view.accounts),
        "flaggedAccounts": len(view.flagged),
    }
    current = view.current
    email = current.record.get("email") if current else None
    if email:
        summary["currentAccountEmail"] = email
    summary["statusCounts"] = view.status_counts()
    report: HealthReport = {
        "generatedAt": view.generated_at,
        "mode": view.mode,
        "model": view.model,
        "summary": summary,
    }
    report["accounts"] = [_report_account(a, explain) for a in view.listed] if accounts else []
    report["flagged"] = [_report_flagged(f, view.generated_at) for f in view.flagged]
    rec = view.recommendation
    if rec.get("index") is not None:
        report["recommendation"] = _drop_none(
            {"index": rec["index"], "email": rec.get("email"), "reasoning": rec["reasoning"]}
        )
    else:
        report["advice"] = _drop_none({"reasoning": rec["reasoning"], "nextAvailableAt": rec.get("nextAvailableAt")})
    if view.pool is not None:
        storage = view.pool.get("storage") or {}
        report["storage"] = _drop_none(
            {
                "source": view.pool.get("source"),
                "path": storage.get("path"),
                "state": storage.get("state"),
                "recoveredFrom": storage.get("recoveredFrom"),
                "warnings": list(view.warnings) or None,
            }
        )
    first = first_expiring(((a.index, a.record) for a in view.accounts), view.generated_at)
    if first is not None:
        report["resetCredits"] = first
    if view.warnings:
        report["warnings"] = list(view.warnings)
    if view.shown_statuses is not None:
        report["shownStatuses"] = list(view.shown_statuses)
    return report


def _report_account(account: AccountView, explain: bool = False) -> Record:
    """The account in the document: its members in the schema's order, those unknown (None)
    left out (:func:`_drop_none` of them all, made in one dict: this runs for every account)."""
    record = account.record
    get = record.get  # for the fields copied as they are; those read further, by name (typed)
    quota = record.get("quota")
    fields: Record = {"index": int(record["index"])}
    for name, value in (("accountId", get("accountId")), ("email", get("email"))):
        if value is not None:
            fields[name] = value
    fields["status"] = record["status"]
    fields["healthScore"] = int(record["healthScore"])
    for name, window in (
        ("quota5hPercent", account.window_5h),
        ("quota7dPercent", account.window_7d),
        ("quota30dPercent", account.window_30d),
    ):
        if window is not None and window.remaining is not None:
            fields[name] = window.remaining
    fields["rateLimited"] = bool(get("rateLimited"))
    fields["disabled"] = get("enabled") is False
    for name in ("lastUsed", "addedAt"):
        value = get(name)
        if value is not None:
            fields[name] = value
    fields["reasons"] = list(record.get("reasons") or [])
    value = get("rateLimitResetAt")
    if value is not None:
        fields["rateLimitResetAt"] = value
    if quota:
        for name, value in (("quotaSource", quota.get("source")), ("quotaSampledAt", quota.get("sampledAt"))):
            if value is not None:
                fields[name] = value
    value = get("plan")
    if value is not None:
        fields["plan"] = value
    fields["isCurrent"] = bool(get("isCurrent"))
    fields.update(report_fields(quota))  # in place: a merge would copy the account twice
    fields.update(credit_fields(record))
    if explain:  # --explain: the account record's factors, as the text report lists them
        fields["factors"] = [_drop_none(dict(factor)) for factor in record.get("factors") or []]
    return fields


def _report_flagged(record: FlaggedRecord, now: int) -> Record:
    verification = record.get("verification") or {}
    flagged_at = record.get("flaggedAt")
    return _drop_none(
        {
            "accountId": record.get("accountId"),
            "email": record.get("email"),
            # The HealthReport requires a number; codex-multi-auth itself stamps a missing one with "now".
            "flaggedAt": flagged_at if flagged_at is not None else now,
            "flaggedReason": flagged_reason(record),
            "lastVerified": record.get("lastVerified"),
            "verificationCount": record.get("verificationCount", 0),
            "worksAgain": True if verification.get("outcome") == "works-again" else (False if verification else None),
        }
    )


def _drop_none(data: Record) -> Record:
    return {k: v for k, v in data.items() if v is not None}
