"""The packet-space analysis proves what an access list permits over every packet.

The reference is :mod:`smmcheck.acl.model` (first match, implicit deny): the BDD sets must
agree with it on every packet, the proofs must never miss a packet the model finds, and
their counterexamples must be real ones.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smmcheck.acl.bdd import BDD, FALSE, TRUE
from smmcheck.acl.model import (
    ICMP,
    TCP,
    UDP,
    Address,
    Packet,
    PortRange,
    Rule,
    Service,
    first_match,
    permits,
    rule_matches,
)
from smmcheck.acl.space import PacketCube, PacketSpace, shadowed

ANY = Address(value=0, wildcard=0xFFFFFFFF)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ip(text: str) -> int:
    a, b, c, d = (int(part) for part in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def addr(value: str, wildcard: str = "0.0.0.0") -> Address:
    return Address(value=ip(value), wildcard=ip(wildcard))


def tcp(*ports: int | tuple[int, int], established: bool = False) -> Service:
    ranges = tuple(PortRange(p, p) if isinstance(p, int) else PortRange(*p) for p in ports)
    return Service(protocol=TCP, dst_ports=ranges or None, established=established)


def rule(
    action: str,
    sources: tuple[Address, ...] = (ANY,),
    destinations: tuple[Address, ...] = (ANY,),
    services: tuple[Service, ...] = (Service(),),
    line: int = 0,
) -> Rule:
    return Rule(
        line=line,
        text=f"{action} line {line}",
        action=action,
        sources=sources,
        destinations=destinations,
        services=services,
    )


def packet(
    protocol: int = TCP,
    src: str = "10.0.0.1",
    dst: str = "10.0.1.1",
    src_port: int = 40000,
    dst_port: int = 443,
    established: bool = False,
) -> Packet:
    return Packet(protocol, ip(src), ip(dst), src_port, dst_port, established)


# --- strategies: rules around a few shared values, so that lines overlap and match ------

BASES = [ip("10.0.0.0"), ip("10.0.1.5"), ip("10.0.1.255"), ip("192.168.7.1"), ip("172.16.0.0")]
PORTS = [0, 1, 22, 23, 80, 443, 502, 1024, 8883, 65534, 65535]

values = st.one_of(st.sampled_from(BASES), st.integers(0, 0xFFFFFFFF))
prefix_wildcards = st.integers(0, 32).map(lambda bits: (1 << bits) - 1)
addresses = st.one_of(
    st.just(ANY),
    values.map(lambda v: Address(value=v, wildcard=0)),
    st.builds(lambda v, w: Address(value=v, wildcard=w), values, prefix_wildcards),
    # Non-contiguous wildcards, including ones sparse enough to leave few free bits.
    st.builds(lambda v, w: Address(value=v, wildcard=w), values, st.integers(0, 0xFFFFFFFF)),
    st.builds(
        lambda v, w: Address(value=v, wildcard=w & 0x0000FF0F),
        values,
        st.integers(0, 0xFFFFFFFF),
    ),
)
ports = st.one_of(st.sampled_from(PORTS), st.integers(0, 65535))
port_ranges = st.one_of(
    ports.map(lambda p: PortRange(p, p)),  # eq
    st.builds(lambda a, b: PortRange(min(a, b), max(a, b)), ports, ports),  # range
    ports.map(lambda p: PortRange(p, 65535)),  # gt-like
    ports.map(lambda p: PortRange(0, p)),  # lt-like
    st.builds(PortRange, ports, ports),  # sometimes low > high: an empty range
)
neq = ports.map(lambda p: (PortRange(0, p - 1), PortRange(p + 1, 65535)))
port_sets = st.one_of(
    st.none(), st.lists(port_ranges, min_size=1, max_size=3).map(tuple), neq, st.just(())
)
protocols = st.one_of(
    st.none(), st.sampled_from([TCP, UDP, ICMP]), st.integers(0, 255), st.just(300)
)
services = st.builds(
    lambda protocol, src, dst, established: Service(
        protocol=protocol, src_ports=src, dst_ports=dst, established=established
    ),
    protocols,
    st.one_of(st.none(), port_sets),
    port_sets,
    st.sampled_from([False, False, True]),
)
rules = st.builds(
    lambda action, src, dst, svc, line: rule(action, tuple(src), tuple(dst), tuple(svc), line),
    st.sampled_from(["permit", "deny"]),
    st.lists(addresses, min_size=1, max_size=3),
    st.lists(addresses, min_size=1, max_size=3),
    st.lists(services, min_size=1, max_size=3),
    st.integers(1, 999),
)
acls = st.lists(rules, min_size=0, max_size=8)


@st.composite
def packets_near(draw: st.DrawFn, acl: list[Rule]) -> Packet:
    """A packet drawn around the rules' own values (inside their address matches, at and
    next to their port bounds), so that rules do match, and sometimes anywhere."""

    def near_address(choices: tuple[Address, ...]) -> int:
        if not choices or draw(st.integers(0, 9)) == 0:
            return draw(st.integers(0, 0xFFFFFFFF))
        a = draw(st.sampled_from(choices))
        value = (a.value & ~a.wildcard | draw(st.integers(0, 0xFFFFFFFF)) & a.wildcard) & 0xFFFFFFFF
        if draw(st.booleans()):
            value ^= 1 << draw(st.integers(0, 31))  # just outside, often
        return value

    def near_port(ranges: tuple[PortRange, ...] | None) -> int:
        if not ranges or draw(st.integers(0, 5)) == 0:
            return draw(ports)
        r = draw(st.sampled_from(ranges))
        bound = draw(st.sampled_from([r.low, r.high]))
        return min(max(bound + draw(st.sampled_from([-1, 0, 0, 1])), 0), 65535)

    if not acl:
        return Packet(
            draw(st.integers(0, 255)),
            draw(st.integers(0, 0xFFFFFFFF)),
            draw(st.integers(0, 0xFFFFFFFF)),
            draw(ports),
            draw(ports),
            draw(st.booleans()),
        )
    r = draw(st.sampled_from(acl))
    service = draw(st.sampled_from(r.services)) if r.services else Service()
    protocol = service.protocol
    if protocol is None or protocol > 255 or draw(st.integers(0, 5)) == 0:
        protocol = draw(st.one_of(st.sampled_from([TCP, UDP, ICMP]), st.integers(0, 255)))
    return Packet(
        protocol,
        near_address(r.sources),
        near_address(r.destinations),
        near_port(service.src_ports),
        near_port(service.dst_ports),
        draw(st.booleans()),
    )


def sample(acl: list[Rule], count: int, seed: int) -> list[Packet]:
    """Many packets around the rules' values, without hypothesis (for brute force)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        r = rng.choice(acl) if acl else None

        def near_address(choices: tuple[Address, ...]) -> int:
            if not choices or rng.random() < 0.1:
                return rng.getrandbits(32)
            a = rng.choice(choices)
            value = (a.value & ~a.wildcard | rng.getrandbits(32) & a.wildcard) & 0xFFFFFFFF
            return value ^ (1 << rng.randrange(32)) if rng.random() < 0.3 else value

        def near_port(ranges: tuple[PortRange, ...] | None) -> int:
            if not ranges or rng.random() < 0.2:
                return rng.choice([*PORTS, rng.randrange(65536)])
            bound = rng.choice([x for pr in ranges for x in pr])
            return min(max(bound + rng.choice([-1, 0, 0, 1]), 0), 65535)

        service = rng.choice(r.services) if r and r.services else Service()
        protocol = service.protocol
        if protocol is None or protocol > 255 or rng.random() < 0.2:
            protocol = rng.choice([TCP, UDP, ICMP, rng.randrange(256)])
        out.append(
            Packet(
                protocol,
                near_address(r.sources if r else ()),
                near_address(r.destinations if r else ()),
                near_port(service.src_ports),
                near_port(service.dst_ports),
                rng.random() < 0.5,
            )
        )
    return out


