"""What the 2026 usage answer adds to an account, for every format: monthly spend limits,
reset credits and the per-feature limits (Spark, code review). The figures come from the
account record's ``quota`` (``spendControl``, ``resetCredits``, ``additionalLimits``); the
model's own limit is shown with the main windows and decides the status, as before."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pipeline import quota as q
from pipeline.humanize import ago, utc_stamp
from pipeline.records import Record
from pipeline.vocabulary import plan_name

if TYPE_CHECKING:
    from pipeline.records import AccountRecord, Quota, QuotaLimit, QuotaWindow, ResetCreditDetails, SpendLimit
    from pipeline.report.exposition import Metrics, Sample  # the Prometheus writer loads only for that format


def spend_limits(quota: Quota | None) -> list[SpendLimit]:
    spend = (quota or {}).get("spendControl")
    return list(spend.get("limits") or []) if isinstance(spend, dict) else []


def other_limits(quota: Quota | None) -> list[QuotaLimit]:
    """The per-feature limits other than the model's own."""
    quota = quota or {}
    own = (quota.get("modelLimit") or {}).get("limitId")
    return [limit for limit in quota.get("additionalLimits") or [] if limit.get("limitId") != own]


def reserve(quota: Quota | None) -> QuotaLimit | None:
    """Luna Reserve: the bucket the service spends after ordinary usage runs out."""
    value = (quota or {}).get("reserve")
    return value if isinstance(value, dict) else None


def _window_fields(windows: list[QuotaWindow]) -> list[Record]:
    return [
        _drop_none(
            {
                "window": q.window_label(w.get("windowMinutes")),
                "usedPercent": w.get("usedPercent"),
                "resetAt": w.get("resetAt"),
            }
        )
        for w in windows
    ]


def reset_credits(quota: Quota | None) -> int | None:
    credits = (quota or {}).get("resetCredits")
    return credits.get("availableCount") if isinstance(credits, dict) else None


def report_fields(quota: Quota | None) -> Record:
    """Extensions of the JSON report's account (left out when the service sent nothing)."""
    fields: Record = {}
    if not quota or (_EXTENSIONS.isdisjoint(quota) and quota.get("credits") is None):
        return fields  # none of them (a cached quota, most accounts of a pool): nothing to look at
    spend = (quota or {}).get("spendControl")
    if isinstance(spend, dict):
        fields["spendControl"] = _drop_none(
            {
                "reached": spend.get("reached"),
                "reachedLimitType": spend.get("reachedLimitType"),
                "limits": [
                    _drop_none(
                        {
                            "limitType": limit.get("limitType"),
                            "usedPercent": limit.get("usedPercent"),
                            "remainingPercent": limit.get("remainingPercent"),
                            "resetAt": limit.get("resetAt"),
                        }
                    )
                    for limit in spend_limits(quota)
                ],
            }
        )
    count = reset_credits(quota)
    if count is not None:
        fields["resetCredits"] = count
    bucket = reserve(quota)
    if bucket is not None:
        fields["reserve"] = _drop_none(
            {
                "limitId": bucket["limitId"],
                "limitName": bucket.get("limitName"),
                "limitReached": bucket.get("limitReached"),
                "windows": _window_fields(bucket.get("windows") or []),
            }
        )
    if (quota or {}).get("modelBlocked") is not None:
        fields["modelBlocked"] = quota["modelBlocked"] if quota else None
        if quota and quota.get("modelAvailableAt"):
            fields["modelAvailableAt"] = quota["modelAvailableAt"]
    overage = ((quota or {}).get("credits") or {}).get("overageLimitReached")
    if overage is not None:
        fields["overageLimitReached"] = overage
    others = other_limits(quota)
    if others:
        fields["additionalLimits"] = [
            _drop_none(
                {
                    "limitId": limit["limitId"],
                    "limitName": limit.get("limitName"),
                    "limitReached": limit.get("limitReached"),
                    "windows": [
                        _drop_none(
                            {
                                "window": q.window_label(w.get("windowMinutes")),
                                "usedPercent": w.get("usedPercent"),
                                "resetAt": w.get("resetAt"),
                            }
                        )
                        for w in limit.get("windows") or []
                    ],
                }
            )
            for limit in others
        ]
    return fields


