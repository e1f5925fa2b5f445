"""Addresses as configurations write them: is a listener reachable from this host only?"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """Whether only this host can reach ``host``: ``localhost``, 127.0.0.0/8, ``::1``
    (also bracketed, or IPv4-mapped), or an address scoped to ``lo`` (``fe80::1%lo``).

    ``*``, ``0.0.0.0``, a name or nothing at all count as reachable from elsewhere.
    """
    if not host:
        return False
    address, _, scope = host.strip("[]").partition("%")
    if scope == "lo" or address == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # '*' (every address) or a name
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
