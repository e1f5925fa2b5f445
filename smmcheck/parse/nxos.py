"""Facts from Cisco NX-OS running configurations.

NX-OS differs from IOS where it matters for these policies: the Telnet server exists only
with ``feature telnet``, SSH is version 2 only, there is no ``ip http server`` (web access
is NX-API: ``feature nxapi`` with ``nxapi http port``), SNMPv3 security is set per user,
and the running-config has no final ``end`` line, so truncation cannot be detected.
"""

from __future__ import annotations

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
    notification_community,
    option,
    read_config_tree,
    snmp_community,
)
from smmcheck.parse.ios_acl import parse_acls
from smmcheck.parse.ios_discovery import parse_discovery
from smmcheck.parse.ios_interfaces import parse_interfaces
from smmcheck.parse.tree import Node


def parse_nxos(text: str, *, source: str, sha256: str, name_hint: str) -> DeviceFacts:
    """Parse an NX-OS running configuration into facts."""
    config = read_config_tree(text, source, "nxos")
    raw, first, nodes = config.raw, config.first, config.nodes
    features = {n.words()[1]: n for n in first("feature") if len(n.words()) > 1}
    hostname = config.argument("hostname", "switchname")
    version = config.argument("version")
    interfaces = parse_interfaces(config)
    return DeviceFacts(
        device=hostname or name_hint,
        platform="cisco_nxos",
        source=source,
        sha256=sha256,
        line_count=len(raw.lines),
        os_version=version,
        management_lines=tuple(_mgmt_lines(raw, first("line"), features, acl_names(nodes))),
        ssh=SshServer(
            label="ssh server",
            accepted_versions=(2,),
            notes={"accepted_versions": "NX-OS implements SSH version 2 only"},
            evidence=raw.evidence(*first("ssh"))
            or raw.absence("'ssh' line; NX-OS supports only SSHv2"),
        ),
        http=_http(raw, first("nxapi"), features),
        snmp_communities=tuple(_communities(raw, first("snmp-server"))),
        snmp_groups=tuple(_users(raw, first("snmp-server"))),
        credentials=tuple(_credentials(raw, first("username"))),
        logging_hosts=tuple(
            endpoint(
                raw, n, n.words()[2], f"logging server {n.words()[2]}", option(n.words(), "use-vrf")
            )
            for n in first("logging")
            if len(n.words()) > 2 and n.words()[1] == "server"
        ),
        ntp_servers=tuple(_ntp(raw, first("ntp"))),
        acls=parse_acls(config, nxos=True),
        interfaces=interfaces,
        discovery=parse_discovery(config, interfaces, nxos=True),
    )


def _mgmt_lines(
    raw: Text, nodes: list[Node], features: dict[str, Node], defined_acls: set[str]
) -> list[MgmtLine]:
    telnet_node = features.get("telnet")
    found = []
    vty_seen = False
    for node in nodes:
        words = node.words()
        kind = {"vty": "vty", "console": "console", "con": "console"}.get(
            words[1] if len(words) > 1 else ""
        )
        if kind is None:
            continue
        vty_seen = vty_seen or kind == "vty"
        access_class = None
        timeout = None
        for child in node.children:
            cw = child.words()
            if cw[:1] == ["access-class"] and len(cw) >= 3 and cw[2] == "in":
                access_class = cw[1]
            elif cw[:1] == ["exec-timeout"] and len(cw) >= 2 and cw[1].isdigit():
                timeout = int(cw[1]) * 60  # NX-OS takes minutes only
        found.append(_line(raw, kind, node, telnet_node, access_class, timeout, defined_acls))
    if not vty_seen:
        # NX-OS always has vty sessions; with no `line vty` stanza every default applies.
        found.append(_line(raw, "vty", None, telnet_node, None, None, defined_acls))
    return found