# The members of a quota that report_fields reads (besides ``credits``).
_EXTENSIONS = frozenset(("spendControl", "resetCredits", "reserve", "modelBlocked", "additionalLimits"))


def explain_lines(quota: Quota | None, pad: str) -> list[str]:
    """``--explain``: the spend limits, reset credits and other limits, one line each."""
    lines = []
    spend = (quota or {}).get("spendControl")
    for limit in spend_limits(quota):
        used = limit.get("usedPercent")
        reset = limit.get("resetAt")
        reached = " (reached)" if isinstance(spend, dict) and spend.get("reached") else ""
        lines.append(
            f"{pad}Spend limit ({limit.get('limitType')}): {_used(used)} used{reached}"
            + (f", resets {utc_stamp(reset)}" if reset else "")
        )
    count = reset_credits(quota)
    if count is not None:
        lines.append(f"{pad}Reset credits: {count} available (read only; this tool never redeems one)")
    if (quota or {}).get("modelBlocked") is True:
        at = (quota or {}).get("modelAvailableAt")
        model = (quota or {}).get("model") or "the probe model"
        lines.append(
            f"{pad}Model {model}: used up, says the service" + (f"; available again {utc_stamp(at)}" if at else "")
        )
    if ((quota or {}).get("credits") or {}).get("overageLimitReached") is True:
        lines.append(f"{pad}Credits: the overage limit is reached")
    for family in other_limits(quota):
        windows = ", ".join(
            f"{q.window_label(w.get('windowMinutes'))} {_used(w.get('usedPercent'))} used"
            for w in family.get("windows") or []
        )
        name = family.get("limitName") or family["limitId"]
        reached = "; reached" if family.get("limitReached") else ""
        lines.append(
            f"{pad}Other limit {name} ({family['limitId']}): {windows or 'no window'}{reached}; does not decide the status"
        )
    return lines


def plan_line(plan: str | None, pad: str) -> list[str]:
    """``Plan: K-12 (k12)``; an identifier we have no name for is shown as it is."""
    if not plan:
        return []
    name = plan_name(plan)
    return [f"{pad}Plan: {name}" + (f" ({plan})" if name != plan else "")]


def reserve_lines(quota: Quota | None, pad: str) -> list[str]:
    """The Luna Reserve bucket in one line (every text format shows it, --explain or not)."""
    bucket = reserve(quota)
    if bucket is None:
        return []
    parts = []
    for w in bucket.get("windows") or []:
        used = w.get("usedPercent")
        left = "?" if used is None else f"{max(0, 100 - round(float(used)))}%"
        parts.append(f"{left} left ({q.window_label(w.get('windowMinutes'))})")
    state = "; reached" if bucket.get("limitReached") else ""
    return [f"{pad}Luna Reserve: {', '.join(parts) or 'no window'}{state} (spent after ordinary usage runs out)"]


def reserve_text(quota: Quota | None) -> str | None:
    """``Luna Reserve 76% left (7d)``: the bucket in a few words, for the tables."""
    line = reserve_lines(quota, "")
    return line[0].split(" (spent after")[0].replace("Luna Reserve: ", "Luna Reserve ") if line else None


def extra_window_texts(windows: Iterable[tuple[str, q.Window]], quota: Quota | None) -> list[str]:
    """What the 5h and 7d columns of a table leave out: a 30-day window, a window of any other
    length, and the Luna Reserve bucket (``30d 55% left``)."""
    texts = []
    for label, window in windows:
        if label in ("5h", "7d"):
            continue
        texts.append(f"{label} {'unknown' if window.remaining is None else f'{window.remaining}% left'}")
    bucket = reserve_text(quota)
    if bucket:
        texts.append(bucket)
    return texts


