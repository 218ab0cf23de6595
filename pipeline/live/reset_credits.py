"""Rate-limit reset credits with their expiry, read on demand (``--reset-credits``):
``GET /wham/rate-limit-reset-credits`` lists each credit (``status``, ``granted_at``,
``expires_at`` as RFC 3339 or ``null`` for never). The usage answer gives only the count.

The list is rate-limited per address (two quick reads, then 429), so the reads are paced one at
a time with a pause between them, and a 429 ends the reads for the rest of the run (the other
accounts keep their cached figures). Only read, never redeemed: this module knows no other
request than that GET, and nothing in the tool sends the ``.../consume`` POST."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from pipeline.live.endpoints import Endpoints
from pipeline.live.wire import json_body
from pipeline.numbers import whole
from pipeline.scrubbing import remember
from pipeline.vocabulary import known_code

SPACING_ENV = "CODEX_AUTH_RESET_CREDITS_SPACING_MS"
DEFAULT_SPACING_MS = 1500
MAX_LISTED = 100  # credits kept per account (the service lists a handful)


def credits_url(endpoints: Endpoints) -> str:
    """``.../wham/rate-limit-reset-credits`` (ChatGPT paths) or ``.../api/codex/rate-limit-reset-credits``."""
    return endpoints.usage_url.rsplit("/", 1)[0] + "/rate-limit-reset-credits"


def _instant(value: Any) -> int | None:
    """RFC 3339 text (or epoch seconds) as epoch ms; ``None`` for null, never, or nonsense."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value * 1000) if 0 < value < 1e11 else (int(value) if value > 0 else None)
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


def parse(body: Any, now: int) -> dict[str, Any] | None:
    """The list as our record's ``resetCreditDetails``: how many credits are available, the
    soonest expiry among them (``None``: none expires, or none is available), and each credit's
    status and times. Titles and ids are not kept (upstream text, and an id is no use to a reader)."""
    if not isinstance(body, dict) or not isinstance(body.get("credits"), list):
        return None
    credits = []
    for raw in body["credits"][:MAX_LISTED]:
        if not isinstance(raw, dict):
            continue
        credits.append(
            {
                "status": known_code(raw.get("status")),
                "grantedAt": _instant(raw.get("granted_at")),
                "expiresAt": _instant(raw.get("expires_at")),
            }
        )
    available = [c for c in credits if c["status"] == "available"]
    # The count may exceed the list (the service says so): take the larger.
    count = whole(body.get("available_count"))
    listed = len(available)
    expiries = [at for c in available if isinstance(at := c["expiresAt"], int) and at > now]
    return {
        "source": "live",
        "readAt": now,
        "availableCount": max(listed, count) if count is not None and count >= 0 else listed,
        "soonestExpiry": min(expiries) if expiries else None,
        "credits": credits,
    }


@dataclass
class Pacer:
    """One read at a time, ``spacing_ms`` apart; after a 429, no more reads this run."""

    spacing_ms: int = DEFAULT_SPACING_MS
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    stopped: bool = False
    skipped: int = 0
    _last: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Pacer:
        raw = (env.get(SPACING_ENV) or "").strip()
        spacing = int(raw) if raw.isdigit() and int(raw) <= 60_000 else DEFAULT_SPACING_MS
        return cls(spacing)

    def read(
        self, client: httpx.Client, endpoints: Endpoints, token: str, account_id: str | None, now: int
    ) -> dict[str, Any] | None:
        with self._lock:
            if self.stopped:
                self.skipped += 1
                return None
            if self._last is not None:
                wait = self._last + self.spacing_ms / 1000 - self.monotonic()
                if wait > 0:
                    self.sleep(wait)
            try:
                return self._get(client, endpoints, token, account_id, now)
            finally:
                self._last = self.monotonic()

    def _get(
        self, client: httpx.Client, endpoints: Endpoints, token: str, account_id: str | None, now: int
    ) -> dict[str, Any] | None:
        remember(token)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if account_id:
            headers["ChatGPT-Account-Id"] = account_id
        try:
            response = client.get(credits_url(endpoints), headers=headers)
        except httpx.RequestError:
            return None
        if response.status_code == 429:
            self.stopped = True
            return None
        if response.status_code != 200:
            return None
        return parse(json_body(response.content), now)
