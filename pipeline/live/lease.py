"""codex-multi-auth's cross-process refresh lease, so that two tools never spend the same
refresh token (refresh tokens are single-use).

Before refreshing, a process creates ``<lease dir>/<sha256(refresh token)>.lock``
exclusively; others wait for it, and reuse the tokens the holder publishes in
``<hash>.result.json`` for a short while instead of refreshing again. Same files, fields and
timings as codex-multi-auth (anchor-spec §4.4.4), and the same environment variables:
``CODEX_AUTH_REFRESH_LEASE=0`` turns it off, ``CODEX_AUTH_REFRESH_LEASE_DIR``,
``..._TTL_MS`` (30 s), ``..._WAIT_MS`` (35 s), ``..._POLL_MS`` (150 ms),
``..._RESULT_TTL_MS`` (20 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.live.writeback import WriteBackError, write_atomic
from pipeline.secrets import remember
from pipeline.storage.files import parse_json, read_regular


class LeaseTimeout(Exception):
    """Another process held the lease for this token longer than we wait."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls, pool_dir: Path, env: Mapping[str, str]) -> Lease:
        folder = env.get("CODEX_AUTH_REFRESH_LEASE_DIR", "").strip()
        return cls(
            Path(folder) if folder else pool_dir / "refresh-leases",
            enabled=env.get("CODEX_AUTH_REFRESH_LEASE", "1").strip() != "0",
            ttl_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_TTL_MS", 30_000),
            wait_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_WAIT_MS", 35_000),
            poll_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_POLL_MS", 150),
            result_ttl_ms=_ms(env, "CODEX_AUTH_REFRESH_LEASE_RESULT_TTL_MS", 20_000),
        )

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def acquire(self, refresh_token: str) -> tuple[str | None, dict[str, Any] | None]:
        """``(nonce, None)`` when we hold the lease and must refresh; ``(None, tokens)`` when
        another process refreshed this token moments ago and published the result."""
        if not self.enabled:
            return "", None
        digest = token_hash(refresh_token)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteBackError(
                f"cannot create the refresh lease folder {self.folder}: {exc.strerror or exc}"
            ) from None
        lock = self.folder / f"{digest}.lock"
        deadline = self._now() + self.wait_ms
        while True:
            published = self._published(digest)
            if published is not None:
                return None, published
            nonce = secrets.token_hex(8)
            now = self._now()
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                if self._expired(lock, now):
                    try:
                        lock.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                if now >= deadline:
                    raise LeaseTimeout(f"another process has held the refresh lease {lock.name} for too long") from None
                self.sleep(self.poll_ms / 1000)
                continue
            except OSError as exc:
                raise WriteBackError(f"cannot take the refresh lease in {self.folder}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w") as handle:
                json.dump(
                    {
                        "tokenHash": digest,
                        "pid": os.getpid(),
                        "acquiredAt": now,
                        "expiresAt": now + self.ttl_ms,
                        "nonce": nonce,
                    },
                    handle,
                )
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
            write_atomic(
                self.folder / f"{digest}.result.json",
                json.dumps({"tokenHash": digest, "createdAt": self._now(), "result": result}),
            )
        except WriteBackError:
            pass  # only a courtesy to other processes; our own write-back is what matters

    def _published(self, digest: str) -> dict[str, Any] | None:
        path = self.folder / f"{digest}.result.json"
        try:
            data = parse_json(read_regular(path).decode())
        except (OSError, ValueError):
            return None
        result = data.get("result") if isinstance(data, dict) else None
        created = data.get("createdAt") if isinstance(data, dict) else None
        if not isinstance(result, dict) or result.get("type") != "success" or not isinstance(created, (int, float)):
            return None
        if self._now() - created > self.result_ttl_ms:
            try:
                path.unlink()  # stale: it holds tokens, so do not leave it lying around
            except OSError:
                pass
            return None
        if not isinstance(result.get("access"), str) or not isinstance(result.get("refresh"), str):
            return None
        remember(result.get("access"), result.get("refresh"), result.get("idToken"))
        return {
            "access": result["access"],
            "refresh": result["refresh"],
            "expires": result.get("expires"),
            "id_token": result.get("idToken"),
        }

    def _expired(self, lock: Path, now: int) -> bool:
        try:
            held = parse_json(read_regular(lock).decode())
            return int(held["expiresAt"]) <= now
        except (OSError, ValueError, KeyError, TypeError, OverflowError):
            try:
                return (now / 1000) - lock.stat().st_mtime > self.ttl_ms / 1000
            except OSError:
                return True
