"""The one chooser as the forecast uses it (:func:`pipeline.choosing.choose_ahead`): the
forecast's outlook ranks first, then the same tie-breaks as the report's recommendation
(health score, pool order), and the reasoning says which rule decided."""

from __future__ import annotations

from pipeline.choosing import Candidate, Outlook, choose_ahead
from pipeline.records import Record

NOW = 1_772_548_200_000
HOUR = 3_600_000


def account(index: int, score: int, *, current: bool = False) -> Record:
    return {
        "kind": "account",
        "index": index,
        "accountId": f"id-{index}",
        "email": None,
        "healthScore": score,
        "isCurrent": current,
    }


LASTS = Outlook("lasts", None, None)


def test_nothing_usable_chooses_nothing() -> None:
    assert choose_ahead([], []) is None


def test_lasting_accounts_go_by_health_score_then_pool_order_not_the_current_one() -> None:
    pool = [account(0, 70), account(1, 90), account(2, 90, current=True)]
    chosen = choose_ahead(pool, [LASTS] * 3)
    assert chosen == {
        "index": 1,
        "accountId": "id-1",
        "email": None,
        "verdict": "lasts",
        "reasoning": "lasts through every window's reset at its current pace, with the best health score among "
        "those that last",
    }


def test_a_lone_lasting_account_beats_a_healthier_unknown_one() -> None:
    chosen = choose_ahead([account(0, 100), account(1, 10)], [Outlook("unknown", None, None), LASTS])
    assert chosen is not None and chosen["index"] == 1
    assert chosen["reasoning"] == "lasts through every window's reset at its current pace"


def test_among_those_that_run_out_the_latest_wins_and_names_its_window() -> None:
    outlooks = [Outlook("runs-out", NOW + HOUR, "5h"), Outlook("runs-out", NOW + 2 * HOUR, "weekly")]
    chosen = choose_ahead([account(0, 100), account(1, 10)], outlooks)
    assert chosen is not None and chosen["index"] == 1
    assert chosen["reasoning"] == "every usable account runs out before a reset; this one lasts longest (weekly)"


def test_the_report_ranks_the_current_account_before_pool_order() -> None:
    first, current = Candidate(account(0, 80), (-50,)), Candidate(account(1, 80, current=True), (-50,))
    assert current.key < first.key
    ahead = Candidate(account(1, 80, current=True), (0,), prefer_current=False)
    assert Candidate(account(0, 80), (0,), prefer_current=False).key < ahead.key
