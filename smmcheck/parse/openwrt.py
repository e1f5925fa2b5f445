"""Facts for an OpenWrt router or gateway from its UCI configuration and command outputs.

On OpenWrt the UCI configuration decides what runs: dropbear, uhttpd, miniupnpd and the
SNMP agents are procd services whose init scripts start one instance per enabled section,
with the defaults the scripts give. So the UCI packages establish the SSH server, the web
server, the SNMP communities and whether UPnP listens, even without a socket listing.
``uci show`` and a whole /etc/config list every package, so a package missing from them
is not installed. A fact family that neither UCI nor a listing establishes stays None.

The defaults are those of OpenWrt's init scripts:
- dropbear (openwrt package/network/services/dropbear/files/dropbear.init): ``enable``,
  ``PasswordAuth``, ``RootPasswordAuth``, ``RootLogin`` default to 1 and ``Port`` to 22;
  0 adds ``-s`` (no password logins), ``-g`` (none for root), ``-w`` (no root login), as
  does a non-root ``RunAsUser``. Its algorithms are fixed at build time, not in UCI.
- uhttpd (package/network/services/uhttpd): ``listen_http``/``listen_https`` lists;
  ``redirect_https`` answers HTTP requests with a redirect to the HTTPS listener.
- miniupnpd (openwrt/packages net/miniupnpd): a missing ``enabled`` counts as 1 (the init
  script's default before 2.0, which its 2.0 migration writes in); ``enabled_protocols``
  (2.0) or ``enable_upnp``/``enable_natpmp`` (before) choose UPnP IGD (SSDP on UDP 1900,
  HTTP on ``port``/``upnp_igd_http_port``, 5000) and PCP/NAT-PMP (UDP 5351).
- net-snmp (net/net-snmp/files/snmpd.init): ``com2sec`` communities reach ``access``
  sections through ``group`` sections (a write view makes them read-write); mini_snmpd
  (net/mini_snmpd): ``enabled`` defaults to 0, ``community`` to public, and with
  ``auth 0`` it answers any community.
LLDP (lldpd) is left out: it speaks link-layer frames, so no TCP/UDP socket stands for it.
The system package's remote log host and NTP servers: see :mod:`smmcheck.parse.openwrt_system`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from smmcheck.facts import (
    DeviceFacts,
    HttpServer,
    MgmtLine,
    SnmpCommunity,
    SnmpGroup,
    Socket,
    SourceLine,
    SshServer,
)
from smmcheck.parse.addresses import is_loopback
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.detect import ARTIFACT_SCOPE
from smmcheck.parse.openwrt_firewall import firewall_zones
from smmcheck.parse.openwrt_lldpd import lldpd_discovery
from smmcheck.parse.openwrt_system import ntp_servers, remote_log_hosts
from smmcheck.parse.redact import MASK
from smmcheck.parse.sockets import login_services, netstat_facts, socket_facts
from smmcheck.parse.sshd import sshd_facts
from smmcheck.parse.uci import UciConfig, UciSection, UciValue, read_uci

Access = Literal["ro", "rw", "unknown"]
_ROOT_WORDS = ("no", "prohibit-password", "yes")  # OpenSSH's PermitRootLogin, strictest first
_MODES: dict[str, Access] = {"rocommunity": "ro", "rwcommunity": "rw"}
_VERSIONS: dict[str, Literal["v1", "v2c", "v3"]] = {"v1": "v1", "v2c": "v2c", "usm": "v3"}
_LEVELS: tuple[Literal["noauth", "auth", "priv"], ...] = ("noauth", "auth", "priv")
# net-snmp section types that carry a community, and the option holding it.
_COMMUNITIES = (
    ("com2sec", "community"),
    ("com2sec6", "community"),
    ("access_default", "CommunityName"),
    ("access_HostName", "CommunityName"),
    ("access_HostIP", "CommunityName"),
    ("trap_HostName", "Community"),
    ("trap_HostIP", "Community"),
)
_NO_TELNET = (
    "dropbear serves SSH only, and OpenWrt since LEDE 17.01 ships no telnetd outside"
    " failsafe mode (a telnetd started by hand shows in a socket listing, not in UCI)"
)
_ROOT_OPTIONS = ("RootLogin", "RootPasswordAuth", "PasswordAuth")
_FIXED = "dropbear's algorithms are chosen when it is built, not in UCI"


def parse_openwrt(
    artifacts: tuple[Artifact, ...], *, source: str, sha256: str, name_hint: str
) -> DeviceFacts:
    """Facts for one OpenWrt device (``uci show`` or /etc/config files, netstat, release)."""
    present = {a.name: a for a in artifacts if not a.absent}
    uci = read_uci(artifacts)
    release = _release(present.get("openwrt-release"), present.get("board"))
    listed = _listed(present["listening-sockets"]) if "listening-sockets" in present else None
    dropbear = _dropbear(uci) if uci is not None and uci.knows("dropbear") else None
    banner = present["ssh-banner"].text.strip() if "ssh-banner" in present else ""
    ssh = _ssh(dropbear, banner) if dropbear else None
    if ssh is None:
        # OpenSSH instead of dropbear (package openssh-server): its files say the rest.
        ssh = sshd_facts(present.get("sshd-effective"), present.get("sshd-config"), None)
    sockets = listed
    if listed is None and uci is not None and uci.knows("upnpd"):
        sockets = _upnp_sockets(uci)
    communities, groups = _snmp(uci) if uci is not None else (None, None)
    # A file given on its own (/etc/config/dropbear) is judged on what it establishes.
    parts = [a.name for a in artifacts if a.part]
    scope = tuple(f for name in parts for f in ARTIFACT_SCOPE.get(name, ())) if parts else None
    return DeviceFacts(
        device=name_hint,
        scope=scope,
        platform="openwrt",
        source=source,
        sha256=sha256,
        line_count=sum(len(a.text.splitlines()) for a in present.values()),
        os_version=release[0],
        management_lines=_management_lines(dropbear, listed, release),
        ssh=ssh,
        http=_http(uci, listed) if uci is not None else None,
        snmp_communities=communities,
        snmp_groups=groups,
        sockets=sockets,
        firewall_zones=firewall_zones(uci) if uci is not None else None,
        discovery=lldpd_discovery(uci, sockets),
        logging_hosts=remote_log_hosts(uci, release[1]),
        ntp_servers=ntp_servers(uci),
    )


def _listed(listing: Artifact) -> tuple[Socket, ...]:
    # BusyBox netstat, or `ss` (package ip-full) when that is what was collected.
    if re.search(r"^(?:tcp|udp)\s+(?:LISTEN|UNCONN)\s", listing.text, re.MULTILINE):
        return socket_facts(listing)
    return netstat_facts(listing)


def _release(
    release: Artifact | None, board: Artifact | None
) -> tuple[str | None, tuple[int, int] | None]:
    """(description, (major, minor)) from /etc/openwrt_release or ``ubus call system board``."""
    text = version = None
    if release is not None:
        fields = dict(re.findall(r"^(DISTRIB_\w+)=['\"]?(.*?)['\"]?\s*$", release.text, re.M))
        text = fields.get("DISTRIB_DESCRIPTION") or fields.get("DISTRIB_RELEASE")
        version = fields.get("DISTRIB_RELEASE")
    if text is None and board is not None:
        try:
            data = json.loads(board.text).get("release")
        except (ValueError, AttributeError):
            data = None
        if isinstance(data, dict):
            text, version = data.get("description"), data.get("version")
    match = re.match(r"(\d+)\.(\d+)", str(version or ""))
    return text, (int(match.group(1)), int(match.group(2))) if match else None


def _sorted(lines: Sequence[SourceLine]) -> tuple[SourceLine, ...]:
    return tuple(sorted(dict.fromkeys(lines), key=lambda s: (s.source, s.line)))


def _any(values: Sequence[bool | None]) -> bool | None:
    if True in values:
        return True
    return None if None in values else False


# --- dropbear ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dropbear:
    """One ``config dropbear`` section, as dropbear.init starts it."""

    label: str
    enabled: bool | None
    permit_root_login: str | None  # in OpenSSH's words
    password: bool | None
    root_password_login: bool | None
    why: str
    login_lines: tuple[SourceLine, ...]  # the section and the options deciding root login
    lines: tuple[SourceLine, ...]  # and where it listens


def _dropbear(uci: UciConfig) -> list[_Dropbear]:
    found = []
    for section in uci.of("dropbear", "dropbear"):
        login, said = [section.header], []
        flags: dict[str, bool | None] = {}
        for option in ("enable", "PasswordAuth", "RootPasswordAuth", "RootLogin"):
            flags[option], line = section.flag(option, True)
            login += [line.evidence()] if line is not None else []
            shown = {True: "on", False: "off", None: "not a boolean"}[flags[option]]
            said.append(f"{option} {shown}" + (" (default)" if line is None else ""))
        user = section.get("RunAsUser")
        if user is not None and user.value not in ("", "root"):
            flags["RootLogin"] = False  # -g -w: a non-root dropbear cannot log root in
            said.append(f"RunAsUser {user.value}")
            login.append(user.evidence())
        port = section.get("Port")
        iface = section.get("DirectInterface") or section.get("Interface")
        where = (iface.value.split() or ["*"])[0] if iface is not None else "*"
        root, root_password, password = (flags[o] for o in _ROOT_OPTIONS)
        permit = "no" if root is False else "prohibit-password" if root_password is False else None
        if permit is None and root and root_password:
            permit = "yes"
        root_login: bool | None = None
        if False in (root, root_password, password):
            root_login = False
        elif None not in (root, root_password, password):
            root_login = True
        found.append(
            _Dropbear(
                label=f"dropbear on {where}:{port.value if port else 22}",
                enabled=flags["enable"],
                permit_root_login=permit,
                password=password,
                root_password_login=root_login,
                why=", ".join(said[1:]),
                login_lines=_sorted(login),
                lines=_sorted([*login, *(v.evidence() for v in (port, iface) if v)]),
            )
        )
    return found


def _ssh(instances: list[_Dropbear], banner: str) -> SshServer:
    """The SSH server the running dropbear instances make (the most permissive of them)."""
    release = re.search(r"dropbear_[\w.]+", banner)
    software = release.group(0) if release else "dropbear"  # the SSH banner names it
    running = [i for i in instances if i.enabled is not False]
    notes = {"accepted_versions": "dropbear implements SSH-2 only"}
    notes |= dict.fromkeys(("ciphers", "macs", "kex"), _FIXED)
    if not running:
        notes["root_password_login"] = "every dropbear section has enable '0': no SSH server"
        return SshServer(
            label="dropbear (every instance disabled)",
            evidence=_sorted([line for i in instances for line in i.lines]),
            permit_root_login="no",
            password_authentication=False,
            root_password_login=False,
            accepted_versions=(2,),
            software=software,
            notes=notes,
        )
    words = [i.permit_root_login for i in running]
    permit = None
    if "yes" in words or None not in words:
        permit = max((w for w in words if w), key=_ROOT_WORDS.index)
    notes["root_password_login"] = "; ".join(f"{i.label}: {i.why}" for i in running)
    notes["permit_root_login"] = "dropbear's RootLogin and RootPasswordAuth in OpenSSH's words"
    root = _any([i.root_password_login for i in running])
    # A finding cites the instances that decide it (the wan one, not the hardened lan one).
    deciding = instances if root is False else [i for i in running if i.root_password_login is root]
    login = _sorted([line for i in deciding or running for line in i.login_lines])
    stopped = [i.label for i in instances if i.enabled is False]
    if stopped:
        notes["root_password_login"] += f"; not started (enable '0'): {', '.join(stopped)}"
    fields = ("permit_root_login", "password_authentication", "root_password_login")
    return SshServer(
        label=f"dropbear ({', '.join(i.label for i in running)})",
        evidence=_sorted([line for i in running for line in i.lines]),
        field_evidence=dict.fromkeys(fields, login),
        permit_root_login=permit,
        password_authentication=_any([i.password for i in running]),
        root_password_login=root,
        accepted_versions=(2,),
        software=software,
        notes=notes,
    )


def _management_lines(
    dropbear: list[_Dropbear] | None,
    sockets: tuple[Socket, ...] | None,
    release: tuple[str | None, tuple[int, int] | None],
) -> tuple[MgmtLine, ...] | None:
    if dropbear is None:
        return login_services(sockets) if sockets is not None else None
    lines = [
        MgmtLine(
            label=i.label,
            kind="service",
            telnet_accepted=False,
            remote_access=True,
            evidence=i.lines,
            notes={"telnet_accepted": _NO_TELNET},
        )
        for i in dropbear
        if i.enabled is not False
    ]
    if sockets is not None:
        lines += [line for line in login_services(sockets) if line.telnet_accepted]
    elif release[1] is not None and release[1] < (17, 1):
        why = "OpenWrt before 17.01 may run telnetd (14.07 and earlier until root has a password)"
        lines.append(
            MgmtLine(
                label=f"telnetd ({release[0]})",
                kind="service",
                remote_access=True,
                notes={"telnet_accepted": f"{why}; no socket listing shows whether it does"},
            )
        )
    return tuple(lines)


# --- uhttpd -----------------------------------------------------------------------------


def _http(uci: UciConfig, sockets: tuple[Socket, ...] | None) -> HttpServer | None:
    if not uci.knows("uhttpd"):
        return None
    servers = uci.of("uhttpd", "uhttpd")
    if not servers:
        web = [s for s in sockets or () if s.service == "http" and not s.local_only]
        return HttpServer(
            label=", ".join(s.label for s in web) or "no uhttpd",
            evidence=_sorted([e for s in web for e in s.evidence]) or (uci.missing("uhttpd"),),
            cleartext_enabled=bool(web),
            tls_enabled=any(s.service == "https" and not s.local_only for s in sockets or ()),
            notes={"cleartext_enabled": "uhttpd (LuCI's web server) is not configured"},
        )
    verdicts: list[bool | None] = []
    labels, notes, evidence = [], [], []
    for server in servers:
        http = _listens(server, "listen_http")
        plain = [v for v in http if not _loopback(v.value)]
        tls = _listens(server, "listen_https")
        redirect, line = server.flag("redirect_https", False)
        evidence += [server.header, *(v.evidence() for v in [*http, *tls])]
        evidence += [line.evidence()] if line is not None else []
        label = f"uhttpd {server.ref}: HTTP on {', '.join(v.value for v in plain) or 'none'}"
        if plain and redirect and tls:
            # A redirect carries no credentials: the login page and the session are HTTPS.
            verdicts.append(False)
            labels.append(f"{label} (redirected to HTTPS)")
            notes.append(f"{server.ref}: redirect_https '1' sends every HTTP request to HTTPS")
            continue
        verdicts.append(None if plain and tls and redirect is None else bool(plain))
        labels.append(label)
        if plain and redirect:
            notes.append(f"{server.ref}: redirect_https needs an HTTPS listener (listen_https)")
    return HttpServer(
        label="; ".join(labels),
        evidence=_sorted(evidence),
        notes={"cleartext_enabled": "; ".join(notes)} if notes else {},
        cleartext_enabled=_any(verdicts),
        tls_enabled=any(_listens(s, "listen_https") for s in servers),
    )


def _listens(section: UciSection, option: str) -> list[UciValue]:
    # uhttpd.init splits values on spaces too: `option listen_http '0.0.0.0:80 [::]:80'`.
    return [
        UciValue(word, v.artifact, v.line, v.masked)
        for v in section.values(option)
        for word in v.value.split()
    ]


def _loopback(listen: str) -> bool:
    # '80' alone listens on every address; '127.0.0.1:80' and '[::1]:80' only locally.
    return is_loopback(listen.rpartition(":")[0])


# --- SNMP -------------------------------------------------------------------------------


def _snmp(uci: UciConfig) -> tuple[tuple[SnmpCommunity, ...] | None, tuple[SnmpGroup, ...] | None]:
    if not (uci.knows("snmpd") or uci.knows("mini_snmpd")):
        return None, None
    found: list[SnmpCommunity] = [
        # A package whose configuration was not given may hold a community: unknown, so
        # the rest can fail the device but never let it pass.
        SnmpCommunity(
            label=f"{package} communities",
            name=None,
            evidence=(
                SourceLine(
                    source=", ".join(uci.sources) or "the UCI configuration",
                    line=0,
                    text=f"(no /etc/config/{package} given, and not known to be absent)",
                ),
            ),
            notes={"name": f"the {package} configuration was not given"},
        )
        for package in ("snmpd", "mini_snmpd")
        # A lone snmpd file is judged as net-snmp's: mini_snmpd is out of its scope.
        if not uci.knows(package) and not uci.part
    ]
    net_snmp_off = any(s.flag("enabled", True)[0] is False for s in uci.of("snmpd", "snmpd"))
    if uci.knows("snmpd") and not net_snmp_off:
        # `config snmpd 'general'` with enabled '0' switches net-snmp off.
        found += _net_snmp(uci)
    for index, section in enumerate(uci.of("mini_snmpd", "mini_snmpd"), start=1):
        enabled, enabled_line = section.flag("enabled", False)
        if enabled is False:
            continue
        community = section.get("community")
        auth, auth_line = section.flag("auth", True)
        secret = community.value if community else None
        header = section.header.text.replace(secret, MASK) if secret else section.header.text
        lines = [section.header.model_copy(update={"text": header})]
        lines += [community.redacted()] if community else []
        lines += [v.evidence(secret) for v in (enabled_line, auth_line) if v is not None]
        notes = {} if community else {"name": "no community option: mini_snmpd uses 'public'"}
        if auth is False:
            notes["name"] = "auth '0': mini_snmpd answers any community, 'public' included"
        found.append(
            SnmpCommunity(
                label=f"mini_snmpd #{index} (RO)",
                name=community.value if community and auth is not False else "public",
                access="ro",
                evidence=_sorted(lines),
                notes=notes,
            )
        )
    groups = () if net_snmp_off else _groups(uci) if uci.knows("snmpd") else None
    return tuple(found), groups


def _net_snmp(uci: UciConfig) -> list[SnmpCommunity]:
    groups, access = uci.of("snmpd", "group"), uci.of("snmpd", "access")
    found = []
    for kind, option in _COMMUNITIES:
        for index, section in enumerate(uci.of("snmpd", kind), start=1):
            community = section.get(option)
            if community is None:
                continue
            mode = _access(kind, section, groups, access)
            source = _value(section, "source")
            context = [section.get(o) for o in ("secname", "source", "Mode", "HostName", "HostIP")]
            found.append(
                SnmpCommunity(
                    label=f"{kind} #{index} ({mode.upper()})",
                    name=community.value,
                    access=mode,
                    acl=source if source not in ("", "default") else None,
                    evidence=_sorted(
                        [community.redacted(), *(v.evidence(community.value) for v in context if v)]
                    ),
                )
            )
    return found


def _access(
    kind: str, section: UciSection, groups: list[UciSection], access: list[UciSection]
) -> Access:
    if kind.startswith("trap"):
        return "ro"  # a notification target's community only travels, in clear text
    if not kind.startswith("com2sec"):
        return _MODES.get(_value(section, "Mode"), "unknown")
    # com2sec -> security name -> groups -> access sections: a write view makes it RW.
    secname = _value(section, "secname")
    names = {_value(g, "group") for g in groups if _value(g, "secname") == secname}
    writes = [_value(a, "write") for a in access if _value(a, "group") in names]
    if not writes:
        return "unknown"
    return "rw" if any(w not in ("none", "") for w in writes) else "ro"


def _groups(uci: UciConfig) -> tuple[SnmpGroup, ...]:
    access = uci.of("snmpd", "access")
    found = []
    for section in uci.of("snmpd", "group"):
        version, name = _VERSIONS.get(_value(section, "version")), _value(section, "group")
        if version is None or not name:
            continue
        # A v3 group is as weak as the weakest level an access section grants it.
        granted = {_value(a, "level") for a in access if _value(a, "group") == name}
        weakest = next((level for level in _LEVELS if level in granted), None)
        found.append(
            SnmpGroup(
                label=f"group {name} ({version})",
                name=name,
                version=version,
                security_level=weakest if version == "v3" else None,
                evidence=_sorted([v.evidence() for vs in section.options.values() for v in vs]),
            )
        )
    return tuple(found)


def _value(section: UciSection, option: str) -> str:
    found = section.get(option)
    return found.value if found is not None else ""


# --- miniupnpd --------------------------------------------------------------------------


def _upnp_sockets(uci: UciConfig) -> tuple[Socket, ...]:
    """The sockets miniupnpd opens as its UCI section starts it (none when disabled)."""
    found: list[Socket] = []
    for section in uci.of("upnpd", "upnpd"):
        enabled, line = section.flag("enabled", True)
        if enabled is False:
            continue
        cited = [line.evidence() if line is not None else section.header]
        chosen = section.get("enabled_protocols")
        if chosen is not None:
            # all | upnp-igd | pcp+nat-pmp; another word leaves miniupnpd's defaults (both).
            upnp, natpmp = chosen.value != "pcp+nat-pmp", chosen.value != "upnp-igd"
            cited.append(chosen.evidence())
        else:
            (upnp_on, upnp_line), (pmp_on, pmp_line) = (
                section.flag("enable_upnp", True),
                section.flag("enable_natpmp", True),
            )
            upnp, natpmp = upnp_on is not False, pmp_on is not False
            cited += [v.evidence() for v in (upnp_line, pmp_line) if v is not None]
        why = {} if line else {"service": "no 'enabled' option, which miniupnpd takes as 1"}
        port = section.get("upnp_igd_http_port") or section.get("port")
        lan = _lan_address(uci, section)
        wanted: list[tuple[Literal["tcp", "udp"], str, int]] = []
        if upnp:
            # SSDP listens on every address (multicast), the IGD's HTTP on the LAN's.
            http = int(port.value) if port is not None and port.value.isdigit() else 5000
            wanted += [("udp", "0.0.0.0", 1900), ("tcp", lan, http)]
        if natpmp:
            wanted.append(("udp", lan, 5351))
        found += [
            Socket(
                label=f"{protocol} {host}:{number} (miniupnpd, upnpd {section.ref})",
                protocol=protocol,
                address=host,
                port=number,
                process="miniupnpd",
                service="upnp",
                evidence=_sorted(cited),
                notes=why if index == 0 else {},
            )
            for index, (protocol, host, number) in enumerate(wanted)
        ]
    return tuple(found)


def _lan_address(uci: UciConfig, section: UciSection) -> str:
    """The address of the internal network (``internal_iface``, 2.0's ``internal_network``)."""
    names = {_value(section, "internal_iface")}
    names |= {_value(s, "interface") for s in uci.of("upnpd", "internal_network")}
    for interface in uci.of("network", "interface"):
        if interface.ref in names and interface.values("ipaddr"):
            return interface.values("ipaddr")[0].value.split("/")[0]
    named = sorted(name for name in names if name)
    if named and not uci.knows("network"):
        # Without /etc/config/network the address is not known, but miniupnpd listens on
        # that interface's (its listening_ip takes an interface name), not on every one.
        return named[0]
    return "0.0.0.0"
