"""The JSON report: the ``HealthReport`` document (``--json``; schema: ``codex-auth schema report``)."""

from __future__ import annotations

import orjson

from pipeline.records import Record
from pipeline.report.view import AccountView, View
from pipeline.report.wording import flagged_reason


def render(view: View, *, color: bool = False, explain: bool = False) -> bytes:
    return orjson.dumps(health_report(view), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def health_report(view: View) -> Record:
    """The HealthReport document (schemas/report.json): optional fields left out when unknown."""
    summary: Record = {
        "totalAccounts": len(view.accounts) + len(view.flagged),
        "activeAccounts": len(view.accounts),
        "flaggedAccounts": len(view.flagged),
    }
    current = view.current
    if current and current.record.get("email"):
        summary["currentAccountEmail"] = current.record["email"]
    summary["statusCounts"] = view.status_counts()
    report: Record = {"generatedAt": view.generated_at, "mode": view.mode, "model": view.model, "summary": summary}
    report["accounts"] = [_report_account(a) for a in view.accounts]
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
            }
        )
    return report


def _report_account(account: AccountView) -> Record:
    record = account.record
    quota = account.quota or {}
    return _drop_none(
        {
            "index": account.index,
            "accountId": record.get("accountId"),
            "email": record.get("email"),
            "status": account.status,
            "healthScore": account.score,
            "quota5hPercent": account.window_5h.remaining if account.window_5h else None,
            "quota7dPercent": account.window_7d.remaining if account.window_7d else None,
            "rateLimited": bool(record.get("rateLimited")),
            "disabled": record.get("enabled") is False,
            "lastUsed": record.get("lastUsed"),
            "addedAt": record.get("addedAt"),
            "reasons": account.reasons,
            "rateLimitResetAt": record.get("rateLimitResetAt"),
            "quotaSource": quota.get("source"),
            "quotaSampledAt": quota.get("sampledAt"),
            "plan": record.get("plan"),
            "isCurrent": bool(record.get("isCurrent")),
        }
    )


def _report_flagged(record: Record, now: int) -> Record:
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
