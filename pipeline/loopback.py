"""The one loopback rule: whether a host names this machine only (127.0.0.0/8, ``::1``, an
IPv4-mapped ``::ffff:127.x.y.z``, or one of the names that always resolve to them).

Used by ``serve`` (a listen address other than loopback is said on stderr; on a loopback
address a request must name a loopback ``Host:``) and by the base-URL checks of the live probe
(a bearer token goes over plain http only to loopback)."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``[::1]``, ``LOCALHOST.`` and the like; anything else (a name that
    could resolve elsewhere, ``0.0.0.0``, ``::``) is not."""
    text = host.strip().strip("[]").lower().removesuffix(".")
    if text in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
