"""Typed, platform-neutral facts about one device, each traceable to its source lines.

Parsers produce a :class:`DeviceFacts`; policies read nothing else. A fact family that a
parser could not establish for a platform is ``None`` (unknown), which makes every policy
that needs it ``inconclusive``: missing evidence is never compliance. Inside an item, a
field that is ``None`` is unknown for that item, and the item's ``notes`` say why.

Evidence text is redacted by the parser (secrets replaced by ``<redacted>``), while the
typed fields keep the values the checks need; reports only ever render evidence text,
labels and the fields a policy's message names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from smmcheck.acl.model import Rule
from smmcheck.frozen import Frozen


class SourceLine(Frozen):
    """One line of a source artifact: ``line`` is 1-based, ``text`` is redacted."""

    source: str
    line: int
    text: str


class Item(Frozen):
    """Something a policy can name in a message: a vty line, a community, a credential."""

    label: str
    evidence: tuple[SourceLine, ...] = ()
    # Why a derived field has its value (an IOS default, an unknown release), by field name.
    notes: dict[str, str] = Field(default_factory=dict)
    # Where an item gathers settings that different policies judge (an SSH server's
    # algorithms and its root login), the lines each field rests on; a policy then cites
    # only the lines of the fields it reads.
    field_evidence: dict[str, tuple[SourceLine, ...]] = Field(default_factory=dict)

    def evidence_for(self, fields: set[str]) -> tuple[SourceLine, ...]:
        """The lines behind ``fields`` (all of the item's lines when not known per field)."""
        chosen = [line for name in sorted(fields) for line in self.field_evidence.get(name, ())]
        if not chosen:
            return self.evidence
        return tuple(sorted(dict.fromkeys(chosen), key=lambda s: (s.source, s.line, s.text)))


class MgmtLine(Item):
    """A management line (``line vty 0 4``, ``line con 0``) with its effective settings.

    On Linux and OpenWrt the remote-login services play that role (``kind: service``): a
    listening sshd or dropbear, a telnetd.
    """

    kind: Literal["vty", "console", "aux", "service"]
    # Protocols named by ``transport input``; None when the line has no such command.
    transport_input: tuple[str, ...] | None = None
    # Effective: derived from transport_input or the platform default; None if unknown.
    telnet_accepted: bool | None = None
    # False for a vty that accepts no protocol at all (``transport input none``).
    remote_access: bool | None = None
    access_class_in: str | None = None
    # Whether the ACL named by access-class is defined; IOS permits all for an undefined one.
    access_class_defined: bool | None = None
    # Effective idle timeout in seconds (0 = never); the platform default when absent.
    exec_timeout_seconds: int | None = None


class SshServer(Item):
    """The SSH server as the configuration determines it.

    The algorithm lists and login settings are the effective ones (OpenSSH: ``sshd -T``, or
    ``sshd_config`` over the defaults of the installed release); None when unknown, for
    instance on network operating systems whose defaults smmcheck does not model.
    """

    accepted_versions: tuple[int, ...] | None = None
    software: str | None = None  # "OpenSSH_9.2p1", "dropbear"
    ciphers: tuple[str, ...] | None = None
    macs: tuple[str, ...] | None = None
    kex: tuple[str, ...] | None = None
    # yes | no | prohibit-password | forced-commands-only (OpenSSH's PermitRootLogin)
    permit_root_login: str | None = None
    password_authentication: bool | None = None
    # Derived: root may log in with a password (PermitRootLogin yes with password or
    # keyboard-interactive authentication on).
    root_password_login: bool | None = None


class Socket(Item):
    """A listening socket, as ``ss -Htlnup`` shows it or a service's configuration implies.

    ``service`` names what listens (telnet, ssh, ssdp, upnp, mdns, mqtt, mqtts, http, https,
    snmp, lldp ...), from the process and the port; ``local_only`` is True for loopback.
    """

    protocol: Literal["tcp", "udp"]
    address: str
    port: int
    process: str | None = None
    service: str | None = None
    local_only: bool = False


class Discovery(Item):
    """A discovery protocol a device speaks: CDP or LLDP on a switch's access port, mDNS,
    LLMNR, SSDP or LLDP on a gateway. ``enabled`` is None when it cannot be told."""

    protocol: Literal["cdp", "lldp", "mdns", "llmnr", "ssdp", "upnp"]
    where: str  # "GigabitEthernet1/0/5 (access port, VLAN 20)", "0.0.0.0:5353"
    enabled: bool | None = None


class FirewallZone(Item):
    """A firewall zone of an OpenWrt device and what it lets in from its networks.

    ``input`` is the zone's policy for traffic to the device itself (ACCEPT, REJECT, DROP),
    falling back to the ``defaults`` section; ``openings`` names the rules that accept
    management traffic from the zone and the port forwards (DNAT) it sends inwards.
    """

    name: str
    networks: tuple[str, ...] = ()
    wan_facing: bool = False
    input: str | None = None
    openings: tuple[str, ...] = ()


class MqttListener(Item):
    """An MQTT broker listener (mosquitto) with its effective security settings."""

    port: int
    bind: str | None = None  # None: every address
    # None when unknown (listeners defined in an include_dir this file cannot show).
    local_only: bool | None = False
    tls: bool | None = False
    websockets: bool = False
    # The lowest TLS version accepted (tlsv1, tlsv1.1, tlsv1.2, tlsv1.3); None when unknown.
    tls_min_version: str | None = None
    allow_anonymous: bool | None = None
    require_certificate: bool | None = None
    password_file: bool | None = None


class TlsListener(Item):
    """A TLS endpoint found in configuration (MQTT, HTTPS) and the versions it accepts."""

    service: str
    port: int
    local_only: bool | None = False
    # The lowest protocol version accepted, as the configuration (or the server's default
    # for its release) determines it; None when unknown.
    min_version: str | None = None


class Volume(Item):
    """A mounted file system (or active swap) on persistent storage, and the block-device
    encryption beneath it, as ``lsblk`` and ``dmsetup table`` show them.

    ``cipher`` and ``key_bits`` are the dm-crypt mapping's (``aes-xts-plain64``, 512): the
    whole key, as dm-crypt takes it. ``aes256`` is derived: AES with a 256-bit effective key.
    XTS splits its key into two AES keys, so a 512-bit XTS key is AES-256 and a 256-bit one
    AES-128. Each field is None when unknown; the note on ``aes256`` says why.
    """

    # The block device the file system is on (lsblk NAME); None when lsblk lists none.
    name: str | None = None
    mountpoint: str | None = None  # as lsblk shows it: "/", "/data", "[SWAP]"
    encrypted: bool | None = None
    cipher: str | None = None
    key_bits: int | None = None
    aes256: bool | None = None


class HttpServer(Item):
    """The device's own web management server."""

    cleartext_enabled: bool | None = None
    tls_enabled: bool | None = None


class SnmpCommunity(Item):
    """An SNMPv1/v2c community. ``name`` is a secret: never put it in a message.

    ``name`` is None when the text holds a placeholder instead (a backup tool redacted it).
    """

    name: str | None
    access: Literal["ro", "rw", "unknown"] = "unknown"
    acl: str | None = None


class SnmpGroup(Item):
    """An SNMP group and the security level it requires."""

    name: str
    version: Literal["v1", "v2c", "v3"]
    # noauth | auth | priv for v3; None for v1/v2c.
    security_level: Literal["noauth", "auth", "priv"] | None = None


class Secret(Frozen):
    """A stored password or secret as the configuration holds it.

    ``storage_type`` is the vendor's type code ("0" clear, "7" reversible, "5" md5-crypt,
    "8" PBKDF2, "9" scrypt, ...). Never rendered: checks hash or decode it in memory.
    """

    storage_type: str
    value: str


class Credential(Item):
    """A local account password, an enable password/secret or a line password."""

    kind: Literal["user", "enable", "line"]
    username: str | None = None
    # The keyword used: ``password`` (reversible or clear forms) or ``secret`` (hashed).
    form: Literal["password", "secret"]
    secret: Secret


class Endpoint(Item):
    """A remote service the device uses: a syslog host, an NTP server."""

    address: str
    vrf: str | None = None


class Acl(Item):
    """An IPv4 access list as the device evaluates it (first match, implicit deny).

    ``approximate`` lists lines whose extra match conditions (time-range, fragments, dscp,
    ...) are not modelled: permits are then taken as matching more and such denies as
    absent, so the permitted set is over-approximated. A proof that nothing else is
    permitted stays sound; a counterexample may then be spurious.
    ``unsupported`` lists lines that could not be understood at all.
    """

    name: str
    kind: Literal["standard", "extended"]
    rules: tuple[Rule, ...] = ()
    approximate: tuple[SourceLine, ...] = ()
    unsupported: tuple[SourceLine, ...] = ()


class Interface(Item):
    """An interface: its IPv4 networks, switchport role and inbound/outbound ACLs."""

    name: str
    # (address, prefix length) for each `ip address` (secondary ones included).
    addresses: tuple[tuple[str, int], ...] = ()
    # The VLAN an SVI (interface VlanN) or a dot1Q subinterface routes for.
    vlan: int | None = None
    switchport_mode: Literal["access", "trunk", "routed"] | None = None
    access_vlan: int | None = None
    acl_in: str | None = None
    acl_out: str | None = None
    shutdown: bool = False


class DeviceFacts(Frozen):
    """Everything smmcheck knows about one device, parsed once, read by every policy."""

    device: str
    platform: str
    source: str
    sha256: str
    line_count: int
    os_version: str | None = None
    # False when the text looks truncated (no final ``end``): a pass cannot be established.
    complete: bool = True
    incomplete_reason: str | None = None
    # A part of a device (one sshd_config given on its own): only these fact families are
    # in evidence, and only policies that read nothing else are judged. None: a whole device.
    scope: tuple[str, ...] | None = None
    management_lines: tuple[MgmtLine, ...] | None = None
    ssh: SshServer | None = None
    http: HttpServer | None = None
    snmp_communities: tuple[SnmpCommunity, ...] | None = None
    snmp_groups: tuple[SnmpGroup, ...] | None = None
    credentials: tuple[Credential, ...] | None = None
    logging_hosts: tuple[Endpoint, ...] | None = None
    ntp_servers: tuple[Endpoint, ...] | None = None
    acls: tuple[Acl, ...] | None = None
    interfaces: tuple[Interface, ...] | None = None
    sockets: tuple[Socket, ...] | None = None
    firewall_zones: tuple[FirewallZone, ...] | None = None
    # Discovery protocols on end-device-facing ports (switches) or listening (gateways).
    discovery: tuple[Discovery, ...] | None = None
    mqtt_listeners: tuple[MqttListener, ...] | None = None
    tls_listeners: tuple[TlsListener, ...] | None = None
    # Mounted file systems holding data and their block-device encryption (gateways).
    volumes: tuple[Volume, ...] | None = None
