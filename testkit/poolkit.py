"""Write account pools in codex-multi-auth's real on-disk formats, for tests, the demo and
the benchmarks. Every token written here is fake: a JWT-shaped string with a made-up
signature (``fake-...``), or an ``rt_fixture_...`` refresh token, recognisable by :data:`FAKE_MARKERS`.

Real-shaped pools (:func:`real_pool`, and :func:`large_pool` by default) carry tokens with the
shape real ones have, made of random bytes: access and id tokens are RS256 JWTs sharing one
header with a ``kid`` (as every token one signing key issues does), the claims the service
puts in them and a 342-character signature (256 random bytes: nothing could verify it);
refresh tokens are ``rt_`` and two base64url runs. Those are what the benchmarks and the scale
tests measure: tokens sharing a long prefix are what a secrets registry must index linearly.

Nothing here is imported by the tool itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
from collections.abc import Iterable, Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
ACCOUNTS_FILE = "openai-codex-accounts.json"
FLAGGED_FILE = "openai-codex-flagged-accounts.json"
FAMILIES = ("gpt-5-codex", "codex-max", "codex", "gpt-5.2", "gpt-5.1")
FAKE_MARKERS = ("rt_fixture_",)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: Mapping[str, Any], salt: str = "") -> str:
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    # A short, plainly fake signature: nothing here could pass for a real token.
    signature = _b64(("fake-" + hashlib.sha256((payload + salt).encode()).hexdigest()[:8]).encode())
    return f"{header}.{payload}.{signature}"


# --- real-shaped tokens ----------------------------------------------------------------

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"  # the Codex CLI's public OAuth client id
ISSUER = "https://auth.openai.com"
SIGNING_KID = "b1dd3f8f-9926-4b5e-9e3c-7ad2f3c4a801"  # made up: one key signs every token
REAL_HEADER = {"alg": "RS256", "kid": SIGNING_KID, "typ": "JWT"}
SIGNATURE_CHARS = 342  # an RS256 signature: 256 bytes, base64url without padding
REFRESH_PREFIX = "rt_"
_REAL_HEADER_B64 = _b64(json.dumps(REAL_HEADER, separators=(",", ":")).encode())


def _rng(*seed: object) -> random.Random:
    return random.Random(hashlib.sha256("|".join(map(str, seed)).encode()).digest())


def _uuid(rng: random.Random) -> str:
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _real_jwt(claims: Mapping[str, Any], rng: random.Random) -> str:
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{_REAL_HEADER_B64}.{payload}.{_b64(rng.randbytes(256))}"


def real_access_token(
    *,
    account_id: str | None,
    email: str | None,
    issued_ms: int,
    expires_ms: int,
    plan: str = "plus",
    user_id: str | None = None,
) -> str:
    """An access token shaped as the OAuth service issues them (about 1.7 KB)."""
    rng = _rng("access", account_id, email, issued_ms)
    user = user_id or "user-" + _b64(rng.randbytes(18))[:24]
    auth: dict[str, Any] = {"chatgpt_compute_residency": "no_constraint", "chatgpt_plan_type": plan}
    if account_id:
        auth["chatgpt_account_id"] = account_id
        auth["chatgpt_account_user_id"] = f"{user}__{account_id}"
    auth["chatgpt_user_id"] = user
    auth["user_id"] = user
    claims: dict[str, Any] = {
        "aud": ["https://api.openai.com/v1"],
        "client_id": CLIENT_ID,
        "exp": expires_ms // 1000,
        "https://api.openai.com/auth": auth,
    }
    if email:
        claims["https://api.openai.com/profile"] = {"email": email, "email_verified": True}
    claims.update(
        {
            "iat": issued_ms // 1000,
            "iss": ISSUER,
            "jti": _uuid(rng),
            "nbf": issued_ms // 1000,
            "pwd_auth_time": issued_ms - 40_000,
            "scp": ["openid", "profile", "email", "offline_access"],
            "session_id": "authsess_" + _b64(rng.randbytes(18)),
            "sub": "google-oauth2|" + str(rng.randrange(10**20, 10**21)),
        }
    )
    return _real_jwt(claims, rng)


def real_id_token(
    *, account_id: str | None, email: str | None, issued_ms: int, plan: str = "plus", workspace: str = "Personal"
) -> str:
    """An id token shaped as the OAuth service issues them."""
    rng = _rng("id", account_id, email, issued_ms)
    user = "user-" + _b64(rng.randbytes(18))[:24]
    auth: dict[str, Any] = {"chatgpt_plan_type": plan, "chatgpt_user_id": user, "user_id": user}
    if account_id:
        auth["chatgpt_account_id"] = account_id
    auth["chatgpt_subscription_active_start"] = _iso(issued_ms - 20 * DAY)[:19] + "+00:00"
    auth["chatgpt_subscription_active_until"] = _iso(issued_ms + 10 * DAY)[:19] + "+00:00"
    auth["organizations"] = [
        {"id": "org-" + _b64(rng.randbytes(18))[:24], "is_default": True, "role": "owner", "title": workspace}
    ]
    claims: dict[str, Any] = {
        "at_hash": _b64(rng.randbytes(16)),
        "aud": [CLIENT_ID],
        "auth_provider": "google",
        "auth_time": issued_ms // 1000 - 40,
        "email": email,
        "email_verified": True,
        "exp": issued_ms // 1000 + 3600,
        "https://api.openai.com/auth": auth,
        "iat": issued_ms // 1000,
        "iss": ISSUER,
        "jti": _uuid(rng),
        "rat": issued_ms // 1000 - 60,
        "sid": _uuid(rng),
        "sub": "google-oauth2|" + str(rng.randrange(10**20, 10**21)),
    }
    return _real_jwt(claims, rng)


def real_refresh_token(name: str) -> str:
    """A refresh token in the service's format: ``rt_``, 43 base64url characters, a dot and 43
    more (32 random bytes each)."""
    rng = _rng("refresh", name)
    return f"{REFRESH_PREFIX}{_b64(rng.randbytes(32))}.{_b64(rng.randbytes(32))}"


def access_token(
    *, account_id: str | None, email: str | None, issued_ms: int, expires_ms: int, plan: str = "plus"
) -> str:
    auth: dict[str, Any] = {"chatgpt_plan_type": plan}
    if account_id:
        auth["chatgpt_account_id"] = account_id
    claims: dict[str, Any] = {
        "iat": issued_ms // 1000,
        "exp": expires_ms // 1000,
        "https://api.openai.com/auth": auth,
    }
    if email:
        claims["https://api.openai.com/profile"] = {"email": email}
    return make_jwt(claims, salt=f"{account_id}{email}{issued_ms}")


def refresh_token(name: str) -> str:
    return f"rt_fixture_{name}_" + hashlib.sha256(name.encode()).hexdigest()[:16]


def account(
    name: str,
    now: int,
    *,
    email: str | None = "",
    account_id: str | None = "",
    last_used: int | None = None,
    added_at: int | None = None,
    refreshed: int | None = None,
    lifetime: int = 10 * DAY,
    plan: str = "plus",
    real_shaped: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One V3 account object. ``email``/``account_id`` default from ``name``; pass None to leave
    them out. ``refreshed`` is when the access token was issued (default: one day ago).
    ``real_shaped``: tokens with the shape real ones have (see the module's help)."""
    email = f"{name}@example.com" if email == "" else email
    account_id = f"acct-{name}" if account_id == "" else account_id
    issued = now - DAY if refreshed is None else refreshed
    record: dict[str, Any] = {}
    if account_id is not None:
        record["accountId"] = account_id
        record["accountIdSource"] = "token"
    if email is not None:
        record["email"] = email
    make_refresh, make_access = (
        (real_refresh_token, real_access_token) if real_shaped else (refresh_token, access_token)
    )
    record["refreshToken"] = make_refresh(f"{name}-{account_id}")
    record["accessToken"] = make_access(
        account_id=account_id, email=email, issued_ms=issued, expires_ms=issued + lifetime, plan=plan
    )
    record["expiresAt"] = issued + lifetime
    record["enabled"] = True
    if added_at is not None or "addedAt" not in extra:
        record["addedAt"] = now - 30 * DAY if added_at is None else added_at
    record["lastUsed"] = now - HOUR if last_used is None else last_used
    record.update(extra)
    return {k: v for k, v in record.items() if v is not None}


