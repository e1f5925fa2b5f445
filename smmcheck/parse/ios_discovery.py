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

from smmcheck.facts import Discovery, Interface
from smmcheck.parse.cisco import Config
from smmcheck.parse.tree import Node


def parse_discovery(
    config: Config, interfaces: tuple[Interface, ...], nxos: bool
) -> tuple[Discovery, ...]:
    """CDP and LLDP as they run on each access port that is not shut down."""
    raw = config.raw
    no_lines, cdp_off_words = config.first("no"), ["no", "cdp", "enable" if nxos else "run"]
    cdp_off = [n for n in no_lines if n.words()[:3] == cdp_off_words]
    lldp_words = ["feature", "lldp"] if nxos else ["lldp", "run"]
    lldp_on = [n for n in config.first(lldp_words[0]) if n.words()[:2] == lldp_words]
    # (protocol, label, runs globally, the global lines or their absence, port-off words)
    protocols = (
        (
            "cdp",
            "CDP",
            not cdp_off,
            raw.evidence(*cdp_off)
            if cdp_off
            else raw.absence(f"'{' '.join(cdp_off_words)}': CDP runs by default"),
            ["no", "cdp", "enable"],
        ),
        (
            "lldp",
            "LLDP",
            bool(lldp_on),
            raw.evidence(*lldp_on)
            if lldp_on
            else raw.absence(f"'{' '.join(lldp_words)}': LLDP is off by default"),
            ["no", "lldp", "transmit"],
        ),
    )
    stanzas = {n.words()[1]: n for n in config.first("interface") if len(n.words()) >= 2}
    found: list[Discovery] = []
    for interface in interfaces:
        node = stanzas.get(interface.name)
        if interface.switchport_mode != "access" or interface.shutdown or node is None:
            continue
        where = f"{interface.name} (access port, VLAN {interface.access_vlan or 1})"
        for protocol, label, runs, global_lines, off_words in protocols:
            port_off = _child(node, off_words)
            found.append(
                Discovery(
                    label=f"{label} on {where}",
                    protocol=protocol,
                    where=where,
                    enabled=runs and port_off is None,
                    # An interface turning it off rests on that line; otherwise on the
                    # global setting (or its default).
                    evidence=raw.evidence(node, port_off)
                    if port_off
                    else raw.evidence(node) + global_lines,
                )
            )
    return tuple(found)


def _child(node: Node, words: list[str]) -> Node | None:
    return next((c for c in node.children if c.words()[: len(words)] == words), None)
