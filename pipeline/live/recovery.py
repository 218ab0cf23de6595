"""Finding and restoring rotated tokens that storage lacks.

Two places can hold a rotated token that storage does not: our token journal
(:mod:`pipeline.live.journal`) and the refresh lease's result files
(``refresh-leases/<hash>.result.json``, written by codex-multi-auth and by us). Both name the
refresh token the tokens replace by its hash. A stored record whose refresh token has such a
hash holds a spent token, and is waiting for the newer one.

* :func:`pending_note` (every run, read-only): how many spent tokens storage still holds, as
  a storage warning for the report and stderr.
* :func:`restore` (a live run before it refreshes anything, ``codex auth repair``, and a
  live run again at its end): leftovers of dead processes removed, result files that are the
  only copy of a token copied into the journal, every waiting record given its newest tokens
  (in every file), the journal compacted, result files that storage no longer needs deleted.

This module stays free of httpx, so a default report can afford it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.live import atomic, journal_index
from pipeline.live.journal import MOVE_AWAY, Contents, Journal, JournalError, Rotation, latest, refused_line, token_hash
from pipeline.live.lease import Lease
from pipeline.live.pending import journal_folder, may_be_waiting
from pipeline.live.writeback import ACCOUNTS, CODEX_CLI, FLAGGED, Applied, Target, apply, held, newest
from pipeline.storage.pool import Pool

PENDING_SUFFIX = "not in storage yet: run codex auth report --live, or codex auth repair"


def lease_of(pool: Pool, env: Mapping[str, str]) -> Lease:
    lease = Lease.from_env(pool.resolved.dir, env)
    if pool.source == "codex-cli":
        lease.enabled = False  # Codex CLI knows no lease
    return lease


def targets(pool: Pool) -> list[Target]:
    """Every file of this pool that can hold a refresh token."""
    found: list[Target] = []
    if pool.source == "codex-multi-auth":
        found.append(Target(Path(pool.storage_path), ACCOUNTS))
    elif pool.source == "codex-cli":
        found.append(Target(Path(pool.storage_path), CODEX_CLI))
    if pool.source != "codex-cli" and os.path.isfile(pool.flagged.path):
        found.append(Target(Path(pool.flagged.path), FLAGGED))
    auth = Path(pool.resolved.codex_home, "auth.json")
    if pool.source != "codex-cli" and auth.is_file():
        found.append(Target(auth, CODEX_CLI))
    return found


def writable_target(pool: Pool, target: Target) -> str | None:
    """Why we must not write into ``target`` (a damaged or recovered file), or None."""
    if target.path == Path(pool.storage_path) and pool.storage.state != "healthy":
        return f"{target.path.name} is not in a state to write to ({pool.storage.details or pool.storage.state})"
    if target.kind == FLAGGED and target.path == Path(pool.flagged.path) and pool.flagged.outcome.state != "healthy":
        outcome = pool.flagged.outcome
        return f"{target.path.name} is not in a state to write to ({outcome.details or outcome.state})"
    return None


@dataclass
class Survey:
    """What the journal and the lease results know, against what storage holds now."""

    rotations: dict[str, Rotation]  # by the hash of the spent token, journal and results
    journaled: set[str]  # the spent hashes the journal has
    waiting: set[str]  # spent hashes that some stored record still holds
    held: set[str]  # every stored refresh token's hash
    results: list[tuple[str, int | None, Path]]  # lease results: spent hash, createdAt, path
    damaged: int = 0
    refused: str | None = None  # the journal is not ours (not read)
    damage: str | None = None  # the journal's damaged lines, named (``journal:LINE``)


def survey(pool: Pool, env: Mapping[str, str], journal: Journal | None = None, *, only_stored: bool = False) -> Survey:
    """``only_stored``: for the count of waiting tokens alone (a default report's warning):
    the journal's index answers when it still describes the journal (no entry is read), else
    only the journal entries spending a token storage holds are decoded; ``rotations`` then
    holds only those (chains are not followed past them, and none from the index), and
    ``journaled`` the stored hashes the journal has."""
    journal = journal or Journal(journal_folder(pool))
    stored_first = {digest for target in targets(pool) for digest in holding(pool, target)} if only_stored else None
    from_index = journal_index.lookup(journal.folder, stored_first) if stored_first is not None else None
    if from_index is not None:
        contents = Contents([], 0)
    else:
        contents = journal.read(stored_first.__contains__ if stored_first is not None else None)
        from_index = set()
    rotations = {k: r for k, r in latest(contents.entries).items() if r.next != r.spent}
    journaled = set(rotations) | from_index
    results: list[tuple[str, int | None, Path]] = []
    for digest, tokens, created, path in lease_of(pool, env).results():
        results.append((digest, created, path))
        if digest not in rotations:
            rotation = Rotation(
                digest,
                tokens["access"],
                tokens["refresh"].strip(),
                tokens["expires"],
                tokens["id_token"],
                None,
                created or 0,
                "lease",
            )
            if rotation.next != rotation.spent:
                rotations[digest] = rotation
    stored = (
        stored_first
        if stored_first is not None
        else {digest for target in targets(pool) for digest in holding(pool, target)}
    )
    waiting = {digest for digest in stored if newest(rotations, digest) is not None} | from_index
    return Survey(
        rotations,
        journaled,
        waiting,
        stored,
        results,
        contents.damaged,
        contents.refused,
        contents.damage_note(journal.path),
    )


def holding(pool: Pool, target: Target) -> set[str]:
    """The refresh-token hashes ``target`` holds: on disk now, and, for a file we may not
    write (damaged, recovered from a backup), as the pool was loaded: those records still
    wait for their tokens even though the damaged file does not show them."""
    found = {digest for digest, _ in held(target)}
    loaded: list[dict[str, object]] = []
    if writable_target(pool, target) is None:
        pass
    elif target.path == Path(pool.storage_path):
        loaded = pool.accounts
    elif target.kind == FLAGGED and target.path == Path(pool.flagged.path):
        loaded = pool.flagged.accounts
    for record in loaded:
        token = record.get("refreshToken")
        if isinstance(token, str) and token.strip():
            found.add(token_hash(token))
    return found


def pending_note(pool: Pool, env: Mapping[str, str]) -> str | None:
    """The storage warning for tokens that storage lacks, or None (read-only)."""
    if not may_be_waiting(pool, env):
        return None  # the common case costs a stat call or two
    count = len(survey(pool, env, only_stored=True).waiting)
    return pending_text(count) if count else None


def pending_text(count: int) -> str:
    return f"{count} rotated token{'s are' if count != 1 else ' is'} {PENDING_SUFFIX}"


@dataclass
class Restored:
    restored: int = 0  # spent tokens replaced in storage (each counted once, whatever the files)
    failures: list[str] = field(default_factory=list)  # files that could not be written
    removed: int = 0  # leftovers of dead processes removed
    waiting: int = 0  # spent tokens storage still holds afterwards
    rotations: dict[str, Rotation] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # warnings that need nothing done


def restore(pool: Pool, env: Mapping[str, str], now: int, journal: Journal | None = None) -> Restored:
    """Put every rotated token that storage lacks into storage (see the module docstring)."""
    journal = journal or Journal(journal_folder(pool))
    lease = lease_of(pool, env)
    result = Restored()
    for folder in {t.path.parent for t in targets(pool)} | {journal.folder}:
        result.removed += atomic.remove_dead_temps(folder)
    result.removed += lease.sweep()
    found = survey(pool, env, journal)
    result.rotations = found.rotations
    if found.waiting:
        # a result file may be the only copy of its token: into the journal first
        for digest in sorted(found.waiting):
            chain_key: str | None = digest
            while chain_key is not None and chain_key in found.rotations:
                rotation = found.rotations[chain_key]
                if rotation.source == "lease" and chain_key not in found.journaled:
                    try:
                        journal.append(rotation)
                        found.journaled.add(chain_key)
                    except JournalError as exc:
                        result.failures.append(str(exc))
                chain_key = rotation.next if rotation.next != chain_key else None
        done: set[str] = set()
        for target in targets(pool):
            mine = holding(pool, target) & found.waiting
            if not mine:
                continue
            why = writable_target(pool, target)
            if why is not None:
                result.failures.append(f"cannot restore rotated tokens into {target.path}: {why}")
                continue
            try:
                applied: Applied = apply(target, found.rotations, now)
            except atomic.WriteError as exc:
                result.failures.append(f"cannot restore rotated tokens into {target.path}: {exc}")
                continue
            done |= applied.spent or set()
        result.restored = len(done)
    tidy(pool, env, now, journal, lease, found.rotations, result)
    if found.refused:
        result.failures.append(refused_line(found.refused, MOVE_AWAY))
    if found.damage:
        result.notes.append(found.damage)
    sweep_locks(pool, journal, lease, found.rotations)
    return result


def preview(pool: Pool, env: Mapping[str, str]) -> list[str]:
    """What :func:`restore` would put into storage, read only (``repair --dry-run``)."""
    found = survey(pool, env)
    lines = []
    for target in targets(pool):
        waiting = len(holding(pool, target) & found.waiting)
        if waiting:
            lines.append(f"would restore {waiting} rotated token{'s' if waiting != 1 else ''} into {target.path}")
    if found.refused:
        lines.append(f"{found.refused}: no token is refreshed while it is there (move it away)")
    return lines or ["nothing to repair: storage holds every rotated token (dry run: nothing written)"]


def lock_folders(pool: Pool, journal: Journal) -> list[Path]:
    """Where a refresh takes our lock on the token it spends: the journal's folder first, then
    every other folder holding a storage file of the pool (the same order in every process)."""
    folders = [journal.folder]
    for target in targets(pool):
        if target.path.parent not in folders:
            folders.append(target.path.parent)
    return folders


def sweep_locks(pool: Pool, journal: Journal, lease: Lease, rotations: Mapping[str, Rotation]) -> None:
    """Remove our lock files that nobody holds (ours when a run ends, a killed run's at the
    next), and the lease folder when a run of ours made it and it is empty. A refresh lock
    whose holder was stopped between the journal and storage keeps its mark while a stored
    record still waits for the token the journal has. Never touches codex-multi-auth's files."""
    from pipeline.live import locks
    from pipeline.live.journal import LOCK_NAME as JOURNAL_LOCK

    waiting: set[str] | None = None
    for folder in dict.fromkeys([*lock_folders(pool, journal), Path(pool.resolved.dir)]):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = folder / name
            if name in (atomic.LOCK_NAME, JOURNAL_LOCK):
                locks.remove_if_free(path)
            elif name.startswith(locks.SPEND_LOCK_PREFIX) and name.endswith(locks.SPEND_LOCK_SUFFIX):
                digest = name[len(locks.SPEND_LOCK_PREFIX) : -len(locks.SPEND_LOCK_SUFFIX)]
                try:
                    marked = os.lstat(path).st_size > 0
                except OSError:
                    continue
                if marked:
                    if waiting is None:
                        stored = {d for target in targets(pool) for d in holding(pool, target)}
                        waiting = {d for d in stored if newest(rotations, d) is not None}
                    if digest in waiting:
                        continue
                locks.remove_if_free(path)
    lease.tidy_folder()


def tidy(
    pool: Pool,
    env: Mapping[str, str],
    now: int,
    journal: Journal,
    lease: Lease,
    rotations: Mapping[str, Rotation],
    result: Restored,
) -> None:
    """Compact the journal and delete the result files storage no longer needs."""
    stored = {digest for target in targets(pool) for digest in holding(pool, target)}
    waiting = {digest for digest in stored if newest(rotations, digest) is not None}
    result.waiting = len(waiting)
    settled = set(rotations) - stored
    if journal.path.exists() and not journal.refused():
        try:
            journal.compact(settled, now)
        except JournalError as exc:
            result.failures.append(str(exc))
    for digest, _tokens, created, path in lease.results():
        # Never while a stored record still holds the spent token (the file may be the only
        # copy of the new one), and not before codex-multi-auth's own waiters are done with it.
        if digest in stored or (created is not None and now - created < lease.result_ttl_ms):
            continue
        try:
            os.unlink(path)
        except OSError:
            pass


def repair(
    env: Mapping[str, str], now: int, storage_dir: str | None = None, *, dry_run: bool = False
) -> tuple[Restored, list[str]]:
    """``codex auth repair``: :func:`restore` on the pool, without probing anything. Returns
    the outcome and the lines to show a person (failures are in the outcome). ``dry_run``:
    only say what would be restored (:func:`preview`), writing and removing nothing."""
    from pipeline.storage.pool import read_pool

    pool = read_pool(env, now, storage_dir)
    if pool.source == "none":
        return Restored(), [f"nothing to repair: no account storage in {pool.resolved.dir}"]
    if dry_run:
        return Restored(), preview(pool, env)
    result = restore(pool, env, now)
    lines = []
    if result.removed:
        lines.append(
            f"removed {result.removed} leftover file{'s' if result.removed != 1 else ''} of processes that died"
        )
    lines.extend(f"warning: {note}" for note in result.notes)
    if result.restored:
        lines.append(f"restored {result.restored} rotated token{'s' if result.restored != 1 else ''} from the journal")
    elif not result.failures:
        lines.append("nothing to repair: storage holds every rotated token")
    return result, lines