# --- the packet sets agree with the model ------------------------------------------------


@PROPERTY
@given(st.data(), acls)
def test_permitted_agrees_with_first_match_on_every_sampled_packet(
    data: st.DataObject, acl: list[Rule]
) -> None:
    space = PacketSpace()
    permitted = space.permitted(acl)
    for p in data.draw(st.lists(packets_near(acl), min_size=20, max_size=20)):
        assert space.contains(permitted, p) == permits(acl, p), p


@PROPERTY
@given(st.data(), rules)
def test_a_rule_set_is_exactly_the_packets_the_rule_matches(data: st.DataObject, r: Rule) -> None:
    space = PacketSpace()
    node = space.rule(r)
    for p in data.draw(st.lists(packets_near([r]), min_size=30, max_size=30)):
        assert space.contains(node, p) == rule_matches(r, p), p


@PROPERTY
@given(acls)
def test_top_down_permitted_is_the_reference_back_to_front_fold(acl: list[Rule]) -> None:
    # Hash-consing makes equal sets the same node: this is equality over all packets.
    space = PacketSpace()
    assert space.permitted(acl) == space.permitted_fold(acl)


@PROPERTY
@given(acls, acls)
def test_the_proof_never_misses_and_its_counterexamples_are_real(
    acl: list[Rule], allowed_acl: list[Rule]
) -> None:
    space = PacketSpace()
    permitted, allowed = space.permitted(acl), space.permitted(allowed_acl)
    outside = space.diff(permitted, allowed)
    example = space.example(outside)
    found = space.find([permitted], [allowed])
    # Both take the first packet in the preference order: the same one.
    assert found == example
    if example is None:
        for p in sample(acl + allowed_acl, 400, seed=len(acl)):
            assert not (permits(acl, p) and not permits(allowed_acl, p)), p
    else:
        for witness in (example, found):
            assert witness is not None
            assert permits(acl, witness) and not permits(allowed_acl, witness)


