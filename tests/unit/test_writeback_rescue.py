"""When another writer's file slipped in under our swap, ours stood in its place for a moment;
that writer may have read ours and saved its next file without what it had just added. The
next write puts back the accounts it had added (the concurrent-writer drill, testkit/crash.py,
lost one in 4 of 20 runs on a loaded machine before)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.live.writeback import ACCOUNTS, _rescue_added


def doc(*accounts: dict[str, Any]) -> bytes:
    return json.dumps({"version": 3, "activeIndex": 0, "accounts": list(accounts)}, indent=2).encode()


ANN = {"accountId": "acct-ann", "email": "ann@example.com", "refreshToken": "rt_old", "lastUsed": 1}
ANN_ROTATED = {**ANN, "refreshToken": "rt_new"}
ANN_USED = {**ANN, "lastUsed": 2}
BEN = {"accountId": "acct-ben", "email": "ben@example.com", "refreshToken": "rt_ben"}


def accounts(data: bytes) -> list[dict[str, Any]]:
    return list(json.loads(data)["accounts"])


def test_an_account_the_other_writer_added_is_put_back() -> None:
    ours, theirs, new = doc(ANN), doc(ANN_USED, BEN), doc(ANN_ROTATED)
    assert accounts(_rescue_added(ACCOUNTS, new, theirs, ours)) == [ANN_ROTATED, BEN]


def test_a_changed_account_is_not_added_twice_and_ours_keeps_its_tokens() -> None:
    ours, theirs, new = doc(ANN), doc(ANN_USED), doc(ANN_ROTATED)
    assert _rescue_added(ACCOUNTS, new, theirs, ours) == new


def test_an_account_already_there_or_without_a_key_is_left_alone() -> None:
    keyless = {"refreshToken": "rt_x"}
    ours, theirs = doc(ANN), doc(ANN, BEN, keyless)
    new = doc(ANN_ROTATED, BEN)
    assert _rescue_added(ACCOUNTS, new, theirs, ours) == new


def test_what_is_not_an_accounts_file_is_left_as_it_is() -> None:
    assert _rescue_added(ACCOUNTS, b"not json", doc(BEN), doc(ANN)) == b"not json"
    assert _rescue_added(ACCOUNTS, doc(ANN), b"\xff", doc(ANN)) == doc(ANN)
    assert _rescue_added(ACCOUNTS, doc(ANN), b'{"accounts": 3}', None) == doc(ANN)
