"""The report's shared wording: status labels, and the phrases for rate limits, live
re-verification, flagged accounts, the recommendation, the status summary and the mode.
Every format says these things the same way because they all take them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.humanize import duration
from pipeline.records import STATUSES, Status
from pipeline.report.view import AccountView, View

if TYPE_CHECKING:
    from pipeline.records import FlaggedRecord

STATUS_LABELS: dict[Status, str] = {
    "healthy": "Healthy",
    "warning": "Warning",
    "rate-limited": "Rate-limited",
    "disabled": "Disabled",
    "error": "Error",
}


def status_text(account: AccountView) -> str:
    """``Warning (quota below 25%)``: the label, with the deciding reason for warnings and errors."""
    label = STATUS_LABELS[account.status]
    reasons = account.reasons
    if account.status in ("warning", "error") and reasons:
        return f"{label} ({reasons[0]})"
    return label


def status_summary(view: View) -> str:
    """``2 healthy, 1 warning, 1 rate-limited`` (statuses that no account has are left out)."""
    counts = view.status_counts()
    parts = [f"{counts[s]} {STATUS_LABELS[s].lower()}" for s in STATUSES if counts[s]]
    return ", ".join(parts) or "no active accounts"


def shown_text(view: View) -> str:
    """``warning, rate-limited, error: 2 of 4 shown``: what ``--status`` kept of the list."""
    statuses = ", ".join(view.shown_statuses or ())
    return f"{statuses}: {len(view.listed)} of {len(view.accounts)} shown"


def mode_text(view: View) -> str:
    return f"live probe (model {view.model})" if view.mode == "live" else "cached data, no live probe"


def recommended_name(view: View) -> str | None:
    """The name of the recommended account as the report shows it (None when there is none)."""
    index = view.recommendation.get("index")
    if index is None:
        return None
    chosen = next((a for a in view.accounts if a.index == index), None)
    return chosen.name if chosen else view.recommendation.get("email") or f"account {index + 1}"


def rate_limit_text(account: AccountView, now: int) -> str | None:
    """``Resets in 1h 30m`` for a rate-limited account, else None."""
    if account.status != "rate-limited":
        return None
    reset = account.record.get("rateLimitResetAt")
    return f"Resets in {duration(reset - now)}" if reset else "reset time unknown"


def flagged_name(record: FlaggedRecord) -> str:
    return str(
        record.get("email")
        or record.get("label")
        or record.get("accountId")
        or f"flagged account {int(record['index']) + 1}"
    )


def flagged_reason(record: FlaggedRecord) -> str:
    return str(record.get("flaggedReason") or record.get("lastError") or "unknown")


def verification_text(record: FlaggedRecord) -> str | None:
    """What the live re-check of a flagged account found, or None without one."""
    verification = record.get("verification")
    if not verification:
        return None
    outcome = verification.get("outcome")
    code = verification.get("errorCode")
    texts: dict[str | None, str] = {
        "works-again": "works again (token refresh succeeded; restore it with codex-multi-auth)",
        "still-broken": f"still broken ({code or 'refresh refused'})",
        "failed": f"could not check ({verification.get('detail') or code or 'unknown error'})",
        "skipped": f"skipped ({verification.get('detail') or 'not checked'})",
    }
    return texts.get(outcome, str(outcome))
