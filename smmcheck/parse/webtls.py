"""TLS listeners of a gateway's web server, from ``nginx -T`` (artifact ``nginx-config``).

``nginx -T`` prints the main configuration file, then every file it includes, each after a
``# configuration file PATH:`` line; an ``include`` stays where it is written. The dump is
therefore read file by file and each ``include`` replaced by the files its pattern matches,
which rebuilds the http → server nesting that decides which ``ssl_protocols`` applies.

nginx's default ``ssl_protocols`` depends on its release (nginx.org CHANGES and the
ngx_http_ssl_module documentation): "TLSv1 TLSv1.1 TLSv1.2" up to 1.23.3, TLSv1.3 added
in 1.23.4, and "TLSv1.2 TLSv1.3" only from 1.27.3 ("now TLSv1 and TLSv1.1 protocols are
disabled by default"). The release is not in ``nginx -T``: without it, an unset
``ssl_protocols`` leaves the minimum unknown, never assumed.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

from smmcheck.facts import TlsListener
from smmcheck.parse.addresses import is_loopback
from smmcheck.parse.artifacts import Artifact

_MARKER = re.compile(r"^# configuration file (.+):\s*$")
_TOKEN = re.compile(r"""\s+|#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};"'#]+""")
_NAMES = {
    "SSLv2": "sslv2",
    "SSLv3": "sslv3",
    "TLSv1": "tlsv1.0",
    "TLSv1.1": "tlsv1.1",
    "TLSv1.2": "tlsv1.2",
    "TLSv1.3": "tlsv1.3",
}
_ORDER = tuple(_NAMES.values())
_NEW_DEFAULT = (1, 27, 3)  # first release whose default is "TLSv1.2 TLSv1.3"
_MAX_INCLUDE_DEPTH = 10


@dataclass
class _Directive:
    name: str
    args: list[str]
    line: int  # 1-based line of the nginx -T output
    block: list[_Directive] | None = None


def nginx_tls(artifact: Artifact, version: str | None = None) -> tuple[TlsListener, ...]:
    """One TLS listener per ``listen`` of every http ``server`` that speaks TLS (``listen
    ... ssl`` or the old ``ssl on;``). ``version`` is nginx's release ("1.22.1"), which
    decides the default ``ssl_protocols``; None when unknown."""
    files = _files(artifact)
    if not files:
        return ()
    main = next(iter(files))
    top = _expand(files[main], files, posixpath.dirname(main), 0)
    found: list[tuple[tuple[str, int], bool, TlsListener]] = []
    for http in _blocks(top, "http"):
        http_protocols = _last(http, "ssl_protocols")
        http_ssl = _ssl_on(http, None)
        for server in _blocks(http, "server"):
            found.extend(_server(artifact, server, http_protocols, http_ssl, version))
    return _with_default_servers(found)


def _server(
    artifact: Artifact,
    block: list[_Directive],
    http_protocols: _Directive | None,
    http_ssl: bool,
    version: str | None,
) -> list[tuple[tuple[str, int], bool, TlsListener]]:
    ssl_all = _ssl_on(block, http_ssl)
    protocols = _last(block, "ssl_protocols") or http_protocols
    minimum, note = _minimum(protocols, version)
    names = next((d.args for d in block if d.name == "server_name"), [])
    listens = [d for d in block if d.name == "listen" and d.args]
    found = []
    for listen in listens:
        if not (ssl_all or "ssl" in listen.args[1:]):
            continue
        host, port = _address(listen.args[0])
        if port is None:
            continue  # a unix: socket
        evidence = [artifact.at(listen.line)]
        if protocols is not None:
            evidence.append(artifact.at(protocols.line))
        label = f"nginx {host}:{port}" + (f" ({names[0]})" if names else "")
        listener = TlsListener(
            label=label,
            service="https",
            port=port,
            local_only=is_loopback(host),
            min_version=minimum,
            evidence=tuple(evidence),
            notes={"min_version": note} if note else {},
        )
        is_default = any(a in ("default_server", "default") for a in listen.args[1:])
        found.append(((host, port), is_default, listener))
    return found


def _with_default_servers(
    found: list[tuple[tuple[str, int], bool, TlsListener]],
) -> tuple[TlsListener, ...]:
    """Each listener with the lowest minimum of its own server and of the default server of
    its address: nginx negotiates the version with the default server's settings before
    SNI picks the named one (ngx_http_ssl_module: "the value from the default server can
    be used"), so a server's stricter ssl_protocols does not protect a shared socket."""
    defaults: dict[tuple[str, int], TlsListener] = {}
    for key, _, listener in found:
        defaults.setdefault(key, listener)  # the first server, unless one says default_server
    for key, is_default, listener in found:
        if is_default:
            defaults[key] = listener
    result = []
    for key, _, listener in found:
        default = defaults[key]
        if default is listener:
            result.append(listener)
            continue
        lowest = _lower(listener.min_version, default.min_version)
        notes = dict(listener.notes)
        if default.min_version != listener.min_version:
            notes["min_version"] = (
                f"the default server of {key[0]}:{key[1]} ({default.label}) decides the"
                f" versions before SNI: its minimum is {default.min_version or 'unknown'}"
            )
        result.append(
            listener.model_copy(
                update={
                    "min_version": lowest,
                    "evidence": tuple(dict.fromkeys((*listener.evidence, *default.evidence))),
                    "notes": notes,
                }
            )
        )
    return tuple(result)


