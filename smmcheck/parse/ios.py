"""Facts from Cisco IOS / IOS-XE running configurations.

Defaults matter as much as lines: a setting that ``show running-config`` omits takes the
IOS default, so each absent line is resolved here with the default the release implies
(and a note saying so), or left unknown when the default depends on the release.
"""

from __future__ import annotations

import re

from smmcheck.facts import (
    Credential,
    DeviceFacts,
    Endpoint,
    HttpServer,
    MgmtLine,
    SnmpCommunity,
    SnmpGroup,
    SshServer,
)
from smmcheck.parse.cisco import (
    Text,
    acl_names,
    credential,
    endpoint,
    is_address,
    notification_community,
    option,
    read_config_tree,
    snmp_community,
)
from smmcheck.parse.ios_acl import parse_acls
from smmcheck.parse.ios_discovery import parse_discovery
from smmcheck.parse.ios_interfaces import parse_interfaces
from smmcheck.parse.tree import Node

# IOS's default idle timeout for console, aux and vty lines is 10 minutes.
DEFAULT_EXEC_TIMEOUT = 600
_VERSION = re.compile(r"^(\d+)\.(\d+)")


def parse_ios(text: str, *, source: str, sha256: str, name_hint: str) -> DeviceFacts:
    """Parse an IOS / IOS-XE running configuration into facts."""
    config = read_config_tree(text, source, "ios")
    raw, first = config.raw, config.first
    version = config.argument("version")
    major = _major(version)
    complete = any(n.text == "end" for n in first("end"))
    interfaces = parse_interfaces(config)
    return DeviceFacts(
        device=config.argument("hostname") or name_hint,
        platform="cisco_ios",
        source=source,
        sha256=sha256,
        line_count=len(raw.lines),
        os_version=version,
        complete=complete,
        incomplete_reason=None
        if complete
        else "the configuration has no final 'end' line and may be truncated",
        management_lines=tuple(_mgmt_lines(raw, first("line"), major, acl_names(config.nodes))),
        ssh=_ssh(raw, first("ip")),
        http=_http(raw, first("ip"), first("no")),
        snmp_communities=tuple(_communities(raw, first("snmp-server"))),
        snmp_groups=tuple(_groups(raw, first("snmp-server"))),
        credentials=tuple(_credentials(raw, config.by_first)),
        logging_hosts=tuple(_logging_hosts(raw, first("logging"))),
        ntp_servers=tuple(_ntp_servers(raw, first("ntp") + first("sntp"))),
        acls=parse_acls(config),
        interfaces=interfaces,
        discovery=parse_discovery(config, interfaces, nxos=False),
    )


def _major(version: str | None) -> int | None:
    match = _VERSION.match(version or "")
    return int(match.group(1)) if match else None


def _mgmt_lines(
    raw: Text, nodes: list[Node], major: int | None, defined_acls: set[str]
) -> list[MgmtLine]:
    found = []
    for node in nodes:
        words = node.words()
        if len(words) < 2:
            continue
        kind = {"vty": "vty", "con": "console", "console": "console", "aux": "aux"}.get(words[1])
        if kind is None:
            continue
        label = node.text
        transport: tuple[str, ...] | None = None
        access_class = None
        timeout: int | None = None
        notes: dict[str, str] = {}
        for child in node.children:
            cw = child.words()
            if cw[:2] == ["transport", "input"]:
                transport = tuple(cw[2:])
            elif cw[:1] == ["access-class"] and len(cw) >= 3 and cw[2] == "in":
                access_class = cw[1]
            elif cw[:1] == ["exec-timeout"] and len(cw) >= 2 and cw[1].isdigit():
                seconds = int(cw[2]) if len(cw) > 2 and cw[2].isdigit() else 0
                timeout = int(cw[1]) * 60 + seconds
        if timeout is None:
            timeout = DEFAULT_EXEC_TIMEOUT
            notes["exec_timeout_seconds"] = "no exec-timeout: IOS default 10 minutes"
        telnet, remote = _transport(kind, transport, major, notes)
        if access_class is not None and access_class not in defined_acls:
            notes["access_class_defined"] = (
                f"access-class {access_class} names an ACL that is"
                " not defined, which IOS treats as permit-all"
            )
        evidence_nodes = [node] + [
            c
            for c in node.children
            if c.words()[:1]
            in (["transport"], ["access-class"], ["exec-timeout"], ["password"], ["login"])
        ]
        found.append(
            MgmtLine(
                label=label,
                kind=kind,
                transport_input=transport,
                telnet_accepted=telnet,
                remote_access=remote,
                access_class_in=access_class,
                access_class_defined=None if access_class is None else access_class in defined_acls,
                exec_timeout_seconds=timeout,
                evidence=raw.evidence(*evidence_nodes),
                notes=notes,
            )
        )
    return found


def _transport(
    kind: str, transport: tuple[str, ...] | None, major: int | None, notes: dict[str, str]
) -> tuple[bool | None, bool | None]:
    """Whether a line accepts Telnet, and whether it accepts any remote session at all."""
    if kind != "vty":
        return None, None
    if transport is not None:
        notes["telnet_accepted"] = f"transport input {' '.join(transport) or '(empty)'}"
        return "telnet" in transport or "all" in transport, transport != ("none",)
    if major is not None and major < 16:
        # Classic IOS (12.x, 15.x) defaults vty lines to `transport input all`.
        notes["telnet_accepted"] = (
            f"no transport input: IOS {major}.x defaults vty lines to 'all', which accepts Telnet"
        )
        return True, True
    release = f"IOS-XE {major}.x" if major is not None else "an unknown IOS release"
    why = (
        f"no transport input on {release}: the vty default differs between releases"
        " ('all' on older ones, 'none' or 'ssh' on newer); set 'transport input ssh'"
    )
    notes["telnet_accepted"] = notes["remote_access"] = why
    return None, None