def write_json(path: Path, data: Any, *, pretty: bool = True, mode: int = 0o600) -> Path:
    if not path.parent.exists():  # codex-multi-auth makes its folder 0700
        path.parent.mkdir(mode=0o700, parents=True)
    text = json.dumps(data, indent=2) if pretty else json.dumps(data, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")  # codex-multi-auth writes no trailing newline
    os.chmod(path, mode)
    return path


def accounts_v3(accounts: Iterable[Mapping[str, Any]], active: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "version": 3,
        "accounts": [dict(a) for a in accounts],
        "activeIndex": active,
        "activeIndexByFamily": dict.fromkeys(FAMILIES, active),
        **extra,
    }


def accounts_v1(accounts: Iterable[Mapping[str, Any]], active: int = 0) -> dict[str, Any]:
    return {"version": 1, "accounts": [dict(a) for a in accounts], "activeIndex": active}


def write_pool(folder: Path, data: Mapping[str, Any]) -> Path:
    return write_json(folder / ACCOUNTS_FILE, data)


def write_wal(folder: Path, data: Mapping[str, Any], created: int, *, corrupt_checksum: bool = False) -> Path:
    path = folder / ACCOUNTS_FILE
    content = json.dumps(data, indent=2)
    checksum = hashlib.sha256(content.encode()).hexdigest()
    if corrupt_checksum:
        checksum = "0" * 64
    envelope = {"version": 1, "createdAt": created, "path": str(path), "checksum": checksum, "content": content}
    return write_json(folder / (ACCOUNTS_FILE + ".wal"), envelope, pretty=False)


def flagged(
    name: str, now: int, *, flagged_at: int, reason: str = "token-invalid", last_error: str | None = None, **kw: Any
) -> dict[str, Any]:
    record = account(name, now, **kw)
    record["flaggedAt"] = flagged_at
    record["flaggedReason"] = reason
    if last_error:
        record["lastError"] = last_error
    return record


def write_flagged(folder: Path, accounts: Iterable[Mapping[str, Any]]) -> Path:
    return write_json(folder / FLAGGED_FILE, {"version": 1, "accounts": [dict(a) for a in accounts]})


def window(minutes: int, used: float, reset_at: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {"usedPercent": used, "windowMinutes": minutes}
    if reset_at is not None:
        result["resetAtMs"] = reset_at
    return result


def quota_entry(
    updated: int,
    primary: dict[str, Any] | None,
    secondary: dict[str, Any] | None,
    *,
    status: int = 200,
    model: str = "gpt-5-codex",
    plan: str | None = "plus",
) -> dict[str, Any]:
    entry: dict[str, Any] = {"updatedAt": updated, "status": status, "model": model}
    if plan:
        entry["planType"] = plan
    if primary is not None:
        entry["primary"] = primary
    if secondary is not None:
        entry["secondary"] = secondary
    return entry


def write_quota_cache(
    folder: Path, by_account_id: Mapping[str, Any] | None = None, by_email: Mapping[str, Any] | None = None
) -> Path:
    data = {"version": 1, "byAccountId": dict(by_account_id or {}), "byEmail": dict(by_email or {})}
    path = write_json(folder / "quota-cache.json", data)
    path.write_text(path.read_text() + "\n")
    return path


def write_state(folder: Path, flagged_history: Mapping[str, Mapping[str, Any]]) -> Path:
    return write_json(folder / "codex-auth-report-state.json", {"version": 1, "flagged": dict(flagged_history)})


def write_auth_json(
    codex_home: Path,
    *,
    email: str,
    account_id: str,
    now: int,
    refreshed: int,
    lifetime: int = 10 * DAY,
    plan: str = "plus",
    real_shaped: bool = False,
) -> Path:
    if real_shaped:
        id_token = real_id_token(account_id=account_id, email=email, issued_ms=refreshed, plan=plan)
        make_access, make_refresh = real_access_token, real_refresh_token
    else:
        id_token = make_jwt(
            {
                "email": email,
                "https://api.openai.com/auth": {"chatgpt_plan_type": plan, "chatgpt_account_id": account_id},
            },
            salt="id" + email,
        )
        make_access, make_refresh = access_token, refresh_token
    data = {
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token,
            "access_token": make_access(
                account_id=account_id, email=email, issued_ms=refreshed, expires_ms=refreshed + lifetime, plan=plan
            ),
            "refresh_token": make_refresh("cli-" + email),
            "account_id": account_id,
        },
        "last_refresh": _iso(refreshed),
    }
    return write_json(codex_home / "auth.json", data)


def now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def _iso(ms: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT made by :func:`make_jwt` ({} when it is not one)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def backend_scenario(
    accounts: Iterable[Mapping[str, Any]],
    *,
    delay_ms: int = 0,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``testkit/fake_backend.py`` scenario serving these account records: each one's
    accountId, email, refreshToken and plan (from its access token), with the default quota
    windows. ``overrides`` maps an accountId to more scenario keys (windows, behaviours...).
    Records without an accountId are left out: the backend cannot serve them."""
    extra = dict(overrides or {})
    result = []
    for record in accounts:
        account_id = record.get("accountId")
        if not account_id:
            continue
        plan = (
            token_claims(record.get("accessToken", "")).get("https://api.openai.com/auth", {}).get("chatgpt_plan_type")
        )
        entry: dict[str, Any] = {"accountId": account_id}
        if record.get("email"):
            entry["email"] = record["email"]
        if plan:
            entry["plan"] = plan
        if record.get("refreshToken"):
            entry["refreshToken"] = record["refreshToken"]
        entry.update(extra.pop(account_id, {}))
        result.append(entry)
    if extra:
        raise KeyError(f"overrides for accounts not in the pool: {sorted(extra)}")
    return {"delayMs": delay_ms, "accounts": result}


# --- the seed page's example ---------------------------------------------------------

SEED_NOW = 1772548200000  # 2026-03-03T14:30:00Z, the seed's "Generated:" line


def seed_example_pool(folder: Path, now: int = SEED_NOW) -> Path:
    """The facts of the seed page's example report: four accounts and one flagged one."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    alice = account(
        "alice",
        now,
        account_id="user-abc123",
        last_used=now - 15 * MINUTE,
        added_at=now - 2_214_600_000,
        refreshed=now - DAY,
        plan="pro",
    )
    bob = account(
        "bob",
        now,
        account_id="user-def456",
        last_used=now - 2 * HOUR,
        added_at=None,
        refreshed=now - 2 * DAY,
        addedAt=None,
    )
    carol = account(
        "carol",
        now,
        account_id="user-ghi789",
        last_used=now - 3 * DAY,
        added_at=now - 60 * DAY,
        refreshed=now - 12 * DAY,
        lifetime=14 * DAY,
    )
    dave = account(
        "dave",
        now,
        account_id="user-jkl012",
        last_used=now - 45 * MINUTE,
        added_at=now - 40 * DAY,
        rateLimitResetTimes={"codex": now + 90 * MINUTE},
        lastSwitchReason="rate-limit",
    )
    write_pool(folder, accounts_v3([alice, bob, carol, dave], active=0))
    sampled = now - 10 * MINUTE
    write_quota_cache(
        folder,
        by_account_id={
            "user-abc123": quota_entry(
                sampled, window(300, 5, now + 4 * HOUR), window(10080, 13, now + 5 * DAY), plan="pro"
            ),
            "user-def456": quota_entry(sampled, window(300, 55, now + 2 * HOUR), window(10080, 33, now + 3 * DAY)),
            "user-ghi789": quota_entry(sampled, window(300, 88, now + 3 * HOUR), window(10080, 66, now + 2 * DAY)),
            "user-jkl012": quota_entry(
                sampled, window(300, 100, now + 90 * MINUTE), window(10080, 45, now + 4 * DAY), status=429
            ),
        },
    )
    erin = flagged(
        "erin",
        now,
        account_id="user-xyz789",
        flagged_at=now - 2 * DAY,
        reason="invalid_grant",
        last_error="refresh failed: invalid_grant",
        last_used=now - 3 * DAY,
    )
    write_flagged(folder, [erin])
    write_state(folder, {"user-xyz789|erin@example.com": {"lastVerified": now - DAY, "verificationCount": 3}})
    return folder


def seed_example_scenario(folder: Path, *, delay_ms: int = 0) -> dict[str, Any]:
    """A fake-backend scenario answering for the seed example pool in ``folder`` with the
    seed's live figures: the four accounts' quotas, dave at his 5h limit, erin's refresh
    token refused (invalid_grant)."""
    pool = json.loads((folder / ACCOUNTS_FILE).read_text())["accounts"]
    flagged_accounts = json.loads((folder / FLAGGED_FILE).read_text())["accounts"]

    def windows(used_5h: float, used_7d: float, reset_5h: int = 4 * 3600, reset_7d: int = 5 * 86400) -> dict[str, Any]:
        return {
            "primary": {"usedPercent": used_5h, "windowMinutes": 300, "resetAfterSeconds": reset_5h},
            "secondary": {"usedPercent": used_7d, "windowMinutes": 10080, "resetAfterSeconds": reset_7d},
        }

    overrides = {
        "user-abc123": windows(5, 13),
        "user-def456": windows(55, 33),
        "user-ghi789": windows(88, 66),
        "user-jkl012": {**windows(100, 45, reset_5h=90 * 60), "usage": "ok"},
        "user-xyz789": {"refresh": "invalid_grant"},
    }
    return backend_scenario([*pool, *flagged_accounts], delay_ms=delay_ms, overrides=overrides)


def large_pool(folder: Path, count: int, now: int, *, real_shaped: bool = True) -> Path:
    """``count`` distinct accounts with varied facts, and a quota cache for most of them.
    Their tokens have the real shape unless ``real_shaped`` is False (names stay
    ``userNNNNN@example.com``; :func:`real_pool` has realistic names too)."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts, cache = [], {}
    for i in range(count):
        name = f"user{i:05d}"
        extra: dict[str, Any] = {}
        if i % 17 == 3:
            extra["enabled"] = False
        if i % 11 == 5:
            extra["rateLimitResetTimes"] = {"codex": now + (i % 7 + 1) * 10 * MINUTE}
        if i % 23 == 7:
            extra["coolingDownUntil"] = now + 5 * MINUTE
            extra["cooldownReason"] = "network-error"
        accounts.append(
            account(
                name,
                now,
                last_used=now - (i % 97) * HOUR,
                refreshed=now - (i % 13) * DAY,
                lifetime=14 * DAY,
                real_shaped=real_shaped,
                **extra,
            )
        )
        if i % 5:
            cache[f"acct-{name}"] = quota_entry(
                now - (i % 9) * HOUR,
                window(300, (i * 7) % 101, now + HOUR),
                window(10080, (i * 3) % 101, now + 3 * DAY),
            )
    write_pool(folder, accounts_v3(accounts, active=0))
    write_quota_cache(folder, by_account_id=cache)
    return folder


FIRST_NAMES = ("alice", "bruno", "chen", "dana", "emeka", "fatima", "goran", "hana", "ivan", "julia", "kofi", "lena")
LAST_NAMES = ("nguyen", "garcia", "smith", "kowalski", "okafor", "tanaka", "silva", "müller", "haddad", "novak")
DOMAINS = ("gmail.com", "outlook.com", "proton.me", "example-corp.com", "icloud.com", "fastmail.fm")
PLANS = ("plus", "plus", "plus", "pro", "team", "business", "free", "prolite")


def real_account(i: int, now: int) -> dict[str, Any]:
    """Account ``i`` of a real-shaped pool: a UUID account id, a realistic e-mail, real-shaped
    tokens, workspaces on some, the fields codex-multi-auth writes."""
    rng = _rng("account", i)
    first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // 7) % len(LAST_NAMES)]
    email = f"{first}.{last}+{i}@{DOMAINS[i % len(DOMAINS)]}" if i % 3 else f"{first}{last[:1]}{i}@{DOMAINS[0]}"
    account_id = _uuid(rng)
    extra: dict[str, Any] = {"accountIdSource": "token" if i % 9 else "id_token"}
    if i % 4 == 1:
        extra["accountLabel"] = f"{first.title()} ({PLANS[i % len(PLANS)]})"
    if i % 6 == 2:
        extra["workspaces"] = [
            {"id": _uuid(rng), "name": "Personal", "enabled": True, "isDefault": True},
            {"id": account_id, "name": f"{last.title()} Labs", "enabled": True},
        ]
        extra["currentWorkspaceIndex"] = 1
    if i % 17 == 3:
        extra["enabled"] = False
    if i % 11 == 5:
        extra["rateLimitResetTimes"] = {"codex": now + (i % 7 + 1) * 10 * MINUTE, "gpt-5.2:gpt-5.2-codex": now + HOUR}
        extra["lastSwitchReason"] = "rate-limit"
    if i % 23 == 7:
        extra["coolingDownUntil"] = now + 5 * MINUTE
        extra["cooldownReason"] = "network-error"
    record = account(
        f"r{i}",
        now,
        email=email,
        account_id=account_id,
        last_used=now - (i % 97) * HOUR,
        refreshed=now - (i % 13) * DAY,
        lifetime=10 * DAY,
        added_at=now - (40 + i % 200) * DAY,
        plan=PLANS[i % len(PLANS)],
        real_shaped=True,
        **extra,
    )
    record["recordId"] = "record:" + hashlib.sha256(f"{account_id}|{email}".encode()).hexdigest()
    return record


def real_pool(folder: Path, count: int, now: int, *, flagged_every: int = 50) -> Path:
    """A pool of ``count`` accounts shaped like a real one (:func:`real_account`), a quota
    cache for most of them (by account id, some by e-mail, as codex-multi-auth keeps it) and
    one account in ``flagged_every`` in the flagged file."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts, flagged_accounts, by_id, by_email = [], [], {}, {}
    for i in range(count):
        record = real_account(i, now)
        if flagged_every and i % flagged_every == flagged_every - 1:
            record["flaggedAt"] = now - (i % 5 + 1) * DAY
            record["flaggedReason"] = "token-invalid" if i % 2 else "invalid_grant"
            record["lastError"] = "refresh failed: invalid_grant"
            flagged_accounts.append(record)
            continue
        accounts.append(record)
        if i % 5:
            plan = PLANS[i % len(PLANS)]
            entry = quota_entry(
                now - (i % 9) * HOUR,
                window(300, (i * 7) % 101, now + HOUR) if i % 8 else None,
                window(10080, (i * 3) % 101, now + 3 * DAY),
                plan=plan,
                status=429 if (i * 7) % 101 == 100 else 200,
            )
            (by_email if i % 10 == 3 else by_id)[record["email"] if i % 10 == 3 else record["accountId"]] = entry
    write_pool(folder, accounts_v3(accounts, active=0))
    write_quota_cache(folder, by_account_id=by_id, by_email=by_email)
    if flagged_accounts:
        write_flagged(folder, flagged_accounts)
    return folder


def main(argv: list[str] | None = None) -> int:
    """``python -m testkit.poolkit DIR``: write a pool for trying the tool out."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m testkit.poolkit",
        description="Write an account pool in codex-multi-auth's real on-disk formats, with fake tokens: "
        "the sample pool (four accounts and one flagged, as of 2026-03-03 14:30 UTC) or a "
        "generated pool of any size. Then: codex-auth report --dir DIR --now 2026-03-03T14:30:00Z",
    )
    parser.add_argument("folder", metavar="DIR", type=Path, help="folder to write the pool into (created)")
    parser.add_argument(
        "--accounts",
        type=int,
        metavar="N",
        help="write a generated pool of N accounts instead of the example",
    )
    parser.add_argument(
        "--force", action="store_true", help="write into DIR even when it already holds files (they are overwritten)"
    )
    args = parser.parse_args(argv)
    folder: Path = args.folder
    if args.accounts is not None and args.accounts < 1:
        parser.error("--accounts must be at least 1")
    if folder.exists() and not folder.is_dir():
        parser.error(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not args.force:
        parser.error(f"{folder} is not empty; add --force to write the pool into it anyway")
    if args.accounts is None:
        seed_example_pool(folder)
        print(f"wrote the sample pool to {folder}")
    else:
        large_pool(folder, args.accounts, SEED_NOW)
        print(f"wrote a pool of {args.accounts} accounts to {folder}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
