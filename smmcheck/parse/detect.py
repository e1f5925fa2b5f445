"""Recognise which platform a configuration text comes from.

Detection scores marker lines rather than trusting one: published configs are often cut
or annotated (RANCID and Oxidized headers, copied prompts). ``--platform`` overrides it.
"""

from __future__ import annotations

import re

SUPPORTED = ("cisco_ios", "cisco_nxos")

# (platform, pattern, weight): a marker line and how strongly it points at the platform.
_MARKERS: tuple[tuple[str, re.Pattern[str], int], ...] = tuple(
    (platform, re.compile(pattern, re.MULTILINE), weight)
    for platform, pattern, weight in (
        ("cisco_ios", r"^version \d+\.\d+\s*$", 3),
        ("cisco_ios", r"^(?:Building configuration|Current configuration :)", 3),
        ("cisco_ios", r"^! Cisco IOS(?: XE)? Software", 3),
        ("cisco_ios", r"^line (?:vty|con|aux) \d+", 2),
        ("cisco_ios", r"^ ip address \d+\.\d+\.\d+\.\d+ \d+\.\d+\.\d+\.\d+", 2),
        ("cisco_ios", r"^interface (?:GigabitEthernet|FastEthernet|TenGigabitEthernet|Vlan)\d", 1),
        ("cisco_ios", r"^hostname \S+", 1),
        ("cisco_ios", r"^end\s*$", 1),
        ("cisco_nxos", r"^feature \S+", 4),
        ("cisco_nxos", r"^!Command: show running-config", 4),
        ("cisco_nxos", r"^version \d+\.\d+\(\d+\)", 4),
        ("cisco_nxos", r"^vrf context \S+", 3),
        ("cisco_nxos", r"^  ip address \d+\.\d+\.\d+\.\d+/\d+", 3),
        ("cisco_nxos", r"^interface (?:Ethernet\d+/\d+|mgmt0|loopback\d)", 2),
        ("cisco_nxos", r"^username \S+ password \d \S+ +role ", 4),
        ("cisco_asa", r"^ASA Version \d", 10),
        ("cisco_asa", r"^! Cisco Adaptive Security Appliance", 10),
        ("cisco_asa", r"^ nameif \S+", 5),
        ("cisco_iosxr", r"^!! IOS XR Configuration", 10),
        ("cisco_iosxr", r"^RP/\d+/\S+#", 10),
        ("cisco_iosxe_sdwan", r"show sdwan running-config", 10),
        ("cisco_iosxe_sdwan", r"^ system-ip\s+\S+", 5),
        ("juniper_junos", r"^set system host-name ", 10),
        ("juniper_junos", r"^system \{", 10),
        ("juniper_junos", r"^# JUNOS Software Release", 10),
        ("juniper_junos", r"^version \d+\.\d+[RX]", 5),
        ("arista_eos", r"^!RANCID-CONTENT-TYPE: arista", 10),
        ("arista_eos", r"^! device: \S+ \((?:vEOS|DCS-|CCS-)", 10),
        ("arista_eos", r"^management api http-commands", 5),
        ("arista_eos", r"^daemon TerminAttr", 5),
    )
)


def detect_platform(text: str) -> str | None:
    """The most likely platform of ``text``, or None when nothing looks like a config."""
    scores: dict[str, int] = {}
    for platform, pattern, weight in _MARKERS:
        if pattern.search(text):
            scores[platform] = scores.get(platform, 0) + weight
    if not scores:
        return None
    best = max(scores.items(), key=lambda kv: kv[1])
    return best[0] if best[1] >= 2 else None


# A gateway file given on its own (pre-change review of one sshd_config), recognised by
# the keywords only that file type has: (artifact, platform, pattern, weight).
_ARTIFACT_MARKERS: tuple[tuple[str, str, re.Pattern[str], int], ...] = tuple(
    (artifact, platform, re.compile(pattern, re.MULTILINE | re.IGNORECASE), weight)
    for artifact, platform, pattern, weight in (
        ("sshd-config", "linux", r"^\s*#?\s*PermitRootLogin\s", 3),
        ("sshd-config", "linux", r"^\s*#?\s*(?:PasswordAuthentication|PubkeyAuthentication)\s", 2),
        ("sshd-config", "linux", r"^\s*#?\s*Subsystem\s+sftp\s", 2),
        ("sshd-config", "linux", r"^\s*#?\s*(?:AuthorizedKeysFile|UsePAM|X11Forwarding)\s", 1),
        ("mosquitto-config", "linux", r"^\s*#?\s*(?:listener|allow_anonymous)\s", 3),
        (
            "mosquitto-config",
            "linux",
            r"^\s*#?\s*(?:persistence_location|log_dest|password_file)\s",
            2,
        ),
        ("listening-sockets", "linux", r"^(?:tcp|udp)\s+(?:LISTEN|UNCONN)\s+\d+\s+\d+\s", 5),
    )
)


