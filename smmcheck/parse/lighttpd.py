"""TLS listeners of lighttpd, from its configuration files (artifact ``lighttpd-config``).

The recipe collects the files (``tail -v -n +1 /etc/lighttpd/*.conf /etc/lighttpd/*/*.conf``)
rather than ``lighttpd -p``: that prints the configuration as lighttpd reads it, but only
after running every ``include_shell`` command in it, and the collector sends read-only
commands only. :mod:`smmcheck.parse.lighttpd_conf` reads them as lighttpd does; an include
it cannot resolve (a command's output, files not collected) leaves every minimum unknown.

What makes a TLS socket (checked against lighttpd 1.4.69 with live handshakes): the global
scope listens on ``server.bind``:``server.port`` (80, or 443 with ``ssl.engine`` enabled
globally); each ``$SERVER["socket"] == "ADDR:PORT"`` block opens one more socket, which
takes the global ``ssl.engine`` and ``ssl.openssl.ssl-conf-cmd`` unless it sets its own
(``+=`` extends the global list). lighttpd ignores ``ssl.openssl.ssl-conf-cmd`` in any other
condition ("must be in global scope or $SERVER["socket"] with '=='").

The minimum is the ``MinProtocol`` of ``ssl.openssl.ssl-conf-cmd`` (OpenSSL's names, case
sensitive: lighttpd refuses to start on "tlsv1.1"). Without it the release decides: since
1.4.56 mod_openssl sets MinProtocol TLSv1.2 itself (release notes, "Behavior Changes"), and
a ``Protocol`` list cannot go below that; before 1.4.56 the TLS library's own default
applied, which the configuration does not show. ``ssl.use-sslv2``, ``ssl.use-sslv3`` (and
``ssl.protocol``, never a lighttpd option) are unknown keys to 1.4.69, ignored with a
warning; for an older or unknown release an enabled ``ssl.use-sslv3`` leaves the minimum
unknown.
"""

from __future__ import annotations

import re

from smmcheck.facts import SourceLine, TlsListener
from smmcheck.parse.addresses import is_loopback
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.lighttpd_conf import (
    Configuration,
    Entry,
    Scope,
    Setting,
    Unparsable,
    Value,
    read_configuration,
)
from smmcheck.parse.webtls import release_numbers

_VERSIONS = {
    "SSLv3": "sslv3",
    "TLSv1": "tlsv1.0",
    "TLSv1.1": "tlsv1.1",
    "TLSv1.2": "tlsv1.2",
    "TLSv1.3": "tlsv1.3",
}
_ORDER = tuple(_VERSIONS.values())
_NEW_DEFAULT = (1, 4, 56)  # first release whose mod_openssl defaults to MinProtocol TLSv1.2
_LEGACY_IGNORED = (1, 4, 69)  # ssl.use-sslv3 seen ignored ("unknown config-key")
_ENABLED = ("enable", "enabled", "true", "1")  # what lighttpd 1.4.69 takes as true


def lighttpd_tls(artifact: Artifact, version: str | None = None) -> tuple[TlsListener, ...]:
    """One TLS listener per socket with ``ssl.engine`` enabled. ``version`` is lighttpd's
    release ("1.4.69"), which decides the default minimum; None when unknown."""
    try:
        config = read_configuration(artifact)
    except Unparsable as error:
        why = f"line {error.line} is not lighttpd syntax that smmcheck can read"
        return (_not_read(artifact, [error.line], why),)
    listeners = _listeners(config, artifact, version)
    if config.unresolved and not listeners:
        return (_not_read(artifact, config.unresolved, _unresolved_note(config.unresolved)),)
    return tuple(listeners)


def lighttpd_version(listing: Artifact | None) -> str | None:
    """The release from ``dpkg-query -W 'lighttpd*'`` ("lighttpd<TAB>1.4.69-1"; modules and
    packages known but not installed are other lines) or from ``lighttpd -v``."""
    if listing is None:
        return None
    found = re.search(r"^lighttpd(?:\t(?:\d+:)?|/)(\d+\.\d+\.\d+)", listing.text, re.MULTILINE)
    return found.group(1) if found else None


def _listeners(config: Configuration, artifact: Artifact, version: str | None) -> list[TlsListener]:
    top = config.globals
    engine = top.lookup("ssl.engine")
    port_setting = top.lookup("server.port")
    default_port: int | None = 443 if _enabled(engine) else 80
    if port_setting is not None:
        port_value = port_setting.value
        default_port = port_value if isinstance(port_value, int) else _number(port_value)
    found = []
    if _enabled(engine):
        bind = top.lookup("server.bind")
        # An address or port set from what smmcheck cannot see (env.*) reads as every
        # address and port 0: the listener is still judged.
        host = bind.value if bind is not None and isinstance(bind.value, str) else "*"
        lines = [s.line for s in (bind, port_setting, engine) if s is not None]
        if not host.startswith("/"):  # else a unix-domain socket
            found.append(_listener(config, artifact, version, top, host, default_port or 0, lines))
    for address, scope in config.sockets.items():
        engine = scope.lookup("ssl.engine")
        if not _enabled(engine):
            continue
        if address.startswith("/"):
            continue  # a unix-domain socket
        host, port = _address(address, default_port)
        lines = [scope.line] + ([engine.line] if engine is not None else [])
        found.append(_listener(config, artifact, version, scope, host, port or 0, lines))
    return found


