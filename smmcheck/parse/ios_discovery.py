"""CDP and LLDP on the access ports of IOS / IOS-XE and NX-OS switches.

Access ports face end devices — in an OT network, the sensors, cameras and PLCs. A
discovery protocol there tells whatever is plugged in the switch's model, software release,
management address and VLANs. Defaults differ by platform:

- IOS: CDP runs unless ``no cdp run``, on every interface unless ``no cdp enable``; LLDP
  runs only with ``lldp run``, then on every interface unless ``no lldp transmit``.
- NX-OS: CDP is on unless ``no cdp enable`` (global), and per interface unless ``no cdp
  enable``; LLDP exists only with ``feature lldp``, then on every interface unless
  ``no lldp transmit``.
"""

from __future__ import annotations

from smmcheck.facts import Discovery, Interface, SourceLine
from smmcheck.parse.cisco import Config
from smmcheck.parse.tree import Node


def parse_discovery(
    config: Config, interfaces: tuple[Interface, ...], nxos: bool
) -> tuple[Discovery, ...]:
    """CDP and LLDP as they run on each access port that is not shut down."""
    raw = config.raw
    no_lines = config.first("no")
    if nxos:
        cdp_off = [n for n in no_lines if n.words()[:3] == ["no", "cdp", "enable"]]
        lldp_on = [n for n in config.first("feature") if n.words()[:2] == ["feature", "lldp"]]
    else:
        cdp_off = [n for n in no_lines if n.words()[:3] == ["no", "cdp", "run"]]
        lldp_on = [n for n in config.first("lldp") if n.words()[:2] == ["lldp", "run"]]
    cdp_global: tuple[SourceLine, ...] = (
        raw.evidence(*cdp_off) if cdp_off else raw.absence("'no cdp run': CDP runs by default")
    )
    lldp_global: tuple[SourceLine, ...] = (
        raw.evidence(*lldp_on) if lldp_on else raw.absence("'lldp run': LLDP is off by default")
    )
    stanzas = {n.words()[1]: n for n in config.first("interface") if len(n.words()) >= 2}
    found: list[Discovery] = []
    for interface in interfaces:
        if interface.switchport_mode != "access" or interface.shutdown:
            continue
        node = stanzas.get(interface.name)
        if node is None:
            continue
        where = f"{interface.name} (access port, VLAN {interface.access_vlan or 1})"
        cdp_port_off = _child(node, ["no", "cdp", "enable"])
        cdp_on = not cdp_off and cdp_port_off is None
        found.append(
            Discovery(
                label=f"CDP on {where}",
                protocol="cdp",
                where=where,
                enabled=cdp_on,
                evidence=raw.evidence(node, *([cdp_port_off] if cdp_port_off else []))
                + (cdp_global if cdp_port_off is None else ()),
            )
        )
        lldp_port_off = _child(node, ["no", "lldp", "transmit"])
        lldp_active = bool(lldp_on) and lldp_port_off is None
        found.append(
            Discovery(
                label=f"LLDP on {where}",
                protocol="lldp",
                where=where,
                enabled=lldp_active,
                evidence=raw.evidence(node, *([lldp_port_off] if lldp_port_off else []))
                + (lldp_global if lldp_port_off is None else ()),
            )
        )
    return tuple(found)


def _child(node: Node, words: list[str]) -> Node | None:
    return next((c for c in node.children if c.words()[: len(words)] == words), None)
