"""Choosing the account to use next: which accounts may be picked, the percent left in each
one's binding window, and the ``recommendation`` record with its reasoning.

Only a healthy or warning account that is enabled and not out of quota can be picked.
Among those: most quota left in the binding window (known before unknown), then the best
health score, then the current account, then pool order. When none can be picked, ``index``
is null and ``reasoning`` says what to do and when the soonest account frees up.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import quota as q
from pipeline.humanize import duration
from pipeline.records import USABLE_STATUSES, Record


@dataclass(frozen=True)
class _Candidate:
    record: Record
    left: int | None

    @property
    def score(self) -> int:
        return int(self.record.get("healthScore") or 0)

    def key(self) -> tuple[int, int, int, int]:
        quota_rank = self.left if self.left is not None else -1
        return (-quota_rank, -self.score, 0 if self.record.get("isCurrent") else 1, int(self.record["index"]))


def usable_left(account: Record, now: int) -> tuple[bool, int | None]:
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


def recommendation(accounts: list[Record], now: int, flagged: int = 0) -> Record:
    candidates = []
    for account in accounts:
        usable, left = usable_left(account, now)
        if usable:
            candidates.append(_Candidate(account, left))
    if not candidates:
        return _none_usable(accounts, now, flagged)
    candidates.sort(key=_Candidate.key)
    best = candidates[0]
    return {
        "kind": "recommendation",
        "index": best.record["index"],
        "accountId": best.record.get("accountId"),
        "email": best.record.get("email"),
        "reasoning": _why(best, candidates),
        "usableCount": len(candidates),
        "nextAvailableAt": None,
    }


def _why(best: _Candidate, candidates: list[_Candidate]) -> str:
    if len(candidates) == 1:
        return "Only usable account"
    others = candidates[1:]
    known = [c.left for c in others if c.left is not None]
    quota_tied = best.left is not None and bool(known) and best.left == max(known)
    parts = ["No quota data"] if best.left is None else ["Tied for highest quota" if quota_tied else "Highest quota"]
    top_score = max(c.score for c in others)
    if best.score > top_score:
        parts.append("best health score")
    elif best.score == top_score and (quota_tied or best.left is None):
        parts.append("tied for best health score")
    runner = others[0]
    if (runner.left, runner.score) == (best.left, best.score):
        current_decides = best.record.get("isCurrent") and not runner.record.get("isCurrent")
        parts.append("already the current account" if current_decides else "first in pool order")
    return ", ".join(parts)


def _name(account: Record) -> str:
    label = account.get("email") or account.get("label") or account.get("accountId") or "account"
    return f"{label} (#{int(account['index']) + 1})"


def _none_usable(accounts: list[Record], now: int, flagged: int) -> Record:
    advice: Record = {
        "kind": "recommendation",
        "index": None,
        "accountId": None,
        "email": None,
        "usableCount": 0,
        "nextAvailableAt": None,
    }
    if not accounts:
        if flagged:
            advice["reasoning"] = (
                f"No accounts in the pool and {flagged} flagged; log in again with `codex-multi-auth login` "
                "to bring an account back"
            )
        else:
            advice["reasoning"] = "No accounts in the pool: add one with `codex-multi-auth login`"
        return advice
    counts: dict[str, int] = {}
    for account in accounts:
        counts[account.get("status", "unscored")] = counts.get(account.get("status", "unscored"), 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    waiting = [a for a in accounts if a.get("status") == "rate-limited" and a.get("enabled") is not False]
    resets = []
    for account in waiting:
        reset = account.get("rateLimitResetAt")
        if isinstance(reset, int) and reset > now:
            resets.append((reset, int(account["index"]), account))
    if resets:
        reset, _, soonest = min(resets)
        advice["nextAvailableAt"] = reset
        advice["reasoning"] = (
            f"No usable account ({tally}); the soonest, {_name(soonest)}, frees up in {duration(reset - now)}"
        )
    elif waiting:
        advice["reasoning"] = f"No usable account ({tally}); reset times unknown: try again later or run with --live"
    else:
        advice["reasoning"] = (
            f"No usable account ({tally}); log in again with `codex-multi-auth login` or enable a disabled account"
        )
    return advice