@PROPERTY
@given(st.data(), st.lists(rules, min_size=1, max_size=3))
def test_cubes_cover_the_set_exactly(data: st.DataObject, acl: list[Rule]) -> None:
    space = PacketSpace()
    permitted = space.permitted(acl)
    cubes = list(space.cubes(permitted))
    assert (not cubes) == (permitted == FALSE)
    for cube in cubes[:50]:  # a corner of each cube is in the set
        corner = Packet(
            cube.protocols[0] if cube.protocols else 0,
            cube.src.value,
            cube.dst.value,
            cube.src_ports[0].low if cube.src_ports else 0,
            cube.dst_ports[0].high if cube.dst_ports else 0,
            bool(cube.established),
        )
        assert space.contains(permitted, corner)
    for p in data.draw(st.lists(packets_near(acl), min_size=20, max_size=20)):
        assert space.contains(permitted, p) == any(c.contains(p) for c in cubes), p


@PROPERTY
@given(acls)
def test_a_line_is_shadowed_exactly_when_no_packet_reaches_it_first(acl: list[Rule]) -> None:
    space = PacketSpace()
    found = {s.index: s for s in space.shadowed(acl)}
    for index, r in enumerate(acl):
        node = space.rule(r)
        earlier = space.bdd.or_all(space.rule(e) for e in acl[:index])
        witness = space.find([node], [earlier])
        if index in found:
            assert witness is None
            assert found[index].empty == (node == FALSE)
            for p in sample([r], 30, seed=index):
                if rule_matches(r, p):
                    first = next(i for i, e in enumerate(acl) if rule_matches(e, p))
                    assert first < index
                    assert acl[first] in found[index].covering
        else:
            assert witness is not None
            assert next(i for i, e in enumerate(acl) if rule_matches(e, witness)) == index


@PROPERTY
@given(acls, rules)
def test_reachable_lines_are_exactly_the_first_matches_inside_a_set(
    acl: list[Rule], region_rule: Rule
) -> None:
    space = PacketSpace()
    region = space.rule(region_rule)
    reached = space.reachable_lines(acl, region)
    for index, r in enumerate(acl):
        earlier = [space.rule(e) for e in acl[:index]]
        witness = space.find([region, space.rule(r)], earlier)
        assert (witness is not None) == (index in reached)
        if witness is not None:
            assert next(i for i, e in enumerate(acl) if rule_matches(e, witness)) == index


# --- shadowing, as a reviewer reads it ----------------------------------------------------