def extra_gauges(metrics: Metrics, accounts: Sequence[tuple[AccountRecord, str]]) -> None:
    """The Prometheus format's gauges of these extras; ``accounts`` pairs each record with
    its identity labels (:func:`pipeline.report.exposition.account_labels`)."""
    from pipeline.report.exposition import labels, ratio, seconds  # only the Prometheus format writes them

    spend: list[Sample] = []
    spend_reset: list[Sample] = []
    reached: list[Sample] = []
    credits: list[Sample] = []
    other: list[Sample] = []
    other_reached: list[Sample] = []
    credit_expiry: list[Sample] = []
    pool_first: list[Sample] = []
    reserve_used: list[Sample] = []
    reserve_reached: list[Sample] = []
    blocked: list[Sample] = []
    overage: list[Sample] = []
    for record, ident in accounts:
        quota = record.get("quota")
        control = (quota or {}).get("spendControl")
        if isinstance(control, dict) and control.get("reached") is not None:
            reached.append((ident, int(bool(control["reached"]))))
        for limit in spend_limits(quota):
            kind = labels(ident, limit_type=str(limit.get("limitType")))
            used, reset = limit.get("usedPercent"), limit.get("resetAt")
            if used is not None:
                spend.append((kind, ratio(used)))
            if reset:
                spend_reset.append((kind, seconds(int(reset))))
        count = reset_credits(quota)
        if count is not None:
            credits.append((ident, count))
        details = credit_details(record)
        if details is not None and isinstance(expiry := details.get("soonestExpiry"), int):
            soonest = seconds(int(expiry))
            credit_expiry.append((ident, soonest))
            pool_first[:] = [("", min(soonest, pool_first[0][1]) if pool_first else soonest)]
        bucket = reserve(quota)
        if bucket is not None:
            if bucket.get("limitReached") is not None:
                reserve_reached.append((ident, int(bool(bucket["limitReached"]))))
            for window in bucket.get("windows") or []:
                if (used := window.get("usedPercent")) is not None:
                    label = q.window_label(window.get("windowMinutes"))
                    reserve_used.append((labels(ident, window=label), ratio(used)))
        if (quota or {}).get("modelBlocked") is not None:
            blocked.append((ident, int(bool(quota["modelBlocked"])) if quota else 0))
        over = ((quota or {}).get("credits") or {}).get("overageLimitReached")
        if over is not None:
            overage.append((ident, int(bool(over))))
        for family in other_limits(quota):
            named = labels(ident, limit_id=family["limitId"], limit_name=family.get("limitName") or "")
            if family.get("limitReached") is not None:
                other_reached.append((named, int(bool(family["limitReached"]))))
            for window in family.get("windows") or []:
                if (used := window.get("usedPercent")) is not None:
                    label = q.window_label(window.get("windowMinutes"))
                    other.append((labels(named, window=label), ratio(used)))
    gauge = metrics.gauge
    gauge(
        "account_spend_used_ratio",
        "Share of the seat's monthly spend limit used, from 0 to 1 (limit_type: individual, workspace...).",
        spend,
    )
    gauge(
        "account_spend_reset_timestamp_seconds",
        "When the seat's monthly spend limit resets, as Unix time in seconds.",
        spend_reset,
    )
    gauge(
        "account_spend_limit_reached",
        "1 when the service says a spend limit stops the account, else 0 (seats with spend controls only).",
        reached,
    )
    gauge(
        "account_reset_credits",
        "Rate-limit reset credits the account holds (read only: nothing here redeems one).",
        credits,
    )
    gauge(
        "account_additional_limit_used_ratio",
        "Share used of a per-feature limit that is not the model's own (Spark, code review), from 0 to 1; it does not decide the status.",
        other,
    )
    gauge(
        "account_additional_limit_reached",
        "1 when a per-feature limit that is not the model's own is reached, else 0.",
        other_reached,
    )
    gauge(
        "account_reset_credit_expiry_timestamp_seconds",
        "When the account's first available rate-limit reset credit expires, as Unix time in seconds "
        "(read with --reset-credits, or as last read; never redeemed here).",
        credit_expiry,
    )
    gauge(
        "pool_reset_credit_expiry_timestamp_seconds",
        "When the pool's first-expiring rate-limit reset credit expires, as Unix time in seconds.",
        pool_first,
    )
    gauge(
        "account_reserve_used_ratio",
        "Share used of the account's Luna Reserve, the bucket the service spends after ordinary usage runs out, "
        "from 0 to 1 (window: 5h, 7d...).",
        reserve_used,
    )
    gauge(
        "account_reserve_limit_reached",
        "1 when the account's Luna Reserve is used up, else 0 (accounts the service offers it to only).",
        reserve_reached,
    )
    gauge(
        "account_model_blocked",
        "1 when the service names the probe model as used up for the account, else 0 (when it says either).",
        blocked,
    )
    gauge(
        "account_overage_limit_reached",
        "1 when the account's credits overage limit is reached, else 0 (when the service says either).",
        overage,
    )


