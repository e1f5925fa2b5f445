"""Segmentation proven from ACL semantics, and ACL lines that can never match.

For every governed zone (the source of a flow in smmcheck.yaml) and every enforcement
point of it on the device, the inbound filter must permit packets from the zone only
within the allowed flows. The proof covers the whole packet space (first match, implicit
deny); a failure names one concrete counterexample and the ACL line that permits it.

Enforcement points of a zone: an interface with an address in one of the zone's subnets
(routed port, SVI, subinterface), an SVI or subinterface of one of its VLANs, and an access
port in one of its VLANs that carries a port ACL. Access ports without a port ACL hand
their traffic to the L3 interface, which is where the zone is enforced.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from smmcheck.acl.model import TCP, UDP, Address, Packet, PortRange, Rule, Service, first_match
from smmcheck.acl.space import PacketSpace
from smmcheck.facts import Acl, DeviceFacts, Interface, SourceLine
from smmcheck.project import Project
from smmcheck.semantic import Finding

# Ports tried, in order, for a counterexample that reads well (Telnet, web, SMB ...) when
# the set allows them; otherwise the smallest port in the set is shown.
_PROBES = (
    (TCP, 23),
    (TCP, 80),
    (TCP, 22),
    (TCP, 445),
    (TCP, 502),
    (TCP, 1883),
    (UDP, 1900),
    (UDP, 161),
    (UDP, 53),
)
_EPHEMERAL = 49152


@dataclass(frozen=True)
class _Point:
    """One enforcement point of a zone on this device."""

    zone: str
    interface: Interface
    kind: str  # "interface" or "port ACL"


def check_segmentation(facts: DeviceFacts, project: Project | None) -> Finding:
    """The iot-segmentation analysis of one device."""
    governed = project.governed_zones() if project else []
    if project is None or not governed:
        return Finding(
            # Not about the configuration: no intent, nothing to judge, truncated or not.
            "not_applicable",
            ("no zones and flows are declared (smmcheck.yaml)",),
        )
    if facts.interfaces is None or facts.acls is None:
        return Finding(
            "inconclusive",
            (f"the {facts.platform} parser cannot establish interfaces and ACLs yet",),
        )
    acls = {acl.name: acl for acl in facts.acls}
    space = PacketSpace()
    points = [p for zone in governed for p in enforcement_points(facts, project, zone)]
    if not points:
        return Finding(
            "not_applicable",
            (f"no enforcement point of zone {', '.join(governed)} on this device",),
            empty=True,
        )
    judged: dict[str, list[tuple[str, list[SourceLine]]]] = {}
    for point in points:
        status, text, lines = _judge(space, facts, project, point, acls)
        judged.setdefault(status, []).append((text, lines))
    covers = tuple(sorted({p.zone for p in points}))
    # The result rests on the points that decide it: the failing ones, else the unsure ones.
    status = next(s for s in ("fail", "inconclusive", "pass") if s in judged)
    chosen = judged[status]
    evidence = _lines([line for _, lines in chosen for line in lines])
    count = 0 if status == "pass" else len(chosen)
    return Finding(status, tuple(t for t, _ in chosen), evidence, count, len(points), covers=covers)


def enforcement_points(facts: DeviceFacts, project: Project, zone: str) -> list[_Point]:
    """The interfaces of this device where traffic from ``zone`` is filtered inbound."""
    spec = project.zones[zone]
    interfaces = facts.interfaces or ()
    subnets = [ipaddress.IPv4Network(s) for s in spec.subnets]
    found = []
    for interface in interfaces:
        if interface.shutdown:
            continue
        networks = [ipaddress.IPv4Interface(f"{a}/{p}").network for a, p in interface.addresses]
        routed = any(n.overlaps(s) for n in networks for s in subnets) or (
            interface.vlan in spec.vlans and bool(networks)
        )
        if routed and interface.switchport_mode != "access":
            found.append(_Point(zone, interface, "interface"))
        elif (
            interface.switchport_mode == "access"
            and interface.access_vlan in spec.vlans
            and interface.acl_in is not None
        ):
            found.append(_Point(zone, interface, "port ACL"))
    return found


def inbound_filter(space: PacketSpace, facts: DeviceFacts, interface: Interface) -> tuple[int, str]:
    """The packets an interface's inbound ACL permits, and how to name that filter.

    No ACL, or an ACL name that is not defined (IOS then permits everything), permits all.
    """
    acls = {acl.name: acl for acl in facts.acls or ()}
    name = interface.acl_in
    if name is None:
        return space.everything, "no inbound ACL"
    if name not in acls:
        return space.everything, f"{name} (not defined: permits everything)"
    return space.permitted(acls[name].rules), name


def management_plane(space: PacketSpace, facts: DeviceFacts) -> int:
    """Packets the vty lines let through: everything except SSH/Telnet to the device's own
    addresses that no vty line would accept (transport input and inbound access-class).

    IOS hands a session to any free vty line, so a packet gets in when some line accepts
    it. An unknown transport counts as accepting (over-approximation keeps proofs sound).
    """
    own = [
        Address(value=int(ipaddress.IPv4Address(a)), wildcard=0)
        for interface in facts.interfaces or ()
        for a, _ in interface.addresses
    ]
    vtys = [line for line in facts.management_lines or () if line.kind == "vty"]
    if not own or not vtys:
        return space.everything
    acls = {acl.name: acl for acl in facts.acls or ()}
    accepted = space.nothing
    for line in vtys:
        ports = []
        transports = line.transport_input
        if transports is None or {"ssh", "all"} & set(transports):
            ports.append(PortRange(22, 22))
        if line.telnet_accepted is not False:
            ports.append(PortRange(23, 23))
        if not ports:
            continue
        acl = acls.get(line.access_class_in or "")
        sources = (
            space.permitted(acl.rules)
            if acl is not None and not acl.unsupported
            else space.everything
        )
        accepted = space.or_(
            accepted,
            space.and_(sources, space.services([Service(protocol=TCP, dst_ports=tuple(ports))])),
        )
    to_vty = space.and_(
        space.addresses("dst", own),
        space.services([Service(protocol=TCP, dst_ports=(PortRange(22, 23),))]),
    )
    return space.or_(space.not_(to_vty), accepted)


def _judge(
    space: PacketSpace, facts: DeviceFacts, project: Project, point: _Point, acls: dict[str, Acl]
) -> tuple[str, str, list[SourceLine]]:
    interface = point.interface
    where = interface.name
    source = space.addresses("src", prefixes(project.zones[point.zone].subnets))
    allowed, destinations = intent_sets(space, project, point.zone)
    lines = list(interface.evidence)
    name = interface.acl_in
    acl = acls.get(name) if name else None
    if name is None:
        outbound = f"; {interface.acl_out} is applied out only" if interface.acl_out else ""
        how = f"({point.kind}, no inbound ACL{outbound})"
    elif acl is None:
        how = f"({point.kind}, inbound ACL {name} is not defined, so IOS permits everything)"
    else:
        lines.extend(acl.evidence)
        how = f"({point.kind}, inbound ACL {name})"
        if acl.unsupported:
            bad = acl.unsupported[0]
            return (
                "inconclusive",
                f"{where} {how}: line {bad.line} cannot be interpreted ({bad.text.strip()})",
                lines + list(acl.unsupported),
            )
    rules: tuple[Rule, ...] = acl.rules if acl else ()
    permitted, _label = inbound_filter(space, facts, interface)
    # Sessions to the device's own vty lines also pass their access-class.
    permitted = space.and_(permitted, management_plane(space, facts))
    # A witness search proves "nothing else is permitted" without building the set.
    if space.find([permitted, source], [allowed]) is None:
        return "pass", f"{where} {how} permits zone {point.zone} only within its flows", lines
    own = {a for i in facts.interfaces or () for a, _ in i.addresses}
    packet = _counterexample(
        space, [permitted, source], allowed, destinations, project, point.zone, own
    )
    rule = first_match(rules, packet) if rules else None
    flow = _describe(packet)
    if rule is not None:
        lines.append(SourceLine(source=facts.source, line=rule.line, text=rule.text))
        permitting = f" (line {rule.line}: {rule.text.strip()})"
    else:
        permitting = ""
    text = f"{where} {how} permits {flow} from zone {point.zone}, which no flow allows{permitting}"
    if acl is not None and acl.approximate:
        approx = acl.approximate
        return (
            "inconclusive",
            (
                f"{text} (ACL {name} has conditions smmcheck over-approximates,"
                f" e.g. line {approx[0].line}: the counterexample may not be"
                " real)"
            ),
            lines + list(approx),
        )
    return "fail", text, lines


def intent_sets(space: PacketSpace, project: Project, zone: str) -> tuple[int, list[Address]]:
    """Packets the flows from ``zone`` allow, and their destinations (for examples)."""
    allowed = space.nothing
    destinations: list[Address] = []
    for flow in project.flows:
        if flow.from_ != zone:
            continue
        if flow.to == "any":
            target = [Address(value=0, wildcard=0xFFFFFFFF)]
        elif flow.to in project.zones:
            target = prefixes(project.zones[flow.to].subnets)
        else:
            target = prefixes([flow.to])
        destinations.extend(target)
        services = [s for name in flow.allow for s in project.service(name)]
        allowed = space.or_(
            allowed, space.and_(space.addresses("dst", target), space.services(services))
        )
    return allowed, destinations


def _counterexample(
    space: PacketSpace,
    inside: list[int],
    allowed: int,
    destinations: list[Address],
    project: Project,
    zone: str,
    own: set[str],
) -> Packet:
    """A concrete permitted, disallowed packet that reads well: towards an allowed
    destination if possible, on a well-known port if possible, else the smallest port."""
    subnet = ipaddress.IPv4Network(project.zones[zone].subnets[0])
    # A device in the zone, not the router's own address in it (the SVI is usually .1).
    hosts = [h for _, h in zip(range(16), subnet.hosts(), strict=False) if str(h) not in own]
    src = int(hosts[0]) if hosts else int(subnet.network_address)
    dst = destinations[0].value if destinations else 0
    regions = [inside]
    if destinations:
        regions.insert(0, [*inside, space.addresses("dst", destinations)])
    for region in regions:
        for protocol, port in _PROBES:
            probe = Packet(protocol, src, dst, _EPHEMERAL, port, False)
            packet = space.find(region, [allowed], prefer=probe)
            if packet is not None and packet.protocol == protocol and packet.dst_port == port:
                return packet
        packet = space.find(region, [allowed], prefer=Packet(TCP, src, dst, _EPHEMERAL, 0, False))
        if packet is not None:
            return packet
    raise AssertionError("a violation was found, so a counterexample exists")


def _describe(packet: Packet) -> str:
    src = ipaddress.IPv4Address(packet.src)
    dst = ipaddress.IPv4Address(packet.dst)
    if packet.protocol in (TCP, UDP):
        name = "tcp" if packet.protocol == TCP else "udp"
        reply = " (established)" if packet.established and packet.protocol == TCP else ""
        return f"{name} {src}:{packet.src_port} -> {dst}:{packet.dst_port}{reply}"
    if packet.protocol == 1:
        return f"icmp type {packet.src_port} code {packet.dst_port} {src} -> {dst}"
    return f"IP protocol {packet.protocol} {src} -> {dst}"


def prefixes(subnets: list[str]) -> list[Address]:
    """Address matches for IPv4 prefixes."""
    return [Address.from_prefix(s) for s in subnets]


def _lines(lines: list[SourceLine]) -> tuple[SourceLine, ...]:
    unique = {(line.line, line.text): line for line in lines}
    return tuple(sorted(unique.values(), key=lambda s: s.line))


@dataclass(frozen=True)
class _ShadowView:
    rule: Rule
    covering: tuple[Rule, ...]
    opposite_action: bool
    empty: bool


# Shadowing depends only on what the rules match and do, not on where they stand in a file:
# fleets deploy ACLs from templates, so one analysis serves every device that carries the
# same ACL. Keyed by the rules' meaning; values are rule indices (no text, no secrets).
_SHADOW_MEMO: dict[str, list[tuple[int, tuple[int, ...], bool, bool]]] = {}
_SHADOW_MEMO_LIMIT = 4096


def _shadowed_by_meaning(rules: tuple[Rule, ...]) -> list[tuple[int, tuple[int, ...], bool, bool]]:
    key = hashlib.sha256(
        "\n".join(
            r.model_dump_json(include={"action", "sources", "destinations", "services"})
            for r in rules
        ).encode()
    ).hexdigest()
    found = _SHADOW_MEMO.get(key)
    if found is None:
        position = {id(rule): i for i, rule in enumerate(rules)}
        found = [
            (
                position[id(s.rule)],
                tuple(position[id(c)] for c in s.covering),
                s.opposite_action,
                s.empty,
            )
            for s in PacketSpace().shadowed(rules)
        ]
        if len(_SHADOW_MEMO) >= _SHADOW_MEMO_LIMIT:
            _SHADOW_MEMO.clear()
        _SHADOW_MEMO[key] = found
    return found


def check_shadowing(facts: DeviceFacts) -> Finding:
    """The acl-no-shadowed-lines analysis: lines earlier lines make unreachable."""
    if facts.acls is None:
        return Finding("inconclusive", (f"the {facts.platform} parser cannot establish ACLs yet",))
    if not facts.acls:
        return Finding("pass", empty=True)
    shadowed: list[str] = []
    unsure: list[str] = []
    evidence: list[SourceLine] = []
    for acl in facts.acls:
        if acl.unsupported:
            unsure.append(f"{acl.label}: line {acl.unsupported[0].line} cannot be interpreted")
            evidence.extend(acl.unsupported)
            continue
        for index, covering_at, opposite, empty in _shadowed_by_meaning(acl.rules):
            finding_rule = acl.rules[index]
            covering = tuple(acl.rules[i] for i in covering_at)
            finding = _ShadowView(finding_rule, covering, opposite, empty)
            if acl.approximate and any(
                c.line in {a.line for a in acl.approximate} for c in covering
            ):
                unsure.append(
                    f"{acl.label} line {finding.rule.line} may be shadowed by"
                    " over-approximated lines"
                )
                continue
            danger = (
                " with the opposite action, so it never takes effect"
                if finding.opposite_action
                else ""
            )
            by = ", ".join(str(c.line) for c in covering[:3]) + ("..." if len(covering) > 3 else "")
            why = "it matches no packet at all" if finding.empty else f"covered by line {by}"
            shadowed.append(
                f"{acl.label} line {finding.rule.line} ({finding.rule.text.strip()})"
                f" can never match: {why}{danger}"
            )
            evidence.append(
                SourceLine(source=facts.source, line=finding.rule.line, text=finding.rule.text)
            )
            evidence.extend(
                SourceLine(source=facts.source, line=c.line, text=c.text) for c in covering
            )
    total = sum(len(a.rules) for a in facts.acls)
    if shadowed:
        return Finding("fail", tuple(shadowed), _lines(evidence), len(shadowed), total)
    if unsure:
        return Finding("inconclusive", tuple(unsure), _lines(evidence), len(unsure), total)
    return Finding("pass", (), (), 0, total)
