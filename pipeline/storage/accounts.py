"""codex-multi-auth's accounts file (format versions 3 and 1): normalisation, de-duplication
and the current account, following codex-multi-auth's own rules (anchor-spec §3.3-§3.9)."""

from __future__ import annotations

from typing import Any, NamedTuple

from pipeline.numbers import MAX_SAFE, real, whole
from pipeline.plain import Plain
from pipeline.scrubbing import remember_tokens
from pipeline.storage import jwt
from pipeline.storage.files import Outcome, Unreadable, load_with_recovery, read_listed_json
from pipeline.storage.paths import StrPath

MODEL_FAMILIES = ("gpt-5-codex", "codex-max", "codex", "gpt-5.2", "gpt-5.1")
CURRENT_FAMILY = "codex"


class AccountsFile(Plain):
    """The pool as codex-multi-auth would load it. ``accounts`` are the stored objects
    (credentials included: never serialise them as they are)."""

    __slots__ = ("accounts", "current_index", "outcome", "version", "warnings")

    def __init__(
        self,
        outcome: Outcome,
        version: int | None = None,
        accounts: list[dict[str, Any]] | None = None,
        current_index: int | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.outcome = outcome
        self.version = version
        self.accounts: list[dict[str, Any]] = [] if accounts is None else accounts
        self.current_index = current_index
        self.warnings: list[str] = [] if warnings is None else warnings


class _Normalized(Plain):
    __slots__ = ("accounts", "current_index", "version", "warnings")

    def __init__(
        self, version: int, accounts: list[dict[str, Any]], current_index: int | None, warnings: list[str]
    ) -> None:
        self.version = version
        self.accounts = accounts
        self.current_index = current_index
        self.warnings = warnings


def load_accounts(path: StrPath, now_ms: int, *, tokens: bool = True) -> AccountsFile:
    """The pool file, read account by account (:func:`read_listed_json`). ``tokens`` False
    (a run that sends no token): each access token is registered with the scrubber and kept
    only as :func:`pipeline.storage.jwt.stand_in`, its claims without the rest."""
    # The file itself is read account by account, each account's tokens registered as it is
    # parsed; only a recovery copy (read whole) leaves that to normalize().
    read: list[str] = []

    def reader(file: str) -> Any:
        value = read_listed_json(file, _registered if tokens else _slimmed)
        read.append(file)
        return value

    outcome, value = load_with_recovery(
        path,
        lambda data: normalize(data, now_ms, register=not read),
        wal=True,
        is_empty=lambda v: v is None or not v.accounts,
        reader=reader,
    )
    if value is None:
        return AccountsFile(outcome)
    return AccountsFile(outcome, value.version, value.accounts, value.current_index, value.warnings)


def _registered(account: Any) -> Any:
    remember_tokens(account)
    return account


def _slimmed(account: Any) -> Any:
    if isinstance(account, dict):
        remember_tokens(account)  # the access token as it is stored, before its stand-in replaces it
        token = account.get("accessToken")
        if isinstance(token, str) and len(token) > _SLIM_OVER:
            copy = jwt.stand_in(token)
            if copy is not None:
                account["accessToken"] = copy
        if not _UNREAD.isdisjoint(account):
            # a new dict: one that lost members keeps the room they took (a 12-member dict
            # is twice the size of a 10-member one)
            account = {key: value for key, value in account.items() if key not in _UNREAD}
    return account


_SLIM_OVER = 256  # shorter access tokens are kept as they are
# What codex-multi-auth stores and no run without tokens reads: left out of the stored
# objects such a run keeps (about 300 bytes an account).
_UNREAD = frozenset(("recordId", "accountIdSource", "lastSwitchReason"))


def _finite(value: Any) -> bool:
    if type(value) is int:  # the common case first: a JSON number without a fraction
        return -MAX_SAFE <= value <= MAX_SAFE
    return real(value) is not None


def _nonblank(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def normalize(data: Any, now_ms: int, *, register: bool = True) -> _Normalized:
    """The pool as codex-multi-auth loads it. ``register`` False: the accounts' tokens were
    registered with the scrubber as they were read."""
    if not isinstance(data, dict):
        raise Unreadable("is not a JSON object")
    version = whole(data.get("version"))
    if version not in (1, 3):
        shown = version if version is not None else "(not a whole number)"
        raise Unreadable(f"has unknown format version {shown} (known: 1, 3)")
    raw = data.get("accounts")
    if not isinstance(raw, list):
        raise Unreadable("has no accounts list")
    warnings: list[str] = []
    raw_active = _clamp_index(data.get("activeIndex"), len(raw))
    by_family = data.get("activeIndexByFamily")
    raw_current = raw_active
    if isinstance(by_family, dict) and by_family.get(CURRENT_FAMILY) is not None:
        raw_current = _clamp_index(by_family.get(CURRENT_FAMILY), len(raw))
    current_identity = _identity(raw[raw_current]) if raw and isinstance(raw[raw_current], dict) else None

    kept: list[dict[str, Any]] = []
    for position, account in enumerate(raw):
        if register:
            remember_tokens(account)
        if not isinstance(account, dict):
            warnings.append(f"accounts[{position}] is not an object; skipped")
            continue
        if not _nonblank(account.get("refreshToken")):
            warnings.append(f"accounts[{position}] has no refresh token; skipped (codex-multi-auth drops it too)")
            continue
        # Changed in place: the parsed file is ours alone (a copy of each would double the
        # pool's memory while the list it came from lives).
        if not (_finite(account.get("authInvalidatedAt")) and account["authInvalidatedAt"] > 0):
            account.pop("authInvalidatedAt", None)
            account.pop("authInvalidationErrorCode", None)
        if version == 1:
            _migrate_v1(account, now_ms)
        kept.append(account)

    before = len(kept)
    accounts, index = dedupe(kept)
    if len(accounts) < before:
        warnings.append(
            f"{before - len(accounts)} duplicate account record(s) merged (the most recently used one kept)"
        )

    current: int | None = None
    if accounts:
        current = min(raw_current, len(accounts) - 1)
        if current_identity is not None:
            match = _match(accounts, index, current_identity, True)  # dedupe's index: the same one
            if match is not None:
                current = match
    return _Normalized(version, accounts, current, warnings)


def _clamp_index(value: Any, length: int) -> int:
    index = int(value) if _finite(value) else 0
    return max(0, min(index, length - 1)) if length else 0


def _migrate_v1(account: dict[str, Any], now_ms: int) -> None:
    reset = account.pop("rateLimitResetTime", None)
    if _finite(reset) and reset > now_ms:
        account["rateLimitResetTimes"] = dict.fromkeys(MODEL_FAMILIES, reset)


class _Identity(NamedTuple):  # a tuple: made twice per account, ten times cheaper than a dataclass
    account_id: str | None
    email: str | None
    refresh: str | None
    last_used: float
    added_at: float


def _identity(account: dict[str, Any]) -> _Identity:
    email = _nonblank(account.get("email"))
    return _Identity(
        _nonblank(account.get("accountId")),
        email.lower() if email else None,
        _nonblank(account.get("refreshToken")),
        account["lastUsed"] if _finite(account.get("lastUsed")) else 0,
        account["addedAt"] if _finite(account.get("addedAt")) else 0,
    )


def _newest(accounts: list[dict[str, Any]], positions: list[int]) -> int:
    best = positions[0]
    for position in positions[1:]:
        if _is_newer(accounts[position], accounts[best]):
            best = position
    return best


def _is_newer(candidate: dict[str, Any], kept: dict[str, Any]) -> bool:
    """codex-multi-auth's rule: greater lastUsed; on a tie greater-or-equal addedAt."""
    a, b = _identity(candidate), _identity(kept)
    if a.last_used != b.last_used:
        return a.last_used > b.last_used
    return a.added_at >= b.added_at


class _Index:
    """Positions of kept accounts by accountId, e-mail key and refresh token: one int for a
    key (nearly every key of a pool), a list for a key several accounts share (a list for
    each key of 100,000 accounts was 20 MB)."""

    def __init__(self) -> None:
        self.by_id: dict[str, int | list[int]] = {}
        self.by_email: dict[str, int | list[int]] = {}
        self.by_refresh: dict[str, int | list[int]] = {}

    def add(self, position: int, ident: _Identity) -> None:
        for table, key in (
            (self.by_id, ident.account_id),
            (self.by_email, ident.email),
            (self.by_refresh, ident.refresh),
        ):
            if key is not None:
                known = table.get(key)
                if known is None:
                    table[key] = position
                elif isinstance(known, int):
                    table[key] = [known, position]
                else:
                    known.append(position)

    def remove(self, position: int, ident: _Identity) -> None:
        for table, key in (
            (self.by_id, ident.account_id),
            (self.by_email, ident.email),
            (self.by_refresh, ident.refresh),
        ):
            if key is not None:
                known = table[key]
                if isinstance(known, int):
                    assert known == position
                    del table[key]
                else:
                    known.remove(position)
                    if len(known) == 1:
                        table[key] = known[0]


def _at(table: dict[str, int | list[int]], key: str) -> list[int]:
    """The positions ``key`` has in an index table (none: an empty list)."""
    known = table.get(key)
    return [] if known is None else [known] if isinstance(known, int) else known


def _match(kept: list[dict[str, Any]], index: _Index, cand: _Identity, allow_id_without_email: bool) -> int | None:
    if (
        (cand.email is None or cand.email not in index.by_email)
        and (cand.refresh is None or cand.refresh not in index.by_refresh)
        and (cand.account_id is None or cand.account_id not in index.by_id)
    ):
        return None  # no key kept yet: every rule below finds nothing (nearly every account of a pool)
    idents = {}

    def ident(position: int) -> _Identity:
        if position not in idents:
            idents[position] = _identity(kept[position])
        return idents[position]

    # 1. composite: same accountId and same e-mail key
    if cand.account_id and cand.email:
        same = [p for p in _at(index.by_email, cand.email) if ident(p).account_id == cand.account_id]
        if same:
            return _newest(kept, same)
    # 2. safe e-mail: same e-mail key, unless that would join different accountIds
    if cand.email:
        group = _at(index.by_email, cand.email)
        if group:
            ids = {ident(p).account_id for p in group if ident(p).account_id}
            if cand.account_id:
                ids.add(cand.account_id)
            if len(ids) <= 1:
                return _newest(kept, group)
    # 3. refresh token, unless identities conflict
    if cand.refresh:
        group = _at(index.by_refresh, cand.refresh)
        if group:
            for p in group:
                other = ident(p)
                if (cand.account_id and other.account_id and cand.account_id != other.account_id) or (
                    cand.email and other.email and cand.email != other.email
                ):
                    return None
            if len(group) > 1 and not cand.account_id and not cand.email:
                return None
            return _newest(kept, group)
    # 4. unique accountId
    if cand.account_id and (cand.email or allow_id_without_email):
        group = _at(index.by_id, cand.account_id)
        if len(group) == 1:
            other = ident(group[0])
            if not (cand.email and other.email and cand.email != other.email):
                return group[0]
    return None


def dedupe(accounts: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], _Index]:
    """Collapse records of one identity, keeping the newer at the older's position; repeat
    passes until nothing more collapses (codex-multi-auth's rule). With the index of what
    was kept (the last pass merged nothing: one entry per kept account, at its position)."""
    current = accounts
    while True:
        kept: list[dict[str, Any]] = []
        index = _Index()
        for account in current:
            cand = _identity(account)
            position = _match(kept, index, cand, False)
            if position is None:
                index.add(len(kept), cand)
                kept.append(account)
            elif _is_newer(account, kept[position]):
                index.remove(position, _identity(kept[position]))
                kept[position] = account
                index.add(position, cand)
        if len(kept) == len(current):
            return kept, index
        current = kept
