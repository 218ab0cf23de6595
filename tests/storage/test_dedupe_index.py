"""De-duplication's index keeps one position per key and a list only for shared keys
(pipeline/storage/accounts.py: _Index); merges come out as codex-multi-auth's rule says."""

from __future__ import annotations

from typing import Any

from pipeline.storage.accounts import _at, dedupe


def _account(name: str, email: str | None, used: int, refresh: str, account_id: str | None = None) -> dict[str, Any]:
    return {"name": name, "email": email, "accountId": account_id, "refreshToken": refresh, "lastUsed": used}


def test_three_records_of_one_identity_keep_the_newest_at_the_first_place() -> None:
    accounts = [
        _account("a1", "a@x.io", 10, "rt-a1"),
        _account("b", "b@x.io", 50, "rt-b"),
        _account("a2", "A@x.io", 30, "rt-a2"),
        _account("a3", "a@x.io", 20, "rt-a3"),
        _account("c", None, 5, "rt-b"),  # no identity of its own: joined by the refresh token
    ]
    kept, index = dedupe(accounts)
    assert [a["name"] for a in kept] == ["a2", "b"]
    assert index.by_email == {"a@x.io": 0, "b@x.io": 1}, "one int per key once nothing is shared"
    assert _at(index.by_refresh, "rt-a2") == [0] and _at(index.by_refresh, "rt-a1") == []
    assert _at(index.by_email, "nobody@x.io") == []


def test_accounts_sharing_an_email_but_not_an_id_stay_apart() -> None:
    accounts = [
        _account("t1", "team@x.io", 10, "rt-1", "id-1"),
        _account("t2", "team@x.io", 20, "rt-2", "id-2"),
        _account("t3", "team@x.io", 30, "rt-3", "id-1"),
    ]
    kept, index = dedupe(accounts)
    assert [a["name"] for a in kept] == ["t3", "t2"]
    assert index.by_email == {"team@x.io": [0, 1]}, "a shared key holds a list"
    assert index.by_id == {"id-1": 0, "id-2": 1}
