"""Refreshing an account's tokens without ever losing one.

The order of a refresh (:meth:`TokenKeeper.refresh`):

1. one refresh per token in this process (threads wait for each other), none at all when the
   file cannot be written or the token journal is not ours (the token would be spent for
   nothing);
2. our own cross-process lock on the token (:class:`SpendLock`), whatever codex-multi-auth's
   lease setting and for a Codex CLI login too, held until the successor is in the journal
   and in storage;
3. the file as it is now: when another process has rotated the token since we read it, its
   tokens are used (or refreshed), never the spent one; when the journal has a successor that
   storage lacks, that one is used;
4. room before spending: every lock file the refresh and its write-back take checked to be
   ours (:func:`pipeline.live.locks.check`), space for the answer reserved in the journal,
   and a new copy of the storage file proven to fit; else no refresh (one
   ``what went wrong: what to do`` line, :meth:`TokenKeeper._refuse`, and exit 1);
5. codex-multi-auth's refresh lease (:mod:`pipeline.live.lease`), so two programs never spend
   the same token; a result it published is used (it proves the token spent);
6. the token endpoint's answer goes into the token journal (:mod:`pipeline.live.journal`)
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pipeline.clock import Clock, now_ms
from pipeline.live import inflight, locks, oauth, recovery
from pipeline.live.atomic import LOCK_NAME as WRITE_LOCK
from pipeline.live.atomic import WriteError, prove_room
from pipeline.live.endpoints import Endpoints
from pipeline.live.journal import (
    FIX_PERMISSIONS,
    MOVE_AWAY,
    NO_ROOM,
    Journal,
    JournalError,
    JournalRefused,
    Reservation,
    Rotation,
    latest,
    refused_line,
    room_for,
    token_hash,
)
from pipeline.live.journal import LOCK_NAME as JOURNAL_LOCK
from pipeline.live.lease import Lease, LeaseTimeout
from pipeline.live.locks import LockBusy, LockError, SpendLock
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
    clock: Clock = now_ms
    lease: Lease | None = None
    failures: list[TokenNotSaved] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # refreshes refused before spending (exit 1)
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
        self._said: set[str] = set()
        self.lock_folders = recovery.lock_folders(self.pool, self.journal)

    # --- before and after the run --------------------------------------------------------

    def recover(self) -> int:
        """Restore what the journal has and storage lacks; how many tokens were restored."""
        restored = recovery.restore(self.pool, self.env, self.clock(), self.journal)
        self.rotations.update(restored.rotations)
        self.waiting = restored.waiting
        self._note_failures(restored)
        refused = self.journal.refused()
        if refused:  # said among the failures above; no token can be refreshed while it is there
            self.refused.append(refused_line(refused, MOVE_AWAY))
        if restored.restored:
            self.restored += restored.restored
            self.notes.append(f"restored {_count(restored.restored)} from the journal")
        return restored.restored

    def settle(self) -> None:
        """At the end of a run: tokens that another program's stale write removed meanwhile go
        back; the journal is compacted."""
        restored = recovery.restore(self.pool, self.env, self.clock(), self.journal)
        self.waiting = restored.waiting
        self._note_failures(restored)
        if restored.restored:
            self.restored += restored.restored
            self.notes.append(
                f"restored {_count(restored.restored)} from the journal (another program's write had removed them)"
            )
        if restored.waiting:
            self.notes.append(f"warning: {recovery.pending_text(restored.waiting)}")

    def _note_failures(self, restored: recovery.Restored) -> None:
        """What recovery could not do, and what it found damaged, as warnings; a refused
        journal's line is the one its refused refreshes say (:meth:`_refuse`), said once."""
        for line in restored.failures:
            self._note(f"warning: {line}", MOVE_AWAY if line.endswith(MOVE_AWAY) else None)
        for line in restored.notes:
            self._note(f"warning: {line}", "damaged")

    def close(self) -> None:
        """When the run has written its last file: our lock files that nobody holds go, and
        the lease folder when we made it and it is empty (:func:`recovery.sweep_locks`)."""
        assert self.lease is not None
        recovery.sweep_locks(self.pool, self.journal, self.lease, self.rotations)

    # --- one refresh --------------------------------------------------------------------

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _note(self, line: str, key: str | None = None) -> None:
        """A warning for stderr, said once per run however many accounts it stops (``key``:
        once for every line of that kind)."""
        with self._guard:
            if (key or line) not in self._said:
                self._said.add(key or line)
                self.notes.append(line)

    def _refuse(self, what: str, todo: str) -> tuple[None, Failure]:
        """A refresh refused before any token is spent (the journal, a lock file or a folder
        that is not ours, no room, no permission): one ``what went wrong: what to do`` line
        for stderr, said once per run for each thing to do (the first file it names; the
        next run names the next), the account's failure, and the run's exit 1
        (:attr:`refused`)."""
        line = refused_line(what, todo)
        self._note(f"warning: {line}", todo)
        with self._guard:
            self.refused.append(line)
        return None, Failure(None, f"not refreshed: {what}")

    def _refuse_lock(self, error: LockError) -> tuple[None, Failure]:
        return self._refuse(str(error), MOVE_AWAY if error.foreign else NO_ROOM)

    def _foreign_lock(self) -> LockError | None:
        """The first of the lock files a refresh and its write-back take that could not be
        taken (:func:`locks.check`): asked before the token is spent, since a lock refused
        after it would leave the successor outside storage."""
        assert self.lease is not None
        paths = [folder / WRITE_LOCK for folder in self.lock_folders]
        paths.append(self.journal.folder / JOURNAL_LOCK)
        if self.lease.enabled:
            paths.append(self.lease.folder / WRITE_LOCK)
        for path in paths:
            why = locks.check(path)
            if why is not None:
                return why
        return None

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
        first = token_hash(old)
        who = visible(email or account_id or "an account")  # stored text: shown with its controls escaped
        with self._lock(first):
            if first in self._done:
                return self._done[first], None
            if not source.writable_state:
                return None, Failure(
                    None,
                    f"not refreshed: {source.path.name} is not in a state to write to ({source.state_detail}); "
                    "repair it with codex-multi-auth first",
                )
            why = writable(source.path)
            if why:
                return self._refuse(why, FIX_PERMISSIONS)
            refused = self.journal.refused()
            if refused:
                return self._refuse(refused, MOVE_AWAY)
            room = room_for(creds)
            spent = first
            deadline = time.monotonic() + self.wait_s()
            for _ in range(MAX_HOPS):
                try:
                    with SpendLock(self.lock_folders, spent, deadline) as lock:
                        outcome = self._refresh_locked(client, old, spent, lock, source, account_id, email, who, room)
                except LockBusy:
                    return None, Failure(
                        "lease_busy", "not refreshed: another process has been refreshing this token for too long"
                    )
                except LockError as exc:
                    return self._refuse_lock(exc)
                if isinstance(outcome, _Next):
                    old, spent = outcome.token, outcome.digest
                    continue
                fresh, failure = outcome
                if fresh is not None:
                    self._done[first] = fresh
                return fresh, failure
            return None, Failure("lease_stale", "not refreshed: the stored tokens kept changing")

    def wait_s(self) -> float:
        """How long a refresh waits for other processes (our lock and the lease together)."""
        assert self.lease is not None
        return self.lease.wait_ms / 1000

    def _refresh_locked(
        self,
        client: httpx.Client,
        old: str,
        spent: str,
        lock: SpendLock,
        source: Source,
        account_id: str | None,
        email: str | None,
        who: str,
        room: int,
    ) -> _Next | tuple[Fresh | None, Failure | None]:
        """Under our lock on ``spent``: the stored token, read again; a rotation of it that
        some process made (the journal) and storage lacks; else a refresh, with room reserved
        first. The lock stays marked (``lock.settled`` False) when a spent token's successor
        could not be put into storage, so the next holder looks into the journal."""
        found = find_account(source.target, spent, account_id, email)
        if found is None:
            return None, Failure(None, f"not refreshed: the account is no longer in {source.path.name}")
        digest, record = found
        if digest != spent:
            # Another process rotated this token since we read the file: never spend the old one.
            on_disk = stored_tokens(record, source.target.kind)
            expires = on_disk["expires"] or jwt.instant_ms(jwt.claims(on_disk["access"]), "exp")
            if self.usable(on_disk["access"], expires):
                return Fresh(on_disk["access"], expires), None
            return _Next(on_disk["refresh"], digest)
        if lock.unfinished:
            # The last holder of this lock did not finish (killed, or storage refused its
            # tokens): whatever it spent is in the journal.
            contents = self.journal.read()
            with self._guard:
                for key, rotation in latest(contents.entries).items():
                    self.rotations.setdefault(key, rotation)
        chained = newest(self.rotations, spent)
        if chained is not None and chained.next != spent:
            # Spent already, by a run that could not put the successor into storage.
            failure = self._keep(chained, source, who, email, journaled=True)
            if failure is not None:
                lock.settled = False
                return None, failure
            expires = chained.expires or jwt.instant_ms(jwt.claims(chained.access), "exp")
            if self.usable(chained.access, expires):
                return Fresh(chained.access, expires), None
            return _Next(chained.refresh, chained.next)
        foreign = self._foreign_lock()
        if foreign is not None:
            return self._refuse_lock(foreign)
        try:
            reservation = self.journal.reserve(room)
        except JournalRefused as exc:
            return self._refuse(str(exc), MOVE_AWAY)
        except JournalError as exc:
            return self._refuse(str(exc), NO_ROOM)
        with reservation:
            why = prove_room(source.path, room)
            if why:
                return self._refuse(why, NO_ROOM)
            return self._rotate(client, old, spent, lock, source, account_id, email, who, reservation)

    def _rotate(
        self,
        client: httpx.Client,
        old: str,
        spent: str,
        lock: SpendLock,
        source: Source,
        account_id: str | None,
        email: str | None,
        who: str,
        reservation: Reservation,
    ) -> _Next | tuple[Fresh | None, Failure | None]:
        assert self.lease is not None
        try:
            nonce, published = self.lease.acquire(old, wait_ms=max(1, int(lock.left_s() * 1000)))
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
                failure = self._keep(rotation, source, who, email, reservation=reservation)
                if failure is not None:
                    lock.settled = False
                    return None, failure
                expires = rotation.expires or jwt.instant_ms(jwt.claims(rotation.access), "exp")
                if self.usable(rotation.access, expires):
                    return Fresh(rotation.access, expires), None
                if rotation.next == spent:
                    return None, Failure("lease_stale", "not refreshed: the published tokens have expired")
                return _Next(rotation.refresh, rotation.next)
            with inflight.spending():  # from spending the token to saving its successor
                answer = oauth.refresh(client, self.endpoints, old, self.clock())
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
                failure = self._keep(rotation, source, who, email, publish=old, reservation=reservation)
            if failure is not None:
                lock.settled = False
                return None, failure
            return Fresh(rotation.access, rotation.expires), None
        finally:
            self.lease.release(old, nonce)

    def _keep(
        self,
        rotation: Rotation,
        source: Source,
        who: str,
        email: str | None = None,
        publish: str | None = None,
        reservation: Reservation | None = None,
        journaled: bool = False,
    ) -> Failure | None:
        """Journal, lease result, storage: in that order. Storage may already hold the tokens
        (another process of ours wrote the result we use) or newer ones: that is no failure;
        an account that is no longer in its file is."""
        account_id = rotation.account_id
        assert self.lease is not None
        journaled = journaled or rotation.next == rotation.spent  # nothing spent: nothing to lose
        if not journaled:
            try:
                if reservation is not None and not reservation.filled:
                    reservation.fill(rotation)
                else:
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


MAX_HOPS = 8  # tokens followed in one refresh (each rotated by another process meanwhile)


@dataclass(frozen=True)
class _Next:
    """Storage (or the journal) holds a newer token than the one we were to spend: spend that
    one instead, under its own lock."""

    token: str
    digest: str


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
