"""Syntax shared by Cisco IOS, IOS-XE and NX-OS: evidence lines, secrets, ACL names, hosts."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from smmcheck.facts import Credential, Endpoint, Secret, SnmpCommunity, SourceLine
from smmcheck.parse.redact import redact
from smmcheck.parse.tree import Node, build_tree


@dataclass(frozen=True)
class Text:
    """The raw lines of one artifact, for quoting evidence (redacted) by line number."""

    source: str
    lines: Sequence[str]

    def evidence(self, *nodes: Node) -> tuple[SourceLine, ...]:
        """Redacted evidence lines for ``nodes``."""
        return tuple(
            SourceLine(
                source=self.source, line=n.line, text=redact(self.lines[n.line - 1].rstrip())
            )
            for n in nodes
        )

    def absence(self, what: str) -> tuple[SourceLine, ...]:
        """Evidence that rests on the whole file: ``line`` 0 means no line matched."""
        return (
            SourceLine(source=self.source, line=0, text=f"(no {what} in {len(self.lines)} lines)"),
        )


@dataclass(frozen=True)
class Config:
    """A parsed configuration: its raw text, top-level nodes, and nodes by first word."""

    raw: Text
    nodes: list[Node]
    by_first: dict[str, list[Node]]

    def first(self, word: str) -> list[Node]:
        """Top-level lines starting with ``word``."""
        return self.by_first.get(word, [])

    def argument(self, *words: str) -> str | None:
        """The second word of the first top-level line starting with one of ``words``."""
        nodes = [n for w in words for n in self.first(w)]
        return next((n.words()[1] for n in nodes if len(n.words()) > 1), None)


def read_config_tree(text: str, source: str, syntax: str) -> Config:
    """Parse IOS-like text once and index its top-level lines by their first word."""
    lines = text.splitlines()
    nodes, _banners = build_tree(lines, syntax=syntax)
    by_first: dict[str, list[Node]] = {}
    for node in nodes:
        words = node.words()
        if words:
            by_first.setdefault(words[0], []).append(node)
    return Config(Text(source, lines), nodes, by_first)


def secret_after(words: Sequence[str], index: int) -> tuple[str, str] | None:
    """The (type, value) following the ``password``/``secret`` keyword at ``index``.

    ``password 7 0822455D0A16`` -> ("7", "0822455D0A16"); ``password cisco`` -> ("0",
    "cisco"). A clear-text value may contain spaces on IOS, so it runs to the end of line.
    """
    rest = list(words[index + 1 :])
    if not rest:
        return None
    if len(rest) >= 2 and rest[0].isdigit() and len(rest[0]) <= 2:
        return rest[0], rest[1]
    return "0", " ".join(rest)


def credential(
    text: Text,
    node: Node,
    *,
    kind: str,
    username: str | None,
    label: str,
    words: Sequence[str] | None = None,
) -> Credential | None:
    """A Credential from a line holding ``password``/``secret`` [type] VALUE, if any."""
    words = list(words if words is not None else node.words())
    for index, word in enumerate(words):
        if word in ("password", "secret"):
            found = secret_after(words, index)
            if found is None:
                return None
            storage_type, value = found
            # NX-OS writes the role after the hash: keep only the hash token.
            if storage_type != "0":
                value = value.split()[0]
            return Credential(
                label=f"{label} ({word} {storage_type})",
                kind=kind,
                username=username,
                form=word,
                secret=Secret(storage_type=storage_type, value=value),
                evidence=text.evidence(node),
            )
    return None


def acl_names(nodes: Iterable[Node]) -> set[str]:
    """Names (or numbers) of every IPv4/IPv6 access list the configuration defines."""
    names: set[str] = set()
    for node in nodes:
        words = node.words()
        if len(words) >= 2 and words[0] == "access-list":
            names.add(words[1])
        elif len(words) >= 3 and words[:2] in (["ip", "access-list"], ["ipv6", "access-list"]):
            # IOS: ip access-list standard|extended NAME; NX-OS: ip access-list NAME
            names.add(
                words[3] if words[2] in ("standard", "extended") and len(words) > 3 else words[2]
            )
    return names


def snmp_community(
    text: Text, node: Node, words: Sequence[str], index: int, ordinal: int
) -> SnmpCommunity:
    """An SNMP community from ``snmp-server community NAME ...`` (NAME at ``index``).

    IOS: ``NAME [view V] [ro|rw] [ipv6 ACL6] [ACL]``; NX-OS: ``NAME group ROLE``,
    ``NAME ro|rw``, ``NAME use-acl ACL`` (NX-OS repeats the community once per option).
    """
    access = "unknown"
    acl = None
    rest = list(words[index + 1 :])
    position = 0
    while position < len(rest):
        word = rest[position]
        lowered = word.lower()
        if lowered in ("ro", "rw"):
            access = lowered
        elif lowered == "group" and position + 1 < len(rest):
            role = rest[position + 1]
            access = "rw" if role == "network-admin" else "ro"
            position += 1
        elif lowered in ("use-acl", "use-ipv4acl") and position + 1 < len(rest):
            acl = rest[position + 1]
            position += 1
        elif lowered in ("view", "ipv6", "use-ipv6acl"):
            position += 1  # skip the view name / the IPv6 ACL name
        else:
            acl = word
        position += 1
    label = f"snmp-server community #{ordinal} ({access.upper()}" + (
        f", ACL {acl})" if acl else ", no ACL)"
    )
    return SnmpCommunity(
        label=label,
        name=None if is_placeholder(words[index]) else words[index],
        access=access,
        acl=acl,
        evidence=text.evidence(node),
    )


def endpoint(text: Text, node: Node, address: str, label: str, vrf: str | None = None) -> Endpoint:
    """A remote service endpoint (syslog host, NTP server)."""
    return Endpoint(label=label, address=address, vrf=vrf, evidence=text.evidence(node))


def is_address(word: str) -> bool:
    """Whether ``word`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


def option(words: Sequence[str], keyword: str) -> str | None:
    """The word after ``keyword`` in ``words``, if present."""
    if keyword in words:
        index = words.index(keyword)
        if index + 1 < len(words):
            return words[index + 1]
    return None


def is_placeholder(value: str) -> bool:
    """Whether a secret was replaced by a backup tool (``<removed>``, ``*****``)."""
    return (value.startswith("<") and value.endswith(">")) or set(value) == {"*"}


def host_community(words: Sequence[str]) -> str | None:
    """The community of ``snmp-server host ADDR [vrf V] [informs|traps] [version 1|2c] COMM``.

    None when the line names no community or a placeholder stands in its place.
    """
    rest = list(words[3:])
    position = 0
    while position < len(rest):
        word = rest[position]
        if word in ("vrf", "version", "use-vrf", "udp-port"):
            position += 2
            continue
        if word in ("informs", "traps"):
            position += 1
            continue
        return None if is_placeholder(word) else word
    return None


def notification_community(text: Text, node: Node, words: Sequence[str]) -> SnmpCommunity | None:
    """The community of a v1/v2c notification target, which travels in clear text too."""
    version = option(words, "version")
    if len(words) < 4 or version not in ("1", "2c", None):
        return None
    return SnmpCommunity(
        label=f"snmp-server host {words[2]} (version {version or '1'} notifications)",
        name=host_community(words),
        access="ro",
        evidence=text.evidence(node),
    )