def _listener(
    config: Configuration,
    artifact: Artifact,
    version: str | None,
    scope: Scope,
    host: str,
    port: int,
    lines: list[int],
) -> TlsListener:
    minimum, note, used = _minimum(scope, version)
    if config.unresolved:
        minimum, note, used = None, _unresolved_note(config.unresolved), config.unresolved
    shown = f"[{host}]" if ":" in host else host
    return TlsListener(
        label=f"lighttpd {shown}:{port or '?'}",
        service="https",
        port=port,
        local_only=is_loopback(host),
        min_version=minimum,
        evidence=_evidence(artifact, [*lines, *used]),
        notes={"min_version": note} if note else {},
    )


def _minimum(scope: Scope, version: str | None) -> tuple[str | None, str | None, list[int]]:
    """The lowest version enabled, a note when it rests on a default or is unknown, and the
    lines it rests on."""
    release = release_numbers(version)
    for key in ("ssl.use-sslv3", "ssl.use-sslv2"):
        legacy = scope.lookup(key)
        if _enabled(legacy) and legacy is not None and (release or (0,)) < _LEGACY_IGNORED:
            return (
                None,
                f"{key} is enabled: lighttpd 1.4.69 ignores it, older releases may not",
                [legacy.line],
            )
    setting = scope.lookup("ssl.openssl.ssl-conf-cmd")
    commands: dict[str, Entry] = {}
    if setting is not None:
        if not isinstance(setting.value, tuple):
            return None, "ssl.openssl.ssl-conf-cmd cannot be read", [setting.line]
        commands = {e.key.casefold(): e for e in setting.value if e.key is not None}
    floor, default_note = _default(version)
    if "minprotocol" in commands:
        entry = commands["minprotocol"]
        if entry.value == "None":
            return "tlsv1.0", "MinProtocol None: every version the TLS library offers", [entry.line]
        named = _VERSIONS.get(entry.value) if isinstance(entry.value, str) else None
        if named is None:
            return (
                None,
                f"MinProtocol {entry.value} names no version lighttpd accepts",
                [entry.line],
            )
        return named, None, [entry.line]
    if "protocol" in commands:
        entry = commands["protocol"]
        lowest = _lowest_enabled(entry.value)
        if lowest is None:
            return None, f"Protocol {entry.value} enables no known version", [entry.line]
        if floor is not None:  # Protocol switches versions off; the default still applies
            if _ORDER.index(lowest) >= _ORDER.index(floor):
                return lowest, None, [entry.line]
            return floor, default_note, [entry.line]
        if _ORDER.index(lowest) >= _ORDER.index("tlsv1.2"):
            return lowest, None, [entry.line]
        return None, default_note, [entry.line]
    return floor, default_note, []


def _default(version: str | None) -> tuple[str | None, str]:
    release = release_numbers(version)
    if release is None:
        return None, (
            "ssl.openssl.ssl-conf-cmd sets no MinProtocol and the lighttpd release is unknown:"
            " before 1.4.56 the TLS library's default applied"
        )
    if release >= _NEW_DEFAULT:
        return "tlsv1.2", f"lighttpd {version} default MinProtocol: TLSv1.2"
    return None, (
        f"lighttpd {version} has no MinProtocol default of its own (before 1.4.56): the TLS"
        " library's default applies, which the configuration does not show"
    )


def _lowest_enabled(value: Value) -> str | None:
    """The lowest version an OpenSSL ``Protocol`` list leaves on ("-ALL, TLSv1.2")."""
    if not isinstance(value, str):
        return None
    enabled = set(_ORDER) - {"sslv3"}  # OpenSSL builds leave SSLv3 out unless asked for
    for word in re.split(r"[\s,]+", value.strip()):
        off = word.startswith("-")
        name = word.lstrip("+-")
        chosen = set(_ORDER) if name.upper() == "ALL" else {_VERSIONS.get(name, "")} - {""}
        enabled = enabled - chosen if off else enabled | chosen
    return min(enabled, key=_ORDER.index) if enabled else None


def _enabled(setting: Setting | None) -> bool:
    return setting is not None and str(setting.value).lower() in _ENABLED


def _number(value: Value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _address(text: str, default_port: int | None) -> tuple[str, int | None]:
    """A ``$SERVER["socket"]`` value: ``:443``, ``0.0.0.0:443``, ``[::]:443``, ``[::1]``
    (server.port); None when the port is not known."""
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::(\d+))?", text)
    if bracketed:
        port = bracketed.group(2)
        return bracketed.group(1), int(port) if port else default_port
    host, colon, port = text.rpartition(":")
    if not colon:
        return text, default_port
    return host or "*", int(port) if port.isdigit() else None


def _unresolved_note(lines: list[int]) -> str:
    where = ", ".join(str(line) for line in lines)
    return (
        f"line {where} depends on what smmcheck cannot see: a command's output (include_shell;"
        " smmcheck runs none), files that were not collected, or an environment variable"
    )


def _not_read(artifact: Artifact, lines: list[int], why: str) -> TlsListener:
    """An item standing for sockets that the configuration may open but smmcheck cannot see."""
    return TlsListener(
        label="lighttpd (configuration not fully read)",
        service="https",
        port=0,
        local_only=None,
        min_version=None,
        evidence=_evidence(artifact, lines),
        notes={"min_version": why},
    )


def _evidence(artifact: Artifact, lines: list[int]) -> tuple[SourceLine, ...]:
    return tuple(artifact.at(line) for line in dict.fromkeys(lines) if line > 0)
