"""codex-multi-auth's cross-process refresh lease, so that two tools never spend the same
refresh token (refresh tokens are single-use).

Before refreshing, a process creates ``<lease dir>/<sha256(refresh token)>.lock``
exclusively; others wait for it, and reuse the tokens the holder publishes in
``<hash>.result.json`` for a short while instead of refreshing again. Same files, fields and
timings as codex-multi-auth (anchor-spec §4.4.4), and the same environment variables:
``CODEX_AUTH_REFRESH_LEASE=0`` turns it off, ``CODEX_AUTH_REFRESH_LEASE_DIR``,
``..._TTL_MS`` (30 s), ``..._WAIT_MS`` (35 s), ``..._POLL_MS`` (150 ms),
``..._RESULT_TTL_MS`` (20 s).

Two things differ, for the sake of never losing a token:

* A lock whose owner is gone (its pid no longer runs, or runs a later process, or the machine
  has rebooted since) is taken over at once, not after its 30 s; our lock files record the
  owner's pid, start time and boot id besides codex-multi-auth's fields.
* A result file is the proof that its token was spent and may hold the only copy of the new
  one (after a crash), so it is used whatever its age and never deleted here: the run's
  recovery (:mod:`pipeline.live.recovery`) deletes it once storage holds its token or a newer
  one.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clock import now_s
from pipeline.live import atomic, processes
from pipeline.live.atomic import WriteError
from pipeline.live.journal import token_hash
from pipeline.live.pending import lease_folder, leases_enabled
from pipeline.scrubbing import remember
from pipeline.storage.files import parse_json, read_regular
from pipeline.storage.paths import StrPath

MADE_PREFIX = ".codex-auth-report."
MADE_SUFFIX = ".made"
_MADE = re.compile(r"^" + re.escape(MADE_PREFIX) + r"(\d+)\.(\d+|x)" + re.escape(MADE_SUFFIX) + "$")


class LeaseTimeout(Exception):
    """Another process held the lease for this token longer than we wait."""


def _ms(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        value = int(env.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class Lease:
    folder: Path
    enabled: bool = True
    ttl_ms: int = 30_000
    wait_ms: int = 35_000
    poll_ms: int = 150
    result_ttl_ms: int = 20_000
    clock: Callable[[], float] = now_s
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls, pool_dir: StrPath, env: Mapping[str, str]) -> Lease:
        return cls(
            Path(lease_folder(pool_dir, env)),
            enabled=leases_enabled(env),
            ttl_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_TTL_MS", 30_000),
            wait_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_WAIT_MS", 35_000),
            poll_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_POLL_MS", 150),
            result_ttl_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_RESULT_TTL_MS", 20_000),
        )

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _make_folder(self) -> None:
        """The lease folder, created (0700) when missing. A folder we create gets a mark of
        ours (``.codex-auth-report.<pid>.<start>.made``), so that it is removed again once
        empty (:meth:`tidy_folder`), by this run or, when it was killed, the next."""
        try:
            self.folder.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            return
        except OSError as exc:
            raise WriteError(f"cannot create the refresh lease folder {self.folder}: {exc.strerror or exc}") from None
        pid, started = processes.me()
        try:
            os.close(
                os.open(self.folder / f"{MADE_PREFIX}{pid}.{started}{MADE_SUFFIX}", os.O_WRONLY | os.O_CREAT, 0o600)
            )
        except OSError:
            pass  # only tidiness is lost: the folder stays

    def acquire(self, refresh_token: str, wait_ms: int | None = None) -> tuple[str | None, dict[str, Any] | None]:
        """``(nonce, None)`` when we hold the lease and must refresh; ``(None, tokens)`` when
        another process has refreshed this token and published the result (whatever its age:
        the token is spent either way, and the result may be the only copy of the new one).
        ``wait_ms``: how long to wait for another holder (default: the lease's wait)."""
        if not self.enabled:
            return "", None
        digest = token_hash(refresh_token)
        self._make_folder()
        lock = self.folder / f"{digest}.lock"
        deadline = self._now() + (self.wait_ms if wait_ms is None else wait_ms)
        while True:
            published = self._published(digest)
            if published is not None:
                published.pop("createdAt", None)
                return None, published
            import secrets

            nonce = secrets.token_hex(8)
            now = self._now()
            pid, started = processes.me()
            owner = {
                "tokenHash": digest,
                "pid": pid,
                "acquiredAt": now,
                "expiresAt": now + self.ttl_ms,
                "nonce": nonce,
                "startTime": started,
                "bootId": processes.boot_id(),
            }
            try:
                # written whole, then linked into place: a crash never leaves a half-written lock
                temp = atomic.write_temp(lock, json.dumps(owner).encode("utf-8"), sync=False)
            except WriteError as exc:
                if not self.folder.is_dir() and now < deadline:  # another run of ours tidied it away
                    self._make_folder()
                    continue
                raise WriteError(f"cannot take the refresh lease in {self.folder}: {exc}") from None
            try:
                os.link(temp, lock)
            except FileExistsError:
                if self._take_over(lock, now):
                    continue
                if now >= deadline:
                    raise LeaseTimeout(f"another process has held the refresh lease {lock.name} for too long") from None
                self.sleep(self.poll_ms / 1000)
                continue
            except OSError as exc:
                raise WriteError(f"cannot take the refresh lease in {self.folder}: {exc.strerror or exc}") from None
            finally:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
            return nonce, None

    def release(self, refresh_token: str, nonce: str | None) -> None:
        if not self.enabled or not nonce:
            return
        lock = self.folder / f"{token_hash(refresh_token)}.lock"
        try:
            held = parse_json(read_regular(lock).decode())
        except (OSError, ValueError):
            return
        if isinstance(held, dict) and held.get("nonce") == nonce:
            try:
                lock.unlink()
            except FileNotFoundError:
                pass

    def publish(self, refresh_token: str, tokens: dict[str, Any]) -> None:
        """Let a process waiting on this token reuse our result (codex-multi-auth's format)."""
        if not self.enabled:
            return
        digest = token_hash(refresh_token)
        result = {
            "type": "success",
            "access": tokens["access"],
            "refresh": tokens["refresh"],
            "expires": tokens["expires"],
            "multiAccount": True,
        }
        if tokens.get("id_token"):
            result["idToken"] = tokens["id_token"]
        try:
            atomic.write_new(
                self.folder / f"{digest}.result.json",
                json.dumps({"tokenHash": digest, "createdAt": self._now(), "result": result}).encode("utf-8"),
                sync=False,  # the token journal has made these tokens durable already
            )
        except WriteError:
            pass  # only a courtesy to other processes: the journal holds our tokens

    def _published(self, digest: str) -> dict[str, Any] | None:
        return read_result(self.folder / f"{digest}.result.json")

    def _take_over(self, lock: Path, now: int) -> bool:
        """Remove ``lock`` when its owner is gone or its time is up; True when it is gone.
        Our processes take turns here, so two of them never both take the same lock over."""
        with atomic.locked(self.folder):
            try:
                held = parse_json(read_regular(lock).decode())
            except FileNotFoundError:
                return True
            except (OSError, ValueError):
                held = None
            if isinstance(held, dict):
                dead = not processes.alive(held.get("pid"), held.get("startTime"), held.get("bootId"))
                expires = held.get("expiresAt")
                expired = isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires <= now
            else:
                # unreadable: being written this instant, or left half-written by a crash
                dead = False
                try:
                    expired = (now / 1000) - lock.stat().st_mtime > self.ttl_ms / 1000
                except OSError:
                    return True
            if not (dead or expired):
                return False
            try:
                lock.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                return False
            return True

    def sweep(self) -> int:
        """Remove lock files whose owner is gone, and our dead temporary files; how many."""
        if not self.enabled or not self.folder.is_dir():
            return 0
        removed = atomic.remove_dead_temps(self.folder)
        now = self._now()
        for lock in self.folder.glob("*.lock"):
            if len(lock.stem) == 64 and lock.exists() and self._owner_dead(lock) and self._take_over(lock, now):
                removed += 1
        return removed

    def tidy_folder(self) -> bool:
        """Remove the lease folder when a run of ours created it (its mark says so), that run
        is this one or is gone, and nothing else is in it; never a folder codex-multi-auth
        made. Our lock file in it goes first when nobody holds it. True when removed."""
        from pipeline.live import locks

        if not self.enabled:
            return False
        locks.remove_if_free(self.folder / atomic.LOCK_NAME)
        try:
            names = os.listdir(self.folder)
        except OSError:
            return False
        marks = [name for name in names if _MADE.match(name)]
        if not marks or len(marks) != len(names):
            return False
        me = processes.me()
        for name in marks:
            match = _MADE.match(name)
            assert match is not None
            pid, started = int(match.group(1)), match.group(2)
            if (pid, started) != me and processes.alive(pid, started):
                return False  # another run of ours that made it still runs
        for name in marks:
            try:
                os.unlink(self.folder / name)
            except OSError:
                return False
        try:
            os.rmdir(self.folder)
        except OSError:
            return False  # something came in meanwhile: it stays
        return True

    def _owner_dead(self, lock: Path) -> bool:
        try:
            held = parse_json(read_regular(lock).decode())
        except (OSError, ValueError):
            return False
        return isinstance(held, dict) and not processes.alive(
            held.get("pid"), held.get("startTime"), held.get("bootId")
        )

    def results(self) -> list[tuple[str, dict[str, Any], int | None, Path]]:
        """Every result file: (hash of the spent token, its tokens, createdAt, path)."""
        if not self.enabled or not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.result.json")):
            digest = path.name[: -len(".result.json")]
            tokens = read_result(path)
            if tokens is not None and len(digest) == 64:
                found.append((digest, tokens, tokens.pop("createdAt", None), path))
        return found


def read_result(path: Path) -> dict[str, Any] | None:
    """The tokens a result file publishes (codex-multi-auth's format), or None."""
    try:
        if not path.is_file():
            return None
        data = parse_json(read_regular(path).decode())
    except (OSError, ValueError):
        return None
    result = data.get("result") if isinstance(data, dict) else None
    created = data.get("createdAt") if isinstance(data, dict) else None
    if not isinstance(result, dict) or result.get("type") != "success":
        return None
    if not isinstance(result.get("access"), str) or not result["access"]:
        return None
    if not isinstance(result.get("refresh"), str) or not result["refresh"].strip():
        return None
    remember(result["access"], result["refresh"], result.get("idToken"))
    expires = result.get("expires")
    return {
        "access": result["access"],
        "refresh": result["refresh"],
        "expires": int(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else None,
        "id_token": result.get("idToken") if isinstance(result.get("idToken"), str) else None,
        "createdAt": int(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None,
    }