def test_everything_after_permit_ip_any_any_is_shadowed() -> None:
    acl = [
        rule("permit", line=1),
        rule("deny", destinations=(addr("10.0.0.1"),), services=(tcp(23),), line=2),
        rule("permit", sources=(addr("10.9.0.0", "0.0.255.255"),), line=3),
    ]
    result = shadowed(acl)
    assert [s.rule.line for s in result] == [2, 3]
    assert result[0].covering == (acl[0],) and result[0].opposite_action
    assert result[1].covering == (acl[0],) and not result[1].opposite_action


def test_a_deny_inside_an_earlier_permit_is_shadowed_with_the_opposite_action() -> None:
    acl = [
        rule("permit", sources=(addr("10.0.0.0", "0.0.0.255"),), services=(tcp(),), line=10),
        rule("deny", sources=(addr("10.0.0.23"),), services=(tcp(23),), line=20),
    ]
    (only,) = shadowed(acl)
    assert only.rule is acl[1] and only.index == 1
    assert only.covering == (acl[0],)
    assert only.opposite_action and not only.empty


def test_partially_overlapping_lines_are_not_shadowed() -> None:
    acl = [
        rule("permit", sources=(addr("10.0.0.0", "0.0.0.127"),), services=(tcp(),)),
        rule("deny", sources=(addr("10.0.0.0", "0.0.0.255"),), services=(tcp(23),)),
        rule("permit", services=(tcp((20, 30)),)),
    ]
    assert shadowed(acl) == []


def test_a_line_covered_only_by_the_union_of_two_earlier_lines_is_shadowed() -> None:
    acl = [
        rule("permit", sources=(addr("10.0.0.0", "0.0.0.127"),), services=(tcp(),)),
        rule("permit", sources=(addr("10.0.0.128", "0.0.0.127"),), services=(tcp(),)),
        rule("deny", sources=(addr("10.0.0.0", "0.0.0.255"),), services=(tcp(443),)),
    ]
    space = PacketSpace()
    (only,) = space.shadowed(acl)
    assert only.index == 2 and only.covering == (acl[0], acl[1]) and only.opposite_action
    # Neither earlier line covers it alone.
    assert not space.is_subset(space.rule(acl[2]), space.rule(acl[0]))
    assert not space.is_subset(space.rule(acl[2]), space.rule(acl[1]))


def test_a_line_that_matches_nothing_is_reported_as_empty() -> None:
    udp_established = Service(protocol=UDP, established=True)
    acl = [rule("permit", services=(udp_established,)), rule("permit", sources=())]
    assert [(s.index, s.empty, s.covering) for s in shadowed(acl)] == [(0, True, ()), (1, True, ())]


def test_reachable_lines_name_the_lines_that_decide_a_set() -> None:
    acl = [
        rule("deny", destinations=(addr("10.0.1.1"),), services=(tcp(23),)),
        rule("permit", destinations=(addr("10.0.1.0", "0.0.0.255"),), services=(tcp(),)),
        rule("permit", services=(tcp(443),)),
    ]
    space = PacketSpace()
    to_host = space.address("dst", addr("10.0.1.1"))
    assert space.reachable_lines(acl, to_host) == [0, 1]
    assert space.reachable_lines(acl, space.port_range("dst", PortRange(443, 443))) == [1, 2]
    assert space.reachable_lines(acl, space.nothing) == []


# --- fields -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "inside", "outside"),
    [
        (PortRange(0, 65535), [0, 1, 443, 65535], []),
        (PortRange(0, 0), [0], [1, 65535]),
        (PortRange(65535, 65535), [65535], [0, 65534]),
        (PortRange(443, 443), [443], [442, 444]),
        (PortRange(443, 8883), [443, 444, 8882, 8883], [442, 8884, 0, 65535]),
        (PortRange(1, 65534), [1, 32768, 65534], [0, 65535]),
        (PortRange(8884, 443), [], [443, 8883, 5000]),
        (PortRange(-5, 70000), [0, 65535], []),
    ],
)
def test_port_ranges_are_exact_at_their_bounds(
    ports: PortRange, inside: list[int], outside: list[int]
) -> None:
    space = PacketSpace()
    for field in ("src", "dst"):
        node = space.port_range(field, ports)
        for port, expected in [(p, True) for p in inside] + [(p, False) for p in outside]:
            p = packet(src_port=port) if field == "src" else packet(dst_port=port)
            assert space.contains(node, p) == expected, (field, port)
    assert space.port_range("dst", PortRange(0, 65535)) == space.everything


