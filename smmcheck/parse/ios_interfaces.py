"""IOS / IOS-XE interfaces: IPv4 networks, switchport role, VLAN and ACL bindings."""

from __future__ import annotations

import ipaddress

from smmcheck.facts import Interface
from smmcheck.parse.cisco import Config, option
from smmcheck.parse.tree import Node


def parse_interfaces(config: Config) -> tuple[Interface, ...]:
    """Every ``interface`` stanza with what segmentation needs to know about it."""
    return tuple(
        _interface(config, node) for node in config.first("interface") if len(node.words()) >= 2
    )


def _interface(config: Config, node: Node) -> Interface:
    name = node.words()[1]
    addresses: list[tuple[str, int]] = []
    mode: str | None = None
    access_vlan = None
    vlan = int(name[4:]) if name.lower().startswith("vlan") and name[4:].isdigit() else None
    acl_in = acl_out = None
    shutdown = False
    used: list[Node] = [node]
    for child in node.children:
        words = child.words()
        relevant = True
        if words[:2] == ["ip", "address"] and len(words) >= 3:
            # IOS: `ip address A MASK [secondary]`; NX-OS: `ip address A/LEN [secondary]`.
            spec = (
                words[2] if "/" in words[2] else f"{words[2]}/{words[3] if len(words) > 3 else ''}"
            )
            try:
                network = ipaddress.IPv4Interface(spec)
            except ValueError:
                relevant = False
            else:
                addresses.append((str(network.ip), network.network.prefixlen))
        elif words[:2] == ["switchport", "mode"] and len(words) >= 3:
            mode = words[2] if words[2] in ("access", "trunk") else mode
        elif (
            words[:3] == ["switchport", "access", "vlan"] and len(words) >= 4 and words[3].isdigit()
        ):
            access_vlan = int(words[3])
        elif words == ["no", "switchport"]:
            mode = "routed"
        elif words[:2] == ["ip", "access-group"] and len(words) >= 4:
            if words[3] == "in":
                acl_in = words[2]
            elif words[3] == "out":
                acl_out = words[2]
        elif words[:3] == ["ip", "port", "access-group"] and len(words) >= 5 and words[4] == "in":
            acl_in = words[3]  # NX-OS port ACL on a layer-2 port
        elif words[:1] == ["encapsulation"] and option(words, "dot1Q") is not None:
            tag = option(words, "dot1Q") or ""
            vlan = int(tag) if tag.isdigit() else vlan
        elif words == ["shutdown"]:
            shutdown = True
        else:
            relevant = False
        if relevant:
            used.append(child)
    # An access VLAN without `switchport mode` still makes the port an access port unless
    # it trunks; routed ports say `no switchport`.
    if mode is None and access_vlan is not None:
        mode = "access"
    return Interface(
        label=node.text,
        name=name,
        addresses=tuple(addresses),
        vlan=vlan,
        switchport_mode=mode,
        access_vlan=access_vlan,
        acl_in=acl_in,
        acl_out=acl_out,
        shutdown=shutdown,
        evidence=config.raw.evidence(*used),
    )
