"""A pool file is read account by account (pipeline/storage/files.py: read_listed_json) and, in a
run that sends no token, each access token is kept only as its claims
(pipeline/storage/jwt.py: stand_in). Both give what reading the whole file gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline import scrubbing
from pipeline.stages.collect import collect
from pipeline.storage import files, jwt
from pipeline.storage.identity import token_facts
from pipeline.storage.pool import read_pool
from testkit import poolkit

NOW = poolkit.SEED_NOW


def _pool(tmp_path: Path, count: int = 40) -> Path:
    return poolkit.real_pool(tmp_path / "pool", count, NOW) / poolkit.ACCOUNTS_FILE


def _seen(path: Path) -> tuple[Any, list[Any]]:
    seen: list[Any] = []

    def each(item: Any) -> Any:
        seen.append(item)
        return {"seen": len(seen)}

    return files.read_listed_json(path, each), seen


@pytest.mark.parametrize("chunk", [64, 1000, 1 << 22])
def test_the_written_layout_is_read_account_by_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    path = _pool(tmp_path)
    whole = files.read_json(path)
    monkeypatch.setattr(files, "_CHUNK", chunk)  # accounts cut across reads
    calls: list[Any] = []
    real = files._read_listed
    monkeypatch.setattr(files, "_read_listed", lambda p, each: calls.append(real(p, each)) or calls[-1])
    value, seen = _seen(path)
    assert calls[0] is not None, "the layout codex-multi-auth writes takes the account-by-account path"
    assert seen == whole["accounts"]
    assert value == {**whole, "accounts": [{"seen": i + 1} for i in range(len(seen))]}


@pytest.mark.parametrize(
    "layout",
    [
        lambda data: json.dumps(data),  # compact
        lambda data: json.dumps(data, indent=4),
        lambda data: "\ufeff" + json.dumps(data, indent=2),  # a byte-order mark
        lambda data: json.dumps(data, indent=2).replace('"version": 3', '"version": 3, "accounts": []', 1),
        lambda data: json.dumps(data, indent=2).replace("\n    },\n    {", "\n    },\n    7,\n    {", 1),
        lambda data: json.dumps(data, indent=2)[:-40],  # cut short: the whole-file reader words it
    ],
    ids=["compact", "indent-4", "bom", "two-lists", "not-an-object", "cut"],
)
def test_any_other_layout_is_read_whole_with_the_same_result(tmp_path: Path, layout: Any) -> None:
    path = _pool(tmp_path, 5)
    data = json.loads(path.read_text())
    path.write_text(layout(data), encoding="utf-8")
    try:
        expected = files.read_json(path)
    except files.Unreadable as refused:
        with pytest.raises(files.Unreadable, match=str(refused)):
            _seen(path)
        return
    value, seen = _seen(path)
    # accounts met before the layout turned out otherwise are handed over again
    count = len(expected["accounts"])
    assert seen[len(seen) - count :] == expected["accounts"]
    assert value == {**expected, "accounts": [{"seen": i + 1} for i in range(len(seen) - count, len(seen))]}


def test_without_tokens_the_records_are_the_same_and_the_tokens_still_scrubbed(tmp_path: Path) -> None:
    path = _pool(tmp_path, 60)
    stored = json.loads(path.read_text())["accounts"]
    scrubbing.forget_all()
    kept = list(collect(read_pool({}, NOW, path.parent, tokens=True)))
    scrubbing.forget_all()
    slim_pool = read_pool({}, NOW, path.parent, tokens=False)
    assert list(collect(slim_pool)) == kept
    assert all(len(a["accessToken"]) < 400 for a in slim_pool.accounts)
    assert [a["refreshToken"] for a in slim_pool.accounts] == [a["refreshToken"] for a in stored]
    for account in stored:
        assert scrubbing.scrub(f"x {account['accessToken']} y") == "x *** y"
    scrubbing.forget_all()


def test_a_stand_in_answers_every_reader_as_its_token() -> None:
    token = poolkit.real_access_token(account_id="acct-1", email="A@B.example", issued_ms=NOW, expires_ms=NOW + 1)
    copy = jwt.stand_in(token)
    assert copy is not None and len(copy) < len(token) / 4
    full, slim = jwt.claims(token), jwt.claims(copy)
    for read in (jwt.account_id, jwt.plan_type, jwt.email):
        assert read(slim) == read(full) is not None
    assert jwt.instant_ms(slim, "exp") == jwt.instant_ms(full, "exp") and jwt.instant_ms(slim, "iat")
    stored = {"accessToken": token, "refreshToken": "rt_" + "a" * 40}
    facts = token_facts({**stored, "accessToken": copy}, slim)
    assert facts == token_facts(stored, full) and facts["hasAccessToken"] is True
    assert jwt.stand_in("not.a.jwt") is None and jwt.stand_in(42) is None
    nan = "x." + poolkit._b64(b'{"exp": NaN}') + ".x"  # read by the standard parser: not copied
    assert jwt.claims(nan) is not None and jwt.stand_in(nan) is None


def test_a_released_pool_gives_the_same_records_and_keeps_no_account(tmp_path: Path) -> None:
    path = _pool(tmp_path, 30)
    scrubbing.forget_all()
    kept = list(collect(read_pool({}, NOW, path.parent, tokens=False)))
    released = read_pool({}, NOW, path.parent, tokens=False)
    records = collect(released, release=True)
    assert next(records) == kept[0]  # the pool record counts the accounts before any is let go
    assert [next(records) for _ in range(5)] == kept[1:6]
    assert released.accounts == []  # the rest are held by the records' generator alone
    assert [*records] == kept[6:]
    scrubbing.forget_all()


def test_the_tokens_of_a_recovery_copy_are_registered_too(tmp_path: Path) -> None:
    path = _pool(tmp_path, 5)
    stored = json.loads(path.read_text())["accounts"]
    path.rename(path.with_name(path.name + ".bak"))  # the file itself missing: its backup is read
    scrubbing.forget_all()
    pool = read_pool({}, NOW, path.parent, tokens=False)
    assert pool.storage.state == "recovered" and len(pool.accounts) == 5
    for account in stored:
        assert scrubbing.scrub(f"x {account['refreshToken']} {account['accessToken']} y") == "x *** *** y"
    scrubbing.forget_all()


def test_without_tokens_the_stored_objects_leave_out_what_nothing_reads(tmp_path: Path) -> None:
    path = _pool(tmp_path)
    full = read_pool({}, NOW, path.parent, tokens=True).accounts
    slim = read_pool({}, NOW, path.parent, tokens=False).accounts
    assert all("recordId" in account and "accountIdSource" in account for account in full)
    assert not any({"recordId", "accountIdSource", "lastSwitchReason"} & set(account) for account in slim)
    assert [sorted(set(a) - {"recordId", "accountIdSource", "lastSwitchReason"}) for a in full] == [
        sorted(a) for a in slim
    ]
    assert sys.getsizeof(slim[1]) < sys.getsizeof(full[1]), "a new, smaller dict, not one that lost members"
