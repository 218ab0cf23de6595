"""Keep secrets out of text that reaches a person: upstream error bodies, stored error
strings. Records never hold tokens by construction; this is the second fence for text
that came from elsewhere."""

from __future__ import annotations

import re
from functools import cache
from typing import Any


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """The secret shapes, compiled when first used (on error texts): a report needs none."""
    return (
        # JWTs (access and id tokens)
        re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
        # Authorization headers
        re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}"),
        # key=value / "key": "value" pairs whose key names a secret
        re.compile(
            r"""(?ix)
            ((?:refresh|access|id)[_-]?token|token|code[_-]?verifier|api[_-]?key|client[_-]?secret|password)
            (["']?\s*[:=]\s*["']?)
            ([^"'\s,&}]{4,})
            """
        ),
        # OpenAI-style API keys and refresh/access token prefixes
        re.compile(r"\bsk-[A-Za-z0-9_-]{10,}"),
        re.compile(r"\b(?:rt|at|RT|AT)_[A-Za-z0-9_.-]{8,}"),
    )


def scrub_secrets(text: str) -> str:
    for pattern in _patterns():
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
        else:
            text = pattern.sub("***", text)
    return text


# --- --redact: masking who the accounts are -------------------------------------------

_EMAIL = r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*"


@cache
def _email_or_word() -> re.Pattern[str]:
    """Compiled when first used: only ``--redact`` masks text."""
    return re.compile(rf"(?P<email>{_EMAIL})|(?P<word>[\w-]+)")


_SALT = b"codex-auth-report/redact/v1\0"  # not a secret: it only keeps these hashes our own
HASH_DIGITS = 10  # 40 bits: a collision among 1,000 accounts has odds of about 1 in 2 million


def _digest(kind: bytes, value: str) -> str:
    import hashlib

    return hashlib.sha256(_SALT + kind + value.strip().lower().encode("utf-8")).hexdigest()[:HASH_DIGITS]


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a***@***.com#<10 hex digits>``: the first letter and the
    top-level domain stay (lower-cased), for a person to recognise; the hash of the whole
    lower-cased address keeps every account tellable apart. Deterministic, so two reports of the same
    pool mask alike, but not anonymous: whoever can guess an address can check the hash."""
    local, _, domain = email.strip().lower().rpartition("@")
    first = local[:1] if local[:1].isalnum() else ""
    tld = domain.rsplit(".", 1)[1] if "." in domain else ""
    return f"{first}***@***{'.' + tld if tld.isalnum() else ''}#{_digest(b'email', email)}"


def mask_account_id(account_id: str) -> str:
    """``user-abc123`` -> ``acct#<10 hex digits>``."""
    return f"acct#{_digest(b'id', account_id)}"


class Masker:
    """Masks e-mails and account ids: the ``email`` and ``accountId`` fields as a whole, and
    inside any other text (reasons, details, warnings, paths, labels) every e-mail address
    and every word that is one of the known account ids."""

    def __init__(self, account_ids: set[str]) -> None:
        self._ids = {account_id: mask_account_id(account_id) for account_id in account_ids if account_id}
        # Ids that are not single words are replaced as plain substrings (rare: real ids are words).
        self._odd_ids = [i for i in sorted(self._ids, key=len, reverse=True) if not re.fullmatch(r"[\w-]+", i)]
        self._seen: dict[str, str] = {}

    def text(self, text: str) -> str:
        masked = self._seen.get(text)
        if masked is None:  # most strings (statuses, sources, reasons) repeat from account to account
            masked = text
            for odd in self._odd_ids:
                masked = masked.replace(odd, self._ids[odd])
            masked = self._seen[text] = _email_or_word().sub(self._replace, masked)
        return masked

    def _replace(self, match: re.Match[str]) -> str:
        email = match.group("email")
        if email is not None:
            return mask_email(email)
        word = match.group("word")
        return self._ids.get(word, word)

    def value(self, value: Any, key: str = "") -> Any:
        """A copy of a record (or any JSON value) with every string masked."""
        if isinstance(value, str):
            if key == "email":
                return mask_email(value)
            if key == "accountId":
                return self._ids.get(value) or mask_account_id(value)
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        return value