def _used(value: float | None) -> str:
    return "?" if value is None else f"{value:g}%"


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# --- reset credits with their expiry (--reset-credits, or as last read) ---------------------


def credit_details(record: AccountRecord) -> ResetCreditDetails | None:
    details = record.get("resetCreditDetails")
    return details if isinstance(details, dict) else None


def credit_fields(record: AccountRecord) -> Record:
    """The JSON report's ``resetCreditDetails`` of an account (left out when never read)."""
    details = credit_details(record)
    if details is None:
        return {}
    return {
        "resetCreditDetails": _drop_none(
            {
                "availableCount": details.get("availableCount"),
                "soonestExpiry": details.get("soonestExpiry"),
                "readAt": details.get("readAt"),
                "source": details.get("source"),
            }
        )
    }


def first_expiring(records: Iterable[tuple[int, AccountRecord]], now: int) -> Record | None:
    """The pool's reset credit that expires first: ``{availableCount, soonestExpiry, index}``
    (the total available, and the account holding the first to expire), or ``None``."""
    total = 0
    first: tuple[int, int] | None = None
    seen = False
    for index, record in records:
        details = credit_details(record)
        if details is None:
            continue
        seen = True
        total += int(details.get("availableCount") or 0)
        soonest = details.get("soonestExpiry")
        if isinstance(soonest, int) and soonest > now and (first is None or soonest < first[0]):
            first = (soonest, index)
    if not seen:
        return None
    return _drop_none(
        {
            "availableCount": total,
            "soonestExpiry": first[0] if first else None,
            "index": first[1] if first else None,
        }
    )


def credit_line(record: AccountRecord, now: int, pad: str) -> list[str]:
    """``Reset credits: 2 available, the first expires 2026-12-20 14:00 UTC (read 3h ago; never
    redeemed here)``."""
    details = credit_details(record)
    if details is None:
        return []
    count = details.get("availableCount") or 0
    soonest = details.get("soonestExpiry")
    if not count:
        first = ""
    elif isinstance(soonest, int) and soonest > now:
        first = f", the first expires {utc_stamp(soonest)}"
    elif isinstance(soonest, int):
        first = ", the first has expired since"
    else:
        first = ", none expires"
    read = details.get("readAt")
    when = "read now" if details.get("source") == "live" else f"read {ago(read, now)}" if read else "cached"
    return [f"{pad}Reset credits: {count} available{first} ({when}; never redeemed here)"]


def pool_credit_line(first: Record | None, names: dict[int, str], pad: str) -> list[str]:
    if first is None:
        return []
    soonest, index = first.get("soonestExpiry"), first.get("index")
    where = f" ({names[index]})" if isinstance(index, int) and index in names else ""
    expiry = f"; the first expires {utc_stamp(soonest)}{where}" if soonest else ""
    return [f"{pad}Reset credits: {first.get('availableCount', 0)} available{expiry}"]
