"""The typed model of IPv4 access-list rules, independent of vendor syntax.

An address match is an IPv4 value and a Cisco wildcard (bits set = don't care), so that
non-contiguous wildcards are exact. A rule matches a packet when its protocol/port
``services`` and its source and destination address sets all match; object-groups become
unions of addresses and services. For ICMP, ``src_ports`` carries the ICMP type and
``dst_ports`` the ICMP code (the fields are unused by ICMP otherwise).
"""

from __future__ import annotations

import ipaddress
from typing import Literal, NamedTuple

from smmcheck.frozen import Frozen

ANY_WILDCARD = 0xFFFFFFFF
TCP, UDP, ICMP = 6, 17, 1


class Address(Frozen):
    """An IPv4 address match: ``value`` with ``wildcard`` bits ignored (any = 0/0xFFFFFFFF)."""

    value: int
    wildcard: int

    @classmethod
    def from_prefix(cls, prefix: str) -> Address:
        """The match for an IPv4 prefix such as ``10.30.0.0/24`` (host bits ignored)."""
        network = ipaddress.IPv4Network(prefix, strict=False)
        return cls(value=int(network.network_address), wildcard=int(network.hostmask))

    def matches(self, address: int) -> bool:
        """Whether ``address`` (an IPv4 integer) is in this match."""
        return (address & ~self.wildcard) == (self.value & ~self.wildcard)


class PortRange(NamedTuple):
    """An inclusive port range."""

    low: int
    high: int


class Service(Frozen):
    """A protocol with optional port ranges (None = any port) and TCP `established`."""

    protocol: int | None = None  # None: any IP protocol
    src_ports: tuple[PortRange, ...] | None = None
    dst_ports: tuple[PortRange, ...] | None = None
    # TCP `established`: matches only segments with ACK or RST set (replies, not new flows).
    established: bool = False


class Rule(Frozen):
    """One ACL line: ``line`` is its 1-based line in the source (0 if synthesised)."""

    line: int
    text: str
    action: Literal["permit", "deny"]
    sources: tuple[Address, ...]
    destinations: tuple[Address, ...]
    services: tuple[Service, ...]
    sequence: int | None = None


class Packet(NamedTuple):
    """A concrete IPv4 packet header (ICMP: src_port = type, dst_port = code)."""

    protocol: int
    src: int
    dst: int
    src_port: int
    dst_port: int
    established: bool  # ACK or RST set (TCP only)


def rule_matches(rule: Rule, packet: Packet) -> bool:
    """Whether ``rule`` matches ``packet``: the reference semantics for the analyser."""
    if not any(a.matches(packet.src) for a in rule.sources):
        return False
    if not any(a.matches(packet.dst) for a in rule.destinations):
        return False
    return any(_service_matches(s, packet) for s in rule.services)


def _service_matches(service: Service, packet: Packet) -> bool:
    if service.protocol is not None and service.protocol != packet.protocol:
        return False
    ported = service.protocol in (TCP, UDP, ICMP)
    for ranges, port in (
        (service.src_ports, packet.src_port),
        (service.dst_ports, packet.dst_port),
    ):
        if ranges is not None and ported and not any(r.low <= port <= r.high for r in ranges):
            return False
    return not (service.established and (packet.protocol != TCP or not packet.established))


def first_match(rules: tuple[Rule, ...] | list[Rule], packet: Packet) -> Rule | None:
    """The first rule matching ``packet`` (None: the implicit deny at the end)."""
    return next((rule for rule in rules if rule_matches(rule, packet)), None)


def permits(rules: tuple[Rule, ...] | list[Rule], packet: Packet) -> bool:
    """First-match evaluation with the implicit deny, as IOS does it."""
    rule = first_match(rules, packet)
    return rule is not None and rule.action == "permit"