@given(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535))
def test_any_port_range_contains_exactly_its_ports(low: int, high: int, port: int) -> None:
    space = PacketSpace()
    node = space.port_range("dst", PortRange(low, high))
    assert space.contains(node, packet(dst_port=port)) == (low <= port <= high)


def test_non_contiguous_wildcards_are_exact() -> None:
    space = PacketSpace()
    # Host .5 in every /24 of 10.1.0.0/16.
    node = space.address("src", addr("10.1.0.5", "0.0.255.0"))
    assert space.contains(node, packet(src="10.1.77.5"))
    assert not space.contains(node, packet(src="10.1.77.6"))
    assert not space.contains(node, packet(src="10.2.77.5"))
    # Even hosts of 10.0.0.0/24: the last bit is the only one cared for in the last octet.
    even = space.address("dst", addr("10.0.0.0", "0.0.0.254"))
    assert space.contains(even, packet(dst="10.0.0.200"))
    assert not space.contains(even, packet(dst="10.0.0.201"))
    assert space.address("dst", ANY) == space.everything
    assert space.addresses("dst", ()) == space.nothing


def test_services_follow_the_model() -> None:
    space = PacketSpace()
    telnet = space.service(tcp(23))
    assert space.contains(telnet, packet(dst_port=23))
    assert not space.contains(telnet, packet(protocol=UDP, dst_port=23))
    # Ports are ignored unless the protocol is TCP, UDP or ICMP.
    assert space.service(Service(protocol=None, dst_ports=(PortRange(1, 1),))) == TRUE
    gre = space.service(Service(protocol=47, dst_ports=(PortRange(1, 1),)))
    assert space.contains(gre, packet(protocol=47, dst_port=9))
    # ICMP: the type is the source port, the code the destination port.
    echo = space.service(Service(protocol=ICMP, src_ports=(PortRange(8, 8),)))
    assert space.contains(echo, packet(protocol=ICMP, src_port=8, dst_port=0))
    assert not space.contains(echo, packet(protocol=ICMP, src_port=0, dst_port=8))
    # established: TCP with ACK or RST, whatever the service's protocol says.
    replies = space.service(Service(established=True))
    assert space.contains(replies, packet(established=True))
    assert not space.contains(replies, packet(established=False))
    assert not space.contains(replies, packet(protocol=UDP, established=True))
    assert space.service(Service(protocol=UDP, established=True)) == space.nothing
    assert space.service(Service(protocol=300)) == space.nothing
    assert space.services(()) == space.nothing


def test_examples_are_deterministic_members_and_prefer_the_given_packet() -> None:
    space = PacketSpace()
    acl = [
        rule("deny", services=(tcp(23),)),
        rule("permit", sources=(addr("10.0.0.0", "0.0.0.255"),), services=(tcp((20, 30)),)),
    ]
    permitted = space.permitted(acl)
    first = space.example(permitted)
    assert first is not None and permits(acl, first)
    other = PacketSpace()  # another analysis, the same answer
    assert first == other.example(other.permitted(acl)) == space.example(permitted)
    assert first.protocol == TCP and first.dst_port == 20  # the lowest where free
    preferred = space.example(permitted, prefer=packet(src="10.0.0.77", dst_port=25))
    assert preferred == packet(src="10.0.0.77", dst_port=25)
    assert space.example(space.nothing) is None
    assert space.find([permitted], [space.everything]) is None


