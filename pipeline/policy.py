"""The scoring policy: how an account's facts and the current time decide its ``status`` and
``healthScore``. Written once here and once, as a table, in the README ("Scoring policy");
``tests/test_policy.py`` checks every row.

The score starts at 100 and every factor takes its points off (never below 0). The status
is the most serious one any factor decides, in this order:
disabled > error > rate-limited > warning > healthy.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pipeline import quota as q
from pipeline.humanize import DAY, HOUR, ago, duration, span
from pipeline.records import Status

if TYPE_CHECKING:
    from pipeline.records import AccountRecord, Quota

STATUS_ORDER: tuple[Status, ...] = ("healthy", "warning", "rate-limited", "error", "disabled")
_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}

# --- the table ----------------------------------------------------------------------
UNUSABLE_POINTS = 100  # disabled, or a hard auth failure: score 0
RATE_LIMIT_POINTS = 60  # rate limit, rate-limit cooldown, 429, an exhausted window
QUOTA_TIERS = (  # (remaining below this %, points) for the binding window
    (10, 35),  # below 10%: also a warning ("low quota")
    (25, 20),
    (50, 15),
)
LOW_QUOTA_PERCENT = 10
REFRESH_AGING_DAYS, REFRESH_AGING_POINTS = 7, 10
REFRESH_OLD_DAYS, REFRESH_OLD_POINTS = 30, 25
COOLDOWN_POINTS = 20  # cooling down for another reason (network, server, auth)
PROBE_FAILED_POINTS = 15  # the live probe could not read the quota (soft failure)
NO_REFRESH_TOKEN_POINTS = 10
OLD_DATA_HOURS, OLD_DATA_POINTS = 24, 5
IDLE_DAYS, IDLE_POINTS = 30, 5
ACCESS_EXPIRY_MARGIN_MS = 5 * 60_000

HARD_REFRESH_ERRORS = frozenset(
    {
        "invalid_grant",
        "refresh_token_reused",
        "refresh_token_expired",
        "refresh_token_invalidated",
        "token_invalidated",
        "missing_refresh",
        "invalid_client",
        "unauthorized_client",
        "write_back_failed",  # refreshed, but the rotated token was lost: the stored one is spent
    }
)

# What each named refresh error means and what to do (the detail --explain prints).
REFRESH_ADVICE = {
    "refresh_token_reused": (
        "the refresh token was presented again after it had been rotated, so the service revoked "
        "the whole token family; a new login is needed (codex login, then add the account again)"
    ),
    "refresh_token_invalidated": (
        "the service revoked the session (a login elsewhere, or another client refreshing the same "
        "login), and the refresh token with it; log in again"
    ),
    "token_invalidated": (
        "the service invalidated the session server-side and the refresh token died with it; log in again"
    ),
    "refresh_token_expired": "the refresh token expired (unused for too long); log in again",
    "invalid_grant": (
        "the token endpoint refused the refresh token (invalid_grant: expired, revoked or already used); log in again"
    ),
}


# Plain classes, not dataclasses: each dataclass costs about a millisecond to define when the
# command starts, and scoring makes several factors per account.


class Factor:
    """One fact that shaped an account's status and score."""

    __slots__ = ("code", "decides", "detail", "points", "reason")

    def __init__(self, code: str, points: int, reason: str, detail: str, decides: Status | None = None) -> None:
        self.code = code
        self.points = points
        self.reason = reason  # the short phrase in ``reasons`` (and in brackets in the text report)
        self.detail = detail  # what --explain prints
        self.decides = decides  # the status this factor calls for, if any

    def _key(self) -> tuple[str, int, str, str, Status | None]:
        return (self.code, self.points, self.reason, self.detail, self.decides)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Factor) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Factor{self._key()!r}"


class Assessment:
    """The policy's verdict on one account at one time."""

    __slots__ = ("factors", "rate_limit_reset_at", "rate_limited", "score", "status")

    def __init__(
        self, status: Status, score: int, factors: list[Factor], rate_limited: bool, rate_limit_reset_at: int | None
    ) -> None:
        self.status = status
        self.score = score
        self.factors = factors
        self.rate_limited = rate_limited
        self.rate_limit_reset_at = rate_limit_reset_at

    def __repr__(self) -> str:
        return f"Assessment(status={self.status!r}, score={self.score!r}, factors={self.factors!r})"

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.factors if f.points > 0 or f.decides]


class _Facts:
    __slots__ = ("factors", "rate_limited", "resets")

    def __init__(self) -> None:
        self.factors: list[Factor] = []
        self.resets: list[int] = []
        self.rate_limited = False

    def add(self, code: str, points: int, reason: str, detail: str, decides: Status | None = None) -> None:
        self.factors.append(Factor(code, points, reason, detail, decides))


