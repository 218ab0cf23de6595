"""probe: live quota for every enabled account, read-only towards the service.

Input: the record stream from collect. Output: the same stream, the ``pool`` record with
``probe`` (mode, model, method), each enabled ``account`` with live ``quota`` and a
``probe`` outcome (ok, rate-limited, auth-failed, refresh-failed, timeout, network-error,
http-error, skipped), each ``flagged`` record re-verified (one refresh attempt).

    codex-auth collect | codex-auth probe | codex-auth score | codex-auth render

Probes run concurrently (``concurrency``), records leave in pool order as soon as their turn
comes. An access token that is missing or expires within 5 minutes is refreshed first, by
:mod:`pipeline.live.tokens` (journal, lease, write-back), which also restores, before the
first refresh and after the last, rotated tokens that storage lacks. This stage keeps the
order and the budgets. Credentials are read from the storage the pool record names; they
never enter a record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from pipeline.clock import Clock, now_ms
from pipeline.errors import InvalidInput
from pipeline.live import DEFAULT_CONCURRENCY, backend, endpoints
from pipeline.live.recovery import PENDING_SUFFIX, pending_text
from pipeline.live.side_files import SideUpdates, save_side_files
from pipeline.live.tokens import Failure, Source, TokenKeeper
from pipeline.live.writeback import CODEX_CLI, FLAGGED, Target
from pipeline.policy import ACCESS_EXPIRY_MARGIN_MS, HARD_REFRESH_ERRORS
from pipeline.records import DEFAULT_MODEL, ProbeMethod, ProbeOutcome, Record

if TYPE_CHECKING:
    from pipeline.live.reset_credits import Pacer
    from pipeline.records import ProbeFacts, ProbeRun, Verification
from pipeline.storage import jwt
from pipeline.storage.codex_cli import load_auth_json
from pipeline.storage.identity import identity_of, token_facts
from pipeline.storage.pool import Pool, read_pool
from pipeline.storage.state import flagged_key
from pipeline.visible import visible_or_none


@dataclass
class ProbeOptions:
    model: str = DEFAULT_MODEL
    method: ProbeMethod = "usage"
    concurrency: int = DEFAULT_CONCURRENCY
    max_accounts: int | None = None
    max_probes: int | None = None
    cached_only: bool = False
    reset_credits: bool = False  # also read each account's reset-credit list (paced; never redeemed)


@dataclass
class _Tokens:
    access: str | None
    refreshed: bool = False
    expires: int | None = None


@dataclass
class Prober:
    """Runs the probe stage. ``failures`` collects rotated tokens that could not be saved: the
    caller must say them loudly and exit non-zero (``lost``: how many of them no later run
    can restore either). ``refused``: refreshes refused before a token was spent (something
    not ours in place of the journal or a lock file, no room, no permission), each said on a
    warning line among the notes: the caller exits non-zero too."""

    options: ProbeOptions
    env: Mapping[str, str]
    client: httpx.Client | None = None
    clock: Clock = now_ms
    pool_loader: Callable[[Record], Pool] | None = None
    progress: Callable[[int, int, int], None] | None = None
    failures: list[str] = field(default_factory=list)
    lost: int = 0
    refused: int = 0
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.endpoints = endpoints.Endpoints.from_env(self.env)
        self.keeper: TokenKeeper | None = None
        self._restored = False
        self._quota_updates: list[Record] = []
        self._history_updates: dict[str, Record] = {}
        self._credit_updates: dict[str, Record] = {}
        self._pacer: Pacer | None = None
        if self.options.reset_credits:
            from pipeline.live.reset_credits import Pacer

            self._pacer = Pacer.from_env(self.env)
        self._probes_left = self.options.max_probes
        self._considered = 0
        self._done = 0
        self._failed = 0
        self._total = 0

    # --- the stream ---------------------------------------------------------------------

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        iterator = iter(records)
        first = next(iterator, None)
        if first is None:
            return
        if first.get("kind") != "pool":
            raise InvalidInput("stdin", 1, "probe needs the pool record first (pipe collect into probe)", "$.kind")
        started = self.clock()
        pool = self._load(first)
        if not self.options.cached_only:
            pool, first = self._recover(pool, first)
        yield self._pool_record(first, started)
        own_client = self.client is None
        client = self.client or endpoints.make_client(self.endpoints, self.options.concurrency)
        pool_executor = ThreadPoolExecutor(max_workers=max(1, self.options.concurrency), thread_name_prefix="probe")
        interrupted = False
        try:
            pending: deque[tuple[Record, Future[Record] | None]] = deque()
            for record in iterator:
                pending.append((record, self._submit(pool_executor, client, pool, record)))
                if self.progress and not self._done and pending[-1][1] is not None:
                    self.progress(0, self._total, 0)  # a line at once, before the first answer
                while pending and (pending[0][1] is None or pending[0][1].done()):
                    yield self._finish(pending.popleft())
            while pending:
                yield self._finish(pending.popleft())
        except KeyboardInterrupt:
            # Ctrl-C: start nothing more and wait for nothing in flight here (a slow answer must
            # not hold the exit); the CLI gives a refresh being answered a moment to journal its
            # token, then ends with 130.
            interrupted = True
            pool_executor.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            if not interrupted:
                pool_executor.shutdown(wait=True)
                if own_client:
                    client.close()
        if self.keeper is not None:
            self.keeper.settle()
            self._report_keeper(self.keeper)
        self._save_side_files(pool)
        if self.keeper is not None:
            self.keeper.close()

    def _recover(self, pool: Pool, record: Record) -> tuple[Pool, Record]:
        """Before any refresh: rotated tokens the journal has and storage lacks go into storage.
        The pool record's warning about them is brought up to date."""
        self.keeper = TokenKeeper(pool, self.env, self.endpoints, self.clock)
        self.keeper.recover()
        self.notes.extend(self.keeper.notes)
        self.keeper.notes.clear()
        if self.keeper.restored:
            self._restored = True
            fresh = self._read(record)
            fresh.warnings = pool.warnings
            self.keeper.pool, pool = fresh, fresh
        waiting = self.keeper.waiting
        note = pending_text(waiting) if waiting else None
        pool.warnings[:] = _with_note(pool.warnings, note)
        return pool, {**record, "warnings": _with_note(list(record.get("warnings") or []), note)}

    def _report_keeper(self, keeper: TokenKeeper) -> None:
        self.notes.extend(keeper.notes)
        self.failures.extend(str(error) for error in keeper.failures)
        self.lost += sum(1 for error in keeper.failures if not error.repairable)
        self.refused += len(keeper.refused)

    def _finish(self, item: tuple[Record, Future[Record] | None]) -> Record:
        record, future = item
        if future is None:
            return record
        result = future.result()
        self._done += 1
        if (result.get("probe") or {}).get("outcome") not in (None, "ok", "skipped", "rate-limited") or (
            (result.get("verification") or {}).get("outcome") == "failed"
        ):
            self._failed += 1
        if self.progress:
            self.progress(self._done, self._total, self._failed)
        return result

    def _load(self, pool_record: Record) -> Pool:
        if self.pool_loader is not None:
            return self.pool_loader(pool_record)
        return self._read(pool_record)

    def _read(self, pool_record: Record) -> Pool:
        storage = pool_record.get("storage") or {}
        now = self.clock()
        if pool_record.get("source") == "codex-cli" and storage.get("path"):
            pool = read_pool(self.env, now, pool_record.get("dir"))
            outcome, accounts = load_auth_json(Path(storage["path"]))
            pool.source, pool.storage_path, pool.storage, pool.accounts = (
                "codex-cli",
                str(Path(storage["path"])),
                outcome,
                accounts,
            )
            return pool
        project = pool_record.get("project") or {}
        return read_pool(self.env, now, pool_record.get("dir"), project.get("path"))

    def _pool_record(self, record: Record, started: int) -> Record:
        probe: ProbeRun = {
            "mode": "live",
            "model": self.options.model,
            "method": self.options.method,
            "startedAt": started,
            "cachedOnly": self.options.cached_only,
            "concurrency": self.options.concurrency,
            "maxAccounts": self.options.max_accounts,
            "maxProbes": self.options.max_probes,
        }
        return {**record, "probe": probe}

    # --- scheduling (in pool order, so budgets are deterministic) ------------------------

    def _submit(
        self, executor: ThreadPoolExecutor, client: httpx.Client, pool: Pool, record: Record
    ) -> Future[Record] | None:
        kind = record.get("kind")
        if kind == "account":
            skip = self._plan_account(pool, record)
            if skip is not None:
                return _done({**record, "probe": self._skipped(skip)})
            self._total += 1
            return executor.submit(self._probe_account, client, pool, record)
        if kind == "flagged" and not self.options.cached_only:
            creds = self._flagged_credentials(pool, record)
            if creds is None:
                skipped: Verification = {
                    "outcome": "skipped",
                    "at": self.clock(),
                    "detail": "not found in the flagged file any more",
                }
                return _done({**record, "verification": skipped})
            self._total += 1
            return executor.submit(self._verify_flagged, client, pool, record, creds)
        return None

    def _plan_account(self, pool: Pool, record: Record) -> str | None:
        if record.get("enabled") is False:
            return "disabled"
        if self.options.max_accounts is not None and self._considered >= self.options.max_accounts:
            return f"beyond --max-accounts {self.options.max_accounts}"
        self._considered += 1
        creds = self._account_credentials(pool, record)
        if creds is None:
            return "not found in the storage any more (the snapshot is older than the pool)"
        if self.options.cached_only and not self._usable(creds.get("accessToken"), _expiry(creds)):
            return "no usable access token, and --cached-only forbids refreshing"
        if self._probes_left is not None:
            if self._probes_left <= 0:
                return f"probe budget used up (--max-probes {self.options.max_probes})"
            self._probes_left -= 1
        return None

    def _skipped(self, why: str) -> ProbeFacts:
        return self._outcome("skipped", None, None, None, False, why, probed=False)

    def _outcome(
        self,
        outcome: ProbeOutcome,
        status: int | None,
        latency: int | None,
        code: str | None,
        refreshed: bool,
        detail: str | None,
        *,
        probed: bool = True,
    ) -> ProbeFacts:
        """The ``probe`` field of an account record, the one place it is made: a probe's answer,
        a refresh that failed, or an account not probed (no ``method``)."""
        return {
            "outcome": outcome,
            "method": self.options.method if probed else None,
            "model": self.options.model,
            "httpStatus": status,
            "latencyMs": latency,
            "at": self.clock(),
            "errorCode": code,
            "detail": detail,
            "refreshed": refreshed,
        }

    def _account_credentials(self, pool: Pool, record: Record) -> Record | None:
        return _stored(pool.accounts, record)

    def _flagged_credentials(self, pool: Pool, record: Record) -> Record | None:
        return _stored(pool.flagged.accounts, record)

    def _source(self, pool: Pool, flagged: bool) -> Source:
        state = pool.flagged.outcome if flagged else pool.storage
        kind = FLAGGED if flagged else CODEX_CLI if pool.source == "codex-cli" else "accounts"
        path = pool.flagged.path if flagged else pool.storage_path
        return Source(Target(Path(path), kind), state.state == "healthy", state.details or state.state)

    # --- one account ---------------------------------------------------------------------

    def _usable(self, access: object, expires: int | None) -> bool:
        if not isinstance(access, str) or not access.strip():
            return False
        return expires is None or expires - self.clock() > ACCESS_EXPIRY_MARGIN_MS

    def _probe_account(self, client: httpx.Client, pool: Pool, record: Record) -> Record:
        creds = self._account_credentials(pool, record)
        assert creds is not None  # checked when planned
        if self._restored:  # the journal gave it newer tokens than the record was made from
            record = {**record, "token": token_facts(creds, jwt.claims(creds.get("accessToken")))}
        source = self._source(pool, flagged=False)
        account_id = identity_of(creds)[0]  # as stored: the record's is made visible for output
        tokens, failure = self._access_token(client, creds, source, record)
        if failure is not None:
            return self._with_outcome(record, failure, tokens)
        assert tokens.access is not None
        probed = self._call(client, tokens.access, account_id)
        if (
            probed.outcome == "auth-failed"
            and probed.status == 401
            and not tokens.refreshed
            and not self.options.cached_only
        ):
            # The token may have been revoked early: refresh once and ask again, as Codex does.
            retry_tokens, retry_failure = self._access_token(client, creds, source, record, force=True)
            if retry_failure is not None:
                return self._with_outcome(record, retry_failure, retry_tokens)
            assert retry_tokens.access is not None
            probed = self._call(client, retry_tokens.access, account_id)
            tokens = retry_tokens
        outcome = self._outcome(
            probed.outcome, probed.status, probed.latency_ms, probed.code, tokens.refreshed, probed.detail
        )
        outcome["resetAt"] = probed.reset_at
        result = self._with_outcome(record, outcome, tokens)
        if probed.quota is not None:
            result["quota"] = probed.quota
            result["plan"] = probed.quota.get("planType") or result.get("plan")
            stored_id, stored_email, _ = identity_of(creds)  # codex-multi-auth's keys, as stored
            self._quota_updates.append({**result, "accountId": stored_id, "email": stored_email})
            self._read_reset_credits(client, tokens.access, account_id, result)
        return result

    def _read_reset_credits(
        self, client: httpx.Client, token: str | None, account_id: str | None, result: Record
    ) -> None:
        """``--reset-credits``: the list of the account's reset credits with their expiry, when
        the usage answer says it holds some (or says nothing of them). Paced; never redeemed."""
        if self._pacer is None or token is None:
            return
        summary = (result.get("quota") or {}).get("resetCredits") or {}
        if summary.get("availableCount") == 0:
            result["resetCreditDetails"] = {
                "source": "live",
                "readAt": self.clock(),
                "availableCount": 0,
                "soonestExpiry": None,
                "credits": [],
            }
        else:
            details = self._pacer.read(client, self.endpoints, token, account_id, self.clock())
            if details is None:
                return
            result["resetCreditDetails"] = details
        from pipeline.storage.state import stored_reset_credits

        key = flagged_key(result.get("accountId"), result.get("email"))
        self._credit_updates[key] = stored_reset_credits(result["resetCreditDetails"])

    def _call(self, client: httpx.Client, token: str, account_id: str | None) -> backend.Probed:
        call = backend.probe_responses if self.options.method == "responses" else backend.probe_usage
        return call(client, self.endpoints, token, account_id, self.options.model, self.clock())

    def _with_outcome(self, record: Record, outcome: ProbeFacts, tokens: _Tokens | None) -> Record:
        result = {**record, "probe": outcome}
        if tokens is not None and tokens.refreshed:
            token = dict(record.get("token") or {})
            token.update(
                {
                    "hasAccessToken": True,
                    "hasRefreshToken": True,
                    "accessExpiresAt": tokens.expires,
                    "lastRefreshAt": self.clock(),
                    "lastRefreshSource": "probe",
                }
            )
            result["token"] = token
        return result

    def _access_token(
        self, client: httpx.Client, creds: Record, source: Source, record: Record, force: bool = False
    ) -> tuple[_Tokens, ProbeFacts | None]:
        access = creds.get("accessToken")
        if not force and self._usable(access, _expiry(creds)):
            return _Tokens(access), None
        refreshed, failure = self._refresh(client, creds, source, record.get("accountId"), record.get("email"))
        if failure is not None:
            return _Tokens(None), failure
        assert refreshed is not None
        return _Tokens(refreshed["access"], True, refreshed.get("expires")), None

    def _failure(self, code: str | None, detail: str, status: int | None = None) -> ProbeFacts:
        return self._outcome("refresh-failed", status, None, code, False, detail)

    def _refresh(
        self, client: httpx.Client, creds: Record, source: Source, account_id: str | None, email: str | None
    ) -> tuple[Record | None, ProbeFacts | None]:
        """New tokens (saved before use, see :mod:`pipeline.live.tokens`), or a refresh-failed
        outcome."""
        if self.keeper is None:  # --cached-only: the token expired since the account was planned
            return None, self._failure(None, "no usable access token, and --cached-only forbids refreshing")
        account_id, email, _ = identity_of(creds)  # as stored (the record's are made visible for output)
        fresh, failure = self.keeper.refresh(client, creds, source, account_id, email)
        if failure is not None:
            return None, self._from_failure(failure)
        assert fresh is not None
        return {"access": fresh.access, "expires": fresh.expires}, None

    def _from_failure(self, failure: Failure) -> ProbeFacts:
        return self._failure(failure.code, failure.detail, failure.status)

    # --- flagged accounts ------------------------------------------------------------------

    def _verify_flagged(self, client: httpx.Client, pool: Pool, record: Record, creds: Record) -> Record:
        source = self._source(pool, flagged=True)
        _tokens, failure = self._refresh(client, creds, source, record.get("accountId"), record.get("email"))
        now = self.clock()
        verification: Verification
        if failure is None:
            verification = {
                "outcome": "works-again",
                "at": now,
                "httpStatus": 200,
                "errorCode": None,
                "detail": "token refresh succeeded; restore the account with codex-multi-auth",
            }
        else:
            code, status = failure.get("errorCode"), failure.get("httpStatus")
            hard = (code or "").lower() in HARD_REFRESH_ERRORS or status == 401
            verification = {
                "outcome": "still-broken" if hard else "failed",
                "at": now,
                "httpStatus": status,
                "errorCode": code,
                "detail": failure.get("detail"),
            }
        key = flagged_key(*identity_of(creds)[:2])  # as stored: the record's are made visible for output
        count = int(record.get("verificationCount") or 0) + 1
        self._history_updates[key] = {"lastVerified": now, "verificationCount": count}
        return {**record, "lastVerified": now, "verificationCount": count, "verification": verification}

    # --- after the run ---------------------------------------------------------------------

    def _save_side_files(self, pool: Pool) -> None:
        if self._pacer is not None and self._pacer.stopped:
            self.notes.append(
                "reset credits: the service limits these reads per address; "
                f"{self._pacer.skipped} account(s) not read this run (their last figures are kept)"
            )
        updates = SideUpdates(self._history_updates, self._credit_updates, self._quota_updates)
        self.notes += save_side_files(pool, updates, cached_only=self.options.cached_only)


def _with_note(lines: list[str], note: str | None) -> list[str]:
    kept = [line for line in lines if not line.endswith(PENDING_SUFFIX)]
    return [*kept, note] if note else kept


def _stored(accounts: list[Record], record: Record) -> Record | None:
    """The stored object (credentials included) behind a record: same position, same
    identity; None when the storage changed since the record was collected."""
    index = record.get("index")
    if not isinstance(index, int) or not 0 <= index < len(accounts):
        return None
    account_id, email, _ = identity_of(accounts[index])  # the record shows them as collect made them visible
    shown = (visible_or_none(account_id), visible_or_none(email))
    return accounts[index] if shown == (record.get("accountId"), record.get("email")) else None


def _done(record: Record) -> Future[Record]:
    future: Future[Record] = Future()
    future.set_result(record)
    return future


def _expiry(creds: Record) -> int | None:
    expiry: int | None = token_facts(creds, jwt.claims(creds.get("accessToken")))["accessExpiresAt"]
    return expiry