def test_cubes_group_ports_and_protocols() -> None:
    space = PacketSpace()
    web = rule(
        "permit",
        sources=(addr("10.0.0.0", "0.0.0.255"),),
        destinations=(addr("10.0.1.1"),),
        services=(
            tcp(80, 443, (8000, 8080)),
            Service(protocol=UDP, dst_ports=(PortRange(443, 443),)),
        ),
    )
    cubes = list(space.cubes(space.permitted([web])))
    assert cubes == [
        PacketCube(
            protocols=(TCP,),
            src=addr("10.0.0.0", "0.0.0.255"),
            dst=addr("10.0.1.1"),
            src_ports=None,
            dst_ports=(PortRange(80, 80), PortRange(443, 443), PortRange(8000, 8080)),
            established=None,
        ),
        PacketCube(
            protocols=(UDP,),
            src=addr("10.0.0.0", "0.0.0.255"),
            dst=addr("10.0.1.1"),
            src_ports=None,
            dst_ports=(PortRange(443, 443),),
            established=None,
        ),
    ]
    assert list(space.cubes(space.everything)) == [PacketCube(None, ANY, ANY, None, None, None)]
    assert list(space.cubes(space.nothing)) == []


def test_packets_outside_the_ipv4_header_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="not an IPv4 packet header"):
        PacketSpace().contains(TRUE, packet(dst_port=70000))


# --- the BDD package ----------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 7), st.booleans()), max_size=4), max_size=6))
def test_bdd_operations_are_canonical_and_agree_with_truth_tables(
    cube_lists: list[list[tuple[int, bool]]],
) -> None:
    bdd = BDD(8)
    # Build two functions as unions of random cubes, then check every operation on all
    # 256 assignments, and that equal functions are the same node.
    half = len(cube_lists) // 2
    a = bdd.or_all(bdd.cube(dict(c)) for c in cube_lists[:half])
    b = bdd.or_all(bdd.cube(dict(c)) for c in cube_lists[half:])

    def table(node: int) -> list[bool]:
        return [bdd.evaluate(node, bits) for bits in range(256)]

    ta, tb = table(a), table(b)
    assert table(bdd.and_(a, b)) == [x and y for x, y in zip(ta, tb, strict=True)]
    assert table(bdd.or_(a, b)) == [x or y for x, y in zip(ta, tb, strict=True)]
    assert table(bdd.diff(a, b)) == [x and not y for x, y in zip(ta, tb, strict=True)]
    assert table(bdd.not_(a)) == [not x for x in ta]
    assert bdd.not_(bdd.not_(a)) == a
    assert bdd.and_(a, b) == bdd.and_(b, a) == bdd.not_(bdd.or_(bdd.not_(a), bdd.not_(b)))
    assert bdd.ite(a, b, FALSE) == bdd.and_(a, b) and bdd.ite(a, TRUE, b) == bdd.or_(a, b)
    assert bdd.intersects(a, b) == (bdd.and_(a, b) != FALSE)
    assert bdd.implies(a, b) == (bdd.diff(a, b) == FALSE)
    assert bdd.decision_list([(a, False), (b, True)]) == bdd.diff(b, a)
    assert bdd.first_hits([a, b]) == {i for i, n in enumerate([a, bdd.diff(b, a)]) if n}
    chosen = bdd.pick(a)
    assert (chosen is None) == (a == FALSE)
    if chosen is not None:
        bits = sum(1 << (7 - v) for v, value in chosen.items() if value)
        assert bdd.evaluate(a, bits)
    union = bdd.or_all(bdd.cube(path) for path in bdd.paths(a))
    assert union == a
    witness = bdd.witness([a], [b])
    assert (witness is None) == (bdd.diff(a, b) == FALSE)
    # The pairwise witness search makes the same choices as the general one.
    prefer = {v: bool(v % 3) for v in range(8)}
    assert bdd.witness([a], [b], prefer) == bdd.witness([a, TRUE], [b, FALSE], prefer)
    assert bdd.witness([b]) == bdd.witness([b, TRUE])
    # Longer decision lists (states of three entries and more) are the ite fold.
    c = bdd.cube(dict(cube_lists[0])) if cube_lists else TRUE
    entries = [(a, True), (b, False), (c, True), (bdd.or_(b, c), True), (bdd.not_(a), False)]
    fold = FALSE
    for node, verdict in reversed(entries):
        fold = bdd.ite(node, TRUE if verdict else FALSE, fold)
    assert bdd.decision_list(entries) == fold


