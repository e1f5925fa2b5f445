"""The names Cisco IOS accepts (and prints) for protocols, ports and ICMP messages.

IOS rewrites numbers to these names in ``show running-config`` (``eq 80`` is shown as
``eq www``), so an ACL cannot be understood without them. From the IOS command reference
of ``permit (IP extended)``; a name missing here makes the line unsupported, never guessed.
"""

from __future__ import annotations

PROTOCOLS: dict[str, int | None] = {
    "ip": None,
    "ipv4": None,
    "icmp": 1,
    "igmp": 2,
    "ipinip": 4,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ahp": 51,
    "eigrp": 88,
    "ospf": 89,
    "nos": 94,
    "pim": 103,
    "pcp": 108,
    "sctp": 132,
}

TCP_PORTS: dict[str, int] = {
    "bgp": 179,
    "chargen": 19,
    "cmd": 514,
    "daytime": 13,
    "discard": 9,
    "domain": 53,
    "drip": 3949,
    "echo": 7,
    "exec": 512,
    "finger": 79,
    "ftp": 21,
    "ftp-data": 20,
    "gopher": 70,
    "hostname": 101,
    "ident": 113,
    "irc": 194,
    "klogin": 543,
    "kshell": 544,
    "login": 513,
    "lpd": 515,
    "msrpc": 135,
    "nntp": 119,
    "onep-plain": 15001,
    "onep-tls": 15002,
    "pim-auto-rp": 496,
    "pop2": 109,
    "pop3": 110,
    "smtp": 25,
    "sunrpc": 111,
    "syslog": 514,
    "tacacs": 49,
    "talk": 517,
    "telnet": 23,
    "time": 37,
    "uucp": 540,
    "whois": 43,
    "www": 80,
    "http": 80,
    "https": 443,
    "ssh": 22,
}

UDP_PORTS: dict[str, int] = {
    "biff": 512,
    "bootpc": 68,
    "bootps": 67,
    "discard": 9,
    "dnsix": 195,
    "domain": 53,
    "echo": 7,
    "isakmp": 500,
    "mobile-ip": 434,
    "nameserver": 42,
    "netbios-dgm": 138,
    "netbios-ns": 137,
    "netbios-ss": 139,
    "non500-isakmp": 4500,
    "ntp": 123,
    "pim-auto-rp": 496,
    "rip": 520,
    "ripv2": 521,
    "snmp": 161,
    "snmptrap": 162,
    "sunrpc": 111,
    "syslog": 514,
    "tacacs": 49,
    "talk": 517,
    "tftp": 69,
    "time": 37,
    "who": 513,
    "xdmcp": 177,
}

# ICMP message names -> (type, code or None for any code).
ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "echo-reply": (0, None),
    "unreachable": (3, None),
    "net-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "packet-too-big": (3, 4),
    "source-route-failed": (3, 5),
    "administratively-prohibited": (3, 13),
    "source-quench": (4, None),
    "redirect": (5, None),
    "alternate-address": (6, None),
    "echo": (8, None),
    "router-advertisement": (9, None),
    "router-solicitation": (10, None),
    "time-exceeded": (11, None),
    "ttl-exceeded": (11, 0),
    "reassembly-timeout": (11, 1),
    "parameter-problem": (12, None),
    "timestamp-request": (13, None),
    "timestamp-reply": (14, None),
    "information-request": (15, None),
    "information-reply": (16, None),
    "mask-request": (17, None),
    "mask-reply": (18, None),
    "traceroute": (30, None),
}


def port_number(word: str, protocol: int | None) -> int | None:
    """A port given as a number or an IOS name for ``protocol`` (6 tcp, 17 udp)."""
    if word.isdigit():
        number = int(word)
        return number if number <= 65535 else None
    if protocol == 6:
        return TCP_PORTS.get(word)
    if protocol == 17:
        return UDP_PORTS.get(word)
    # tcp-udp object-group entries: a name must mean the same port for both.
    tcp, udp = TCP_PORTS.get(word), UDP_PORTS.get(word)
    return tcp if tcp is not None and tcp == udp else None
