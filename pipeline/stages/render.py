"""render: turn the record stream into the report.

Input: the record stream (scored and recommended; unscored accounts are scored here).
Output: the report as text (default), the HealthReport document
as JSON (``--json``, schemas/report.json), Prometheus metrics, one HTML page or a Markdown
table (``--format``; the last three live in :mod:`pipeline.formats`). ``--redact`` masks
e-mails and account ids in the view before any format sees it.

    codex-auth collect | codex-auth score | codex-auth recommend | codex-auth render --json | jq .summary
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from pipeline.errors import StorageError
from pipeline.humanize import ago, duration, utc_stamp
from pipeline.pool_rules import pool_failure
from pipeline.report import (
    AccountView,
    View,
    build_view,
    flagged_name,
    flagged_reason,
    health_report,
    redact_view,
    view_masker,
)

Record = dict[str, Any]
FORMATS = ("text", "json", "prometheus", "html", "markdown")

STATUS_LABELS = {
    "healthy": "Healthy",
    "warning": "Warning",
    "rate-limited": "Rate-limited",
    "disabled": "Disabled",
    "error": "Error",
}
_COLORS = {"healthy": "32", "warning": "33", "rate-limited": "35", "disabled": "2", "error": "31"}


def render(
    records: Iterable[Record],
    *,
    now: int | None,
    fmt: str = "text",
    model: str | None = None,
    color: bool = False,
    explain: bool = False,
    redact: bool = False,
) -> bytes:
    view = checked_view(records, now=now, model=model, redact=redact)
    return render_view(view, fmt=fmt, color=color, explain=explain, redact=redact)


def checked_view(records: Iterable[Record], *, now: int | None, model: str | None, redact: bool = False) -> View:
    """The view of a stream that has something to report on; else :class:`StorageError` with
    the reason ``codex auth report`` gives for the same pool (:func:`pipeline.pool_rules.pool_failure`)."""
    view = build_view(records, now=now, model=model)
    reason = pool_failure(view.pool, len(view.accounts), len(view.flagged))
    if reason is not None:
        raise StorageError(view_masker(view).text(reason) if redact else reason)
    return view


def render_view(
    view: View, *, fmt: str = "text", color: bool = False, explain: bool = False, redact: bool = False
) -> bytes:
    if redact:
        view = redact_view(view)
    if fmt == "json":
        return render_json(view, explain=explain)
    if fmt == "text":
        return render_text(view, color=color, explain=explain).encode("utf-8")
    if fmt == "prometheus":
        from pipeline.formats.prometheus import render_prometheus

        return render_prometheus(view).encode("utf-8")
    if fmt == "html":
        from pipeline.formats.html import render_html

        return render_html(view, explain=explain).encode("utf-8")
    if fmt == "markdown":
        from pipeline.formats.markdown import render_markdown

        return render_markdown(view, explain=explain).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}")


def render_json(view: View, *, explain: bool = False) -> bytes:
    return orjson.dumps(health_report(view, explain=explain), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def status_text(account: AccountView) -> str:
    label = STATUS_LABELS[account.status]
    reasons = account.reasons
    if account.status in ("warning", "error") and reasons:
        return f"{label} ({reasons[0]})"
    return label


def render_text(view: View, *, color: bool = False, explain: bool = False) -> str:
    style = _Style(color)
    now = view.generated_at
    out: list[str] = [style("=== Codex Multi-Auth Health Report ===", "1"), f"Generated: {utc_stamp(now)}"]
    if view.mode == "live":
        out.append(f"Mode: Live probe enabled (model: {view.model})")
    else:
        out.append("Mode: Default (cached data, no live probe)")
    out += ["", "Summary:"]
    out.append(f"  Total accounts: {len(view.accounts) + len(view.flagged)}")
    out.append(f"  Active accounts: {len(view.accounts)}")
    out.append(f"  Flagged accounts: {len(view.flagged)}")
    current = view.current
    out.append(f"  Current account: {current.name if current else 'none'}")
    out += ["", "Active Accounts:"]
    if not view.accounts:
        out += ["  (none)", ""]
    for account in view.accounts:
        out += _account_lines(account, now, style, explain)
        out.append("")
    out.append("Flagged Accounts:")
    if not view.flagged:
        out += ["  (none)", ""]
    for number, record in enumerate(view.flagged, start=1):
        out += _flagged_lines(number, record, now)
        out.append("")
    out.append("Recommendation:")
    rec = view.recommendation
    if rec.get("index") is not None:
        out.append(f"  Use account: {recommended_name(view)} (index {rec['index'] + 1})")
    else:
        out.append("  No account to use right now")
    out.append(f"  Reason: {rec['reasoning']}")
    if view.warnings:
        out += ["", "Warnings:"]
        out += [f"  {line}" for line in view.warnings]
    return "\n".join(out) + "\n"


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


def _account_lines(account: AccountView, now: int, style: _Style, explain: bool) -> list[str]:
    record = account.record
    pad = "     "
    lines = [f"  {account.index + 1}. {account.name}"]
    lines.append(f"{pad}Status: {style(status_text(account), _COLORS[account.status])}")
    lines.append(f"{pad}Health score: {account.score}")
    limit = rate_limit_text(account, now)
    if limit:
        lines.append(f"{pad}Rate limit: {limit}")
    else:
        lines += _quota_lines(account, now, pad)
    lines.append(f"{pad}Last used: {ago(record.get('lastUsed'), now)}")
    if explain:
        lines += _explain_lines(record, pad)
    return lines


def _quota_lines(account: AccountView, now: int, pad: str) -> list[str]:
    quota = account.quota
    if not quota:
        return [f"{pad}Quota: no data (run with --live)"]
    age = ""
    if quota.get("source") == "cache" and quota.get("sampledAt"):
        age = f" (cached {ago(quota['sampledAt'], now)})"
    lines = []
    for label, window in (("5h", account.window_5h), ("7d", account.window_7d)):
        if window is None:
            continue
        if window.remaining is None:
            why = "the window has reset since the last sample" if window.stale else "not reported"
            lines.append(f"{pad}Quota ({label}): unknown ({why})")
        else:
            lines.append(f"{pad}Quota ({label}): {window.remaining}% remaining{age}")
    if not lines:
        lines.append(f"{pad}Quota: no 5h or 7d window reported")
    return lines


def _explain_lines(record: Record, pad: str) -> list[str]:
    factors = record.get("factors") or []
    if not factors:
        return [f"{pad}Why: nothing took points off"]
    lines = [f"{pad}Why:"]
    for factor in factors:
        points = f"-{factor['points']}" if factor["points"] else "  0"
        lines.append(f"{pad}  {points:>4}  {factor['reason']}: {factor['detail']}")
    return lines


def _flagged_lines(number: int, record: Record, now: int) -> list[str]:
    pad = "     "
    lines = [f"  {number}. {flagged_name(record)}"]
    lines.append(f"{pad}Flagged: {ago(record.get('flaggedAt'), now) if record.get('flaggedAt') else 'unknown'}")
    lines.append(f"{pad}Reason: {flagged_reason(record)}")
    lines.append(f"{pad}Last verified: {ago(record.get('lastVerified'), now)}")
    lines.append(f"{pad}Verification count: {record.get('verificationCount', 0)}")
    verification = verification_text(record)
    if verification:
        lines.append(f"{pad}Verification: {verification}")
    return lines


def verification_text(record: Record) -> str | None:
    """What the live re-check of a flagged account found, or None without one."""
    verification = record.get("verification")
    if not verification:
        return None
    outcome = verification.get("outcome")
    code = verification.get("errorCode")
    return {
        "works-again": "works again (token refresh succeeded; restore it with codex-multi-auth)",
        "still-broken": f"still broken ({code or 'refresh refused'})",
        "failed": f"could not check ({verification.get('detail') or code or 'unknown error'})",
        "skipped": f"skipped ({verification.get('detail') or 'not checked'})",
    }.get(outcome, str(outcome))
