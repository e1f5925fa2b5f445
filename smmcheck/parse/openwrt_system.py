"""Remote syslog hosts and NTP servers of an OpenWrt device, from its ``system`` package.

Both are started by init scripts from UCI, after procd's ``validate_data`` checked every
option they read (an invalid value fails the whole section: "validation failed", nothing
started; an empty value counts as unset):

- logd's remote forwarder (openwrt package/system/ubox/files/log.init): for each
  ``config system`` section, ``logread -f -r LOG_IP LOG_PORT`` (``-u`` for UDP) unless
  ``log_remote`` is 0 or ``log_ip`` is empty. Defaults: ``log_remote`` 1, ``log_port`` 514,
  ``log_proto`` udp. ``log_ip`` was validated as an IP address until 2021 (ubox commit
  ec83fb9c, "host" since): a host name there starts nothing on 19.07 and before.
- sysntpd (package/utils/busybox/files/sysntpd; openwrt/packages' ntpd reads the same
  section): the section named ``ntp`` (``config timeserver 'ntp'``), ``enabled`` 1 and
  ``use_dhcp`` 1 by default, ``list server``. With no server it starts ntpd only with the
  servers DHCP hands out (``use_dhcp``), which no configuration shows. A missing ``ntp``
  section means those defaults. base-files' config_generate writes the section with
  0..3.openwrt.pool.ntp.org on first boot.

What the configuration cannot settle is unknown (None), never an absence: a value the
validation might reject, a host name on a release that may not take it, servers that only
DHCP would give, or another daemon (chrony, rsyslog) that may do the job instead.
"""

from __future__ import annotations

import ipaddress
import re

from smmcheck.facts import Endpoint
from smmcheck.parse.uci import UciConfig, UciSection, UciValue

# Spellings every release's validate_data takes as booleans (later ones add more, or
# compare case-insensitively: those are left unknown).
_BOOLS = {"0": False, "off": False, "false": False, "no": False}
_BOOLS |= {"1": True, "on": True, "true": True, "yes": True}
_LABEL = r"[A-Za-z0-9_-]"
# libvalidate's hostname: dot-separated non-empty labels of letters, digits, '_' and '-'.
_HOSTNAME = re.compile(rf"(?:{_LABEL}{{1,63}}\.)*{_LABEL}{{1,255}}")
_UINTEGER = re.compile(r"\d+|0[xX][0-9A-Fa-f]+")  # strtol(..., 0) without a sign


def remote_log_hosts(
    uci: UciConfig | None, release: tuple[int, int] | None
) -> tuple[Endpoint, ...] | None:
    """The hosts logd forwards the log to (``log_ip``), or None when that is unknown."""
    if uci is None or not uci.knows("system"):
        return None
    # log.init starts one forwarder per `config system` section (there is one as shipped).
    hosts = [_log_host(section, release) for section in uci.of("system", "system")]
    found = tuple(endpoint for host in hosts if host for endpoint in host)
    if found:
        return found
    if None in hosts or _may_run(uci, "rsyslog"):
        return None
    return ()


def ntp_servers(uci: UciConfig | None) -> tuple[Endpoint, ...] | None:
    """The servers sysntpd synchronises the clock to, or None when that is unknown."""
    if uci is None or not uci.knows("system"):
        return None
    # validate_data looks the section up by name: its type does not matter.
    section = next((s for s in uci.of("system") if s.ref == "ntp"), None)
    enabled = _set(section, "enabled")
    flags = [
        _flag(_set(section, option), default)
        for option, default in (("enabled", True), ("enable_server", False), ("use_dhcp", True))
    ]
    servers = [(v, word) for v in _values(section, "server") for word in v.value.split()]
    if None in flags or not all(_host(word) for _, word in servers):
        return None  # validate_data may reject the section: whether ntpd starts is unknown
    running = flags[0] is not False  # enabled '0': sysntpd starts nothing
    if running and servers:
        cited = [enabled.evidence()] if enabled is not None else []
        return tuple(
            Endpoint(
                label=f"ntp server {word}",
                address=word,
                evidence=tuple(sorted([v.evidence(), *cited], key=lambda s: s.line)),
            )
            for v, word in servers
        )
    if (running and flags[2]) or _may_run(uci, "chrony"):
        return None  # only the servers DHCP hands out, or another NTP daemon: unknown
    return ()


def _log_host(section: UciSection, release: tuple[int, int] | None) -> tuple[Endpoint, ...] | None:
    """The host one `config system` section forwards to (none: empty), None when unknown."""
    ip, remote = _set(section, "log_ip"), _set(section, "log_remote")
    port, proto, size = (_set(section, o) for o in ("log_port", "log_proto", "log_size"))
    flags = [
        _flag(_set(section, o), d) for o, d in (("log_remote", True), ("log_trailer_null", False))
    ]
    valid = (
        None not in flags
        and (port is None or (port.value.isdigit() and int(port.value) <= 65535))
        and (proto is None or proto.value in ("udp", "tcp"))
        and (size is None or _UINTEGER.fullmatch(size.value) is not None)
        and len(_values(section, "log_ip")) <= 1
    )
    if not valid:
        return None  # validate_data may reject the section: whether logread starts is unknown
    if flags[0] is False or ip is None:
        return ()
    if not _ip(ip.value):
        if not _host(ip.value):
            return None
        if release is not None and release <= (19, 7):
            return ()  # validated as an IP address then: "validation failed", nothing sent
        if release is None or release < (22, 3):
            return None  # host names are accepted since 2021: on this release, unknown
    shown = f"{proto.value if proto else 'udp'} port {port.value if port else '514'}"
    lines = sorted((v.evidence() for v in (ip, port, proto, remote) if v), key=lambda s: s.line)
    return (
        Endpoint(label=f"log_ip {ip.value} ({shown})", address=ip.value, evidence=tuple(lines)),
    )


def _set(section: UciSection | None, option: str) -> UciValue | None:
    # validate_data takes an empty value as unset (the default applies).
    found = section.get(option) if section is not None else None
    return found if found is not None and found.value else None


def _values(section: UciSection | None, option: str) -> list[UciValue]:
    return [v for v in section.values(option) if v.value] if section is not None else []


def _flag(value: UciValue | None, default: bool) -> bool | None:
    """The boolean (the default when unset), None when validate_data may reject it."""
    return default if value is None else _BOOLS.get(value.value)


def _ip(text: str) -> bool:
    if "%" in text:
        return False  # a scoped IPv6 address (fe80::1%eth0): inet_pton rejects it
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host(text: str) -> bool:
    return _ip(text) or _HOSTNAME.fullmatch(text) is not None


def _may_run(uci: UciConfig, package: str) -> bool:
    """Whether another daemon (chrony, rsyslog) is configured, or may be: a lone system
    file is judged as logd's and sysntpd's, as a lone snmpd file is as net-snmp's."""
    return uci.has(package) or (not uci.knows(package) and not uci.part)
