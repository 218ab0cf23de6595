"""``--view forecast``: the forecast document (``codex-auth schema forecast``) and its text,
JSON, Markdown and Prometheus forms, built from a :class:`pipeline.report.View` whose
account records carry a ``forecast`` (records without one are forecast here from their own
sample, so ``collect | render --view forecast`` works too)."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from pipeline import __version__
from pipeline.forecast import VERDICTS, forecast_account, horizon_end
from pipeline.forecast_pool import pool_forecast
from pipeline.humanize import duration, utc_stamp
from pipeline.records import Record
from pipeline.report.exposition import Metrics, Sample, account_labels, labels, ratio, seconds
from pipeline.report.markdown import code
from pipeline.report.markdown import text as md_text
from pipeline.report.view import View

SCHEMA_ID = "https://codex-auth-report.github.io/schemas/v1/forecast.json"
TEXT_CHANGES = 12  # the text shows the first changes of the pool's timeline; JSON has them all
VERDICT_TEXT = {"lasts": "lasts", "runs-out": "runs out", "exhausted": "exhausted", "unknown": "unknown"}


def forecast_document(view: View) -> Record:
    """The forecast as one JSON value (schemas/forecast.json)."""
    now = view.generated_at
    settings = (view.pool or {}).get("forecast") or {}
    end = settings.get("horizonEnd") or horizon_end(now, None)
    min_healthy = settings.get("minHealthy")
    accounts: list[Record] = []
    for account in view.accounts:
        record = account.record
        forecast = record.get("forecast") or forecast_account(record, now, None, end)
        accounts.append(
            {
                "index": account.index,
                "accountId": record.get("accountId"),
                "email": record.get("email"),
                "name": account.name,
                "status": account.status,
                "healthScore": account.score,
                "enabled": record.get("enabled") is not False,
                **forecast,
            }
        )
    pool = pool_forecast(accounts, now, end, min_healthy)
    for entry in accounts:
        entry.pop("enabled")
    return {
        "$schema": SCHEMA_ID,
        "generatedAt": now,
        "mode": view.mode,
        "model": view.model,
        "horizon": {"start": now, "end": end},
        "pool": pool,
        "accounts": accounts,
    }


def render_forecast(view: View, fmt: str) -> bytes:
    document = forecast_document(view)
    if fmt == "json":
        return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)  # one line: `>> file` stays `jq -s` readable
    if fmt == "text":
        return forecast_text(document).encode("utf-8")
    if fmt == "markdown":
        return forecast_markdown(document).encode("utf-8")
    if fmt == "prometheus":
        return forecast_prometheus(document).encode("utf-8")
    raise ValueError(f"the forecast has no {fmt} form (text, json, markdown, prometheus)")


def _when(ms: int | None, now: int) -> str:
    if ms is None:
        return "unknown"
    if ms <= now:
        return f"now ({utc_stamp(ms)})"
    return f"in {duration(ms - now)} ({utc_stamp(ms)})"


def _pace(window: Record) -> str:
    pace = window.get("pacePerHour")
    if pace is None:
        return ""
    basis = {"rhythm": "own rhythm", "least-squares": "history fit"}.get(window.get("method") or "", "window average")
    count = window.get("samples") or 0
    plural = "" if count == 1 else "s"
    return f", {pace:.1f} pts/h ({basis}, {count} sample{plural})"


def _used(window: Record) -> str:
    used = window.get("usedPercent")
    return "?" if used is None else f"{used:g}%"


def confidence_word(value: float | None) -> str:
    if value is None:
        return "unknown"
    return "high" if value >= 0.6 else "medium" if value >= 0.3 else "low"


def _range(window: Record, now: int) -> str:
    """``, likely in 2h to in 5h, confidence medium`` (a far-out run-out is a range, not a minute)."""
    span = window.get("runOutRange")
    confidence = (
        f"confidence {confidence_word(window.get('confidence'))}" if window.get("confidence") is not None else ""
    )
    if not span:
        return f" ({confidence})" if confidence else ""
    early, late = span["early"], span.get("late")
    if window["verdict"] == "runs-out":
        shown = f"between in {duration(max(0, early - now))} and " + (
            f"in {duration(max(0, late - now))}" if late is not None else "not at all"
        )
    else:
        shown = f"on a heavy day it runs out in {duration(max(0, early - now))}"
    return f" ({shown}; {confidence})" if confidence else f" ({shown})"


def window_line(window: Record, now: int) -> str:
    verdict = window["verdict"]
    head = f"{window['name']}: {_used(window)} used{_pace(window)}"
    if verdict == "exhausted":
        return f"{head}: exhausted, available {_when(window.get('availableAt'), now)}"
    if verdict == "runs-out":
        return (
            f"{head}: runs out {_when(window.get('runOutAt'), now)}{_range(window, now)}, "
            f"resets {_when(window.get('resetAt'), now)}"
        )
    if verdict == "lasts":
        return f"{head}: lasts to the reset {_when(window.get('resetAt'), now)}{_range(window, now)}"
    return f"{head}: unknown ({window.get('note') or 'too little data'})"


def account_verdict_text(account: Record, now: int) -> str:
    verdict = account["verdict"]
    binding = account.get("bindingWindow")
    if verdict == "exhausted":
        return f"exhausted ({binding}), available {_when(account.get('availableAt'), now)}"
    if verdict == "runs-out":
        return f"runs out ({binding}) {_when(account.get('runOutAt'), now)}"
    if verdict == "lasts":
        return "lasts through every reset"
    return "unknown (no usable quota data; run with --live)" if not account.get("windows") else "unknown"


def forecast_text(doc: Record) -> str:
    now = doc["generatedAt"]
    pool = doc["pool"]
    out = ["=== Codex Multi-Auth Forecast ===", f"Generated: {utc_stamp(now)}"]
    mode = f"Live probe (model: {doc['model']})" if doc["mode"] == "live" else "Default (cached data, no live probe)"
    out.append(f"Mode: {mode}")
    out.append(f"Horizon: until {utc_stamp(doc['horizon']['end'])} ({duration(doc['horizon']['end'] - now)})")
    out += ["", "Pool:"]
    out.append(f"  Usable now: {pool['usableNow']} of {pool['accounts']}")
    if pool["changes"]:
        for change in pool["changes"][:TEXT_CHANGES]:
            names = ", ".join(
                f"{_name(doc, c)} {'available' if c['change'] == 'available' else 'runs out'}"
                for c in change["accounts"]
            )
            out.append(
                f"  {utc_stamp(change['at'])} (in {duration(change['at'] - now)}): {change['usable']} usable ({names})"
            )
        if len(pool["changes"]) > TEXT_CHANGES:
            more = len(pool["changes"]) - TEXT_CHANGES
            out.append(f"  ... and {more} more change{'s' if more > 1 else ''} before the horizon (--json lists them)")
    else:
        out.append("  No change before the horizon")
    if pool["minHealthy"] is not None:
        below = pool["belowMinHealthyAt"]
        if below is None:
            out.append(f"  Stays at or above --min-healthy {pool['minHealthy']} until the horizon")
        else:
            out.append(f"  Falls below --min-healthy {pool['minHealthy']}: {_when(below, now)}")
    nxt = pool["next"]
    out += ["", "Use next:"]
    if nxt is None:
        out.append("  No account is usable now")
    else:
        out.append(f"  {_name(doc, nxt)} (index {nxt['index'] + 1}): {nxt['reasoning']}")
    out += ["", "Accounts:"]
    if not doc["accounts"]:
        out.append("  (none)")
    for account in doc["accounts"]:
        out.append(f"  {account['index'] + 1}. {account['name']}: {account_verdict_text(account, now)}")
        if account["status"] in ("disabled", "error"):
            out.append(f"     Status: {account['status']} (not counted as usable)")
        if account.get("sessionsLeft") is not None:
            out.append(f"     5h sessions left before the weekly runs out: {account['sessionsLeft']:g}")
        for window in account["windows"]:
            out.append(f"     {window_line(window, now)}")
    return "\n".join(out) + "\n"


def _name(doc: Record, entry: Record) -> str:
    for account in doc["accounts"]:
        if account["index"] == entry["index"]:
            return str(account["name"])
    return str(entry.get("email") or entry.get("accountId") or f"account {entry['index'] + 1}")


def forecast_markdown(doc: Record) -> str:
    now = doc["generatedAt"]
    pool = doc["pool"]
    out = [
        f"## Codex account forecast ({utc_stamp(now)})",
        "",
        f"Usable now: **{pool['usableNow']}** of {pool['accounts']}; lowest before {utc_stamp(doc['horizon']['end'])}: "
        f"**{pool['lowestUsable']}**.",
    ]
    if pool["minHealthy"] is not None:
        below = pool["belowMinHealthyAt"]
        out.append(
            f"Falls below {pool['minHealthy']} usable: **{utc_stamp(below)}**."
            if below is not None
            else f"Stays at or above {pool['minHealthy']} usable."
        )
    if pool["next"] is not None:
        out.append(f"Use next: **{code(_name(doc, pool['next']))}** ({md_text(pool['next']['reasoning'])}).")
    out += [
        "",
        "| # | Account | Verdict | Window | Used | Pace (pts/h) | Basis | Runs out | Likely between | Confidence "
        "| 5h sessions left | Available |",
    ]
    out.append("|--:|---|---|---|--:|--:|---|---|---|---|--:|---|")
    for account in doc["accounts"]:
        binding = next((w for w in account["windows"] if w["name"] == account.get("bindingWindow")), None)
        pace = binding.get("pacePerHour") if binding else None
        out.append(
            f"| {account['index'] + 1} | {code(account['name'])} | {account['verdict']} | {account.get('bindingWindow') or ''} | "
            f"{_used(binding) if binding else ''} | {'' if pace is None else f'{pace:.1f}'} | "
            f"{(binding or {}).get('basis') or ''} | {_stamp(account.get('runOutAt'))} | {_between(account)} | "
            f"{'' if account.get('confidence') is None else confidence_word(account['confidence'])} | "
            f"{'' if account.get('sessionsLeft') is None else format(account['sessionsLeft'], 'g')} | "
            f"{_stamp(account.get('availableAt'))} |"
        )
    return "\n".join(out) + "\n"


def _between(account: Record) -> str:
    span = account.get("runOutRange")
    if not span:
        return ""
    return f"{utc_stamp(span['early'])} to {_stamp(span.get('late')) or 'may last'}"


def _stamp(ms: int | None) -> str:
    return utc_stamp(ms) if ms is not None else ""


def forecast_prometheus(doc: Record) -> str:
    """The forecast as gauges in Prometheus' text format (no timestamps; Unix seconds)."""
    metrics = Metrics()
    gauge = metrics.gauge
    accounts = [(a, account_labels(a)) for a in doc["accounts"]]
    pool = doc["pool"]
    gauge(
        "forecast_generated_timestamp_seconds",
        "When the forecast was made (its --now), as Unix time in seconds.",
        [("", seconds(doc["generatedAt"]))],
    )
    gauge(
        "forecast_info",
        "Always 1; the labels say how the forecast was made.",
        [(labels(mode=doc["mode"], model=doc["model"], version=__version__), 1)],
    )
    gauge(
        "forecast_horizon_end_timestamp_seconds",
        "The end of the forecast's horizon, as Unix time in seconds.",
        [("", seconds(doc["horizon"]["end"]))],
    )
    gauge(
        "forecast_usable_accounts",
        "Accounts usable now (not disabled, broken, rate-limited or exhausted).",
        [("", pool["usableNow"])],
    )
    gauge(
        "forecast_lowest_usable_accounts",
        "The fewest usable accounts at any moment before the horizon, at the current pace.",
        [("", pool["lowestUsable"])],
    )
    if pool["minHealthy"] is not None:
        gauge("forecast_min_healthy", "The --min-healthy the forecast was asked to check.", [("", pool["minHealthy"])])
    if pool["belowMinHealthyAt"] is not None:
        gauge(
            "forecast_below_min_healthy_timestamp_seconds",
            "When the usable accounts first fall below --min-healthy, as Unix time in seconds (no sample when they do not).",
            [("", seconds(pool["belowMinHealthyAt"]))],
        )
    gauge(
        "account_forecast_verdict",
        "1 for the account's forecast verdict (lasts, runs-out, exhausted, unknown), 0 for the others.",
        [(labels(ident, verdict=v), int(a["verdict"] == v)) for a, ident in accounts for v in VERDICTS],
    )

    def per_window(key: str, value: Callable[[int], float | int], **extra: str) -> list[Sample]:
        return [
            (labels(ident, window=w["name"], **{k: str(w[v]) for k, v in extra.items()}), value(w[key]))
            for a, ident in accounts
            for w in a["windows"]
            if w.get(key) is not None
        ]

    gauge(
        "run_out_timestamp_seconds",
        "When the window is expected to reach 100 % used before its reset, as Unix time in seconds (only windows that run out).",
        per_window("runOutAt", seconds),
    )
    gauge(
        "available_timestamp_seconds",
        "When an exhausted or running-out window is usable again (its reset), as Unix time in seconds.",
        per_window("availableAt", seconds),
    )
    gauge(
        "window_pace_ratio_per_hour",
        "How fast the window is being used, as a share of the whole quota per hour (0.05 is 5 percentage points an hour).",
        per_window("pacePerHour", ratio, basis="basis"),
    )

    def range_end(end: str) -> list[Sample]:
        return [
            (labels(ident, window=w["name"]), seconds(w["runOutRange"][end]))
            for a, ident in accounts
            for w in a["windows"]
            if (w.get("runOutRange") or {}).get(end) is not None
        ]

    gauge(
        "run_out_earliest_timestamp_seconds",
        "The early end of the run-out's range (the account's heavier days), as Unix time in seconds.",
        range_end("early"),
    )
    gauge(
        "run_out_latest_timestamp_seconds",
        "The late end of the run-out's range (the account's lighter days), as Unix time in seconds (no sample when it may last).",
        range_end("late"),
    )
    gauge(
        "window_forecast_confidence_ratio",
        "How sure the window's forecast is, from 0 to 1 (the history's span and the account's day-to-day spread).",
        per_window("confidence", lambda value: value),
    )
    gauge(
        "account_five_hour_sessions_left",
        "Full 5h windows the weekly window has room for before it runs out.",
        [(ident, a["sessionsLeft"]) for a, ident in accounts if a.get("sessionsLeft") is not None],
    )
    gauge(
        "window_forecast_verdict",
        "1 for the window's forecast verdict (lasts, runs-out, exhausted, unknown), 0 for the others.",
        [
            (labels(ident, window=w["name"], verdict=v), int(w["verdict"] == v))
            for a, ident in accounts
            for w in a["windows"]
            for v in VERDICTS
        ],
    )
    return metrics.text()
