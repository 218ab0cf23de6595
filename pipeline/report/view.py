"""The report as one value (the View): everything render needs, gathered from the record stream once,
so that every output format (text, JSON, and the others) reads the same facts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from pipeline import quota as q
from pipeline.choosing import recommendation as make_recommendation
from pipeline.context import run_instant
from pipeline.plain import Plain
from pipeline.records import DEFAULT_MODEL, STATUSES, Mode, Record, Status
from pipeline.scoring import is_scored, score_account

if TYPE_CHECKING:
    from pipeline.records import AccountRecord, FlaggedRecord, PoolRecord, Quota, RecommendationRecord
    from pipeline.redact import Masker  # the masker loads only with --redact


class AccountView(Plain):
    __slots__ = ("name", "other_windows", "record", "window_5h", "window_7d", "window_30d")

    def __init__(
        self,
        record: AccountRecord,
        name: str,
        window_5h: q.Window | None,
        window_7d: q.Window | None,
        window_30d: q.Window | None = None,
        other_windows: list[q.Window] | None = None,
    ) -> None:
        self.record = record
        self.name = name
        self.window_5h = window_5h
        self.window_7d = window_7d
        self.window_30d = window_30d
        # account-wide windows of any other length (a daily one...): shown by their length
        self.other_windows: list[q.Window] = [] if other_windows is None else other_windows

    def labelled_windows(self) -> list[tuple[str, q.Window]]:
        """Every account-wide time window with its label: 5h, 7d, 30d, then the others."""
        known = [("5h", self.window_5h), ("7d", self.window_7d), ("30d", self.window_30d)]
        found = [(label, w) for label, w in known if w is not None]
        return found + [(w.label, w) for w in self.other_windows]

    @property
    def index(self) -> int:
        return int(self.record["index"])

    @property
    def status(self) -> Status:
        return self.record["status"]

    @property
    def score(self) -> int:
        return int(self.record["healthScore"])

    @property
    def reasons(self) -> list[str]:
        return list(self.record.get("reasons") or [])

    @property
    def quota(self) -> Quota | None:
        return self.record.get("quota")


# ``--sort problems``: the worst first (broken, rate-limited, warning, disabled, healthy), the
# lowest health score first within a status, then pool order. The HTML's groups use it too.
PROBLEM_ORDER: tuple[Status, ...] = ("error", "rate-limited", "warning", "disabled", "healthy")
SORTS = ("pool", "problems")


def problems_first(accounts: Iterable[AccountView]) -> list[AccountView]:
    rank = {status: place for place, status in enumerate(PROBLEM_ORDER)}
    return sorted(accounts, key=lambda a: (rank[a.status], a.score, a.index))


class View(Plain):
    __slots__ = (
        "accounts",
        "flagged",
        "generated_at",
        "mode",
        "model",
        "pool",
        "recommendation",
        "shown_statuses",
        "sort",
        "warnings",
    )

    def __init__(
        self,
        generated_at: int,
        mode: Mode,
        model: str,
        pool: PoolRecord | None,
        accounts: list[AccountView],
        flagged: list[FlaggedRecord],
        recommendation: RecommendationRecord,
        warnings: list[str] | None = None,
        shown_statuses: tuple[Status, ...] | None = None,
        sort: str = "pool",
    ) -> None:
        self.generated_at = generated_at
        self.mode = mode
        self.model = model
        self.pool = pool
        self.accounts = accounts
        self.flagged = flagged
        self.recommendation = recommendation
        self.warnings: list[str] = [] if warnings is None else warnings
        # --status: the statuses whose accounts are listed (None: all); counts still cover the pool
        self.shown_statuses = shown_statuses
        # --sort: "pool" (pool order) or "problems" (worst first, see PROBLEM_ORDER)
        self.sort = sort

    @property
    def listed(self) -> list[AccountView]:
        """The active accounts the report lists one by one: all, or those ``--status`` asks
        for, in pool order or (``--sort problems``) worst first."""
        shown = self.accounts
        if self.shown_statuses is not None:
            shown = [a for a in self.accounts if a.status in self.shown_statuses]
        return problems_first(shown) if self.sort == "problems" else shown

    @property
    def current(self) -> AccountView | None:
        return next((a for a in self.accounts if a.record.get("isCurrent")), None)

    def status_counts(self) -> dict[Status, int]:
        counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
        for account in self.accounts:
            counts[account.record["status"]] += 1  # not the property: this runs for every account
        return counts


# Facts no format shows: left out of the records a view keeps (a large pool's report holds
# every account until it is written). The factors stay only for --explain.
UNSHOWN = frozenset(("token", "rateLimit", "emailSource", "authInvalidatedAt", "authInvalidationErrorCode"))


def _shown(record: Record, explain: bool) -> Record:
    if UNSHOWN.isdisjoint(record) and (explain or "factors" not in record):
        return record  # scored without them (pipeline.scoring.score_account's leave_out): no copy
    kept = {k: v for k, v in record.items() if k not in UNSHOWN}
    if not explain:
        kept.pop("factors", None)
    return kept


def build_view(records: Iterable[Record], *, now: int | None, model: str | None = None, explain: bool = True) -> View:
    """Gather the stream. Accounts not yet scored are scored here (so ``collect | render``
    works) and a missing recommendation is made here, with the same code as the stages.
    ``now`` None dates the report by the stream itself (:func:`pipeline.context.run_instant`).
    Each account keeps only what the formats show (its factors only with ``explain``)."""
    pool: Record | None = None
    accounts: list[Record] = []
    # each account's windows, read as it passes (then scoring's reading of them is reused:
    # pipeline.quota.main_windows), or None to be read below
    windows: list[list[q.Window] | None] = []
    flagged: list[Record] = []
    recommendation: Record | None = None
    for record in records:
        kind = record.get("kind")
        if kind == "pool" and pool is None:
            pool = record
        elif kind == "account":  # a scored one is slimmed at once; others once scored, below
            if is_scored(record):
                record = _shown(record, explain)
                windows.append(q.main_windows(record.get("quota"), now) if now is not None else None)
            else:
                windows.append(None)
            accounts.append(record)
        elif kind == "flagged":
            flagged.append(record)
        elif kind == "recommendation":
            recommendation = record
    now = run_instant(now, pool)
    probe = (pool or {}).get("probe") or {}
    mode: Mode = "live" if probe.get("mode") == "live" else "default"
    model = probe.get("model") or model or DEFAULT_MODEL
    accounts = [a if is_scored(a) else _shown(score_account(a, now, model), explain) for a in accounts]
    if recommendation is None:  # choosing reads only what _shown keeps
        recommendation = make_recommendation(accounts, now, len(flagged))
    email_counts = Counter(str(a["email"]) for a in accounts if a.get("email"))
    # The JSON edge: the stream's records, typed from here on (casts of the lists: no copies, no per-record call).
    typed_accounts = cast("list[AccountRecord]", accounts)
    views = [_account_view(a, email_counts, now, w) for a, w in zip(typed_accounts, windows, strict=True)]
    typed_pool = cast("PoolRecord | None", pool)
    typed_flagged = cast("list[FlaggedRecord]", flagged)
    return View(
        now,
        mode,
        model,
        typed_pool,
        views,
        typed_flagged,
        cast("RecommendationRecord", recommendation),
        _warnings(pool),
    )


def _account_view(
    account: AccountRecord, email_counts: Counter[str], now: int, windows: list[q.Window] | None = None
) -> AccountView:
    """The account's view: its first 5h, 7d and 30d windows (:func:`pipeline.quota.find` of
    each) and the others (:func:`pipeline.quota.unmatched`), each window classified once
    (``windows``: its main windows at ``now``, when read already)."""
    found: dict[int | None, q.Window] = {}
    others: list[q.Window] = []
    if windows is None:
        windows = q.main_windows(account.get("quota"), now)
    for window in windows:  # time windows only: no name
        kind = q.window_kind(window.minutes)
        if kind in _SHOWN:
            found.setdefault(kind, window)
        else:
            others.append(window)
    return AccountView(
        account,
        display_name(account, email_counts),
        found.get(q.FIVE_HOURS),
        found.get(q.SEVEN_DAYS),
        found.get(q.THIRTY_DAYS),
        others,
    )


_SHOWN = (q.FIVE_HOURS, q.SEVEN_DAYS, q.THIRTY_DAYS)  # the windows a view names


def display_name(account: AccountRecord, email_counts: Counter[str]) -> str:
    """The e-mail (else label, else id); with the workspace or label when the e-mail is shared."""
    email = account.get("email")
    base = email or account.get("label") or account.get("accountId") or f"account {int(account['index']) + 1}"
    if email and email_counts[email] > 1:
        extra = account.get("workspace") or account.get("label") or account.get("accountId")
        if extra:
            return f"{base} [{extra}]"
    return str(base)


def _warnings(pool: Record | None) -> list[str]:
    if pool is None:
        return []
    lines = []
    storage = pool.get("storage") or {}
    if storage.get("state") == "recovered":
        lines.append(f"Storage: {storage.get('details')}")
    flagged = pool.get("flaggedStorage") or {}
    if flagged.get("state") in ("recovered", "corrupt"):
        lines.append(f"Flagged accounts file: {flagged.get('details')}")
    lines.extend(pool.get("warnings") or [])
    return lines


def redact_view(view: View) -> View:
    """The same report with every e-mail and account id masked (``--redact``), in records,
    reasons, details, warnings and paths alike, so that every format built from the view is
    covered. See :func:`pipeline.redact.mask_email` for the scheme."""
    masker = view_masker(view)
    accounts: list[AccountRecord] = [masker.value(a.record) for a in view.accounts]
    email_counts = Counter(str(a["email"]) for a in accounts if a.get("email"))
    views = [
        AccountView(record, display_name(record, email_counts), a.window_5h, a.window_7d, a.window_30d, a.other_windows)
        for record, a in zip(accounts, view.accounts, strict=False)
    ]
    pool = masker.value(view.pool) if view.pool is not None else None
    return View(
        view.generated_at,
        view.mode,
        view.model,
        pool,
        views,
        [masker.value(f) for f in view.flagged],
        masker.value(view.recommendation),
        [masker.text(line) for line in view.warnings],
    )


def view_masker(view: View) -> Masker:
    """A masker that knows every account id in the view."""
    from pipeline.redact import Masker

    ids = {r.get("accountId") for r in [*(a.record for a in view.accounts), *view.flagged, view.recommendation]}
    return Masker({i for i in ids if isinstance(i, str)})