def _ssh(raw: Text, ip_nodes: list[Node]) -> SshServer:
    ssh_nodes = [n for n in ip_nodes if n.words()[:2] == ["ip", "ssh"]]
    version_nodes = [n for n in ssh_nodes if n.words()[:3] == ["ip", "ssh", "version"]]
    if version_nodes:
        node = version_nodes[-1]
        words = node.words()
        version = int(words[3]) if len(words) > 3 and words[3].isdigit() else None
        versions = (version,) if version else None
        return SshServer(
            label="ip ssh version", accepted_versions=versions, evidence=raw.evidence(node)
        )
    return SshServer(
        label="ip ssh version",
        accepted_versions=(1, 2),
        notes={
            "accepted_versions": "no 'ip ssh version 2': IOS accepts SSH 1.99 (versions 1 and 2)"
        },
        evidence=raw.evidence(*ssh_nodes) or raw.absence("'ip ssh version' line"),
    )


def _http(raw: Text, ip_nodes: list[Node], no_nodes: list[Node]) -> HttpServer:
    on = [n for n in ip_nodes if n.words()[:3] == ["ip", "http", "server"]]
    off = [n for n in no_nodes if n.words()[:4] == ["no", "ip", "http", "server"]]
    tls_on = [n for n in ip_nodes if n.words()[:3] == ["ip", "http", "secure-server"]]
    evidence = raw.evidence(*sorted(on + off + tls_on, key=lambda n: n.line))
    notes = {}
    if not on and not off:
        # IOS documents the HTTP server as disabled by default; factory configs that
        # enable it write 'ip http server' explicitly.
        notes["cleartext_enabled"] = "no 'ip http server' line: disabled by IOS default"
        evidence = evidence or raw.absence("'ip http server' line")
    return HttpServer(
        label="ip http server",
        cleartext_enabled=bool(on),
        tls_enabled=bool(tls_on),
        notes=notes,
        evidence=evidence,
    )


def _communities(raw: Text, nodes: list[Node]) -> list[SnmpCommunity]:
    found: list[SnmpCommunity] = []
    for node in nodes:
        words = node.words()
        if len(words) >= 3 and words[1] == "community":
            found.append(snmp_community(raw, node, words, 2, len(found) + 1))
        elif len(words) >= 3 and words[1] == "host":
            # A v1/v2c notification target carries a community string too.
            notify = notification_community(raw, node, words)
            if notify is not None:
                found.append(notify)
    return found


def _groups(raw: Text, nodes: list[Node]) -> list[SnmpGroup]:
    found = []
    for node in nodes:
        words = node.words()
        if len(words) >= 4 and words[1] == "group" and words[3] in ("v1", "v2c", "v3"):
            level = words[4] if words[3] == "v3" and len(words) > 4 else None
            found.append(
                SnmpGroup(
                    label=f"snmp-server group {words[2]} {words[3]}"
                    + (f" {level}" if level else ""),
                    name=words[2],
                    version=words[3],
                    security_level=level if level in ("noauth", "auth", "priv") else None,
                    evidence=raw.evidence(node),
                )
            )
    return found


def _credentials(raw: Text, by_first: dict[str, list[Node]]) -> list[Credential]:
    found: list[Credential | None] = []
    for node in by_first.get("enable", []):
        words = node.words()
        if len(words) >= 3 and words[1] in ("secret", "password"):
            found.append(
                credential(
                    raw,
                    node,
                    kind="enable",
                    username=None,
                    label=f"enable {words[1]}",
                    words=_drop_level(words),
                )
            )
    for node in by_first.get("username", []):
        words = node.words()
        if len(words) >= 3:
            found.append(
                credential(raw, node, kind="user", username=words[1], label=f"username {words[1]}")
            )
    for node in by_first.get("line", []):
        for child in node.children:
            if child.words()[:1] == ["password"]:
                found.append(credential(raw, child, kind="line", username=None, label=node.text))
    return [c for c in found if c is not None]


def _drop_level(words: list[str]) -> list[str]:
    # `enable secret level 15 9 $9$...`: the privilege level is not the storage type.
    if len(words) > 4 and words[2] == "level":
        return words[:2] + words[4:]
    return words


def _logging_hosts(raw: Text, nodes: list[Node]) -> list[Endpoint]:
    found = []
    for node in nodes:
        words = node.words()
        if len(words) >= 3 and words[1] == "host":
            address = words[3] if words[2] in ("ipv6",) and len(words) > 3 else words[2]
            found.append(
                endpoint(raw, node, address, f"logging host {address}", option(words, "vrf"))
            )
        elif len(words) >= 2 and is_address(words[1]):
            # The pre-12.2 form `logging 10.1.1.1` still configures a syslog host.
            found.append(endpoint(raw, node, words[1], f"logging {words[1]}", option(words, "vrf")))
    return found


def _ntp_servers(raw: Text, nodes: list[Node]) -> list[Endpoint]:
    found = []
    for node in nodes:
        words = node.words()
        if len(words) >= 3 and words[1] == "server":
            rest = words[2:]
            vrf = None
            if rest[0] == "vrf" and len(rest) > 2:
                vrf, rest = rest[1], rest[2:]
            if rest[0] in ("ip", "ipv6") and len(rest) > 1:
                rest = rest[1:]
            found.append(endpoint(raw, node, rest[0], f"{words[0]} server {rest[0]}", vrf))
    return found
