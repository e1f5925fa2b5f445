"""Benchmark: proving what a 2,000-line access list permits, over the whole packet space.

Generates one ICS-style extended ACL between 250 site subnets: hosts, subnets (/22-/30),
non-contiguous wildcards, TCP/UDP single ports, ranges, neq-like and source-port lines,
`established` and ICMP lines, object-group-like unions of 5-10 addresses or services on a
share of the fields (``--groups``, default 15%), `any` on 5% of the sources and 2% of the
destinations, 10% denies and a final deny. Then measures, in one run:

  rules          the BDD of every line (addresses, ports and services memoised)
  permitted      the set the whole ACL permits (first match, implicit deny)
  query          a zone containment query: is every flow permitted from the OT zone
                 HTTPS or MQTT/TLS? (``find``: a counterexample packet, or a proof)
  query (built)  the same, by building permitted & zone & ~allowed and picking from it
  proof          a query whose answer is a proof (no packet), exploring the whole set:
                 every permitted packet is inside the union of the permit lines
  example        one packet of the permitted set
  shadowed       every line no packet can reach first, with the lines that cover it

and prints seconds, rules per second, BDD sizes and the peak memory of the process.
``--fold`` also times the reference back-to-front fold; ``--profile`` profiles rules and
permitted. Usage: python bench/bench_acl.py [N] [--seed S] [--groups G] [--fold]
[--profile] (default N 2000).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import resource
import time
from collections.abc import Callable
from typing import TypeVar

from smmcheck.acl.model import ICMP, TCP, UDP, Address, Packet, PortRange, Rule, Service
from smmcheck.acl.space import PacketSpace

T = TypeVar("T")
ANY = Address(value=0, wildcard=0xFFFFFFFF)
SITES = 250  # /24 subnets in 10.0.0.0/8 the lines are written between
WELL_KNOWN = [20, 21, 22, 23, 25, 53, 80, 102, 123, 161, 162, 443, 502, 1883, 2404]
WELL_KNOWN += [4840, 8080, 8443, 8883, 20000, 44818, 47808]


def ip(a: int, b: int, c: int, d: int) -> int:
    return a << 24 | b << 16 | c << 8 | d


def generate(count: int, rng: random.Random, groups: float = 0.15) -> list[Rule]:
    """An ACL of ``count`` lines between SITES subnets, in the shapes real ones take:
    mostly host and subnet pairs with one port or a range, non-contiguous wildcards, and
    on a share ``groups`` of the address and service fields an object-group (a union of
    5-10 addresses or services, each group defined once and used on many lines); a few
    `any`, 10% denies."""
    sites = [ip(10, rng.randrange(256), rng.randrange(256), 0) for _ in range(SITES)]

    def host() -> Address:
        return Address(value=rng.choice(sites) | rng.randrange(1, 255), wildcard=0)

    def subnet() -> Address:
        bits = rng.choice([2, 3, 4, 5, 6, 8, 8, 8])
        net = (rng.choice(sites) | rng.randrange(256)) & ~((1 << bits) - 1)
        return Address(value=net, wildcard=(1 << bits) - 1)

    def noncontiguous() -> Address:
        # One host number in every /24 of the site's /16, or every other host of a /24.
        if rng.random() < 0.5:
            return Address(value=rng.choice(sites) | rng.randrange(1, 255), wildcard=0xFF00)
        return Address(value=rng.choice(sites) | rng.randrange(2), wildcard=0xFE)

    def member() -> Address:
        return host() if rng.random() < 0.6 else subnet()

    def port_service() -> Service:
        protocol = TCP if rng.random() < 0.7 else UDP
        if rng.random() < 0.8:
            port = rng.choice(WELL_KNOWN)
            return Service(protocol=protocol, dst_ports=(PortRange(port, port),))
        low = rng.randrange(1024, 60000)
        return Service(protocol=protocol, dst_ports=(PortRange(low, low + rng.randrange(1, 2000)),))

    network_groups = [tuple(member() for _ in range(rng.randrange(5, 11))) for _ in range(60)]
    service_groups = [tuple(port_service() for _ in range(rng.randrange(5, 11))) for _ in range(25)]

    def addresses(any_share: float) -> tuple[Address, ...]:
        shape = rng.random()
        if shape < any_share:
            return (ANY,)
        if rng.random() < groups:
            return rng.choice(network_groups)
        if shape < 0.55:
            return (host(),)
        if shape < 0.90:
            return (subnet(),)
        return (noncontiguous(),)

    def services() -> tuple[Service, ...]:
        if rng.random() < groups:
            return rng.choice(service_groups)
        shape = rng.random()
        protocol = TCP if rng.random() < 0.7 else UDP
        if shape < 0.75:
            return (port_service(),)
        if shape < 0.81:  # neq-like: everything but one port
            port = rng.choice(WELL_KNOWN)
            return (
                Service(
                    protocol=protocol,
                    dst_ports=(PortRange(0, port - 1), PortRange(port + 1, 65535)),
                ),
            )
        if shape < 0.87:
            return (Service(protocol=protocol, src_ports=(PortRange(1024, 65535),)),)
        if shape < 0.93:
            return (Service(protocol=TCP, established=True),)
        if shape < 0.97:
            icmp_type = rng.choice([0, 3, 8, 11])
            return (Service(protocol=ICMP, src_ports=(PortRange(icmp_type, icmp_type),)),)
        return (Service(protocol=protocol),)

    rules = []
    for line in range(1, count):
        rules.append(
            Rule(
                line=line,
                text=f"line {line}",
                action="deny" if rng.random() < 0.1 else "permit",
                sources=addresses(0.05),
                destinations=addresses(0.02),
                services=services(),
            )
        )
    rules.append(
        Rule(
            line=count,
            text="deny ip any any",
            action="deny",
            sources=(ANY,),
            destinations=(ANY,),
            services=(Service(),),
        )
    )
    return rules


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--groups", type=float, default=0.15, help="object-group share")
    parser.add_argument("--fold", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    rules = generate(args.count, random.Random(args.seed), args.groups)
    times: dict[str, float] = {}

    def timed(name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        times[name] = time.perf_counter() - started
        return result

    space = PacketSpace()
    profile = cProfile.Profile() if args.profile else None
    if profile:
        profile.enable()
    timed("rules", lambda: [space.rule(rule) for rule in rules])
    permitted = timed("permitted", lambda: space.permitted(rules))
    if profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)

    # Zone query: is every flow permitted from the OT zone (10.0.0.0/8 with the third
    # octet < 128: a non-contiguous wildcard) HTTPS or MQTT over TLS? The answer is a
    # counterexample packet, or None: a proof over every packet.
    ot = space.address("src", Address(value=ip(10, 0, 0, 0), wildcard=0x00FF7FFF))
    tls = space.and_(space.protocol(TCP), space.port_range("dst", PortRange(443, 443)))
    mqtt = space.and_(space.protocol(TCP), space.port_range("dst", PortRange(8883, 8883)))
    allowed = space.or_(tls, mqtt)
    counterexample = timed("query", lambda: space.find([permitted, ot], [allowed]))
    # The same query by building the sets, and one whose answer is a proof (no permitted
    # flow from the OT zone to the quarantine subnet, which the first line denies).
    built = timed(
        "query (built)", lambda: space.example(space.diff(space.and_(permitted, ot), allowed))
    )
    permit_lines = space.bdd.or_all(space.rule(r) for r in rules if r.action == "permit")
    proof = timed("proof", lambda: space.find([permitted], [permit_lines]))
    assert built == counterexample and proof is None
    assert counterexample is None or space.contains(permitted, counterexample)
    example = timed("example", lambda: space.example(permitted))
    shadowed = timed("shadowed", lambda: space.shadowed(rules))

    n = len(rules)
    print(
        f"{n} rules; {len(space.bdd):,} BDD nodes made; permitted set "
        f"{space.bdd.size(permitted):,} nodes"
    )
    for name, seconds in times.items():
        print(f"  {name:<14} {seconds:8.3f} s")
    core = times["permitted"] + times["query"]
    print(
        f"  permitted + query: {core:.3f} s; with the rules {core + times['rules']:.3f} s"
        f" = {n / (core + times['rules']):,.0f} rules/s"
    )
    print(f"  counterexample: {_packet(counterexample)}")
    print(f"  example: {_packet(example)}")
    print(
        f"  {len(shadowed)} shadowed lines, "
        f"{sum(s.opposite_action for s in shadowed)} with the opposite action"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory {peak:,.0f} MiB")
    if args.fold:
        fold_space = PacketSpace()
        fold = timed("fold", lambda: fold_space.permitted_fold(rules))
        assert fold_space.bdd.size(fold) == space.bdd.size(permitted)
        print(f"  reference back-to-front fold (rules + permitted): {times['fold']:.3f} s")


def _packet(packet: Packet | None) -> str:
    if packet is None:
        return "none"

    def dotted(a: int) -> str:
        return ".".join(str(a >> s & 255) for s in (24, 16, 8, 0))

    return (
        f"proto {packet.protocol} {dotted(packet.src)}:{packet.src_port} -> "
        f"{dotted(packet.dst)}:{packet.dst_port}{' est' if packet.established else ''}"
    )


if __name__ == "__main__":
    main()
