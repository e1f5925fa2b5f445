"""The project file ``smmcheck.yaml``: the site's segmentation intent (zones, services, flows).

    zones:
      iot:     {subnets: [10.30.0.0/24], vlans: [30]}
      gateway: {subnets: [10.10.0.5/32]}
    services:
      historian: tcp/5450
    flows:
      - {from: iot, to: gateway, allow: [mqtts, https]}

A zone that is the source of a flow is governed: every packet from it that no flow allows
must be denied. ``to`` is a zone, an IPv4 prefix, or ``any``. Services are aliases
(built-in or the file's own) or literal ``tcp/443``, ``udp/1000-2000``, ``icmp``,
``icmp/8``, ``tcp`` (any TCP port) or ``ip`` (anything).
"""

from __future__ import annotations

import fnmatch
import ipaddress
from pathlib import Path

from pydantic import Field, field_validator

from smmcheck.acl.model import ICMP, TCP, UDP, PortRange, Service
from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.yamlfile import LocatedProblem, read_yaml, validate, where

PROJECT_FILE = "smmcheck.yaml"

BUILTIN_SERVICES: dict[str, tuple[str, ...]] = {
    "http": ("tcp/80",),
    "https": ("tcp/443",),
    "ssh": ("tcp/22",),
    "telnet": ("tcp/23",),
    "mqtt": ("tcp/1883",),
    "mqtts": ("tcp/8883",),
    "coap": ("udp/5683",),
    "coaps": ("udp/5684",),
    "modbus": ("tcp/502",),
    "opcua": ("tcp/4840",),
    "bacnet": ("udp/47808",),
    "dnp3": ("tcp/20000",),
    "ethernet-ip": ("tcp/44818",),
    "s7": ("tcp/102",),
    "iec104": ("tcp/2404",),
    "profinet-cm": ("udp/34964",),
    "rtsp": ("tcp/554",),
    "dns": ("udp/53", "tcp/53"),
    "ntp": ("udp/123",),
    "syslog": ("udp/514",),
    "snmp": ("udp/161",),
    "snmp-trap": ("udp/162",),
    "ssdp": ("udp/1900",),
    "mdns": ("udp/5353",),
    "dhcp": ("udp/67",),
    "tftp": ("udp/69",),
    "radius": ("udp/1812",),
    "tacacs": ("tcp/49",),
    "ldap": ("tcp/389",),
    "ldaps": ("tcp/636",),
    "ping": ("icmp/8",),
    "icmp": ("icmp",),
}
_PROTOCOLS = {"tcp": TCP, "udp": UDP, "icmp": ICMP}


class Zone(Frozen):
    """A zone: the subnets (and VLANs) its devices live in, and its IEC 62443 SL-T."""

    subnets: list[str] = Field(min_length=1)
    vlans: list[int] = Field(default_factory=list)
    # Target security level (IEC 62443 SL-T 1-4): selects which SRs and REs apply to the
    # devices of the zone in `report compliance --framework iec-62443-3-3`.
    security_level: int | None = Field(default=None, ge=1, le=4)

    @field_validator("subnets")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            ipaddress.IPv4Network(prefix, strict=True)
        return value

    @field_validator("vlans")
    @classmethod
    def _vlan_ids(cls, value: list[int]) -> list[int]:
        bad = [v for v in value if not 1 <= v <= 4094]
        if bad:
            raise ValueError(f"VLAN {bad[0]} is outside 1-4094")
        return value


class Flow(Frozen):
    """Traffic a zone may start: to a zone, a prefix or `any`, for the listed services."""

    from_: str = Field(alias="from")
    to: str
    allow: list[str] = Field(min_length=1)


class DeviceAssignment(Frozen):
    """Who a device is, for devices checked from files: its category, zone and tags.

    ``match`` is a glob on the device name; the first matching entry wins. A snapshot's
    manifest (the inventory) takes precedence over these.
    """

    match: str
    category: str | None = None
    zone: str | None = None
    tags: list[str] = Field(default_factory=list)


