"""Refreshing an account's tokens without ever losing one.

The order of a refresh (:meth:`TokenKeeper.refresh`):

1. one refresh per token in this process (threads wait for each other), none at all when the
   file cannot be written (the token would be spent for nothing);
2. the file as it is now: when another process has rotated the token since we read it, its
   tokens are used (or refreshed), never the spent one;
3. codex-multi-auth's refresh lease (:mod:`pipeline.live.lease`), so two programs never spend
   the same token; a result it published is used (it proves the token spent);
4. the token endpoint's answer goes into the token journal (:mod:`pipeline.live.journal`)
   before anything else, then to the lease result (for codex-multi-auth), then into every
   stored record that holds the spent token (:mod:`pipeline.live.writeback`).

Before a live run refreshes anything, and again at its end, :mod:`pipeline.live.recovery`
puts into storage whatever the journal has that storage lacks (a crash, another program's
stale write). A rotated token that could not be written into storage is a
:class:`TokenNotSaved`, which the caller must report loudly (exit 1).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pipeline.live import inflight, oauth, recovery
from pipeline.live.atomic import WriteError
from pipeline.live.endpoints import Endpoints
from pipeline.live.journal import Journal, JournalError, Rotation, token_hash
from pipeline.live.lease import Lease, LeaseTimeout
from pipeline.live.pending import journal_folder
from pipeline.live.writeback import Target, apply, find_account, held, newest, stored_tokens, writable
from pipeline.policy import ACCESS_EXPIRY_MARGIN_MS
from pipeline.storage import jwt
from pipeline.storage.pool import Pool
from pipeline.visible import visible


class TokenNotSaved(Exception):
    """Rotated tokens that could not be written into a storage file. ``repairable``: the token
    journal holds them and a record still waits for them, so ``codex auth repair`` (or the
    next live run) can still save them; otherwise the account needs a new login."""

    def __init__(self, who: str, path: Path, why: str, journaled: bool, repairable: bool = True) -> None:
        self.who, self.path, self.why = who, path, why
        self.journaled, self.repairable = journaled, repairable and journaled
        tail = "; they are kept in the token journal until the file can be written" if self.repairable else ""
        super().__init__(f"rotated tokens for {who} not saved to {path}: {why}{tail}")


@dataclass(frozen=True)
class Source:
    """Where an account's credentials live, and whether we may write there."""

    target: Target
    writable_state: bool  # False when the file was recovered or is damaged: never write into it
    state_detail: str = ""

    @property
    def path(self) -> Path:
        return self.target.path


@dataclass(frozen=True)
class Fresh:
    """Tokens ready to use."""

    access: str
    expires: int | None


@dataclass(frozen=True)
class Failure:
    """Why an account has no fresh tokens: a short code, a sentence, the HTTP status."""

    code: str | None
    detail: str
    status: int | None = None