def _lower(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return None  # one of the two is unknown: so is the lowest
    return min(a, b, key=_ORDER.index)


def _minimum(protocols: _Directive | None, version: str | None) -> tuple[str | None, str | None]:
    """The lowest version enabled and, when it rests on a default, a note saying so."""
    if protocols is not None:
        known = [_NAMES[p] for p in protocols.args if p in _NAMES]
        if not known:
            return None, f"ssl_protocols names no known version: {' '.join(protocols.args)}"
        return min(known, key=_ORDER.index), None
    release = release_numbers(version)
    if release is None:
        return None, (
            "ssl_protocols is not set and the nginx release is unknown: its default enables"
            " TLSv1 and TLSv1.1 before 1.27.3"
        )
    if release >= _NEW_DEFAULT:
        return "tlsv1.2", f"nginx {version} default ssl_protocols: TLSv1.2 TLSv1.3"
    return "tlsv1.0", f"nginx {version} default ssl_protocols: TLSv1 TLSv1.1 TLSv1.2 and later"


def release_numbers(version: str | None) -> tuple[int, ...] | None:
    """``(1, 22, 1)`` from a version string such as ``1.22.1-9+deb12u1``; None without one."""
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", version or "")
    return tuple(int(part) for part in found.groups()) if found else None


def _address(text: str) -> tuple[str, int | None]:
    """A ``listen`` address: ``443``, ``*:443``, ``127.0.0.1:8443``, ``[::1]:443``,
    ``localhost`` (port 80) or ``unix:/run/x.sock`` (no port)."""
    if text.startswith("unix:"):
        return text, None
    if text.isdigit():
        return "*", int(text)
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
    if bracketed:
        return bracketed.group(1), int(bracketed.group(2) or 80)
    host, _, port = text.rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return text, 80


def _blocks(block: list[_Directive], name: str) -> list[list[_Directive]]:
    return [d.block for d in block if d.name == name and d.block is not None]


def _last(block: list[_Directive], name: str) -> _Directive | None:
    # nginx refuses a duplicate ssl_protocols in one block; the last is the safe reading.
    return next((d for d in reversed(block) if d.name == name), None)


def _ssl_on(block: list[_Directive], inherited: bool | None) -> bool:
    setting = _last(block, "ssl")
    if setting is None:
        return bool(inherited)
    return setting.args[:1] == ["on"]


def _files(artifact: Artifact) -> dict[str, list[tuple[int, str]]]:
    """The dump's files, in order, each with its lines (numbered as in the artifact)."""
    files: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, line in artifact.lines():
        marker = _MARKER.match(line)
        if marker:
            current = files.setdefault(marker.group(1).strip(), [])
        elif current is not None:
            current.append((number, line))
    return files


def _parse(lines: list[tuple[int, str]]) -> list[_Directive]:
    """Directives and blocks of one file (quotes and comments as nginx reads them)."""
    root: list[_Directive] = []
    stack = [root]
    words: list[tuple[int, str]] = []
    for number, line in lines:
        for token in _TOKEN.findall(line):
            if token.isspace() or token.startswith("#"):
                continue
            if token in (";", "{"):
                if words:
                    directive = _Directive(
                        name=words[0][1],
                        args=[_unquote(w) for _, w in words[1:]],
                        line=words[0][0],
                        block=[] if token == "{" else None,
                    )
                    stack[-1].append(directive)
                    if directive.block is not None:
                        stack.append(directive.block)
                words = []
            elif token == "}":
                words = []
                if len(stack) > 1:
                    stack.pop()
            else:
                words.append((number, token))
    return root


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


def _expand(
    lines: list[tuple[int, str]], files: dict[str, list[tuple[int, str]]], prefix: str, depth: int
) -> list[_Directive]:
    return _inline(_parse(lines), files, prefix, depth)


def _inline(
    block: list[_Directive], files: dict[str, list[tuple[int, str]]], prefix: str, depth: int
) -> list[_Directive]:
    """``block`` with every ``include`` replaced by the files of the dump it matches."""
    result: list[_Directive] = []
    for directive in block:
        if directive.name == "include" and directive.args and depth < _MAX_INCLUDE_DEPTH:
            pattern = directive.args[0]
            if not pattern.startswith("/"):
                pattern = posixpath.join(prefix, pattern)
            for path in sorted(p for p in files if fnmatch.fnmatchcase(p, pattern)):
                result.extend(_expand(files[path], files, prefix, depth + 1))
            continue
        if directive.block is not None:
            directive.block = _inline(directive.block, files, prefix, depth)
        result.append(directive)
    return result
