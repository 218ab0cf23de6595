"""``--format html``: the report as one self-contained page, for a browser, a shared folder
or an incident channel.

Self-contained means the file is everything: the style sheet is inline, there are no
scripts, fonts or images, and a Content-Security-Policy meta tag (``default-src 'none'``)
makes the browser refuse anything that would load from elsewhere. Every text from the
records is escaped. A status reads without colour (a symbol and its name), and each quota
bar has its percentage beside it in text; rate limits count down in words.

Accounts are grouped by status, problems first (error, rate-limited, warning, disabled, then
healthy), each group in pool order; the summary cards link to their group, so at 1,000
accounts the problems are one click (and no script) away. Every table sits in a wrapper that
scrolls sideways on a narrow screen, so the page itself never does.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from pipeline import __version__
from pipeline import quota as q
from pipeline.humanize import ago, utc, utc_stamp
from pipeline.records import STATUSES, Status
from pipeline.report.extra_limits import credit_line, extra_window_texts, first_expiring, pool_credit_line
from pipeline.report.view import PROBLEM_ORDER, AccountView, View
from pipeline.report.wording import (
    STATUS_LABELS,
    flagged_name,
    flagged_reason,
    mode_text,
    rate_limit_text,
    recommended_name,
    shown_text,
    status_summary,
    verification_text,
)

if TYPE_CHECKING:
    from pipeline.records import FlaggedRecord

# Problems first: the order of the groups on the page (``--sort problems`` also puts the lowest
# score first within a group).
GROUP_ORDER: tuple[Status, ...] = PROBLEM_ORDER

SYMBOLS: dict[Status, str] = {
    "healthy": "\u2713",
    "warning": "\u25b2",
    "rate-limited": "\u25d4",
    "disabled": "\u2298",
    "error": "\u2715",
}

CSS = """
:root{color-scheme:light dark;--fg:#1f2328;--mute:#59636e;--bg:#fff;--card:#f6f8fa;--line:#d1d9e0;
--healthy:#1a7f37;--warning:#9a6700;--rate-limited:#8250df;--disabled:#59636e;--error:#cf222e;--bar:#e6eaef}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--mute:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;
--healthy:#3fb950;--warning:#d29922;--rate-limited:#ab7df8;--disabled:#9198a1;--error:#f85149;--bar:#262c36}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:1.5rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
.meta,.mute,small{color:var(--mute)}
.tiles{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0;padding:0;list-style:none}
.tiles li{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem 1rem;min-width:8.5rem}
.tiles b{display:block;font-size:1.6rem;line-height:1.2}
.tiles a{color:inherit;text-decoration:none;display:block}.tiles a:hover span,.tiles a:focus span{text-decoration:underline}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
.scroll table{min-width:52rem}
h3{font-size:1rem;margin:1.25rem 0 .4rem}
@media (max-width:600px){body{padding:.75rem}.tiles li{min-width:6.5rem;padding:.5rem .75rem}}
.rec{border:1px solid var(--line);border-left:6px solid var(--healthy);border-radius:8px;padding:.75rem 1rem;background:var(--card)}
.rec.none{border-left-color:var(--error)}
.rec p{margin:.2rem 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--mute)}
th.n,td.n{text-align:right;font-variant-numeric:tabular-nums}
.st{font-weight:600;white-space:nowrap}
.healthy{color:var(--healthy)}.warning{color:var(--warning)}.rate-limited{color:var(--rate-limited)}.disabled{color:var(--disabled)}.error{color:var(--error)}
.tag{display:inline-block;font-size:.75rem;border:1px solid var(--line);border-radius:999px;padding:0 .45rem;margin-left:.35rem;color:var(--mute)}
.q{white-space:nowrap;font-variant-numeric:tabular-nums}
.bar{display:inline-block;width:5.5rem;height:.6rem;margin-right:.4rem;border-radius:3px;background:var(--bar);overflow:hidden;vertical-align:middle}
.bar i{display:block;height:100%;background:var(--healthy)}
.bar i.mid{background:var(--warning)}.bar i.low{background:var(--error)}
.accounts{table-layout:fixed}.scroll table.accounts{min-width:72rem}
.accounts td{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.accounts .why td,.accounts td:nth-child(2){white-space:normal;overflow-wrap:anywhere}
.c-n{width:3.5rem}.c-st{width:12rem}.c-sc{width:5rem}.c-q{width:10rem}.c-rl{width:10rem}.c-lu{width:9rem}
.why td{border-bottom-style:dashed;padding-top:0}
.why ul{margin:0;padding-left:1.2rem}
code{font:.85em ui-monospace,"DejaVu Sans Mono",monospace}
footer{margin-top:2rem;font-size:.85rem;color:var(--mute)}
"""


# Every group's table has the same fixed column widths (the account's column takes the rest), so
# the groups' columns line up, and no cell but the account's wraps: a row is one line (two for a
# status with its reason, or a tag beside the e-mail) at any width, the wrapper scrolling sideways
# on a narrow screen.
ACCOUNT_COLUMNS = (
    '<colgroup><col class="c-n"><col><col class="c-st"><col class="c-sc"><col class="c-q"><col class="c-q">'
    '<col class="c-rl"><col class="c-lu"></colgroup>'
)


def render(view: View, *, color: bool = False, explain: bool = False) -> bytes:
    return render_html(view, explain=explain).encode("utf-8")


def render_html(view: View, *, explain: bool = False) -> str:
    now = view.generated_at
    current = view.current
    total = len(view.accounts) + len(view.flagged)
    title = f"Codex auth report, {utc_stamp(now)}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title>",
        f"<style>{CSS.strip()}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Codex Multi-Auth Health Report</h1>",
        f'<p class="meta">Generated {_time(now, utc_stamp(now))} &middot; Mode: {escape(mode_text(view))}</p>',
        "</header>",
        '<ul class="tiles" aria-label="Summary">',
        f"<li><b>{total}</b>total accounts</li>",
        f"<li><b>{len(view.accounts)}</b>active</li>",
        f"<li><b>{len(view.flagged)}</b>flagged</li>",
    ]
    counts = view.status_counts()
    listed = {a.status for a in view.listed}
    for s in GROUP_ORDER:
        if not counts[s]:
            continue
        card = f'<b class="{s}">{counts[s]}</b>{_status(s)}'
        # a card links to its group when the group is on the page (--status may leave it out)
        out.append(f'<li><a href="#status-{s}">{card}</a></li>' if s in listed else f"<li>{card}</li>")
    out += ["</ul>", f"<p>Current account: {_name(current.name) if current else 'none'}</p>"]
    out += _recommendation(view)
    out.append("<h2>Active accounts</h2>")
    if view.shown_statuses is not None:
        out.append(f'<p class="mute">Listed: {escape(shown_text(view))}.</p>')
    if view.listed:
        recommended = view.recommendation.get("index")
        for status in GROUP_ORDER:
            group = [a for a in view.listed if a.status == status]
            if not group:
                continue
            out += [
                f'<section id="status-{status}" aria-label="{STATUS_LABELS[status]} accounts">',
                f"<h3>{_status(status)} <small>({len(group)})</small></h3>",
                '<div class="scroll">',
                '<table class="accounts">',
                ACCOUNT_COLUMNS,
                "<thead><tr><th class=n>#</th><th>Account</th><th>Status</th><th class=n>Score</th><th>5h quota left</th><th>7d quota left</th>"
                "<th>Rate limit</th><th>Last used</th></tr></thead>",
                "<tbody>",
            ]
            for account in group:
                out.append(_account_row(account, now, account.index == recommended))
                if explain:
                    out.append(_why_row(account))
            out += ["</tbody>", "</table>", "</div>", "</section>"]
        first = first_expiring(((a.index, a.record) for a in view.accounts), now)
        names = {a.index: a.name for a in view.accounts}
        out += [f'<p class="credits">{escape(line)}.</p>' for line in pool_credit_line(first, names, "")]
    else:
        out.append(
            '<p class="mute">No active accounts.</p>'
            if view.shown_statuses is None
            else '<p class="mute">No active accounts with these statuses.</p>'
        )
    out.append("<h2>Flagged accounts</h2>")
    if view.flagged:
        out += [
            '<div class="scroll">',
            "<table>",
            "<thead><tr><th class=n>#</th><th>Account</th><th>Flagged</th><th>Reason</th><th>Last verified</th><th class=n>Checks</th></tr></thead>",
            "<tbody>",
            *(_flagged_row(number, record, now) for number, record in enumerate(view.flagged, start=1)),
            "</tbody>",
            "</table>",
            "</div>",
        ]
    else:
        out.append('<p class="mute">No flagged accounts.</p>')
    if view.warnings:
        out += ["<h2>Warnings</h2>", "<ul>", *(f"<li>{escape(line)}</li>" for line in view.warnings), "</ul>"]
    legend = " ".join(_status(s) for s in STATUSES)
    out += [
        f"<footer><p>{total} accounts: {escape(status_summary(view))}. Statuses: {legend}.</p>",
        f"<p>codex-auth-report {escape(__version__)}; model {escape(view.model)}</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


def _recommendation(view: View) -> list[str]:
    rec = view.recommendation
    index = rec.get("index")
    if index is None:
        return [
            '<section class="rec none" aria-label="Recommendation">',
            "<p><strong>No account to use right now</strong></p>",
            f"<p>{escape(rec['reasoning'])}</p>",
            "</section>",
        ]
    return [
        '<section class="rec" aria-label="Recommendation">',
        f"<p>Use account <strong>{_name(recommended_name(view) or '')}</strong> (#{index + 1})</p>",
        f'<p class="mute">{escape(rec["reasoning"])}</p>',
        "</section>",
    ]


def _account_row(account: AccountView, now: int, recommended: bool) -> str:
    record = account.record
    tags = ('<span class="tag">current</span>' if record.get("isCurrent") else "") + (
        '<span class="tag">recommended</span>' if recommended else ""
    )
    reasons = account.reasons
    why = f"<br><small>{escape(reasons[0])}</small>" if account.status in ("warning", "error") and reasons else ""
    limit = rate_limit_text(account, now)
    reset = record.get("rateLimitResetAt")
    limit_cell = escape(limit or "") + (
        f"<br><small>at {_time(reset, _clock(reset))}</small>" if limit and reset else ""
    )
    extra = extra_window_texts(account.labelled_windows(), account.quota)
    extra += [line.removesuffix(" (read now; never redeemed here)") for line in credit_line(record, now, "")]
    more = f"<br><small>{escape('; '.join(extra))}</small>" if extra else ""
    return (
        f"<tr><td class=n>{account.index + 1}</td><td>{_name(account.name)}{tags}</td><td>{_status(account.status)}{why}</td>"
        f"<td class=n>{account.score}</td><td>{_quota(account.window_5h)}</td><td>{_quota(account.window_7d)}{more}</td>"
        f"<td>{limit_cell}</td><td>{_ago(record.get('lastUsed'), now)}</td></tr>"
    )


def _why_row(account: AccountView) -> str:
    factors = account.record.get("factors") or []
    items = [
        f"<li>{'&minus;' + str(f['points']) if f['points'] else '0'} {escape(f['reason'])}: {escape(f['detail'])}</li>"
        for f in factors
    ]
    body = f"<ul>{''.join(items)}</ul>" if items else '<span class="mute">Nothing took points off.</span>'
    return f'<tr class="why"><td></td><td colspan="7"><small>Why:</small> {body}</td></tr>'


def _flagged_row(number: int, record: FlaggedRecord, now: int) -> str:
    reason = escape(flagged_reason(record))
    verification = verification_text(record)
    if verification:
        reason += f"<br><small>Re-check: {escape(verification)}</small>"
    flagged_at = record.get("flaggedAt")
    return (
        f"<tr><td class=n>{number}</td><td>{_name(flagged_name(record))}</td><td>{_ago(flagged_at, now) if flagged_at else 'unknown'}</td>"
        f"<td>{reason}</td><td>{_ago(record.get('lastVerified'), now)}</td><td class=n>{int(record.get('verificationCount') or 0)}</td></tr>"
    )


def _status(status: Status) -> str:
    return f'<span class="st {status}"><span aria-hidden="true">{SYMBOLS[status]}</span> {STATUS_LABELS[status]}</span>'


def _quota(window: q.Window | None) -> str:
    if window is None:
        return '<span class="mute">not reported</span>'
    left = window.remaining
    if left is None:
        return '<span class="mute">unknown</span>'
    level = "" if left >= 50 else (' class="mid"' if left >= 25 else ' class="low"')
    return f'<span class="q"><span class="bar" aria-hidden="true"><i{level} style="width:{left}%"></i></span>{left}%</span>'


def _name(name: str) -> str:
    return f"<code>{escape(name)}</code>"


def _ago(instant: int | None, now: int) -> str:
    return _time(instant, ago(instant, now)) if instant is not None else "never"


def _time(ms: int, text: str) -> str:
    stamp = utc(ms).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{stamp}">{escape(text)}</time>'


def _clock(ms: int) -> str:
    return utc(ms).strftime("%H:%M UTC")
