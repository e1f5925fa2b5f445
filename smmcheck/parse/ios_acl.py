"""IOS / IOS-XE IPv4 access lists and object-groups into the rule model.

Standard and extended, numbered (``access-list N``) and named (``ip access-list``);
``host``, ``any``, wildcards (non-contiguous too), protocol names and numbers,
``eq/neq/lt/gt/range`` on both ports with IOS port names, ``established``, ICMP types,
``log``/``log-input``, remarks, sequence numbers, and network/service object-groups.

Soundness over guessing: a line with a match condition the model lacks (time-range,
fragments, dscp, TCP flags ...) is kept as a permit that matches more, or dropped when it
denies, so the permitted set is over-approximated and listed as ``approximate``. A line
that cannot be understood is ``unsupported``: analyses of that ACL are then inconclusive.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from smmcheck.acl.model import ANY_WILDCARD, ICMP, TCP, UDP, Address, PortRange, Rule, Service
from smmcheck.acl.names import ICMP_TYPES, PROTOCOLS, port_number
from smmcheck.facts import Acl, SourceLine
from smmcheck.parse.cisco import Config, Text
from smmcheck.parse.tree import Node

ANY = Address(value=0, wildcard=ANY_WILDCARD)
ANY_SERVICE = Service()
# Options that only log or annotate: they do not change what a line matches.
_NEUTRAL = {"log", "log-input"}
# Match conditions the model does not represent: over-approximated (see module docstring).
_UNMODELLED_WITH_ARG = {
    "time-range",
    "dscp",
    "precedence",
    "tos",
    "option",
    "reflect",
    "match-all",
    "match-any",
}
_UNMODELLED = {"fragments", "ack", "fin", "psh", "rst", "syn", "urg"}
_PORT_OPS = {"eq", "neq", "lt", "gt", "range"}


class Unsupported(Exception):
    """A line the parser cannot map to the model (the message says which word)."""


@dataclass
class _Groups:
    network: dict[str, Node] = field(default_factory=dict)
    service: dict[str, Node] = field(default_factory=dict)


def parse_acls(config: Config, *, nxos: bool = False) -> tuple[Acl, ...]:
    """Every IPv4 ACL the configuration defines, in configuration order.

    NX-OS writes ``ip access-list NAME`` (always extended), prefixes as ``A.B.C.D/LEN`` and
    a ``statistics per-entry`` line; otherwise its entries read like IOS ones.
    """
    groups = _Groups()
    for node in config.first("object-group"):
        words = node.words()
        if len(words) >= 3 and words[1] in ("network", "service"):
            getattr(groups, words[1])[words[2]] = node
    acls: list[Acl] = []
    numbered: dict[str, list[Node]] = {}
    for node in config.first("access-list"):
        words = node.words()
        if len(words) >= 3 and words[1].isdigit():
            numbered.setdefault(words[1], []).append(node)
    for number, nodes in numbered.items():
        kind = "standard" if _is_standard(int(number)) else "extended"
        acls.append(
            _build(
                config.raw,
                f"access-list {number}",
                number,
                kind,
                [(n, n.words()[2:]) for n in nodes],
                nodes[0],
                groups,
            )
        )
    for node in config.first("ip"):
        words = node.words()
        if words[:2] != ["ip", "access-list"]:
            continue
        entries = [
            (c, c.words()) for c in node.children if c.words() != ["statistics", "per-entry"]
        ]
        if len(words) >= 4 and words[2] in ("standard", "extended"):
            acls.append(_build(config.raw, node.text, words[3], words[2], entries, node, groups))
        elif nxos and len(words) == 3:
            acls.append(
                _build(
                    config.raw, node.text, words[2], "extended", entries, node, groups, nxos=True
                )
            )
    return tuple(acls)


def _is_standard(number: int) -> bool:
    return 1 <= number <= 99 or 1300 <= number <= 1999


def _build(
    raw: Text,
    label: str,
    name: str,
    kind: str,
    entries: list[tuple[Node, list[str]]],
    header: Node,
    groups: _Groups,
    *,
    nxos: bool = False,
) -> Acl:
    rules: list[Rule] = []
    approximate: list[SourceLine] = []
    unsupported: list[SourceLine] = []
    for node, entry in entries:
        sequence = None
        words = entry
        if words and words[0].isdigit():
            sequence, words = int(words[0]), words[1:]
        if not words or words[0] == "remark":
            continue
        evidence = raw.evidence(node)[0]
        try:
            rule, approx = _entry(words, kind, groups, node.line, evidence.text, sequence, nxos)
        except Unsupported as exc:
            unsupported.append(evidence.model_copy(update={"text": f"{evidence.text}  [{exc}]"}))
            continue
        if approx:
            approximate.append(evidence)
        if rule is not None:
            rules.append(rule)
    return Acl(
        label=label,
        name=name,
        kind=kind,
        rules=tuple(rules),
        approximate=tuple(approximate),
        unsupported=tuple(unsupported),
        evidence=raw.evidence(header),
    )


def _entry(
    words: list[str],
    kind: str,
    groups: _Groups,
    line: int,
    text: str,
    sequence: int | None,
    nxos: bool = False,
) -> tuple[Rule | None, bool]:
    """A rule from the words of one entry, and whether it is an approximation."""
    if not words or words[0] not in ("permit", "deny"):
        raise Unsupported(f"'{words[0] if words else ''}' is not permit/deny")
    action, rest = words[0], list(words[1:])
    if kind == "standard":
        sources = _address(rest, groups, bare_host=True)
        _options(rest)
        return Rule(
            line=line,
            text=text,
            action=action,
            sources=sources,
            destinations=(ANY,),
            services=(ANY_SERVICE,),
            sequence=sequence,
        ), False
    if not rest:
        raise Unsupported("no protocol")
    services_from_group: tuple[Service, ...] | None = None
    if rest[0] == "object-group" and len(rest) > 1:
        services_from_group = _service_group(rest[1], groups, set())
        rest = rest[2:]
        protocol = None
    else:
        word = rest.pop(0)
        protocol = _protocol(word)
    sources = _address(rest, groups, bare_host=nxos)
    src_ports = _ports(rest, protocol) if protocol in (TCP, UDP) else None
    destinations = _address(rest, groups, bare_host=nxos)
    dst_ports = _ports(rest, protocol) if protocol in (TCP, UDP) else None
    icmp: tuple[int | None, int | None] = (None, None)
    if protocol == ICMP:
        icmp = _icmp(rest)
    established = False
    if "established" in rest and protocol == TCP:
        established = True
        rest.remove("established")
    approx = _options(rest)
    if approx and action == "deny":
        # A deny that matches only some of these packets: leaving it out can only make
        # the permitted set larger, which keeps a "nothing else permitted" proof sound.
        return None, True
    if services_from_group is not None:
        services = services_from_group
    elif protocol == ICMP:
        type_ports = None if icmp[0] is None else (PortRange(icmp[0], icmp[0]),)
        code_ports = None if icmp[1] is None else (PortRange(icmp[1], icmp[1]),)
        services = (Service(protocol=ICMP, src_ports=type_ports, dst_ports=code_ports),)
    else:
        services = (
            Service(
                protocol=protocol, src_ports=src_ports, dst_ports=dst_ports, established=established
            ),
        )
    rule = Rule(
        line=line,
        text=text,
        action=action,
        sources=sources,
        destinations=destinations,
        services=services,
        sequence=sequence,
    )
    return rule, approx


def _protocol(word: str) -> int | None:
    if word.isdigit() and int(word) <= 255:
        return int(word)
    if word in PROTOCOLS:
        return PROTOCOLS[word]
    raise Unsupported(f"unknown protocol '{word}'")


def _address(rest: list[str], groups: _Groups, *, bare_host: bool = False) -> tuple[Address, ...]:
    """Consume an address spec from the front of ``rest``."""
    if not rest:
        raise Unsupported("missing address")
    word = rest.pop(0)
    if word == "any":
        return (ANY,)
    if word == "host" and rest:
        return (Address(value=_ip(rest.pop(0)), wildcard=0),)
    if word == "object-group" and rest:
        return _network_group(rest.pop(0), groups, set())
    if "/" in word:  # NX-OS prefix notation
        return (_prefix(word),)
    value = _ip(word)
    if rest and _is_ip(rest[0]):
        return (Address(value=value, wildcard=_ip(rest.pop(0))),)
    if bare_host:
        # `access-list 10 permit 10.1.1.1` (standard), NX-OS `permit ip 10.1.1.1 any`
        return (Address(value=value, wildcard=0),)
    raise Unsupported(f"address '{word}' has no wildcard")


def _ports(rest: list[str], protocol: int | None) -> tuple[PortRange, ...] | None:
    """Consume an optional port operator from the front of ``rest``."""
    if not rest or rest[0] not in _PORT_OPS:
        return None
    op = rest.pop(0)
    if op == "range":
        low, high = _port(rest, protocol), _port(rest, protocol)
        return (PortRange(low, high),) if low <= high else ()
    number = _port(rest, protocol)
    if op == "eq":
        ports = [number]
        while (
            rest
            and rest[0] not in _PORT_OPS
            and port_number(rest[0], protocol) is not None
            and not _is_ip(rest[0])
        ):
            ports.append(_port(rest, protocol))
        return tuple(PortRange(p, p) for p in ports)
    if op == "neq":
        return tuple(
            r for r in (PortRange(0, number - 1), PortRange(number + 1, 65535)) if r.low <= r.high
        )
    if op == "lt":
        return (PortRange(0, number - 1),) if number > 0 else ()
    return (PortRange(number + 1, 65535),) if number < 65535 else ()  # gt


def _port(rest: list[str], protocol: int | None) -> int:
    if not rest:
        raise Unsupported("missing port")
    word = rest.pop(0)
    number = port_number(word, protocol)
    if number is None:
        raise Unsupported(f"unknown port '{word}'")
    return number


def _icmp(rest: list[str]) -> tuple[int | None, int | None]:
    if rest and rest[0].isdigit():
        icmp_type = int(rest.pop(0))
        code = int(rest.pop(0)) if rest and rest[0].isdigit() else None
        return icmp_type, code
    if rest and rest[0] in ICMP_TYPES:
        return ICMP_TYPES[rest.pop(0)]
    return None, None


def _options(rest: list[str]) -> bool:
    """Consume trailing options; True when one of them is an unmodelled match condition."""
    approx = False
    while rest:
        word = rest.pop(0)
        if word in _NEUTRAL:
            if (
                rest
                and word == "log"
                and not rest[0].startswith(("log", "time"))
                and rest[0] not in _UNMODELLED
                and rest[0] not in _UNMODELLED_WITH_ARG
            ):
                rest.pop(0)  # `log TAG`
            continue
        if word in _UNMODELLED:
            approx = True
        elif word in _UNMODELLED_WITH_ARG:
            approx = True
            if rest:
                rest.pop(0)
        elif word == "ttl" and len(rest) >= 2:
            approx = True
            del rest[: 3 if rest[0] == "range" else 2]
        else:
            raise Unsupported(f"unknown option '{word}'")
    return approx


def _group(table: dict[str, Node], kind: str, name: str, seen: set[str]) -> Node:
    node = table.get(name)
    if node is None:
        raise Unsupported(f"object-group {kind} '{name}' is not defined")
    if name in seen:
        raise Unsupported(f"object-group '{name}' contains itself")
    return node


def _network_group(name: str, groups: _Groups, seen: set[str]) -> tuple[Address, ...]:
    node = _group(groups.network, "network", name, seen)
    found: list[Address] = []
    for child in node.children:
        words = child.words()
        if not words or words[0] == "description":
            continue
        if words[0] == "host" and len(words) == 2:
            found.append(Address(value=_ip(words[1]), wildcard=0))
        elif words[0] == "any":
            found.append(ANY)
        elif words[0] == "range" and len(words) == 3:
            found.extend(_range_addresses(words[1], words[2]))
        elif words[0] == "group-object" and len(words) == 2:
            found.extend(_network_group(words[1], groups, seen | {name}))
        elif len(words) == 2 and _is_ip(words[0]) and _is_ip(words[1]):
            # Network object-groups take a subnet mask, not a wildcard.
            found.append(Address(value=_ip(words[0]), wildcard=~_ip(words[1]) & ANY_WILDCARD))
        elif len(words) == 1 and "/" in words[0]:
            found.append(_prefix(words[0]))
        else:
            raise Unsupported(f"object-group '{name}' entry '{child.text}'")
    return tuple(found)


def _service_group(name: str, groups: _Groups, seen: set[str]) -> tuple[Service, ...]:
    node = _group(groups.service, "service", name, seen)
    found: list[Service] = []
    for child in node.children:
        words = child.words()
        if not words or words[0] == "description":
            continue
        if words[0] == "group-object" and len(words) == 2:
            found.extend(_service_group(words[1], groups, seen | {name}))
            continue
        protocols = [TCP, UDP] if words[0] == "tcp-udp" else [_protocol(words[0])]
        rest = words[1:]
        for protocol in protocols:
            items = list(rest)
            if protocol == ICMP:
                icmp = _icmp(items)
                service = Service(
                    protocol=ICMP,
                    src_ports=None if icmp[0] is None else (PortRange(icmp[0], icmp[0]),),
                    dst_ports=None if icmp[1] is None else (PortRange(icmp[1], icmp[1]),),
                )
            else:
                src = None
                if items[:1] == ["source"]:
                    items.pop(0)
                    src = _ports(items, protocol)
                dst = _ports(items, protocol) if protocol in (TCP, UDP) else None
                service = Service(protocol=protocol, src_ports=src, dst_ports=dst)
            if items:
                raise Unsupported(f"object-group '{name}' entry '{child.text}'")
            found.append(service)
    return tuple(found)


def _prefix(text: str) -> Address:
    try:
        return Address.from_prefix(text)
    except ValueError:
        raise Unsupported(f"'{text}' is not an IPv4 prefix") from None


def _range_addresses(first: str, last: str) -> list[Address]:
    networks = ipaddress.summarize_address_range(
        ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
    )
    return [Address.from_prefix(str(n)) for n in networks]


def _ip(word: str) -> int:
    try:
        return int(ipaddress.IPv4Address(word))
    except ValueError:
        raise Unsupported(f"'{word}' is not an IPv4 address") from None


def _is_ip(word: str) -> bool:
    try:
        ipaddress.IPv4Address(word)
    except ValueError:
        return False
    return True
