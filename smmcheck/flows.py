"""What a zone can reach through each enforcement point, as compact rows of flow ranges.

The engineer's view while fixing a segmentation failure: for every enforcement point of
the zone, the permitted set (restricted to the zone's sources, and to a destination when
asked) split into what the intent allows and what it does not.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from smmcheck.acl.model import ANY_WILDCARD, ICMP, Address, PortRange
from smmcheck.acl.names import PROTOCOLS
from smmcheck.acl.space import PacketCube, PacketSpace
from smmcheck.facts import DeviceFacts
from smmcheck.project import Project
from smmcheck.segmentation import enforcement_points, inbound_filter, intent_sets, prefixes

_NAMES = {number: name for name, number in PROTOCOLS.items() if number is not None}


@dataclass(frozen=True)
class FlowRow:
    """One range of permitted packets through one enforcement point."""

    device: str
    interface: str
    filter: str
    protocol: str
    source: str
    destination: str
    ports: str
    allowed: bool


def zone_flows(
    facts: DeviceFacts, project: Project, zone: str, to: str | None = None, limit: int = 50
) -> list[FlowRow]:
    """Rows of what ``zone`` can send through each of its enforcement points on a device
    (at most ``limit`` rows per point; a last row says how many were left out)."""
    space = PacketSpace()
    source = space.addresses("src", prefixes(project.zones[zone].subnets))
    allowed, _ = intent_sets(space, project, zone)
    if to is not None:
        target = prefixes(project.zones[to].subnets) if to in project.zones else prefixes([to])
        source = space.and_(source, space.addresses("dst", target))
    rows: list[FlowRow] = []
    for point in enforcement_points(facts, project, zone):
        permitted, label = inbound_filter(space, facts, point.interface)
        reach = space.and_(permitted, source)
        per_point: list[FlowRow] = []
        for ok, part in ((False, space.diff(reach, allowed)), (True, space.and_(reach, allowed))):
            for cube in space.cubes(part):
                per_point.append(_row(facts.device, point.interface.name, label, cube, ok))
        if len(per_point) > limit:
            hidden = len(per_point) - limit
            per_point = [
                *per_point[:limit],
                FlowRow(
                    facts.device,
                    point.interface.name,
                    label,
                    f"... {hidden} more rows",
                    "",
                    "",
                    "",
                    False,
                ),
            ]
        rows.extend(per_point)
    return rows


def _row(device: str, interface: str, label: str, cube: PacketCube, allowed: bool) -> FlowRow:
    protocol = _protocols(cube.protocols)
    if cube.established:
        protocol += " established"
    if cube.protocols == (ICMP,):
        ports = "any" if cube.src_ports is None else f"type {_ranges(cube.src_ports)}"
    else:
        ports = _ranges(cube.dst_ports)
    return FlowRow(
        device, interface, label, protocol, _address(cube.src), _address(cube.dst), ports, allowed
    )


def _protocols(protocols: tuple[int, ...] | None) -> str:
    if protocols is None:
        return "ip"
    if len(protocols) <= 4:
        return ",".join(_NAMES.get(p, str(p)) for p in protocols)
    return f"{len(protocols)} protocols"


def _address(address: Address) -> str:
    if address.wildcard == ANY_WILDCARD:
        return "any"
    host_bits = address.wildcard
    if host_bits & (host_bits + 1) == 0:  # contiguous: a prefix
        length = 32 - host_bits.bit_length()
        network = ipaddress.IPv4Network((address.value & ~host_bits & ANY_WILDCARD, length))
        return str(network.network_address) if length == 32 else str(network)
    return f"{ipaddress.IPv4Address(address.value)} wildcard {ipaddress.IPv4Address(host_bits)}"


def _ranges(ranges: tuple[PortRange, ...] | None) -> str:
    if ranges is None:
        return "any"
    return ",".join(str(r.low) if r.low == r.high else f"{r.low}-{r.high}" for r in ranges)
