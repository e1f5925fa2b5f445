"""Discovery protocols on an OpenWrt device: lldpd's LLDP (and CDP) from its UCI
configuration, and the responders a socket listing shows (SSDP from miniupnpd ...)."""

from __future__ import annotations

from smmcheck.facts import Discovery, Socket
from smmcheck.parse.uci import UciConfig, UciValue


def lldpd_discovery(
    uci: UciConfig | None, sockets: tuple[Socket, ...] | None
) -> tuple[Discovery, ...] | None:
    """lldpd's announcements (LLDP, and CDP with ``enable_cdp``) on the interfaces it is
    given, and the discovery responders the sockets show (SSDP from miniupnpd ...).

    lldpd speaks on raw Ethernet frames, not sockets: its UCI configuration is the evidence.
    """
    if uci is None and sockets is None:
        return None
    found: list[Discovery] = []
    if uci is None or not uci.knows("lldpd"):
        # Whether lldpd announces is unknown: it can keep the verdict from passing, and a
        # responder the sockets show still fails it.
        found.append(
            Discovery(
                label="lldpd (its configuration was not given)",
                protocol="lldp",
                where="unknown",
                enabled=None,
            )
        )
    for section in uci.of("lldpd", "lldpd") if uci is not None else ():
        interfaces = [v for v in section.values("interface") if v.value != "loopback"]
        cdp, cdp_line = section.flag("enable_cdp", False)
        targets: list[UciValue | None] = list(interfaces) or [None]
        for interface in targets:
            where = f"interface {interface.value}" if interface else "every interface"
            lines = [section.header, *([interface.evidence()] if interface else [])]
            found.append(
                Discovery(
                    label=f"LLDP (lldpd) on {where}",
                    protocol="lldp",
                    where=where,
                    enabled=True,
                    evidence=tuple(lines),
                )
            )
            if cdp is not False:
                found.append(
                    Discovery(
                        label=f"CDP (lldpd enable_cdp) on {where}",
                        protocol="cdp",
                        where=where,
                        enabled=cdp,
                        evidence=tuple(lines + ([cdp_line.evidence()] if cdp_line else [])),
                    )
                )
    if sockets is not None:
        from smmcheck.parse.linux import discovery_responders

        found.extend(discovery_responders(sockets))
    return tuple(found)