@dataclass
class TokenKeeper:
    pool: Pool
    env: Mapping[str, str]
    endpoints: Endpoints
    clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000
    lease: Lease | None = None
    failures: list[TokenNotSaved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    restored: int = 0
    waiting: int = 0  # spent tokens storage still holds after the last recovery

    def __post_init__(self) -> None:
        self.journal = Journal(journal_folder(self.pool))
        if self.lease is None:
            self.lease = recovery.lease_of(self.pool, self.env)
        self.targets = recovery.targets(self.pool)
        self.rotations: dict[str, Rotation] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, Fresh] = {}

    # --- before and after the run --------------------------------------------------------

    def recover(self) -> int:
        """Restore what the journal has and storage lacks; how many tokens were restored."""
        restored = recovery.restore(self.pool, self.env, self.clock(), self.journal)
        self.rotations.update(restored.rotations)
        self.waiting = restored.waiting
        self.notes.extend(f"warning: {line}" for line in restored.failures)
        if restored.restored:
            self.restored += restored.restored
            self.notes.append(f"restored {_count(restored.restored)} from the journal")
        return restored.restored

    def settle(self) -> None:
        """At the end of a run: tokens that another program's stale write removed meanwhile go
        back; the journal is compacted."""
        restored = recovery.restore(self.pool, self.env, self.clock(), self.journal)
        self.waiting = restored.waiting
        self.notes.extend(f"warning: {line}" for line in restored.failures)
        if restored.restored:
            self.restored += restored.restored
            self.notes.append(
                f"restored {_count(restored.restored)} from the journal (another program's write had removed them)"
            )
        if restored.waiting:
            self.notes.append(f"warning: {recovery.pending_text(restored.waiting)}")

    # --- one refresh --------------------------------------------------------------------

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def usable(self, access: Any, expires: int | None) -> bool:
        if not isinstance(access, str) or not access.strip():
            return False
        return expires is None or expires - self.clock() > ACCESS_EXPIRY_MARGIN_MS

    def refresh(
        self, client: httpx.Client, creds: Mapping[str, Any], source: Source, account_id: str | None, email: str | None
    ) -> tuple[Fresh | None, Failure | None]:
        """New tokens for this account, saved before they are used; or why there are none.
        A refresh token is spent at most once."""
        raw = creds.get("refreshToken")
        if not isinstance(raw, str) or not raw.strip():
            return None, Failure("missing_refresh", "no refresh token stored; log in again")
        old = raw.strip()
        spent = token_hash(old)
        who = visible(email or account_id or "an account")  # stored text: shown with its controls escaped
        with self._lock(spent):
            if spent in self._done:
                return self._done[spent], None
            if not source.writable_state:
                return None, Failure(
                    None,
                    f"not refreshed: {source.path.name} is not in a state to write to ({source.state_detail}); "
                    "repair it with codex-multi-auth first",
                )
            why = writable(source.path)
            if why:
                return None, Failure(None, f"not refreshed: rotated tokens could not be saved ({why})")
            found = find_account(source.target, spent, account_id, email)
            if found is None:
                return None, Failure(None, f"not refreshed: the account is no longer in {source.path.name}")
            digest, record = found
            if digest != spent:
                # Another process rotated this token since we read the file: never spend the old one.
                on_disk = stored_tokens(record, source.target.kind)
                expires = on_disk["expires"] or jwt.instant_ms(jwt.claims(on_disk["access"]), "exp")
                if self.usable(on_disk["access"], expires):
                    fresh = Fresh(on_disk["access"], expires)
                    self._done[spent] = fresh
                    return fresh, None
                old, spent = on_disk["refresh"], digest
            rotated, failure = self._rotate(client, old, spent, source, account_id, email, who)
            if rotated is not None:
                self._done[token_hash(raw.strip())] = rotated
            return rotated, failure

    def _rotate(
        self,
        client: httpx.Client,
        old: str,
        spent: str,
        source: Source,
        account_id: str | None,
        email: str | None,
        who: str,
    ) -> tuple[Fresh | None, Failure | None]:
        assert self.lease is not None
        for _ in range(3):
            leased = old
            try:
                nonce, published = self.lease.acquire(leased)
            except (LeaseTimeout, WriteError) as exc:
                return None, Failure("lease_busy", f"not refreshed: {exc}")
            try:
                if published is not None:
                    # codex-multi-auth (or a run of ours) spent this token: its result is ours to keep
                    rotation = Rotation(
                        spent,
                        published["access"],
                        published["refresh"].strip(),
                        published.get("expires"),
                        published.get("id_token"),
                        account_id,
                        self.clock(),
                        "lease",
                    )
                    failure = self._keep(rotation, source, who, email)
                    if failure is not None:
                        return None, failure
                    expires = rotation.expires or jwt.instant_ms(jwt.claims(rotation.access), "exp")
                    if self.usable(rotation.access, expires):
                        return Fresh(rotation.access, expires), None
                    if rotation.next == spent:
                        return None, Failure("lease_stale", "not refreshed: the published tokens have expired")
                    old, spent = rotation.refresh, rotation.next
                    continue
                with inflight.spending():  # from spending the token to saving its successor
                    answer = oauth.refresh(client, self.endpoints, leased, self.clock())
                    if not answer.ok:
                        detail = answer.detail + (
                            "; the token may have been spent: if the account stops working, log in again"
                            if answer.spent
                            else ""
                        )
                        return None, Failure(answer.code, detail, answer.status)
                    assert answer.tokens is not None
                    tokens = answer.tokens
                    rotation = Rotation(
                        spent,
                        tokens["access"],
                        str(tokens["refresh"]).strip(),
                        tokens.get("expires"),
                        tokens.get("id_token"),
                        account_id,
                        self.clock(),
                        "refresh",
                    )
                    failure = self._keep(rotation, source, who, email, publish=leased)
                if failure is not None:
                    return None, failure
                return Fresh(rotation.access, rotation.expires), None
            finally:
                self.lease.release(leased, nonce)
        return None, Failure("lease_stale", "not refreshed: the published tokens kept expiring")

    def _keep(
        self,
        rotation: Rotation,
        source: Source,
        who: str,
        email: str | None = None,
        publish: str | None = None,
    ) -> Failure | None:
        """Journal, lease result, storage: in that order. Storage may already hold the tokens
        (another process of ours wrote the result we use) or newer ones: that is no failure;
        an account that is no longer in its file is."""
        account_id = rotation.account_id
        assert self.lease is not None
        journaled = rotation.next == rotation.spent  # nothing spent: nothing to lose
        if not journaled:
            try:
                self.journal.append(rotation)
                journaled = True
            except JournalError as exc:
                self.notes.append(f"warning: {exc}")
        with self._guard:
            # Every write below reads this (live) map under the folder's lock: a write that
            # runs while other threads' tokens have arrived carries theirs too, and their own
            # writes find nothing left to do.
            self.rotations[rotation.spent] = rotation
        rotations = self.rotations
        if publish is not None:
            self.lease.publish(publish, {**_answer(rotation)})
        now = self.clock()
        for target in self.targets:
            mine = target.path == source.path
            if not mine and not any(newest(rotations, digest) for digest, _ in held(target)):
                continue  # another file, holding none of the tokens spent
            try:
                applied = apply(target, rotations, now)
            except WriteError as exc:
                self.failures.append(TokenNotSaved(who, target.path, str(exc), journaled))
                if mine:
                    return _unsaved(self.failures[-1])
                continue
            if mine and not applied.records and find_account(target, rotation.next, account_id, email) is None:
                self.failures.append(
                    TokenNotSaved(who, target.path, "the account is no longer in the file", journaled, repairable=False)
                )
                return _unsaved(self.failures[-1])
        return None


def _answer(rotation: Rotation) -> dict[str, Any]:
    return {
        "access": rotation.access,
        "refresh": rotation.refresh,
        "expires": rotation.expires,
        "id_token": rotation.id_token,
    }


def _unsaved(error: TokenNotSaved) -> Failure:
    return Failure("write_back_failed", f"refreshed, but the rotated tokens could not be saved: {error}")


def _count(n: int) -> str:
    return f"{n} rotated token{'s' if n != 1 else ''}"
