"""Choosing the account to use next, for the report and for the forecast: which accounts may
be picked, how they rank, the tie-breaks and the reasoning's wording, in one place.

Only a healthy or warning account that is enabled and not out of quota can be picked. Each
caller ranks the candidates by its own lead facts (:class:`Candidate`); the tie-breaks after
the lead are the same for both: the best health score, then the current account, then pool
order.

- The report (:class:`Chooser`, :func:`recommendation`): most quota left in the binding window
  (known before unknown). When none can be picked, ``index`` is null and ``reasoning`` says
  what to do and when the soonest account frees up.
- The forecast (:func:`choose_ahead`): one that lasts, then one whose forecast is unknown, then
  the one that runs out last (:class:`Outlook`); it does not prefer the current account.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pipeline import quota as q
from pipeline.humanize import duration
from pipeline.plain import Frozen
from pipeline.records import USABLE_STATUSES, Record, account_of, as_record

if TYPE_CHECKING:
    from pipeline.records import AccountRecord, RecommendationRecord


class Candidate:
    """The few facts of a usable account that choosing needs (not the record), and its place
    in choosing order (:attr:`key`, smaller first): the caller's ``lead``, then the tie-breaks."""

    __slots__ = ("account_id", "current", "email", "index", "key", "left", "score")

    def __init__(
        self,
        account: AccountRecord,
        lead: tuple[int, ...],
        *,
        left: int | None = None,
        prefer_current: bool = True,
    ) -> None:
        self.index = int(account["index"])
        self.account_id: str | None = account.get("accountId")
        self.email: str | None = account.get("email")
        self.current = prefer_current and bool(account.get("isCurrent"))
        self.score = int(account.get("healthScore") or 0)
        self.left = left  # percent left in the binding window (the report's reasoning reads it)
        # The tie-breaks, for every caller: the best health score, the current account, pool order.
        self.key: tuple[int, ...] = (*lead, -self.score, 0 if self.current else 1, self.index)


class _Top2:
    """The largest value seen, how often, and the largest one below it."""

    def __init__(self) -> None:
        self.top: int | None = None
        self.count = 0
        self.below: int | None = None

    def add(self, value: int) -> None:
        if self.top is None or value > self.top:
            self.below, self.top, self.count = self.top, value, 1
        elif value == self.top:
            self.count += 1
        elif self.below is None or value > self.below:
            self.below = value

    def without_one(self, value: int) -> int | None:
        """The largest value once one occurrence of ``value`` (the top) is taken out."""
        return self.top if self.count > 1 or value != self.top else self.below


def usable_left(account: AccountRecord, now: int) -> tuple[bool, int | None]:
    """Whether the account may be picked, and the percent left in its binding window."""
    windows = q.windows_of(account.get("quota"), now)
    bound = q.binding(windows)
    left = bound.remaining if bound else None
    usable = (
        account.get("status") in USABLE_STATUSES
        and account.get("enabled") is not False
        and not any(w.exhausted for w in windows)
    )
    return usable, left