def _line(
    raw: Text,
    kind: str,
    node: Node | None,
    telnet_node: Node | None,
    access_class: str | None,
    timeout: int | None,
    defined_acls: set[str],
) -> MgmtLine:
    notes: dict[str, str] = {}
    evidence = raw.evidence(node, *node.children) if node else raw.absence("'line vty' stanza")
    telnet: bool | None = None
    if kind == "vty":
        telnet = telnet_node is not None
        if telnet_node is not None:
            evidence += raw.evidence(telnet_node)
            notes["telnet_accepted"] = "'feature telnet' enables the Telnet server"
        else:
            notes["telnet_accepted"] = "no 'feature telnet': the NX-OS Telnet server is disabled"
    if timeout is None:
        notes["exec_timeout_seconds"] = (
            "no exec-timeout: the NX-OS default differs between releases and line types"
        )
    return MgmtLine(
        label=node.text if node else "line vty (defaults)",
        kind=kind,
        telnet_accepted=telnet,
        remote_access=True if kind == "vty" else None,
        access_class_in=access_class,
        access_class_defined=None if access_class is None else access_class in defined_acls,
        exec_timeout_seconds=timeout,
        evidence=evidence,
        notes=notes,
    )


def _http(raw: Text, nxapi_nodes: list[Node], features: dict[str, Node]) -> HttpServer:
    feature = features.get("nxapi")
    http = [n for n in nxapi_nodes if n.words()[:2] == ["nxapi", "http"]]
    https = [n for n in nxapi_nodes if n.words()[:2] == ["nxapi", "https"]]
    if feature is None:
        return HttpServer(
            label="NX-API",
            cleartext_enabled=False,
            tls_enabled=False,
            notes={
                "cleartext_enabled": "no 'feature nxapi': NX-OS has no other web management server"
            },
            evidence=raw.absence("'feature nxapi' line"),
        )
    return HttpServer(
        label="NX-API",
        cleartext_enabled=bool(http),
        tls_enabled=bool(https) or None,
        notes={} if http else {"cleartext_enabled": "NX-API is enabled without 'nxapi http port'"},
        evidence=raw.evidence(feature, *http, *https),
    )


def _communities(raw: Text, nodes: list[Node]) -> list[SnmpCommunity]:
    # NX-OS writes one line per community option; group them by community.
    by_name: dict[str, list[Node]] = {}
    hosts: list[SnmpCommunity] = []
    for node in nodes:
        words = node.words()
        if len(words) >= 3 and words[1] == "community":
            by_name.setdefault(words[2], []).append(node)
        elif len(words) >= 4 and words[1] == "host":
            notify = notification_community(raw, node, words)
            if notify is not None:
                hosts.append(notify)
    found = []
    for number, group in enumerate(by_name.values(), start=1):
        merged = group[0].words()[:3] + [w for n in group for w in n.words()[3:]]
        community = snmp_community(raw, group[0], merged, 2, number)
        found.append(community.model_copy(update={"evidence": raw.evidence(*group)}))
    return found + hosts


def _users(raw: Text, nodes: list[Node]) -> list[SnmpGroup]:
    # NX-OS adds per-user options on lines of their own (`snmp-server user U use-ipv4acl
    # ACL`, `... enforcePriv`): a user's security level comes from all of its lines.
    by_user: dict[str, list[Node]] = {}
    for node in nodes:
        words = node.words()
        if len(words) >= 3 and words[1] == "user":
            by_user.setdefault(words[2], []).append(node)
    found = []
    for user, group in by_user.items():
        tokens = {w for n in group for w in n.words()}
        level = "priv" if "priv" in tokens else "auth" if "auth" in tokens else "noauth"
        found.append(
            SnmpGroup(
                label=f"snmp-server user {user} ({level})",
                name=user,
                version="v3",
                security_level=level,
                evidence=raw.evidence(*group),
            )
        )
    return found


def _credentials(raw: Text, nodes: list[Node]) -> list[Credential]:
    found = []
    for node in nodes:
        words = node.words()
        if len(words) >= 3 and "password" in words:
            made = credential(
                raw, node, kind="user", username=words[1], label=f"username {words[1]}"
            )
            # `password 5 !` is NX-OS for "no password" (key-based or locked account).
            if made is not None and made.secret.value != "!":
                found.append(made)
    return found


def _ntp(raw: Text, nodes: list[Node]) -> list[Endpoint]:
    return [
        endpoint(raw, n, n.words()[2], f"ntp server {n.words()[2]}", option(n.words(), "use-vrf"))
        for n in nodes
        if len(n.words()) > 2 and n.words()[1] == "server"
    ]
