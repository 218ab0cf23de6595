"""codex-multi-auth's quota cache (``quota-cache.json``): the last quota seen per account."""

from __future__ import annotations

import os
from typing import Any

from pipeline.numbers import MAX_SAFE, instant, real
from pipeline.plain import Plain
from pipeline.records import Record
from pipeline.storage.files import Unreadable, decode_json, read_regular_json
from pipeline.storage.paths import StrPath
from pipeline.vocabulary import display_name, plan_code

# A usable entry as kept: (sampledAt, httpStatus, model, planType, windows), each window
# (windowMinutes, usedPercent, resetAt): what the record's quota says, in a third of the
# memory of the entry or of the record (100,000 accounts' cache is read while their stored
# objects are all in memory).
Cached = tuple[int | None, int, str | None, str | None, tuple[tuple[int | None, float | None, int | None], ...]]


class QuotaCache(Plain):
    __slots__ = ("by_account_id", "by_email", "details", "path", "state")

    def __init__(
        self,
        path: str,
        state: str,
        by_account_id: dict[str, Cached] | None = None,
        by_email: dict[str, Cached] | None = None,
        details: str | None = None,
    ) -> None:
        self.path = path
        self.state = state  # ok | missing | invalid
        self.by_account_id: dict[str, Cached] = {} if by_account_id is None else by_account_id
        self.by_email: dict[str, Cached] = {} if by_email is None else by_email
        self.details = details

    @property
    def entries(self) -> int:
        return len(self.by_account_id) + len(self.by_email)


def _number(value: Any) -> float | None:
    return real(value)


