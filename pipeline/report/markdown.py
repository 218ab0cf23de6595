"""``--format markdown``: the report as a Markdown table, for pasting into issues and chat.

Account names stand in code spans, so that e-mails and masked ids (``a***@***.com#...``)
read as they are; other text is escaped where Markdown would take it for markup.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pipeline import quota as q
from pipeline.humanize import ago, utc_stamp
from pipeline.report.extra_limits import extra_window_texts, first_expiring, pool_credit_line
from pipeline.report.view import AccountView, View
from pipeline.report.wording import (
    flagged_name,
    flagged_reason,
    mode_text,
    rate_limit_text,
    recommended_name,
    shown_text,
    status_summary,
    status_text,
    verification_text,
)

if TYPE_CHECKING:
    from pipeline.records import FlaggedRecord

# What could break a table row, start emphasis or open an HTML tag; `_` only where it could
# open or close emphasis ("invalid_grant" stays as it is). Backticks stay: the reasons use
# them for commands, which then read as code.
_MARKUP = re.compile(r"([\\*<>|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


_BACKTICKS = re.compile(r"`+")


def text(value: object) -> str:
    """Plain text in a table cell or a line: markup characters escaped, one line."""
    return _MARKUP.sub(r"\\\1", " ".join(str(value).split()))


def code(value: object) -> str:
    """A name as a code span (pipes still escaped: GitHub splits table cells on them)."""
    raw = " ".join(str(value).split()).replace("|", "\\|")
    # CommonMark: a span closes on a backtick run as long as its fence, so the fence is one
    # longer than the longest run inside (an e-mail holding `` cannot end the span early)
    longest = max((len(run) for run in _BACKTICKS.findall(raw)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def render(view: View, *, color: bool = False, explain: bool = False) -> bytes:
    return render_markdown(view, explain=explain).encode("utf-8")


def render_markdown(view: View, *, explain: bool = False) -> str:
    now = view.generated_at
    total = len(view.accounts) + len(view.flagged)
    current = view.current
    out = [
        f"### Codex auth report, {utc_stamp(now)}",
        "",
        f"**{total} accounts:** {len(view.accounts)} active"
        + (f" ({status_summary(view)})" if view.accounts else "")
        + f", {len(view.flagged)} flagged. "
        f"Current account: {code(current.name) if current else 'none'}. Mode: {mode_text(view)}.",
        "",
    ]
    if view.shown_statuses is not None:
        out += [f"Listed: {text(shown_text(view))}.", ""]
    if view.listed:
        out += [
            "| # | Account | Status | Score | 5h left | 7d left | Rate limit | Last used |",
            "| --: | --- | --- | --: | --: | --: | --- | --- |",
        ]
        out += [_account_row(a, now) for a in view.listed]
        others = [(a, extra_window_texts(a.labelled_windows(), a.quota)) for a in view.listed]
        others = [(a, texts) for a, texts in others if texts]
        if others:
            out += ["", "Other windows and buckets:", ""]
            out += [f"- {code(a.name)}: {text('; '.join(texts))}" for a, texts in others]
        first = first_expiring(((a.index, a.record) for a in view.accounts), now)
        credit = pool_credit_line(first, {a.index: a.name for a in view.accounts}, "")
        if credit:
            out += ["", *(text(line) + "." for line in credit)]
    else:
        out.append("No active accounts." if view.shown_statuses is None else "No active accounts with these statuses.")
    out.append("")
    if view.flagged:
        out += [
            "| # | Flagged account | Flagged | Reason | Last verified | Checks |",
            "| --: | --- | --- | --- | --- | --: |",
        ]
        out += [_flagged_row(number, record, now) for number, record in enumerate(view.flagged, start=1)]
    else:
        out.append("No flagged accounts.")
    out.append("")
    rec = view.recommendation
    if (index := rec.get("index")) is not None:
        out.append(f"**Recommendation:** use {code(recommended_name(view))} (#{index + 1}): {text(rec['reasoning'])}")
    else:
        out.append(f"**No account to use right now:** {text(rec['reasoning'])}")
    if explain and view.listed:
        out += ["", "**Why each account has its status and score:**", ""]
        for account in view.listed:
            out += _explain_lines(account)
    if view.warnings:
        out += ["", "**Warnings:**", ""]
        out += [f"- {text(line)}" for line in view.warnings]
    return "\n".join(out) + "\n"


def quota_cell(window: q.Window | None) -> str:
    """``95%``; ``unknown`` for a window whose figure is not valid; ``-`` when not reported."""
    if window is None:
        return "-"
    return "unknown" if window.remaining is None else f"{window.remaining}%"


def _account_row(account: AccountView, now: int) -> str:
    cells = [
        str(account.index + 1),
        code(account.name),
        text(status_text(account)),
        str(account.score),
        quota_cell(account.window_5h),
        quota_cell(account.window_7d),
        text(rate_limit_text(account, now) or ""),
        ago(account.record.get("lastUsed"), now),
    ]
    return "| " + " | ".join(cells) + " |"


def _flagged_row(number: int, record: FlaggedRecord, now: int) -> str:
    reason = flagged_reason(record)
    verification = verification_text(record)
    if verification:
        reason += f"; re-check: {verification}"
    flagged_at = record.get("flaggedAt")
    cells = [
        str(number),
        code(flagged_name(record)),
        ago(flagged_at, now) if flagged_at else "unknown",
        text(reason),
        ago(record.get("lastVerified"), now),
        str(record.get("verificationCount", 0)),
    ]
    return "| " + " | ".join(cells) + " |"


def _explain_lines(account: AccountView) -> list[str]:
    factors = account.record.get("factors") or []
    head = f"- #{account.index + 1} {code(account.name)}, score {account.score}:"
    if not factors:
        return [f"{head} nothing took points off"]
    return [
        head,
        *(
            f"  - {'-' + str(f['points']) if f['points'] else '0'} {text(f['reason'])}: {text(f['detail'])}"
            for f in factors
        ),
    ]
