"""Listening sockets of a Linux gateway, from ``ss -Htlnup``, and the login services among them.

``ss -Htlnup`` prints one socket per line, without a header::

    tcp   LISTEN 0  128  0.0.0.0:22      0.0.0.0:*  users:(("sshd",pid=612,fd=3))
    udp   UNCONN 0  0    127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=411,fd=13))
    tcp   LISTEN 0  128  *:1883          *:*

The columns are Netid, State, Recv-Q, Send-Q, Local-Address:Port, Peer-Address:Port and
Process. The local address is ``0.0.0.0``, ``*`` (every address, IPv4 and IPv6), ``[::]``,
``[::1]``, an address with an interface scope (``0.0.0.0%eth0``, ``*%lo``) ...; the Process
column is missing for sockets of other users when ``ss`` does not run as root.

OpenWrt has no ``ss`` by default: its listing is BusyBox ``netstat -tlnup``, with a header,
IPv6 addresses without brackets and a ``PID/Program name`` column (``-`` when unknown)::

    Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
    tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      1290/dropbear
    tcp        0      0 :::80                   :::*                    LISTEN      1318/uhttpd
    udp        0      0 0.0.0.0:1900            0.0.0.0:*                           2345/miniupnpd
"""

from __future__ import annotations

import re
from typing import Literal

from smmcheck.facts import MgmtLine, Socket
from smmcheck.parse.addresses import is_loopback
from smmcheck.parse.artifacts import Artifact

# Daemons whose name says what they serve, on whatever port they listen. Web servers and
# brokers are left to the port: nginx on 8883 or mosquitto on 9001 could serve anything.
_BY_PROCESS = {
    "telnetd": "telnet",
    "in.telnetd": "telnet",
    "utelnetd": "telnet",
    "sshd": "ssh",
    "dropbear": "ssh",
    "minissdpd": "ssdp",
    "miniupnpd": "upnp",
    "avahi-daemon": "mdns",
    "lldpd": "lldp",
    "snmpd": "snmp",
}

# IANA ports of the services the gateway policies name, per transport protocol.
_BY_PORT: dict[tuple[str, int], str] = {
    ("tcp", 22): "ssh",
    ("tcp", 23): "telnet",
    ("tcp", 53): "dns",
    ("udp", 53): "dns",
    ("udp", 67): "dhcp",
    ("tcp", 80): "http",
    ("tcp", 8080): "http",
    ("udp", 161): "snmp",
    ("tcp", 161): "snmp",
    ("tcp", 443): "https",
    ("tcp", 8443): "https",
    ("tcp", 502): "modbus",
    ("udp", 502): "modbus",
    ("udp", 1900): "ssdp",
    ("tcp", 1883): "mqtt",
    ("tcp", 8883): "mqtts",
    ("tcp", 4840): "opcua",
    ("udp", 5353): "mdns",
    ("tcp", 5355): "llmnr",
    ("udp", 5355): "llmnr",
    ("udp", 5683): "coap",
    ("tcp", 20000): "dnp3",
    ("udp", 20000): "dnp3",
}

_TCP_STATES = frozenset(
    {"LISTEN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"}
    | {"CLOSE", "CLOSE_WAIT", "LAST_ACK", "CLOSING", "UNKNOWN"}
)
_PROCESS = re.compile(r'users:\(\("([^"]*)"')
_LOGIN = {"ssh", "telnet"}


def socket_facts(listing: Artifact) -> tuple[Socket, ...]:
    """One :class:`Socket` per TCP or UDP line of an ``ss -Htlnup`` listing.

    Lines that are not sockets (a header, a blank line, another protocol) are skipped.
    """
    found = []
    for number, line in listing.lines():
        socket = _socket(listing, number, line)
        if socket is not None:
            found.append(socket)
    return tuple(found)


def netstat_facts(listing: Artifact) -> tuple[Socket, ...]:
    """One :class:`Socket` per TCP or UDP line of a ``netstat -tlnup`` listing (BusyBox or
    net-tools, whose IPv6 lines say ``tcp6``/``udp6``); headers and other lines are skipped.
    """
    found = []
    for number, line in listing.lines():
        socket = _netstat_socket(listing, number, line)
        if socket is not None:
            found.append(socket)
    return tuple(found)


def login_services(sockets: tuple[Socket, ...]) -> tuple[MgmtLine, ...]:
    """The remote-login services (SSH, Telnet) listening outside loopback, as management lines."""
    found = []
    for socket in sockets:
        if socket.protocol != "tcp" or socket.service not in _LOGIN or socket.local_only:
            continue
        telnet = socket.service == "telnet"
        notes = {}
        if socket.process is None:
            notes["telnet_accepted"] = (
                f"the listing shows no process for port {socket.port} (only root sees other"
                f" users' processes): {socket.service} is inferred from the port number"
            )
        found.append(
            MgmtLine(
                label=f"{socket.process or socket.service} on {_endpoint(socket)}",
                kind="service",
                telnet_accepted=telnet,
                remote_access=True,
                evidence=socket.evidence,
                notes=notes,
            )
        )
    return tuple(found)


def _socket(listing: Artifact, number: int, line: str) -> Socket | None:
    columns = line.split()
    if len(columns) < 5 or columns[0] not in ("tcp", "udp"):
        return None
    protocol = "tcp" if columns[0] == "tcp" else "udp"
    local = columns[4]
    host, _, port_text = local.rpartition(":")
    if not host or not port_text.isdigit():
        return None
    port = int(port_text)
    address = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    match = _PROCESS.search(line)
    process = match.group(1) if match else None
    service = _service(protocol, port, process)
    label = f"{protocol} {local}" + (f" ({process})" if process else "")
    return Socket(
        label=label,
        protocol=protocol,
        address=address,
        port=port,
        process=process,
        service=service,
        local_only=is_loopback(address),
        evidence=(listing.at(number),),
    )


def _netstat_socket(listing: Artifact, number: int, line: str) -> Socket | None:
    columns = line.split()
    if len(columns) < 5 or columns[0] not in ("tcp", "udp", "tcp6", "udp6"):
        return None
    if not (columns[1].isdigit() and columns[2].isdigit()):
        return None
    protocol: Literal["tcp", "udp"] = "tcp" if columns[0].startswith("tcp") else "udp"
    host, _, port_text = columns[3].rpartition(":")
    if not host or not port_text.isdigit():
        return None
    port = int(port_text)
    # UDP sockets have no State column: the program follows the state when there is one.
    rest = columns[5:]
    if rest and rest[0] in _TCP_STATES:
        rest = rest[1:]
    pid, slash, name = (rest[0] if rest else "-").partition("/")
    process = name if slash and pid.isdigit() and name else None
    address = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    shown = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return Socket(
        label=f"{protocol} {shown}" + (f" ({process})" if process else ""),
        protocol=protocol,
        address=address,
        port=port,
        process=process,
        service=_service(protocol, port, process),
        local_only=is_loopback(address),
        evidence=(listing.at(number),),
    )


def _service(protocol: str, port: int, process: str | None) -> str | None:
    by_process = _BY_PROCESS.get(process or "")
    if by_process is not None:
        return by_process
    by_port = _BY_PORT.get((protocol, port))
    if by_port is None and process:
        # A named process that is none of the services smmcheck tells apart: known to be
        # "something else", so a check for UPnP or Telnet can rule it out.
        return "other"
    return by_port


def _endpoint(socket: Socket) -> str:
    address = f"[{socket.address}]" if ":" in socket.address else socket.address
    return f"{address}:{socket.port}"
