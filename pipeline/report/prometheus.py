"""``--format prometheus``: the report as metrics in Prometheus' text exposition format
(version 0.0.4), ready for node_exporter's textfile collector:

    codex auth report --format prometheus --out /var/lib/prometheus/node-exporter/codex_auth.prom

Every name starts with ``codex_auth_``; each metric has its ``# HELP`` and ``# TYPE`` once,
with all its samples together; values are in base units (seconds, Unix time in seconds,
ratios from 0 to 1). Per-account series carry ``index`` (0-based, as in the JSON report),
``number`` (1-based: the number the text report, the HTML and codex-multi-auth's
``switch <number>`` use), ``email`` and ``account_id`` (empty when unknown; masked with ``--redact``). A figure the
report does not know (a quota, a reset time) has no sample at all, never a 0. Samples have
no timestamps: the textfile collector refuses them; the report's own time is a metric.
"""

from __future__ import annotations

from pipeline import __version__
from pipeline import quota as q
from pipeline.records import STATUSES
from pipeline.report.exposition import Metrics, account_labels, labels, seconds
from pipeline.report.extra_limits import extra_gauges
from pipeline.report.view import AccountView, View
from pipeline.report.wording import flagged_reason


def render(view: View, *, color: bool = False, explain: bool = False) -> bytes:
    return render_prometheus(view).encode("utf-8")


def render_prometheus(view: View) -> str:
    metrics = Metrics()
    gauge = metrics.gauge
    accounts = [(a, account_labels(a.record)) for a in view.listed]  # per-account series: --status applies
    flagged = [(f, account_labels(f)) for f in view.flagged]
    counts = view.status_counts()
    recommended = view.recommendation.get("index")

    gauge(
        "report_generated_timestamp_seconds",
        "When the report was generated (its --now), as Unix time in seconds.",
        [("", seconds(view.generated_at))],
    )
    gauge(
        "report_info",
        "Always 1; the labels say how the report was made: mode (default: cached data, live: probed), the model whose limits count, the tool's version.",
        [(labels(mode=view.mode, model=view.model, version=__version__), 1)],
    )
    gauge(
        "report_warnings",
        "Warnings in the report about the pool's storage (read from a backup, an unreadable flagged file, skipped records).",
        [("", len(view.warnings))],
    )
    gauge(
        "report_warning_info",
        "Always 1, one series per warning about the pool's storage; the warning label holds its text, as the text report lists it.",
        [(labels(warning=line), 1) for line in view.warnings],
    )
    gauge(
        "accounts",
        "Accounts in the pool: active plus flagged.",
        [("", len(view.accounts) + len(view.flagged))],
    )
    gauge(
        "active_accounts",
        "Accounts in the pool's accounts file, whatever their status.",
        [("", len(view.accounts))],
    )
    gauge(
        "flagged_accounts",
        "Accounts codex-multi-auth flagged as broken (kept apart in its flagged accounts file).",
        [("", len(view.flagged))],
    )
    gauge(
        "accounts_by_status",
        "Active accounts with each status (healthy, warning, rate-limited, disabled, error).",
        [(labels(status=s), counts[s]) for s in STATUSES],
    )
    gauge(
        "account_health_score",
        "Health score of each account, from 0 (unusable) to 100 (nothing wrong); a score, not a ratio.",
        [(ident, a.score) for a, ident in accounts],
    )
    gauge(
        "account_status",
        "1 for the account's status, 0 for the four others (healthy, warning, rate-limited, disabled, error).",
        [(labels(ident, status=s), int(a.status == s)) for a, ident in accounts for s in STATUSES],
    )
    gauge(
        "account_quota_remaining_ratio",
        "Share of the account's quota left in a time window (window: 5h, 7d, 30d, or the length of any other), from 0 to 1 (a ratio, Prometheus' base unit, "
        "not a percent: 0.45 is the report's 45%); no sample when the figure is unknown or from before the window reset.",
        [
            (labels(ident, window=w), window.remaining / 100)
            for a, ident in accounts
            for w, window in _windows(a)
            if window.remaining is not None
        ],
    )
    gauge(
        "account_quota_reset_timestamp_seconds",
        "When the account's quota window (5h, 7d, 30d or another length) resets, as Unix time in seconds (when known).",
        [
            (labels(ident, window=w), seconds(window.reset_at))
            for a, ident in accounts
            for w, window in _windows(a)
            if window.reset_at and not window.stale
        ],
    )
    gauge(
        "account_rate_limited",
        "1 when a rate limit is in force for the account, else 0.",
        [(ident, int(bool(a.record.get("rateLimited")))) for a, ident in accounts],
    )
    gauge(
        "account_rate_limit_reset_timestamp_seconds",
        "When every rate limit in force on the account has reset, as Unix time in seconds (rate-limited accounts whose reset time is known).",
        [
            (ident, seconds(reset_at))
            for a, ident in accounts
            if a.record.get("rateLimited") and (reset_at := a.record.get("rateLimitResetAt"))
        ],
    )
    gauge(
        "account_last_used_timestamp_seconds",
        "When the account was last used, as Unix time in seconds (when recorded).",
        [(ident, seconds(used)) for a, ident in accounts if (used := a.record.get("lastUsed")) is not None],
    )
    gauge(
        "account_current",
        "1 for the pool's current account, else 0.",
        [(ident, int(bool(a.record.get("isCurrent")))) for a, ident in accounts],
    )
    gauge(
        "account_recommended",
        "1 for the account the report recommends using next, else 0 (all 0: no usable account).",
        [(ident, int(a.index == recommended)) for a, ident in accounts],
    )
    gauge(
        "flagged_account_flagged_timestamp_seconds",
        "When the account was flagged as broken, as Unix time in seconds; the reason label says why.",
        [
            (labels(ident, reason=flagged_reason(f)), seconds(at))
            for f, ident in flagged
            if (at := f.get("flaggedAt")) is not None
        ],
    )
    gauge(
        "flagged_account_last_verified_timestamp_seconds",
        "When the flagged account was last re-checked, as Unix time in seconds (when it was).",
        [(ident, seconds(at)) for f, ident in flagged if (at := f.get("lastVerified")) is not None],
    )
    gauge(
        "flagged_account_verifications",
        "How many times the flagged account has been re-checked.",
        [(ident, int(f.get("verificationCount") or 0)) for f, ident in flagged],
    )
    extra_gauges(metrics, [(a.record, ident) for a, ident in accounts])
    return metrics.text()


def _windows(account: AccountView) -> list[tuple[str, q.Window]]:
    return account.labelled_windows()
