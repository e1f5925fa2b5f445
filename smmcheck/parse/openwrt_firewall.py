"""OpenWrt firewall zones (fw3/fw4, ``/etc/config/firewall``): what the WAN may reach.

A zone faces the WAN when it is named ``wan`` or covers the ``wan``, ``wan6`` or ``wwan``
networks, or masquerades (NAT towards an upstream). Its ``input`` policy, else the
``defaults`` section's, decides unsolicited traffic to the router itself. Rules from the
zone that ACCEPT traffic to the router's management ports, and redirects (port forwards)
from it into the LAN, are openings an auditor wants named.
"""

from __future__ import annotations

from smmcheck.facts import FirewallZone, SourceLine
from smmcheck.parse.uci import UciConfig, UciSection

_WAN_NETWORKS = frozenset({"wan", "wan6", "wwan"})
# Ports of services that administer the router or its plant: SSH, Telnet, HTTP(S), SNMP,
# TR-069, and the alternative web ports.
_MANAGEMENT = frozenset({22, 23, 80, 443, 161, 7547, 8080, 8443})


def firewall_zones(uci: UciConfig) -> tuple[FirewallZone, ...] | None:
    """The zones of the firewall configuration; None when it is not known."""
    if not uci.knows("firewall"):
        return None
    defaults = next(iter(uci.of("firewall", "defaults")), None)
    default_input = defaults.get("input") if defaults else None
    rules = uci.of("firewall", "rule")
    redirects = uci.of("firewall", "redirect")
    zones = []
    for zone in uci.of("firewall", "zone"):
        name_value = zone.get("name")
        name = name_value.value if name_value else zone.ref
        # `option network 'wan wan6'` (old style) lists several networks in one value.
        networks = tuple(part for v in zone.values("network") for part in v.value.split())
        masq, masq_line = zone.flag("masq", False)
        wan = name == "wan" or bool(_WAN_NETWORKS & set(networks)) or masq is True
        own_input = zone.get("input")
        policy = own_input or default_input
        evidence: list[SourceLine] = [zone.header]
        evidence += [v.evidence() for v in (policy, masq_line) if v]
        openings: list[str] = []
        for rule in rules:
            opened = _management_rule(rule, name)
            if opened:
                openings.append(opened)
                evidence.append(rule.header)
        for redirect in redirects:
            forwarded = _forward(redirect, name)
            if forwarded:
                openings.append(forwarded)
                evidence.append(redirect.header)
        zones.append(
            FirewallZone(
                label=f"zone {name}" + (f" ({', '.join(networks)})" if networks else ""),
                name=name,
                networks=networks,
                wan_facing=wan,
                input=policy.value.upper() if policy else None,
                openings=tuple(openings),
                evidence=tuple(dict.fromkeys(evidence)),
                notes={}
                if policy
                else {"input": "no input policy on the zone or in the defaults section"},
            )
        )
    return tuple(zones)


def _enabled(section: UciSection) -> bool:
    enabled, _line = section.flag("enabled", True)
    return enabled is not False


def _ports(section: UciSection, option: str) -> set[int]:
    found: set[int] = set()
    for value in section.values(option):
        for part in value.value.replace(":", "-").split():
            low, _, high = part.partition("-")
            if low.isdigit() and (high.isdigit() or not high):
                found.update(range(int(low), int(high or low) + 1))
    return found


def _management_rule(rule: UciSection, zone: str) -> str | None:
    """A rule from ``zone`` to the router itself that accepts a management port."""
    src, target, dest = rule.get("src"), rule.get("target"), rule.get("dest")
    if src is None or src.value != zone or dest is not None or not _enabled(rule):
        return None
    if target is None or target.value.upper() != "ACCEPT":
        return None
    ports = _ports(rule, "dest_port")
    opened = sorted(_MANAGEMENT & ports) if ports else []
    if not opened:
        return None  # no port, or none of the management ones (ping, DHCP, IKE ...)
    name = rule.get("name")
    return f"rule {name.value if name else rule.ref} accepts port {', '.join(map(str, opened))}"


def _forward(redirect: UciSection, zone: str) -> str | None:
    """A port forward (DNAT) from ``zone`` into the network behind the router."""
    src, target = redirect.get("src"), redirect.get("target")
    if src is None or src.value != zone or not _enabled(redirect):
        return None
    if target is not None and target.value.upper() != "DNAT":
        return None
    name = redirect.get("name")
    port = redirect.get("src_dport")
    to = redirect.get("dest_ip")
    label = name.value if name else redirect.ref
    where = f" to {to.value}" if to else ""
    return f"port forward {label} ({port.value if port else 'any port'}{where})"