class Chooser:
    """Choosing as the accounts stream past: :meth:`add` each account record, then
    :meth:`recommendation`. Keeps a few facts, never the records, so memory stays flat
    however large the pool."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.accounts = 0
        self.flagged = 0
        self.usable = 0
        self.best: Candidate | None = None
        self.runner: Candidate | None = None  # second in choosing order
        self.lefts = _Top2()
        self.scores = _Top2()
        self.statuses: dict[str, int] = {}
        self.waiting = 0  # rate-limited and enabled
        self.soonest: tuple[int, int, str] | None = None  # (reset, index, name)

    def add(self, account: AccountRecord) -> None:
        self.accounts += 1
        status = account.get("status", "unscored")
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == "rate-limited" and account.get("enabled") is not False:
            self.waiting += 1
            reset = account.get("rateLimitResetAt")
            if isinstance(reset, int) and reset > self.now:
                index = int(account["index"])
                if self.soonest is None or (reset, index) < self.soonest[:2]:
                    self.soonest = (reset, index, _name(account))
        usable, left = usable_left(account, self.now)
        if not usable:
            return
        candidate = Candidate(account, (-left if left is not None else 1,), left=left)
        self.usable += 1
        if left is not None:
            self.lefts.add(left)
        self.scores.add(candidate.score)
        key = candidate.key
        # Ties keep pool order (the first one seen stays ahead), as a stable sort would.
        if self.best is None or key < self.best.key:
            self.best, self.runner = candidate, self.best
        elif self.runner is None or key < self.runner.key:
            self.runner = candidate

    def recommendation(self) -> RecommendationRecord:
        best = self.best
        if best is None:
            return self._none_usable()
        return {
            "kind": "recommendation",
            "index": best.index,
            "accountId": best.account_id,
            "email": best.email,
            "reasoning": self._why(best),
            "usableCount": self.usable,
            "nextAvailableAt": None,
        }

    def _why(self, best: Candidate) -> str:
        runner = self.runner
        if runner is None:
            return "Only usable account"
        # The best has the most quota left of all, so the others' most is the runner-up value.
        others_left = self.lefts.without_one(best.left) if best.left is not None else None
        quota_tied = best.left is not None and others_left is not None and best.left == others_left
        parts = (
            ["No quota data"] if best.left is None else ["Tied for highest quota" if quota_tied else "Highest quota"]
        )
        top_score = self.scores.without_one(best.score)
        assert top_score is not None  # there is another usable account
        if best.score > top_score:
            parts.append("best health score")
        elif best.score == top_score and (quota_tied or best.left is None):
            parts.append("tied for best health score")
        if (runner.left, runner.score) == (best.left, best.score):
            current_decides = best.current and not runner.current
            parts.append("already the current account" if current_decides else "first in pool order")
        return ", ".join(parts)

    def _none_usable(self) -> RecommendationRecord:
        advice: RecommendationRecord = {
            "kind": "recommendation",
            "index": None,
            "accountId": None,
            "email": None,
            "usableCount": 0,
            "nextAvailableAt": None,
        }
        if not self.accounts:
            if self.flagged:
                advice["reasoning"] = (
                    f"No accounts in the pool and {self.flagged} flagged; log in again with `codex-multi-auth login` "
                    "to bring an account back"
                )
            else:
                advice["reasoning"] = "No accounts in the pool: add one with `codex-multi-auth login`"
            return advice
        ordered = sorted(self.statuses.items(), key=lambda item: (-item[1], item[0]))
        tally = ", ".join(f"{n} {status}" for status, n in ordered)
        if self.soonest is not None:
            reset, _, name = self.soonest
            advice["nextAvailableAt"] = reset
            advice["reasoning"] = (
                f"No usable account ({tally}); the soonest, {name}, frees up in {duration(reset - self.now)}"
            )
        elif self.waiting:
            advice["reasoning"] = (
                f"No usable account ({tally}); reset times unknown: try again later or run with --live"
            )
        else:
            advice["reasoning"] = (
                f"No usable account ({tally}); log in again with `codex-multi-auth login` or enable a disabled account"
            )
        return advice


def recommendation(accounts: Iterable[Record], now: int, flagged: int = 0) -> Record:
    """The ``recommendation`` record for these (scored) accounts."""
    chooser = Chooser(now)
    chooser.flagged = flagged
    for account in accounts:
        chooser.add(account_of(account))
    return as_record(chooser.recommendation())


class Outlook(Frozen):
    """What the forecast knows of an account usable now: its verdict to the horizon, when it
    runs out and the window that binds it."""

    __slots__ = ("binding", "run_out", "verdict")
    verdict: str
    run_out: int | None
    binding: str | None

    def __init__(self, verdict: str, run_out: int | None, binding: str | None) -> None:
        object.__setattr__(self, "verdict", verdict)
        object.__setattr__(self, "run_out", run_out)
        object.__setattr__(self, "binding", binding)


_OUTLOOK_ORDER = {"lasts": 0, "unknown": 1, "runs-out": 2}


def choose_ahead(accounts: Sequence[Record], outlooks: Sequence[Outlook]) -> Record | None:
    """The forecast's account to use next among ``accounts`` (usable now) with their outlooks:
    one that lasts, then one whose forecast is unknown, then the one that runs out last; then
    the tie-breaks of :class:`Candidate`, without preferring the current account."""
    if not accounts:
        return None
    ranked = [
        (Candidate(account_of(account), (_OUTLOOK_ORDER.get(o.verdict, 3), -(o.run_out or 0)), prefer_current=False), o)
        for account, o in zip(accounts, outlooks, strict=True)
    ]
    best, outlook = min(ranked, key=lambda pair: pair[0].key)  # ties: the first in pool order
    verdict = outlook.verdict
    if verdict == "lasts":
        reasoning = "lasts through every window's reset at its current pace"
        if sum(o.verdict == "lasts" for o in outlooks) > 1:
            reasoning += ", with the best health score among those that last"
    elif verdict == "runs-out":
        reasoning = f"every usable account runs out before a reset; this one lasts longest ({outlook.binding})"
    else:
        reasoning = "usable now; too little data to forecast the others better"
    return {
        "index": best.index,
        "accountId": best.account_id,
        "email": best.email,
        "verdict": verdict,
        "reasoning": reasoning,
    }


def _name(account: AccountRecord) -> str:
    label = account.get("email") or account.get("label") or account.get("accountId") or "account"
    return f"{label} (#{int(account['index']) + 1})"