def test_bdd_stack_is_conjunction_of_ordered_blocks_and_cache_is_bounded() -> None:
    bdd = BDD(8, cache_limit=10)
    top = bdd.or_(bdd.cube({0: True, 1: False}), bdd.cube({1: True, 2: True}))
    bottom = bdd.or_(bdd.cube({5: True}), bdd.cube({6: False, 7: True}))
    assert bdd.stack(top, bottom) == bdd.and_(top, bottom)
    assert bdd.stack(top, bdd.literal(7)) == bdd.and_(top, bdd.literal(7))  # order reused
    assert bdd.stack(top, FALSE) == FALSE and bdd.stack(TRUE, bottom) == bottom
    cube = bdd.bits_cube(2, 3, 0b101, 0b110)  # variables 2 and 3: 1 then 0; 4 free
    assert cube == bdd.cube({2: True, 3: False})
    assert bdd.bits_cube(2, 3, 0b101, 0b110, bottom) == bdd.and_(cube, bottom)
    for i in range(8):
        bdd.or_(bdd.literal(i), top)
    assert len(bdd._cache) <= 10 + 8 * 4  # cleared between top-level operations


# --- a realistic access list --------------------------------------------------------------


def realistic_acl(count: int, seed: int) -> list[Rule]:
    """Host and subnet sources and destinations across 60 sites, TCP/UDP single ports,
    ranges and port groups, some `established` and ICMP lines, denies, a final deny."""
    rng = random.Random(seed)
    sites = [ip(f"10.{rng.randrange(256)}.{rng.randrange(256)}.0") for _ in range(60)]
    well_known = [22, 23, 53, 80, 102, 123, 161, 443, 502, 1883, 2404, 4840, 8883, 20000, 44818]

    def address() -> Address:
        site = rng.choice(sites)
        if rng.random() < 0.6:
            return Address(value=site | rng.randrange(1, 255), wildcard=0)
        bits = rng.choice([2, 3, 4, 6, 8])
        return Address(
            value=(site | rng.randrange(256)) & ~((1 << bits) - 1), wildcard=(1 << bits) - 1
        )

    def service() -> Service:
        protocol = TCP if rng.random() < 0.75 else UDP
        shape = rng.random()
        if shape < 0.7:
            port = rng.choice(well_known)
            return Service(protocol=protocol, dst_ports=(PortRange(port, port),))
        if shape < 0.85:
            low = rng.randrange(1024, 60000)
            return Service(protocol=protocol, dst_ports=(PortRange(low, low + rng.randrange(500)),))
        if shape < 0.9:
            return Service(protocol=TCP, established=True)
        if shape < 0.95:
            return Service(protocol=ICMP, src_ports=(PortRange(8, 8),))
        ports_ = rng.sample(well_known, 4)
        return Service(protocol=protocol, dst_ports=tuple(PortRange(p, p) for p in ports_))

    acl = [
        rule(
            "deny" if rng.random() < 0.1 else "permit",
            (address(),) if rng.random() < 0.9 else tuple(address() for _ in range(6)),
            (address(),) if rng.random() < 0.9 else tuple(address() for _ in range(6)),
            (service(),) if rng.random() < 0.85 else tuple(service() for _ in range(5)),
            line=line,
        )
        for line in range(1, count)
    ]
    return [*acl, rule("deny", line=count)]


def test_a_realistic_2000_line_acl_builds_and_answers_queries() -> None:
    acl = realistic_acl(2000, seed=2024)
    space = PacketSpace()
    permitted = space.permitted(acl)
    assert permitted not in (space.nothing, space.everything)
    # Which telnet flows does the list permit? Whatever the answer, it is the model's.
    telnet = space.and_(space.protocol(TCP), space.port_range("dst", PortRange(23, 23)))
    example = space.find([permitted, telnet])
    if example is not None:
        assert permits(acl, example) and example.dst_port == 23
        decider = first_match(acl, example)
        assert decider is not None and decider.action == "permit"
    # Agreement with the model on packets aimed at the lines' own values.
    for p in sample(acl, 150, seed=1):
        assert space.contains(permitted, p) == permits(acl, p), p
    assert len(space.shadowed(acl)) < len(acl)
