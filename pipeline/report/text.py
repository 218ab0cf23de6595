"""The text report: the layout of the usage guide, line for line (``codex auth report``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline import quota as q
from pipeline.humanize import ago, utc_stamp
from pipeline.records import Status
from pipeline.report.extra_limits import (
    credit_line,
    explain_lines,
    first_expiring,
    plan_line,
    pool_credit_line,
    reserve_lines,
)
from pipeline.report.view import AccountView, View
from pipeline.report.wording import (
    flagged_name,
    flagged_reason,
    rate_limit_text,
    recommended_name,
    shown_text,
    status_summary,
    status_text,
    verification_text,
)

if TYPE_CHECKING:
    from pipeline.records import AccountRecord, FlaggedRecord

_COLORS: dict[Status, str] = {"healthy": "32", "warning": "33", "rate-limited": "35", "disabled": "2", "error": "31"}


def render(view: View, *, color: bool = False, explain: bool = False) -> bytes:
    return render_text(view, color=color, explain=explain).encode("utf-8")


def render_parts(view: View, *, color: bool = False, explain: bool = False) -> Iterator[bytes]:
    """:func:`render` in pieces, one per listed account (each ends with a newline)."""
    for part in text_parts(view, color=color, explain=explain):
        yield part.encode("utf-8")


# A text report listing more active accounts than this also gives the status counts and the
# account to use next in its Summary, so the answer is on the first screen; a short report is
# the usage guide's example as it is.
LONG_REPORT = 20


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def render_text(view: View, *, color: bool = False, explain: bool = False) -> str:
    return "".join(text_parts(view, color=color, explain=explain))


def text_parts(view: View, *, color: bool = False, explain: bool = False) -> Iterator[str]:
    """The text report in pieces: the head, each listed account, the rest. Each piece is
    lines, each ended by a newline, so that the pieces joined are the report's lines joined."""
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
    first = first_expiring(((a.index, a.record) for a in view.accounts), now)
    out += pool_credit_line(first, {a.index: a.name for a in view.accounts}, "  ")
    if len(view.accounts) > LONG_REPORT:  # the answer before a long list, not only after it
        out.append(f"  Statuses: {status_summary(view)}")
        out.append(f"  Use next: {_recommended(view)}")
    out += ["", "Active Accounts:" if view.shown_statuses is None else f"Active Accounts ({shown_text(view)}):"]
    listed = view.listed
    if not listed:
        out += ["  (none)", ""]
    for account in listed:
        yield "\n".join(out) + "\n"
        out = _account_lines(account, now, style, explain)
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
        out.append(f"  Use account: {_recommended(view)}")
    else:
        out.append("  No account to use right now")
    out.append(f"  Reason: {rec['reasoning']}")
    if view.warnings:
        out += ["", "Warnings:"]
        out += [f"  {line}" for line in view.warnings]
    yield "\n".join(out) + "\n"


def _recommended(view: View) -> str:
    index = view.recommendation.get("index")
    if index is None:
        return "none right now"
    return f"{recommended_name(view)} (index {index + 1})"


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
    lines += credit_line(record, now, pad)
    lines.append(f"{pad}Last used: {ago(record.get('lastUsed'), now)}")
    if explain:
        lines += _explain_lines(record, pad)
        lines += plan_line(record.get("plan"), pad)
        lines += explain_lines(account.quota, pad)
    return lines


def _quota_lines(account: AccountView, now: int, pad: str) -> list[str]:
    quota = account.quota
    if not quota:
        return [f"{pad}Quota: no data (run with --live)"]
    age = ""
    if quota.get("source") == "cache" and quota.get("sampledAt"):
        age = f" (cached {ago(quota['sampledAt'], now)})"
    lines = []
    for label, window in account.labelled_windows():
        if window.remaining is None:
            why = "the window has reset since the last sample" if window.stale else "not reported"
            lines.append(f"{pad}Quota ({label}): unknown ({why})")
        else:
            lines.append(f"{pad}Quota ({label}): {window.remaining}% remaining{age}")
    for spend in q.spend_windows(quota, now):  # Business and Enterprise seats' monthly limits
        left = "unknown" if spend.remaining is None else f"{spend.remaining}% remaining"
        lines.append(f"{pad}Quota ({spend.label}): {left}{age}")
    if not lines:
        lines.append(f"{pad}Quota: no window reported")
    return lines + reserve_lines(quota, pad)


def _explain_lines(record: AccountRecord, pad: str) -> list[str]:
    factors = record.get("factors") or []
    if not factors:
        return [f"{pad}Why: nothing took points off"]
    lines = [f"{pad}Why:"]
    for factor in factors:
        points = f"-{factor['points']}" if factor["points"] else "  0"
        lines.append(f"{pad}  {points:>4}  {factor['reason']}: {factor['detail']}")
    return lines


def _flagged_lines(number: int, record: FlaggedRecord, now: int) -> list[str]:
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