def _entry(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    model = value.get("model")
    if instant(value.get("updatedAt")) is None or _number(value.get("status")) is None:
        return None
    if not isinstance(model, str) or not model.strip():
        return None
    return value


SECTIONS = (("byAccountId", "by_account_id"), ("byEmail", "by_email"))


def load_quota_cache(given: StrPath) -> QuotaCache:
    """The cache, each usable entry kept as the record's ``quota`` it makes
    (:func:`cached_quota`): the file is read once and parsed entry by entry
    (:func:`_sections`), so that neither its bytes nor all its parsed entries outlive the
    read."""
    path = os.fspath(given)
    try:
        raw = read_regular_json(path)
    except Unreadable as exc:
        return QuotaCache(
            path,
            "missing" if exc.missing else "invalid",
            details=None if exc.missing else exc.about(os.path.basename(path)),
        )
    shared: dict[tuple[str, str], str | None] = {}
    found = _sections(raw, shared)
    if found is None:
        try:
            data = decode_json(raw)
        except Unreadable as exc:
            return QuotaCache(path, "invalid", details=exc.about(os.path.basename(path)))
        del raw
        if isinstance(data, dict) and data.get("version") == 1:
            found = {
                key: {name: _made(value, shared) for name, value in section.items()}
                for key, _ in SECTIONS
                if isinstance(section := data.get(key), dict)
            }
        del data
    else:
        del raw
    if found is None:
        return QuotaCache(path, "invalid", details=f"{os.path.basename(path)} is not a version 1 quota cache")
    cache = QuotaCache(path, "ok")
    for key, slot in SECTIONS:
        table: dict[str, Cached] = getattr(cache, slot)
        for name, entry in (found.get(key) or {}).items():
            if entry is not None and name.strip():
                table[name.strip() if key == "byAccountId" else name.strip().lower()] = entry
    return cache


def _made(value: Any, shared: dict[tuple[str, str], str | None]) -> Cached | None:
    entry = _entry(value)
    return cached_quota(entry, shared) if entry is not None else None


# codex-multi-auth writes the cache as JSON.stringify(cache, null, 2): each section an object
# at an indent of 2, its entries at 4. JSON strings hold no raw newline, so these byte
# sequences never occur inside a string.
_ENTRY_START = b'\n    "'
_ENTRY_END = b"\n    }"
_SECTION_END = b"\n  }"
_MARK = b'{"\\u0000": 0}'  # stands in for a section parsed on its own; no cache holds it


def _sections(raw: bytes, shared: dict[tuple[str, str], str | None]) -> dict[str, Any] | None:
    """The cache's sections, each {name: :func:`_made` of its entry}, parsed one entry at
    a time, or None when the file is not laid out as codex-multi-auth writes it (or has a
    byte-order mark, a duplicate section, anything orjson refuses, is no version 1 cache):
    then it is parsed whole, with the same result. The entries joined back are the section
    they came from, so the file's own parse agrees with this one."""
    import orjson

    if raw.startswith(b"\xef\xbb\xbf"):
        return None
    found: dict[str, Any] = {}
    rest: list[bytes] = []
    position = 0
    try:
        for key, _ in SECTIONS:
            opening = b'\n  "' + key.encode() + b'": {'
            start = raw.find(opening, position)
            if start == -1:
                continue
            first = start + len(opening)
            rest.append(raw[position : first - 1])
            rest.append(_MARK)
            section: dict[str, Any] = {}
            if raw.startswith(b"}", first):  # {}
                position = first + 1
            else:
                at = first
                while True:
                    if not raw.startswith(_ENTRY_START, at):
                        return None
                    end = raw.find(_ENTRY_END, at)
                    if end == -1:
                        return None
                    end += len(_ENTRY_END)
                    member = orjson.loads(b"{" + raw[at:end] + b"}")
                    if len(member) != 1:
                        return None
                    ((name, value),) = member.items()
                    section[name] = _made(value, shared)
                    if raw.startswith(b",", end):
                        at = end + 1
                        continue
                    if not raw.startswith(_SECTION_END, end):
                        return None
                    position = end + len(_SECTION_END)
                    break
            found[key] = section
        rest.append(raw[position:])
        document = orjson.loads(b"".join(rest))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.get("version") != 1:
        return None
    for key, _ in SECTIONS:
        if key in found and document.get(key) != {"\u0000": 0}:
            return None  # the section found was not the document's own (or not its last)
        if key not in found and isinstance(document.get(key), dict):
            return None
    return found


def cached_quota(entry: dict[str, Any], shared: dict[tuple[str, str], str | None] | None = None) -> Cached:
    """A usable cache entry (:func:`_entry`) as it is kept (:func:`quota_record` makes the
    record's ``quota`` of it). The model and plan names are read once for each text met in
    ``shared`` (a large cache repeats a few: one check and one string for each)."""
    shared = {} if shared is None else shared
    return (
        instant(entry.get("updatedAt")),
        int(entry["status"]),
        _name("model", entry.get("model"), shared),
        _name("plan", entry.get("planType"), shared),
        windows(entry),
    )


def quota_record(cached: Cached) -> Record:
    """The ``quota`` of the account's record (schemas/account.json) for a kept cache entry."""
    sampled, status, model, plan, kept = cached
    return {
        "source": "cache",
        "sampledAt": sampled,
        "httpStatus": status,
        "model": model,
        "planType": plan,
        "limitReached": None,
        "windows": [{"windowMinutes": minutes, "usedPercent": used, "resetAt": reset} for minutes, used, reset in kept],
        "credits": None,
    }


def _name(kind: str, value: Any, shared: dict[tuple[str, str], str | None]) -> str | None:
    if not isinstance(value, str):
        return None
    key = (kind, value)
    if key in shared:
        return shared[key]
    name = display_name(value) if kind == "model" else plan_code(_text(value))
    if len(shared) < 256:
        shared[key] = name
    return name


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def lookup(
    cache: QuotaCache,
    account_id: str | None,
    email: str | None,
    id_counts: dict[str, int],
    email_counts: dict[str, int],
) -> Record | None:
    """The account's quota from the cache (:func:`quota_record`): by accountId when it is
    unique in the pool, else by e-mail when that is unique."""
    if account_id and id_counts.get(account_id) == 1 and account_id in cache.by_account_id:
        return quota_record(cache.by_account_id[account_id])
    if email and email_counts.get(email) == 1 and email in cache.by_email:
        return quota_record(cache.by_email[email])
    return None


def windows(entry: dict[str, Any]) -> tuple[tuple[int | None, float | None, int | None], ...]:
    """The cache's primary/secondary windows as (windowMinutes, usedPercent, resetAt) of the
    record's windows (position says nothing)."""
    result = []
    for key in ("primary", "secondary"):
        window = entry.get(key)
        if not isinstance(window, dict):
            continue
        minutes, used, reset = window.get("windowMinutes"), window.get("usedPercent"), window.get("resetAtMs")
        # real() of each, its common case (an int within range) without the call: every entry has two windows
        if type(minutes) is not int or not -MAX_SAFE <= minutes <= MAX_SAFE:
            minutes = real(minutes)
        if type(used) is not int or not -MAX_SAFE <= used <= MAX_SAFE:
            used = real(used)
        if type(reset) is not int or not -MAX_SAFE <= reset <= MAX_SAFE:
            reset = real(reset)
        if minutes is None and used is None and reset is None:
            continue
        result.append(
            (
                round(minutes) if minutes is not None and minutes >= 0 else None,
                max(0, used) if used is not None else None,
                instant(reset),
            )
        )
    return tuple(result)
