"""The quota cache is parsed entry by entry when it is laid out as codex-multi-auth writes it
(pipeline/storage/quota_cache.py: _sections), and whole otherwise; both give the same cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.storage import quota_cache
from pipeline.storage.quota_cache import QuotaCache, load_quota_cache, lookup, quota_record
from testkit import poolkit

NOW = poolkit.SEED_NOW
HOUR = 3_600_000


def _entry(used: int, **extra: Any) -> dict[str, Any]:
    return poolkit.quota_entry(
        NOW - HOUR, poolkit.window(300, used, NOW + HOUR), poolkit.window(10080, used // 2, NOW + 3 * HOUR), **extra
    )


def _whole(path: Path, monkeypatch: pytest.MonkeyPatch) -> QuotaCache:
    with monkeypatch.context() as patched:
        patched.setattr(quota_cache, "_sections", lambda raw, shared: None)
        return load_quota_cache(path)


def _entry_by_entry(path: Path, monkeypatch: pytest.MonkeyPatch) -> QuotaCache:
    calls: list[bool] = []
    real = quota_cache._sections

    def spy(raw: bytes, shared: dict[str, str]) -> Any:
        found = real(raw, shared)
        calls.append(found is not None)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(quota_cache, "_sections", spy)
        cache = load_quota_cache(path)
    assert calls == [True], "the written layout is read entry by entry"
    return cache


def _same(a: QuotaCache, b: QuotaCache) -> None:
    assert (a.state, a.details) == (b.state, b.details)
    assert list(a.by_account_id.items()) == list(b.by_account_id.items())
    assert list(a.by_email.items()) == list(b.by_email.items())


def test_the_written_layout_is_read_entry_by_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = poolkit.write_quota_cache(
        tmp_path,
        by_account_id={"acct-a": _entry(10), " acct-b ": _entry(20, plan=None), "": _entry(5), "bad": {"status": 1}},
        by_email={"Carol@Example.com": _entry(30, status=429)},
    )
    cache = _entry_by_entry(path, monkeypatch)
    _same(cache, _whole(path, monkeypatch))
    assert list(cache.by_account_id) == ["acct-a", "acct-b"]
    assert quota_record(cache.by_account_id["acct-a"]) == {
        "source": "cache",
        "sampledAt": NOW - HOUR,
        "httpStatus": 200,
        "model": "gpt-5-codex",
        "planType": "plus",
        "limitReached": None,
        "windows": [
            {"windowMinutes": 300, "usedPercent": 10, "resetAt": NOW + HOUR},
            {"windowMinutes": 10080, "usedPercent": 5, "resetAt": NOW + 3 * HOUR},
        ],
        "credits": None,
    }
    assert quota_record(cache.by_email["carol@example.com"])["httpStatus"] == 429


def test_a_real_shaped_cache_reads_the_same_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = poolkit.real_pool(tmp_path / "pool", 300, NOW)
    path = folder / "quota-cache.json"
    cache = _entry_by_entry(path, monkeypatch)
    _same(cache, _whole(path, monkeypatch))
    assert cache.entries > 200


@pytest.mark.parametrize(
    "text",
    [
        # one line, and other layouts than JSON.stringify(cache, null, 2)
        json.dumps({"version": 1, "byAccountId": {"a": _entry(1)}, "byEmail": {"x@y.z": _entry(2)}}),
        json.dumps({"version": 1, "byAccountId": {"a": _entry(1)}}, indent=4),
        # the sections in the other order
        json.dumps({"version": 1, "byEmail": {"x@y.z": _entry(2)}, "byAccountId": {"a": _entry(1)}}, indent=2),
        # a duplicate entry: the whole parse keeps the first place and the last value
        '{\n  "version": 1,\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"},\n'
        '    "b": {"updatedAt": 2, "status": 200, "model": "m"},\n'
        '    "a": {"updatedAt": 3, "status": 200, "model": "m"}\n  }\n}\n',
        # a duplicate section: the last one counts
        '{\n  "version": 1,\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"}\n  },\n'
        '  "byAccountId": {\n    "b": {"updatedAt": 2, "status": 200, "model": "m"}\n  }\n}\n',
        # a decoy section nested deeper, written at the indent of a real one
        '{\n  "version": 1,\n  "other": {\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"}\n'
        '  }\n  },\n  "byAccountId": {}\n}\n',
        # empty sections, a section that is not an object, not version 1, not an object at all
        '{\n  "version": 1,\n  "byAccountId": {},\n  "byEmail": {}\n}\n',
        '{\n  "version": 1,\n  "byAccountId": [],\n  "byEmail": {\n    "x@y.z": {"updatedAt": 1, "status": 1, "model": "m"}\n  }\n}',
        '{\n  "version": 2,\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"}\n  }\n}\n',
        '[\n  "byAccountId": {\n    "a": {}\n  }\n]\n',
        # a byte-order mark, NaN (orjson refuses it), bad JSON
        '\ufeff{\n  "version": 1,\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"}\n  }\n}',
        '{\n  "version": 1,\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": NaN, "model": "m"}\n  }\n}',
        '{\n  "version": 1,\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"}\n  },\n}',
    ],
)
def test_other_layouts_read_as_the_whole_file_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "quota-cache.json"
    path.write_text(text, encoding="utf-8")
    _same(load_quota_cache(path), _whole(path, monkeypatch))


def test_the_decoy_is_not_taken_for_the_section(tmp_path: Path) -> None:
    path = tmp_path / "quota-cache.json"
    path.write_text(
        '{\n  "version": 1,\n  "other": {\n  "byAccountId": {\n    "a": {"updatedAt": 1, "status": 200, "model": "m"}\n'
        '  }\n  },\n  "byAccountId": {}\n}\n'
    )
    assert load_quota_cache(path).by_account_id == {}


def test_bad_json_keeps_its_one_line_reason(tmp_path: Path) -> None:
    path = tmp_path / "quota-cache.json"
    path.write_text('{\n  "version": 1,\n  "byAccountId": {\n    "a": \n  }\n}\n')
    cache = load_quota_cache(path)
    assert cache.state == "invalid"
    assert cache.details is not None and cache.details == "quota-cache.json:5:3: invalid JSON: expecting value"
    assert "\n" not in cache.details


def test_lookup_makes_each_record_its_own_quota(tmp_path: Path) -> None:
    path = poolkit.write_quota_cache(tmp_path, by_account_id={"a": _entry(10)}, by_email={"b@x.io": _entry(20)})
    cache = load_quota_cache(path)
    first, second = lookup(cache, "a", None, {"a": 1}, {}), lookup(cache, "a", None, {"a": 1}, {})
    assert first == second == quota_record(cache.by_account_id["a"])
    assert first is not second and first is not None and second is not None
    assert first["windows"][0] is not second["windows"][0]
    assert lookup(cache, "a", None, {"a": 2}, {}) is None, "an id two accounts share finds nothing"
    by_email = lookup(cache, "a", "b@x.io", {"a": 2}, {"b@x.io": 1})
    assert by_email is not None and by_email["windows"][0]["usedPercent"] == 20