def detect_artifact(text: str, source: str = "") -> tuple[str, str] | None:
    """(artifact name, platform) for a gateway file given on its own, or None.

    ``source`` (the file's path) names the package of an OpenWrt /etc/config file."""
    package = detect_uci_package(text, source)
    if package is not None:
        return f"uci-{package}", "openwrt"
    scores: dict[tuple[str, str], int] = {}
    for artifact, platform, pattern, weight in _ARTIFACT_MARKERS:
        if pattern.search(text):
            scores[(artifact, platform)] = scores.get((artifact, platform), 0) + weight
    if not scores:
        return None
    best, score = max(scores.items(), key=lambda kv: kv[1])
    return best if score >= 3 else None


# The fact families each artifact establishes on its own. An OpenWrt /etc/config file
# establishes what its own service does (dropbear: SSH, not whether telnetd runs);
# network settles nothing a policy judges.
ARTIFACT_SCOPE = {
    "sshd-config": ("ssh",),
    "mosquitto-config": ("mqtt_listeners", "tls_listeners"),
    "listening-sockets": ("sockets", "management_lines"),
    "uci-dropbear": ("ssh",),
    "uci-uhttpd": ("http",),
    # The sockets miniupnpd opens (UPnP IGD, NAT-PMP/PCP), nothing else that listens.
    "uci-upnpd": ("sockets",),
    "uci-firewall": ("firewall_zones",),
    "uci-snmpd": ("snmp_communities", "snmp_groups"),
    "uci-mini_snmpd": ("snmp_communities",),
    "uci-lldpd": ("discovery",),
    # logd's remote log host (log_ip) and sysntpd's servers (the `ntp` section).
    "uci-system": ("logging_hosts", "ntp_servers"),
}


# --- OpenWrt UCI files (/etc/config/<package>) -------------------------------------------

_UCI_NAME = r"[A-Za-z0-9_-]+"
_UCI_LINE = re.compile(rf"^\s*(?:config|option|list|package)\s+{_UCI_NAME}")
_UCI_SECTION = re.compile(rf"^\s*config\s+['\"]?({_UCI_NAME})", re.MULTILINE)
# /etc/config/NAME, or the same path flattened into one file name (etc_config_NAME).
_UCI_PATH = re.compile(rf"(?:^|[/_])etc[/_]config[/_]({_UCI_NAME})$")
# Section types only one package uses (from the files OpenWrt's packages ship). Types that
# several share are left out: `rule` (firewall and network's ip rules), `include`, and
# `system` (the system package and net-snmp's sysLocation section).
_UCI_TYPES = {
    "dropbear": {"dropbear"},
    "uhttpd": {"uhttpd"},
    "upnpd": {"upnpd", "perm_rule", "internal_network"},
    "firewall": {"defaults", "zone", "forwarding", "redirect", "ipset"},
    "snmpd": {"agent", "agentx", "com2sec", "com2sec6", "access", "view", "snmpd"},
    "mini_snmpd": {"mini_snmpd"},
    "lldpd": {"lldpd"},
    "network": {"interface", "device", "globals", "switch", "switch_vlan", "bridge-vlan"},
    "system": {"timeserver"},
}
# A file named after the program rather than its package (openwrt/packages net/miniupnpd).
_UCI_ALIASES = {"miniupnpd": "upnpd"}


def detect_uci_package(text: str, source: str = "") -> str | None:
    """The package of a lone OpenWrt /etc/config file, or None (not UCI, or ambiguous).

    The file name decides (``/etc/config/NAME``, ``…_etc_config_NAME``, or a name ending in
    a known package such as ``dropbear.config``) unless the section types point at another
    package; without a telling name, the section types decide when they name one package.
    """
    significant = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if not significant or not significant[0].lstrip().startswith(("config", "package")):
        return None
    # A value may span lines inside quotes: tolerate a few lines that are not directives.
    stray = sum(1 for line in significant if not _UCI_LINE.match(line))
    if stray > len(significant) // 10:
        return None
    types = set(_UCI_SECTION.findall(text))
    if not types:
        return None
    by_types = {package for package, known in _UCI_TYPES.items() if types & known}
    by_name = _uci_name(source)
    if by_name is not None:
        by_name = _UCI_ALIASES.get(by_name, by_name)
        return by_name if by_types <= {by_name} else None
    return next(iter(by_types)) if len(by_types) == 1 else None


def _uci_name(source: str) -> str | None:
    path = source.replace("\\", "/")
    found = _UCI_PATH.search(path)
    if found:
        return found.group(1)
    stem = path.rsplit("/", 1)[-1].removesuffix(".config").removesuffix(".conf")
    # Longest first: mini_snmpd before snmpd, miniupnpd before upnpd.
    for package in sorted([*_UCI_TYPES, *_UCI_ALIASES], key=len, reverse=True):
        if re.search(rf"(?:^|[^A-Za-z0-9]){re.escape(package)}$", stem):
            return package
    return None
