"""Where live mode connects, and how: base URLs from the environment, the request deadline,
the URL check (a bearer token goes over https, or over plain http only to loopback) and the
HTTP client every call shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pipeline import __version__
from pipeline.errors import ConfigError
from pipeline.loopback import is_loopback

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://chatgpt.com/backend-api"
DEFAULT_TOKEN_URL = "https://auth.openai.com/oauth/token"
DEFAULT_TIMEOUT_MS = 15_000
MAX_TIMEOUT_MS = 3_600_000  # an hour: beyond that a "timeout" no longer bounds anything
USER_AGENT = f"codex-auth-report/{__version__}"


@dataclass(frozen=True)
class Endpoints:
    base_url: str
    token_url: str
    timeout_ms: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Endpoints:
        base = (env.get("CODEX_AUTH_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        token = (env.get("CODEX_AUTH_TOKEN_URL") or DEFAULT_TOKEN_URL).strip()
        raw_timeout = (env.get("CODEX_AUTH_FETCH_TIMEOUT_MS") or "").strip()
        try:
            timeout = int(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_MS
        except ValueError:
            shown = repr(raw_timeout) if len(raw_timeout) <= 40 else "the value"
            raise ConfigError(f"CODEX_AUTH_FETCH_TIMEOUT_MS: {shown} is not a number of milliseconds") from None
        if not 0 < timeout <= MAX_TIMEOUT_MS:
            raise ConfigError(
                f"CODEX_AUTH_FETCH_TIMEOUT_MS must be between 1 and {MAX_TIMEOUT_MS} milliseconds (one hour)"
            )
        check_url(base, "CODEX_AUTH_BASE_URL")
        check_url(token, "CODEX_AUTH_TOKEN_URL")
        return cls(base, token, timeout)

    @property
    def usage_url(self) -> str:
        # The official client's rule: ChatGPT path style under /backend-api, else Codex API style.
        return f"{self.base_url}/wham/usage" if "/backend-api" in self.base_url else f"{self.base_url}/api/codex/usage"

    @property
    def responses_url(self) -> str:
        return (
            f"{self.base_url}/codex/responses"
            if "/backend-api" in self.base_url
            else f"{self.base_url}/api/codex/responses"
        )


def check_url(url: str, name: str) -> None:
    """Tokens go over https, or over plain http only to this machine (tests, the demo)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ConfigError(
        f"{name}: {url!r} must be an https URL (plain http only to loopback): tokens would travel in the clear"
    )


def make_client(endpoints: Endpoints, concurrency: int, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The client every live call shares: each request (connect, headers, whole body) must
    be over within ``CODEX_AUTH_FETCH_TIMEOUT_MS`` (see :mod:`pipeline.live.deadline`); no
    redirects, no proxy or certificate settings taken from the environment. ``transport``
    (tests: the in-process fake backend) replaces the network."""
    import httpx

    from pipeline.live.deadline import DeadlineTransport

    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    seconds = endpoints.timeout_ms / 1000
    return httpx.Client(
        transport=transport or DeadlineTransport(seconds, limits),
        timeout=httpx.Timeout(seconds),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,
    )