class Project(Frozen):
    """The site's intent and the files that go with it (profile, attestations, waivers).

    File paths are relative to the project file's folder; :func:`load_project` makes them
    absolute.
    """

    zones: dict[str, Zone] = Field(default_factory=dict)
    services: dict[str, str | list[str]] = Field(default_factory=dict)
    flows: list[Flow] = Field(default_factory=list)
    devices: list[DeviceAssignment] = Field(default_factory=list)
    # The site of devices checked from files (a snapshot's inventory and --site win).
    site: str | None = None
    # A built-in SMM target profile (small, medium, large) or a profile file.
    profile: str | None = None
    attestations: Path | None = None
    waivers: Path | None = None

    def assignment(self, device: str) -> DeviceAssignment | None:
        """The first ``devices:`` entry whose glob matches ``device``."""
        return next((a for a in self.devices if fnmatch.fnmatchcase(device, a.match)), None)

    def governed_zones(self) -> list[str]:
        """Zones that are the source of at least one flow, in file order."""
        return [name for name in self.zones if any(f.from_ == name for f in self.flows)]

    def service(self, name: str) -> tuple[Service, ...]:
        """The services an alias or a literal names."""
        own = self.services.get(name)
        specs: tuple[str, ...]
        if own is not None:
            specs = (own,) if isinstance(own, str) else tuple(own)
        elif name in BUILTIN_SERVICES:
            specs = BUILTIN_SERVICES[name]
        else:
            specs = (name,)
        return tuple(parse_service(spec) for spec in specs)


def parse_service(spec: str) -> Service:
    """``tcp/443``, ``udp/1000-2000``, ``icmp``, ``icmp/8``, ``tcp``, ``ip``."""
    protocol_name, _, ports = spec.strip().partition("/")
    if protocol_name == "ip" and not ports:
        return Service()
    protocol = _PROTOCOLS.get(protocol_name)
    if protocol is None:
        raise ValueError(f"unknown service '{spec}' (use tcp/PORT, udp/PORT, icmp or an alias)")
    if not ports:
        return Service(protocol=protocol)
    low_text, _, high_text = ports.partition("-")
    if not low_text.isdigit() or (high_text and not high_text.isdigit()):
        raise ValueError(f"bad port in service '{spec}'")
    low, high = int(low_text), int(high_text or low_text)
    limit = 255 if protocol == ICMP else 65535
    if not low <= high <= limit:
        raise ValueError(f"bad port range in service '{spec}'")
    if protocol == ICMP:  # the model carries the ICMP type in the source-port field
        return Service(protocol=ICMP, src_ports=(PortRange(low, high),))
    return Service(protocol=protocol, dst_ports=(PortRange(low, high),))


def find_project(explicit: Path | None) -> Path | None:
    """``--project FILE``, else ``./smmcheck.yaml`` when it exists (like `.checkov.yaml`)."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError("project file not found", where=str(explicit))
        return explicit
    default = Path.cwd() / PROJECT_FILE
    return default if default.is_file() else None


def check_intent(project: Project) -> None:
    """Zones, services and flows must refer to each other; raise LocatedProblem if not."""
    for name in project.services:
        try:
            project.service(name)
        except ValueError as exc:
            raise LocatedProblem(str(exc), name) from None
    for assignment in project.devices:
        if assignment.zone is not None and assignment.zone not in project.zones:
            raise LocatedProblem(
                f"device entry names unknown zone '{assignment.zone}'", assignment.zone
            )
    for flow in project.flows:
        if flow.from_ not in project.zones:
            raise LocatedProblem(
                f"flow from unknown zone '{flow.from_}' (zones:"
                f" {', '.join(project.zones) or 'none'})",
                flow.from_,
            )
        if flow.to not in project.zones and flow.to != "any":
            try:
                ipaddress.IPv4Network(flow.to, strict=True)
            except ValueError:
                raise LocatedProblem(
                    f"flow to unknown zone or prefix '{flow.to}'", flow.to
                ) from None
        for service in flow.allow:
            try:
                project.service(service)
            except ValueError as exc:
                raise LocatedProblem(str(exc), service) from None


def load_project(path: Path) -> Project:
    """Read and check a project file."""
    data, text = read_yaml(path, UsageError)
    project = validate(Project, data if data is not None else {}, path, text, UsageError)
    try:
        check_intent(project)
    except LocatedProblem as exc:
        raise UsageError(
            "invalid project file", where=where(path, exc.token, text), why=str(exc)
        ) from None
    base = path.parent
    update: dict[str, object] = {}
    for key in ("attestations", "waivers"):
        value = getattr(project, key)
        if value is not None and not value.is_absolute():
            update[key] = base / value
    profile = project.profile
    from smmcheck.profiles import is_profile_file  # profiles load mappings: not at import

    if profile is not None and is_profile_file(profile):
        update["profile"] = str(base / profile) if not Path(profile).is_absolute() else profile
    return project.model_copy(update=update) if update else project
