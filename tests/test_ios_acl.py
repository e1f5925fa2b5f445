"""IOS ACL syntax into rules: each construct checked through first-match on real packets."""

from __future__ import annotations

import ipaddress

import pytest

from smmcheck.acl.model import TCP, UDP, Packet, permits
from smmcheck.facts import Acl
from smmcheck.parse import parse_config


def _acls(body: str) -> dict[str, Acl]:
    text = f"version 17.9\nhostname r1\n{body}\nend\n"
    facts = parse_config(text, source="r1.cfg", name_hint="r1")
    return {acl.name: acl for acl in facts.acls or ()}


def _ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def _tcp(src: str, dst: str, dport: int, sport: int = 40000, *, est: bool = False) -> Packet:
    return Packet(TCP, _ip(src), _ip(dst), sport, dport, est)


def _udp(src: str, dst: str, dport: int) -> Packet:
    return Packet(UDP, _ip(src), _ip(dst), 40000, dport, False)


def test_named_extended_acl_with_sequence_numbers_and_remarks() -> None:
    acl = _acls(
        "ip access-list extended IOT-IN\n"
        " 10 remark sensors to the gateway only\n"
        " 20 permit tcp 10.30.0.0 0.0.0.255 host 10.10.0.5 eq 8883 log\n"
        " 30 deny   ip any any log-input\n"
    )["IOT-IN"]
    assert [(r.sequence, r.line, r.action) for r in acl.rules] == [
        (20, 5, "permit"),
        (30, 6, "deny"),
    ]
    assert permits(acl.rules, _tcp("10.30.0.9", "10.10.0.5", 8883))
    assert not permits(acl.rules, _tcp("10.30.0.9", "10.10.0.5", 443))
    assert not permits(acl.rules, _tcp("10.31.0.9", "10.10.0.5", 8883))


def test_numbered_standard_acl_and_implied_host() -> None:
    acl = _acls(
        "access-list 10 permit 10.99.0.10\naccess-list 10 permit 10.99.1.0 0.0.0.255\n"
        "access-list 10 deny any log"
    )["10"]
    assert acl.kind == "standard"
    assert permits(acl.rules, _tcp("10.99.0.10", "1.1.1.1", 22))
    assert not permits(acl.rules, _tcp("10.99.0.11", "1.1.1.1", 22))
    assert permits(acl.rules, _tcp("10.99.1.200", "1.1.1.1", 22))


def test_non_contiguous_wildcard_is_exact() -> None:
    # Matches 10.x.0.5 for any second octet: only bits of octet 2 are free.
    acl = _acls("access-list 101 permit ip 10.0.0.5 0.255.0.0 any")["101"]
    assert permits(acl.rules, _tcp("10.77.0.5", "8.8.8.8", 1))
    assert not permits(acl.rules, _tcp("10.77.1.5", "8.8.8.8", 1))


@pytest.mark.parametrize(
    ("ports", "allowed", "denied"),
    [
        ("eq www", [80], [443]),
        ("eq domain", [53], [54]),
        ("neq 23", [22, 24], [23]),
        ("lt 1024", [0, 1023], [1024]),
        ("gt 1023", [1024, 65535], [1023]),
        ("range 443 8883", [443, 444, 8882, 8883], [442, 8884]),
        ("eq 80 443", [80, 443], [81]),
    ],
)
def test_port_operators(ports: str, allowed: list[int], denied: list[int]) -> None:
    rules = _acls(f"ip access-list extended X\n permit tcp any any {ports}")["X"].rules
    for port in allowed:
        assert permits(rules, _tcp("1.1.1.1", "2.2.2.2", port)), port
    for port in denied:
        assert not permits(rules, _tcp("1.1.1.1", "2.2.2.2", port)), port


def test_source_port_operator_and_udp_names() -> None:
    rules = _acls("ip access-list extended X\n permit udp any eq ntp any eq ntp")["X"].rules
    assert permits(rules, Packet(UDP, 1, 2, 123, 123, False))
    assert not permits(rules, Packet(UDP, 1, 2, 40000, 123, False))


def test_established_matches_only_replies() -> None:
    rules = _acls("ip access-list extended X\n permit tcp any any established")["X"].rules
    assert permits(rules, _tcp("1.1.1.1", "2.2.2.2", 80, est=True))
    assert not permits(rules, _tcp("1.1.1.1", "2.2.2.2", 80))


def test_protocol_numbers_and_icmp_types() -> None:
    rules = _acls("ip access-list extended X\n permit 47 any any\n permit icmp any any echo")[
        "X"
    ].rules
    assert permits(rules, Packet(47, 1, 2, 0, 0, False))
    assert permits(rules, Packet(1, 1, 2, 8, 0, False))  # ICMP type 8 in the src-port field
    assert not permits(rules, Packet(1, 1, 2, 0, 0, False))


def test_object_groups_network_and_service() -> None:
    acl = _acls(
        "object-group network SENSORS\n host 10.30.0.7\n 10.30.1.0 255.255.255.0\n"
        " range 10.30.2.10 10.30.2.12\n group-object MORE\n"
        "object-group network MORE\n host 10.30.9.9\n"
        "object-group service GW-SVC\n tcp eq 8883\n tcp-udp eq domain\n icmp echo\n"
        "ip access-list extended X\n permit object-group GW-SVC object-group SENSORS any\n"
        " permit tcp object-group SENSORS host 10.10.0.5 eq 443\n"
    )["X"]
    assert not acl.unsupported
    for src in ("10.30.0.7", "10.30.1.77", "10.30.2.11", "10.30.9.9"):
        assert permits(acl.rules, _tcp(src, "9.9.9.9", 8883)), src
    assert not permits(acl.rules, _tcp("10.30.2.13", "9.9.9.9", 8883))
    assert permits(acl.rules, _udp("10.30.0.7", "9.9.9.9", 53))
    assert permits(acl.rules, _tcp("10.30.0.7", "10.10.0.5", 443))
    assert not permits(acl.rules, _tcp("10.30.0.7", "10.10.0.6", 443))


def test_unknown_words_make_the_line_unsupported_not_guessed() -> None:
    acl = _acls(
        "ip access-list extended X\n permit tcp any any eq no-such-port\n permit ip any any"
    )["X"]
    assert [u.line for u in acl.unsupported] == [4]
    assert "unknown port 'no-such-port'" in acl.unsupported[0].text


def test_unmodelled_conditions_over_approximate_the_permitted_set() -> None:
    acl = _acls(
        "ip access-list extended X\n deny tcp any any eq 23 time-range NIGHTS\n"
        " permit tcp any any dscp ef\n"
    )["X"]
    # The time-ranged deny is left out (may not be active); the dscp permit matches more.
    assert [line.line for line in acl.approximate] == [4, 5]
    assert permits(acl.rules, _tcp("1.1.1.1", "2.2.2.2", 23))


def test_undefined_object_group_is_unsupported() -> None:
    acl = _acls("ip access-list extended X\n permit tcp object-group NOPE any eq 443")["X"]
    assert acl.rules == () and len(acl.unsupported) == 1
