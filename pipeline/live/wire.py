"""Translators from the wire: the backend's usage JSON and the ``x-codex-*`` response
headers become our ``quota`` object; an error body becomes at most a short error code.
Nothing else of an upstream answer is passed on (bodies can hold tokens): every string that
reaches a record goes through :mod:`pipeline.vocabulary` (known codes, short display names,
money amounts)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipeline.numbers import real, whole
from pipeline.vocabulary import amount, display_name, holds_secret, known_code, plan_code, upstream_code

if TYPE_CHECKING:
    from pipeline.records import QuotaWindow

code = known_code
# A limit family named by a header (x-codex-<family>-primary-used-percent): short words.
_FAMILY = re.compile(r"[a-z0-9]{1,16}(?:[_-][a-z0-9]{1,16}){0,5}")
# Luna Reserve: the additional limit the service spends after ordinary usage runs out.
RESERVE_NAMES = frozenset({"gpt-reserve", "base_model_inference", "base-model-inference"})


def family_name(family: str) -> str | None:
    """A header family (``bengalfox``, ``codex-other``) when it is upstream text we may pass on:
    the shape of short words, and neither it nor its ``-``/``_`` swapped copies a known secret
    (the family is normalised to a limit id by that swap). Else ``None``: the family is dropped."""
    if not _FAMILY.fullmatch(family) or holds_secret(family):
        return None
    return family


def reached_type(raw: Any) -> str | None:
    """``rate_limit_reached_type`` is an object keyed ``type`` on the wire
    (``{"type": "rate_limit_reached", "details": ...}``); older fakes said ``kind``; a bare
    string is taken too."""
    if isinstance(raw, dict):
        return code(raw.get("type")) or code(raw.get("kind"))
    return code(raw)


def json_body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None


def error_code(body: Any, status: int | None) -> str | None:
    """The service's error code from a JSON body (``error.code``, ``error.type``, ``code``,
    ``error``, ``detail``): a known word, ``http_<status>`` when the body names its error in
    words we do not take, ``None`` when it names none."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return upstream_code([error.get("code"), error.get("type")], status)
    return upstream_code([body.get("code"), error, body.get("detail")], status)


def norm(name: str | None) -> str:
    return re.sub(r"[\s_]+", "-", (name or "").strip().lower())


