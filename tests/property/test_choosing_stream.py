"""The streaming chooser (recommend keeps a few facts, not the records) picks the same account
with the same reasoning as choosing by sorting every usable account, which is how it was
written first and is kept below as the reference."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.choosing import recommendation, usable_left
from pipeline.humanize import duration
from pipeline.records import Record

NOW = 1_772_548_200_000
HOUR = 3_600_000


# -- the reference: every usable account sorted --------------------------------------------
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


def reference(accounts: list[Record], now: int, flagged: int = 0) -> Record:
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


# -- generated pools --------------------------------------------------------------------------

WINDOW = st.fixed_dictionaries(
    {
        "windowMinutes": st.sampled_from([300, 10080, None]),
        "usedPercent": st.one_of(st.none(), st.sampled_from([0, 10, 50, 50.5, 90, 99.6, 100])),
        "resetAt": st.one_of(st.none(), st.sampled_from([NOW - HOUR, NOW + HOUR, NOW + 24 * HOUR])),
    }
)
QUOTA = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"source": st.just("cache"), "sampledAt": st.just(NOW - HOUR), "windows": st.lists(WINDOW, max_size=2)}
    ),
)


@st.composite
def pools(draw: st.DrawFn) -> list[Record]:
    accounts = []
    for index in range(draw(st.integers(0, 7))):
        accounts.append(
            {
                "kind": "account",
                "index": index,
                "email": draw(st.sampled_from([f"u{index}@example.com", "shared@example.com", None])),
                "accountId": draw(st.sampled_from([f"acct-{index}", None])),
                "label": draw(st.sampled_from(["work", None])),
                "enabled": draw(st.booleans()) or draw(st.booleans()),
                "isCurrent": draw(st.integers(0, 4)) == 0,
                "status": draw(st.sampled_from(["healthy", "healthy", "warning", "rate-limited", "error", "disabled"])),
                "healthScore": draw(st.sampled_from([0, 40, 65, 80, 90, 100])),
                "rateLimitResetAt": draw(
                    st.one_of(st.none(), st.sampled_from([NOW - HOUR, NOW + HOUR, NOW + 2 * HOUR]))
                ),
                "quota": draw(QUOTA),
            }
        )
    return accounts


@settings(max_examples=500, deadline=None)
@given(accounts=pools(), flagged=st.integers(0, 2))
def test_streaming_choice_equals_sorting_every_account(accounts: list[Record], flagged: int) -> None:
    assert recommendation(iter(accounts), NOW, flagged) == reference(accounts, NOW, flagged)


def test_reference_is_exercised_on_ties_and_on_no_usable_account() -> None:
    same = {"kind": "account", "enabled": True, "status": "healthy", "healthScore": 90, "quota": None}
    tied = [dict(same, index=0), dict(same, index=1, isCurrent=True)]
    assert (
        recommendation(tied, NOW)["reasoning"]
        == reference(tied, NOW)["reasoning"]
        == ("No quota data, tied for best health score, already the current account")
    )
    waiting = [dict(same, index=0, status="rate-limited", rateLimitResetAt=NOW + HOUR, email="a@example.com")]
    assert recommendation(waiting, NOW) == reference(waiting, NOW)
    assert recommendation(waiting, NOW)["nextAvailableAt"] == NOW + HOUR
