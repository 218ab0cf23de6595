"""Keep secrets out of text that reaches a person: upstream error bodies, stored error
strings. Records never hold tokens by construction; this is the second fence for text
that came from elsewhere."""

from __future__ import annotations

import re

_PATTERNS = (
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
    for pattern in _PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
        else:
            text = pattern.sub("***", text)
    return text