def _plain(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


# --- the usage JSON (GET /wham/usage) ---------------------------------------------------


def _window(raw: Any, now: int) -> QuotaWindow | None:
    if not isinstance(raw, dict):
        return None
    seconds = real(raw.get("limit_window_seconds"))
    minutes = math.ceil(seconds / 60) if seconds is not None else None
    if minutes is not None and minutes <= 0:
        return None
    used_raw = real(raw.get("used_percent"))
    used = max(0.0, float(used_raw)) if used_raw is not None else None
    reset = None
    reset_at = real(raw.get("reset_at"))
    reset_after = real(raw.get("reset_after_seconds"))
    if reset_at is not None and reset_at > 0:
        reset = int(reset_at * 1000) if reset_at < 1e11 else int(reset_at)
    elif reset_after is not None:
        reset = now + int(reset_after * 1000)
    if used is None and minutes is None:
        return None
    return {"windowMinutes": minutes, "usedPercent": _plain(used), "resetAt": reset}


def _windows(rate: Any, now: int) -> list[QuotaWindow]:
    if not isinstance(rate, dict):
        return []
    return [w for w in (_window(rate.get("primary_window"), now), _window(rate.get("secondary_window"), now)) if w]


def usage_quota(body: dict[str, Any], model: str, now: int) -> dict[str, Any]:
    raw_rate = body.get("rate_limit")
    rate: dict[str, Any] = raw_rate if isinstance(raw_rate, dict) else {}
    reached = rate.get("limit_reached")
    if rate.get("allowed") is False:
        reached = True
    additional: list[dict[str, Any]] = []
    model_limit = None
    reserve = None
    extras_raw = body.get("additional_rate_limits")
    for extra in extras_raw if isinstance(extras_raw, list) else []:
        if not isinstance(extra, dict):
            continue
        name = display_name(extra.get("limit_name"))
        limit_id = code(extra.get("metered_feature")) or norm(name) or "unknown"
        extra_rate = extra["rate_limit"] if isinstance(extra.get("rate_limit"), dict) else {}
        reached_extra = extra_rate.get("limit_reached")
        if extra_rate.get("allowed") is False:
            reached_extra = True
        limit: dict[str, Any] = {
            "limitId": limit_id,
            "limitName": name,
            "limitReached": reached_extra if isinstance(reached_extra, bool) else None,
            "windows": _windows(extra_rate, now),
        }
        if reserve is None and (norm(name) in RESERVE_NAMES or limit_id in RESERVE_NAMES):
            reserve = limit  # its own bucket: not ordinary quota, not a model limit
            continue
        additional.append(limit)
        if model_limit is None and norm(model) in (norm(limit["limitName"]), norm(limit_id)):
            model_limit = limit
    credits = body.get("credits")
    quota: dict[str, Any] = {
        "source": "live",
        "sampledAt": now,
        "httpStatus": 200,
        "model": model,
        "planType": plan_code(body.get("plan_type")),
        "limitReached": reached if isinstance(reached, bool) else None,
        "limitReachedType": reached_type(body.get("rate_limit_reached_type")),
        "windows": _windows(rate, now),
        "credits": _credits(credits) if isinstance(credits, dict) else None,
        "modelLimit": model_limit,
        "additionalLimits": additional,
        "reserve": reserve,
    }
    quota.update(model_state(body, model, now))
    extras = extra_limits(body, now)
    review = extras.pop("codeReviewLimit", None)
    if review is not None:
        quota["additionalLimits"].append(review)
    return quota | extras


def extra_limits(body: dict[str, Any], now: int) -> dict[str, Any]:
    """What the usage answer added in 2026, translated on its own (easy to move): monthly
    spend controls (``spend_control``: ``reached``, ``reached_limit_type``, and each
    ``*_limit`` with its used and remaining percent and reset), the reset credits the account
    holds (``rate_limit_reset_credits``; only read, never redeemed) and the code-review limit
    (``code_review_rate_limit``, one more per-feature limit). A reached spend limit stops the
    account like a reached rate limit."""
    extras: dict[str, Any] = {"spendControl": None, "resetCredits": None}
    spend = body.get("spend_control")
    if isinstance(spend, dict):
        limits = []
        for key in sorted(spend):
            raw = spend[key]
            if not isinstance(key, str) or not key.endswith("_limit") or not isinstance(raw, dict) or not code(key):
                continue
            used, remaining = _percent(raw.get("used_percent")), _percent(raw.get("remaining_percent"))
            if used is None and remaining is not None:
                used = _plain(max(0.0, 100.0 - remaining))
            window = _window(
                {
                    "used_percent": used,
                    "reset_at": raw.get("reset_at"),
                    "reset_after_seconds": raw.get("reset_after_seconds"),
                },
                now,
            )
            limits.append(
                {
                    "limitType": key.removesuffix("_limit"),
                    "usedPercent": used,
                    "remainingPercent": remaining,
                    "resetAt": window["resetAt"] if window else None,
                    "windowMinutes": None,
                }
            )
        reached = spend.get("reached") if isinstance(spend.get("reached"), bool) else None
        reached_type = code(spend.get("reached_limit_type"))
        extras["spendControl"] = {"reached": reached, "reachedLimitType": reached_type, "limits": limits}
        if reached:
            extras["limitReached"] = True
            extras["limitReachedType"] = code(_kind(body)) or "spend_control_reached"
    credits = body.get("rate_limit_reset_credits")
    if isinstance(credits, dict):
        extras["resetCredits"] = {
            "availableCount": _count(credits.get("available_count")),
            "applicableAvailableCount": _count(credits.get("applicable_available_count")),
        }
    review = body.get("code_review_rate_limit")
    if isinstance(review, dict):
        reached_review = review.get("limit_reached")
        extras["codeReviewLimit"] = {
            "limitId": "code_review",
            "limitName": "Code review",
            "limitReached": reached_review if isinstance(reached_review, bool) else None,
            "windows": _windows(review, now),
        }
    return extras


def _kind(body: dict[str, Any]) -> Any:
    return reached_type(body.get("rate_limit_reached_type"))


def model_state(body: dict[str, Any], model: str, now: int) -> dict[str, Any]:
    """Whether the service names the probe model as used up: the banner's
    ``rate_limit_upsell.blocked_model_slug`` (the one authoritative signal) or the model's entry
    in ``model_usage`` (``available``, ``available_at``; keyed by slug, or a list of entries
    with ``model_slug``). ``modelBlocked`` is ``None`` when neither speaks of the model."""
    wanted = norm(model)
    blocked: bool | None = None
    available_at = None
    upsell = body.get("rate_limit_upsell")
    if isinstance(upsell, dict) and isinstance(upsell.get("blocked_model_slug"), str):
        if norm(upsell["blocked_model_slug"]) == wanted:
            blocked = True
        reset = real(upsell.get("reset_at"))
        if blocked and reset is not None and reset > 0:
            available_at = int(reset * 1000) if reset < 1e11 else int(reset)
    usage = body.get("model_usage")
    entries: list[tuple[Any, Any]] = []
    if isinstance(usage, dict):
        entries = list(usage.items())
    elif isinstance(usage, list):
        entries = [(e.get("model_slug") or e.get("slug"), e) for e in usage if isinstance(e, dict)]
    for slug, entry in entries:
        if not isinstance(slug, str) or norm(slug) != wanted or not isinstance(entry, dict):
            continue
        if entry.get("available") is False:
            blocked = True
            at = real(entry.get("available_at"))
            if at is not None and at > 0:
                available_at = int(at * 1000) if at < 1e11 else int(at)
        elif entry.get("available") is True and blocked is None:
            blocked = False
    return {"modelBlocked": blocked, "modelAvailableAt": available_at if blocked else None}


def _percent(value: Any) -> float | int | None:
    number = real(value)
    return None if number is None else _plain(max(0.0, float(number)))


def _count(value: Any) -> int | None:
    number = whole(value)
    return number if number is not None and number >= 0 else None


def _credits(credits: dict[str, Any]) -> dict[str, Any]:
    result = {
        "hasCredits": credits.get("has_credits") if isinstance(credits.get("has_credits"), bool) else None,
        "unlimited": credits.get("unlimited") if isinstance(credits.get("unlimited"), bool) else None,
        "balance": amount(credits.get("balance")),
    }
    if isinstance(credits.get("overage_limit_reached"), bool):
        result["overageLimitReached"] = credits["overage_limit_reached"]
    return result


def reset_of_429(body: Any, now: int) -> int | None:
    """When a 429 answer says the limit resets (``resets_at`` seconds, ``resets_in_seconds``)."""
    error = body.get("error") if isinstance(body, dict) else None
    source = error if isinstance(error, dict) else body if isinstance(body, dict) else {}
    at = real(source.get("resets_at"))
    if at is not None:
        return int(at * 1000)
    after = real(source.get("resets_in_seconds"))
    if after is not None:
        return now + int(after * 1000)
    return None


# --- the x-codex-* headers (POST /codex/responses) ---------------------------------------


def _header_window(headers: Mapping[str, str], prefix: str, now: int) -> QuotaWindow | None:
    try:
        used = float(headers[f"{prefix}-used-percent"])
    except (KeyError, ValueError):
        return None
    if not math.isfinite(used):
        return None
    minutes_text = headers.get(f"{prefix}-window-minutes", "")
    minutes = int(minutes_text) if minutes_text.strip().isdigit() else 0
    reset = None
    after = headers.get(f"{prefix}-reset-after-seconds", "").strip()
    at = headers.get(f"{prefix}-reset-at", "").strip()
    # The absolute reset-at first, as the official client reads it; reset-after is relative to a
    # clock we share only roughly with the service.
    if at.isdigit() and int(at) > 0:
        reset = int(at) * 1000 if int(at) < 1e11 else int(at)
    elif after.isdigit() and int(after) > 0:
        reset = now + int(after) * 1000
    # The official rule: a window exists when its numbers say anything at all.
    if used == 0 and minutes == 0 and reset is None:
        return None
    return {"windowMinutes": minutes or None, "usedPercent": _plain(max(0.0, used)), "resetAt": reset}


def header_quota(headers: Mapping[str, str], model: str, now: int, status: int) -> dict[str, Any] | None:
    families = sorted(
        {
            name[len("x-codex-") : -len("-primary-used-percent")].rstrip("-")
            for name in headers
            if name.startswith("x-codex-") and name.endswith("primary-used-percent")
        }
    )
    families = [family for family in families if not family or family_name(family)]
    if not families:
        return None

    def windows(family: str) -> list[QuotaWindow]:
        base = f"x-codex-{family}-" if family else "x-codex-"
        return [
            w
            for w in (
                _header_window(headers, base + "primary", now),
                _header_window(headers, base + "secondary", now),
            )
            if w
        ]

    additional: list[dict[str, Any]] = []
    model_limit = None
    active = norm(headers.get("x-codex-active-limit"))
    for family in families:
        if not family:
            continue
        limit_id = family.lower().replace("-", "_")
        limit: dict[str, Any] = {
            "limitId": limit_id,
            "limitName": display_name(headers.get(f"x-codex-{family}-limit-name")),
            "limitReached": None,
            "windows": windows(family),
        }
        additional.append(limit)
        if model_limit is None and (
            norm(model) == norm(limit["limitName"]) or active in (norm(limit_id), norm(family))
        ):
            model_limit = limit
    main = windows("") if "" in families else []
    if model_limit is not None and active and active not in ("codex", "premium"):
        # On a turn charged to a per-model limit the plain headers repeat that limit.
        main = []
    credits = None
    if "x-codex-credits-has-credits" in headers or "x-codex-credits-balance" in headers:
        credits = {
            "hasCredits": _flag(headers.get("x-codex-credits-has-credits")),
            "unlimited": _flag(headers.get("x-codex-credits-unlimited")),
            "balance": amount(headers.get("x-codex-credits-balance")),
        }
    every = main + [w for limit in additional for w in limit["windows"]]
    return {
        "source": "live",
        "sampledAt": now,
        "httpStatus": status,
        "model": model,
        "planType": plan_code(headers.get("x-codex-plan-type") or ""),
        "limitReached": True if status == 429 else any((w["usedPercent"] or 0) >= 100 for w in every),
        "limitReachedType": code((headers.get("x-codex-rate-limit-reached-type") or "").strip()),
        "windows": main,
        "credits": credits,
        "modelLimit": model_limit,
        "additionalLimits": additional,
    }


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("true", "1")
