"""The record stream's vocabulary, typed: one place for the record kinds, the statuses, the
probe outcomes, the modes, the formats and the default model.

Records travel as plain JSON objects (``dict[str, Any]``, :data:`Record`), because every stage
reads them from and writes them to NDJSON. The TypedDicts below say which fields each kind
carries, and the parts of a record that are built in one place and read in others (a quota
window, the quota, the token facts, the probe outcome) go by them; the published JSON Schemas
in ``pipeline/schemas/`` remain the contract: ``tests/unit/test_records.py`` keeps each
TypedDict's fields equal to its schema's, and ``tests/unit/test_architecture.py`` the
literals here equal to the schemas' enumerations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeGuard, cast, get_args

Record = dict[str, Any]
"""One record of the stream, as read from or written to NDJSON."""

Kind = Literal["pool", "account", "flagged", "recommendation"]
KINDS: tuple[Kind, ...] = get_args(Kind)

Status = Literal["healthy", "warning", "rate-limited", "disabled", "error"]
STATUSES: tuple[Status, ...] = get_args(Status)
"""Every status, in the order the reports list them."""


def is_status(value: object) -> TypeGuard[Status]:
    """Whether ``value`` is one of the statuses (:data:`STATUSES`)."""
    return value in STATUSES


USABLE_STATUSES: frozenset[Status] = frozenset({"healthy", "warning"})
"""The statuses an account may have and still be recommended."""

ProbeOutcome = Literal[
    "ok", "rate-limited", "auth-failed", "refresh-failed", "timeout", "network-error", "http-error", "skipped"
]
PROBE_OUTCOMES: tuple[ProbeOutcome, ...] = get_args(ProbeOutcome)

ProbeMethod = Literal["usage", "responses"]
PROBE_METHODS: tuple[ProbeMethod, ...] = get_args(ProbeMethod)

Mode = Literal["default", "live"]

Format = Literal["text", "json", "prometheus", "html", "markdown"]
FORMAT_NAMES: tuple[Format, ...] = get_args(Format)
"""The report formats (their modules: :data:`pipeline.report.FORMATS`)."""

DEFAULT_MODEL = "gpt-5-codex"
"""The model whose limits count when none is named (the Codex CLI's default)."""


# The fields each kind carries, for the type checker only: making a TypedDict costs time when
# a command starts, and no code reads them at run time.
if TYPE_CHECKING:

    class QuotaWindow(TypedDict, total=False):
        windowMinutes: int | None
        usedPercent: float | None
        resetAt: int | None

    class Credits(TypedDict, total=False):
        hasCredits: bool | None
        unlimited: bool | None
        balance: str | None
        overageLimitReached: bool | None

    class ResetCredits(TypedDict, total=False):
        availableCount: int | None
        applicableAvailableCount: int | None

    class QuotaLimit(TypedDict, total=False):
        """A per-model limit family (``limit`` in schemas/common.json)."""

        limitId: str
        limitName: str | None
        limitReached: bool | None
        windows: list[QuotaWindow]

    class SpendLimit(TypedDict, total=False):
        limitType: str
        usedPercent: float | None
        remainingPercent: float | None
        resetAt: int | None
        windowMinutes: int | None

    class SpendControl(TypedDict, total=False):
        reached: bool | None
        reachedLimitType: str | None
        limits: list[SpendLimit]

    class Quota(TypedDict, total=False):
        """An account's quota facts (``quota`` in schemas/common.json)."""

        source: Literal["live", "cache"]
        sampledAt: int | None
        httpStatus: int | None
        model: str | None
        planType: str | None
        limitReached: bool | None
        limitReachedType: str | None
        windows: list[QuotaWindow]
        credits: Credits | None
        modelLimit: QuotaLimit | None
        additionalLimits: list[QuotaLimit]
        reserve: QuotaLimit | None
        modelBlocked: bool | None
        modelAvailableAt: int | None
        spendControl: SpendControl | None
        resetCredits: ResetCredits | None

    class TokenFacts(TypedDict, total=False):
        hasAccessToken: bool
        hasRefreshToken: bool
        accessExpiresAt: int | None
        lastRefreshAt: int | None
        lastRefreshSource: str | None

    class ProbeFacts(TypedDict, total=False):
        """What the live probe did for one account (``probeOutcome`` in schemas/account.json)."""

        outcome: ProbeOutcome
        method: ProbeMethod | None
        model: str | None
        httpStatus: int | None
        latencyMs: int | None
        at: int | None
        errorCode: str | None
        detail: str | None
        refreshed: bool
        resetAt: int | None

    class RateLimitFacts(TypedDict, total=False):
        resetTimes: dict[str, int]
        coolingDownUntil: int | None
        cooldownReason: str | None

    class FactorRecord(TypedDict, total=False):
        """One factor of an account's score (``factor`` in schemas/common.json)."""

        code: str
        points: int
        reason: str
        detail: str
        decides: Status | None

    class FileState(TypedDict, total=False):
        """What collect found of a storage file (``fileState`` in schemas/pool.json)."""

        path: str | None
        state: Literal["healthy", "recovered", "empty", "missing", "corrupt", "intentional-reset"]
        format: str | None
        recoveredFrom: str | None
        details: str | None

    class QuotaCacheFacts(TypedDict, total=False):
        path: str | None
        state: Literal["ok", "missing", "invalid"]
        entries: int
        details: str | None

    class ProbeRun(TypedDict, total=False):
        """The live probe's run, on the pool record (``probeRun`` in schemas/pool.json)."""

        mode: Literal["live"]
        model: str
        method: ProbeMethod
        startedAt: int
        cachedOnly: bool
        concurrency: int
        maxAccounts: int | None
        maxProbes: int | None

    class PoolRecord(TypedDict, total=False):
        kind: Literal["pool"]
        schemaVersion: int
        collectedAt: int
        source: str
        dir: str | None
        storage: FileState
        flaggedStorage: FileState
        quotaCache: QuotaCacheFacts
        currentIndex: int | None
        accountCount: int
        flaggedCount: int
        probe: ProbeRun | None
        warnings: list[str]
        forecast: dict[str, Any]
        project: dict[str, Any]
        annotations: dict[str, Any]

    class ResetCredit(TypedDict):
        """One reset credit as the list gave it (``resetCreditDetails.credits`` in
        schemas/account.json)."""

        status: str | None
        grantedAt: int | None
        expiresAt: int | None

    class ResetCreditDetails(TypedDict):
        """An account's reset credits as last read (``resetCreditDetails`` in schemas/account.json)."""

        source: Literal["live", "cache"]
        readAt: int
        availableCount: int
        soonestExpiry: int | None
        credits: list[ResetCredit]

    class AccountRecord(TypedDict, total=False):
        kind: Literal["account"]
        index: int
        accountId: str | None
        email: str | None
        emailSource: Literal["stored", "token"] | None
        label: str | None
        workspace: str | None
        enabled: bool
        isCurrent: bool
        addedAt: int | None
        lastUsed: int | None
        plan: str | None
        token: TokenFacts
        rateLimit: RateLimitFacts
        authInvalidatedAt: int | None
        authInvalidationErrorCode: str | None
        quota: Quota | None
        resetCreditDetails: ResetCreditDetails | None
        probe: ProbeFacts | None
        status: Status
        healthScore: int
        rateLimited: bool
        rateLimitResetAt: int | None
        reasons: list[str]
        factors: list[FactorRecord]
        forecast: dict[str, Any]
        annotations: dict[str, Any]

    class Verification(TypedDict, total=False):
        """A flagged account's re-verification in a live run (``verification`` in
        schemas/flagged.json)."""

        outcome: Literal["works-again", "still-broken", "failed", "skipped"]
        at: int | None
        httpStatus: int | None
        errorCode: str | None
        detail: str | None

    class FlaggedRecord(TypedDict, total=False):
        kind: Literal["flagged"]
        index: int
        accountId: str | None
        email: str | None
        label: str | None
        flaggedAt: int | None
        flaggedReason: str | None
        lastError: str | None
        lastVerified: int | None
        verificationCount: int
        verification: Verification | None
        annotations: dict[str, Any]

    class RecommendationRecord(TypedDict, total=False):
        kind: Literal["recommendation"]
        index: int | None
        accountId: str | None
        email: str | None
        reasoning: str
        usableCount: int
        nextAvailableAt: int | None
        annotations: dict[str, Any]


def as_record(typed: Mapping[str, object]) -> Record:
    """A record built typed (one of the TypedDicts above) as the stream carries it: the same
    dict, for the stages and the NDJSON writer."""
    return cast(Record, typed)


def account_of(record: Record) -> AccountRecord:
    """A stream record of kind ``account`` as its TypedDict: the same dict. The JSON edge,
    where a record read from the stream enters the code that reads it by its fields."""
    return cast("AccountRecord", record)


def identity_key(account_id: str | None, email: str | None) -> str:
    """One account's identity as one string: the account id and the e-mail (case folded)
    together, since one e-mail can hold several workspaces and one id can be shared by a team."""
    return f"{account_id or ''}|{(email or '').lower()}"


def account_key(record: AccountRecord | FlaggedRecord | Record) -> str:
    """The same account from one run (or snapshot) to the next, for the history's samples and
    the events of ``watch``: :func:`identity_key`, or the pool position without id and e-mail."""
    account_id, email = record.get("accountId"), record.get("email")
    if not account_id and not email:
        return f"#{record.get('index')}"
    return identity_key(account_id, email)