@cache
def model_family(model: str | None) -> str:
    """codex-multi-auth's model family for rate-limit keys (``family`` or ``family:model``)."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]
    if "codex-max" in name:
        return "codex-max"
    if "codex" in name:
        return "gpt-5-codex"
    if name.startswith("gpt-5.1"):
        return "gpt-5.1"
    return "gpt-5.2"


def relevant_reset_keys(keys: list[str], model: str | None) -> list[str]:
    """Keys that gate Codex work with this model: ``codex`` (the pool-wide Codex family, as
    codex-multi-auth's report uses it), the model's family, and their ``:model`` variants."""
    family = model_family(model)
    wanted = {"codex", family}
    model_name = (model or "").strip().lower()
    result = []
    for key in keys:
        head, _, tail = key.partition(":")
        if head in wanted and (not tail or head == "codex" or tail.lower() == model_name):
            result.append(key)
    return result


def assess(account: AccountRecord, now: int, model: str | None = None) -> Assessment:
    facts = _Facts()
    _enabled(account, facts)
    _auth(account, now, facts)
    _probe(account, facts)
    quota = account.get("quota")
    windows = q.windows_of(quota, now)
    exhausted = _rate_limits(account, now, model, windows, facts)
    _quota(quota, windows, now, exhausted, facts)
    _refresh_age(account, now, facts)
    _usage(account, now, facts)

    status: Status
    status, rank, points = "healthy", 0, 0
    factors = facts.factors
    for factor in factors:
        points += factor.points
        decides = factor.decides
        if decides and _RANK[decides] > rank:
            status, rank = decides, _RANK[decides]
    score = 0 if status in ("disabled", "error") else max(0, 100 - points)
    future = [r for r in facts.resets if r > now]
    reset_at = max(future) if future else None
    if len(factors) > 1:
        factors = sorted(factors, key=lambda f: (f.decides != status, f.decides is None, -f.points))
    return Assessment(status, score, factors, facts.rate_limited, reset_at)


# --- the rules, in table order -------------------------------------------------------


def _enabled(account: AccountRecord, facts: _Facts) -> None:
    if account.get("enabled") is False:
        facts.add("disabled", UNUSABLE_POINTS, "disabled", "disabled in codex-multi-auth (enabled: false)", "disabled")


def _auth(account: AccountRecord, now: int, facts: _Facts) -> None:
    invalidated = account.get("authInvalidatedAt")
    if invalidated:
        code = account.get("authInvalidationErrorCode")
        facts.add(
            "auth-invalidated",
            UNUSABLE_POINTS,
            f"auth invalidated ({code})" if code else "auth invalidated",
            f"the service invalidated the tokens {ago(invalidated, now)}; log in again",
            "error",
        )
    token = account.get("token") or {}
    if not token:
        return
    expires = token.get("accessExpiresAt")
    access_ok = bool(token.get("hasAccessToken")) and (expires is None or expires - now > ACCESS_EXPIRY_MARGIN_MS)
    if not token.get("hasRefreshToken"):
        if access_ok:
            left = f"; the access token expires in {duration(expires - now)}" if expires else ""
            facts.add(
                "no-refresh-token",
                NO_REFRESH_TOKEN_POINTS,
                "no refresh token",
                f"no refresh token stored{left}",
                "warning",
            )
        else:
            facts.add(
                "no-credentials",
                UNUSABLE_POINTS,
                "no usable credentials",
                "no refresh token and no valid access token; log in again",
                "error",
            )
    elif token.get("hasAccessToken") and expires is not None and not access_ok:
        when = "expired" if expires <= now else "expires within 5 minutes"
        facts.add("access-expired", 0, "access token expired", f"access token {when}; it is refreshed on next use")


def _probe(account: AccountRecord, facts: _Facts) -> None:
    probe = account.get("probe")
    if not probe:
        return
    outcome = probe.get("outcome")
    code = probe.get("errorCode")
    status = probe.get("httpStatus")
    what = code or (f"HTTP {status}" if status else None)
    detail = probe.get("detail") or what or outcome
    if outcome == "auth-failed":
        # A 401 or 403 on the usage read alone is weak evidence (403 is a permission problem, and
        # a 401 survived a refresh that worked): a warning, never an error or a flag on its own.
        if status == 403:
            advice = "a permission problem (workspace role, plan or region), not expired credentials"
        else:
            advice = "the token was refused although it could be refreshed; try again later"
        facts.add(
            "usage-refused",
            PROBE_FAILED_POINTS,
            f"usage read refused ({what})" if what else "usage read refused",
            f"the service refused to show the usage: {detail}; {advice}",
            "warning",
        )
    elif outcome == "refresh-failed":
        named = (code or "").lower()
        hard = named in HARD_REFRESH_ERRORS or status == 401
        if hard:
            facts.add(
                "refresh-failed",
                UNUSABLE_POINTS,
                f"refresh failed ({what})" if what else "refresh failed",
                f"token refresh was refused: {REFRESH_ADVICE.get(named) or f'{detail}; log in again'}",
                "error",
            )
        else:
            facts.add(
                "refresh-error",
                PROBE_FAILED_POINTS,
                "token refresh failed",
                f"token refresh did not complete: {detail}",
                "warning",
            )
    elif outcome in ("timeout", "network-error", "http-error"):
        facts.add(
            "probe-failed",
            PROBE_FAILED_POINTS,
            f"live probe failed ({outcome})",
            f"the live probe failed: {detail}",
            "warning",
        )
    elif outcome == "skipped":
        facts.add("probe-skipped", 0, "not probed", f"not probed: {detail}")


def _rate_limits(account: AccountRecord, now: int, model: str | None, windows: list[q.Window], facts: _Facts) -> bool:
    limit = account.get("rateLimit") or {}
    times = limit.get("resetTimes") or {}
    active = {k: times[k] for k in relevant_reset_keys(list(times), model) if times[k] > now} if times else {}
    blocking: list[str] = []
    if active:
        facts.resets.extend(active.values())
        blocking.append(f"rate limit ({', '.join(sorted(active))}) resets in {duration(max(active.values()) - now)}")
    until = limit.get("coolingDownUntil")
    reason = limit.get("cooldownReason")
    if until and until > now:
        if reason == "rate-limit":
            facts.resets.append(until)
            blocking.append(f"rate-limit cooldown ends in {duration(until - now)}")
        else:
            facts.add(
                "cooldown",
                COOLDOWN_POINTS,
                "cooling down",
                f"cooling down after {reason or 'an error'} for another {duration(until - now)}",
                "warning",
            )
    probe = account.get("probe") or {}
    quota = account.get("quota") or {}
    exhausted = [w for w in windows if w.exhausted]
    if quota.get("modelBlocked") is True and quota.get("limitReached") is not True:
        blocking.append(f"the service reports {quota.get('model') or 'the probe model'} used up")
        if isinstance(available := quota.get("modelAvailableAt"), int):
            facts.resets.append(available)
    elif probe.get("outcome") == "rate-limited" or quota.get("limitReached") is True:
        blocking.append("the service reports the usage limit reached")
        if isinstance(probe_reset := probe.get("resetAt"), int):
            facts.resets.append(probe_reset)
        elif not exhausted:
            # No window reads 100%: the soonest reset is the best guess of when it lifts
            # (taking the latest would turn a 5h limit into a multi-day wait).
            upcoming = [w.reset_at for w in windows if w.reset_at and w.reset_at > now]
            if upcoming:
                facts.resets.append(min(upcoming))
    if exhausted:
        for w in exhausted:
            if w.reset_at:
                facts.resets.append(w.reset_at)
        blocking.append(", ".join(f"{w.label} window used up" for w in exhausted))
    if blocking:
        facts.rate_limited = True
        facts.add("rate-limited", RATE_LIMIT_POINTS, "rate limited", "; ".join(blocking), "rate-limited")
    return bool(exhausted)


def _quota(quota: Quota | None, windows: list[q.Window], now: int, exhausted: bool, facts: _Facts) -> None:
    if not quota:
        facts.add(
            "no-quota-data",
            0,
            "no quota data",
            "no quota data (run with --live, or let codex-multi-auth fill its quota cache)",
        )
        return
    stale = [w for w in windows if w.stale]
    if stale:
        labels = ", ".join(w.label for w in stale)
        facts.add(
            "stale-quota",
            0,
            "quota data stale",
            f"cached {labels} figures are from before the window reset ({ago(quota.get('sampledAt'), now)})",
        )
    sampled = quota.get("sampledAt")
    if quota.get("source") == "cache" and sampled is not None and now - sampled > OLD_DATA_HOURS * HOUR:
        facts.add("old-quota-data", OLD_DATA_POINTS, "quota data old", f"quota figures sampled {ago(sampled, now)}")
    bound = q.binding(windows)
    if bound is None or exhausted:
        return
    left = bound.remaining
    assert left is not None
    for limit, points in QUOTA_TIERS:
        if left < limit:
            if limit == LOW_QUOTA_PERCENT:
                facts.add("low-quota", points, "low quota", f"{left}% left in the {bound.label} window", "warning")
            else:
                facts.add("quota-below", points, f"quota below {limit}%", f"{left}% left in the {bound.label} window")
            break


def _refresh_age(account: AccountRecord, now: int, facts: _Facts) -> None:
    token = account.get("token") or {}
    refreshed = token.get("lastRefreshAt")
    if not refreshed or not token.get("hasRefreshToken"):
        return
    age = now - refreshed
    if age > REFRESH_OLD_DAYS * DAY:
        facts.add(
            "refresh-token-old",
            REFRESH_OLD_POINTS,
            "refresh token old",
            f"tokens last refreshed {span(age)} ago; the refresh token may have expired",
            "warning",
        )
    elif age > REFRESH_AGING_DAYS * DAY:
        facts.add(
            "refresh-token-aging",
            REFRESH_AGING_POINTS,
            "refresh token aging",
            f"tokens last refreshed {span(age)} ago",
            "warning",
        )


def _usage(account: AccountRecord, now: int, facts: _Facts) -> None:
    last = account.get("lastUsed")
    if last is None:
        facts.add("never-used", 0, "never used", "no record of use")
    elif last > now + 60_000:
        facts.add("last-used-future", 0, "last use in the future", f"last use recorded {ago(last, now)} (clock skew?)")
    elif now - last > IDLE_DAYS * DAY:
        facts.add("idle", IDLE_POINTS, "unused for a long time", f"last used {ago(last, now)}")
