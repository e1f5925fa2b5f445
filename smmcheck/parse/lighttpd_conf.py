"""lighttpd's configuration language, read as lighttpd reads it (configfile.c, 1.4.69).

The input is the recipe's ``lighttpd-config``: ``tail -v -n +1 /etc/lighttpd/*.conf
/etc/lighttpd/*/*.conf``, every file after a ``==> PATH <==`` line, or a saved lighttpd.conf
on its own (a root file system). Assignments (``=``, ``+=``, ``:=``) with ``+``
concatenation and variables, arrays, ``global`` and condition blocks with ``else``, and
includes: ``include`` takes the collected files its pattern matches (a relative path starts
at the main file's folder, not the including file's, as lighttpd does); Debian's own
``include_shell`` scripts are replaced by what they print. Any other ``include_shell``, an
``include`` reaching outside the collected folders, or any include of a lone saved file, is
recorded as unresolved: what it sets is unknown. smmcheck never runs a command.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TypeAlias

from smmcheck.parse.artifacts import Artifact, tail_sections

MAIN = "/etc/lighttpd/lighttpd.conf"
_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>\#.*)|(?P<string>"(?:\\.|[^"\\])*")|(?P<int>\d+(?![\w.-]))
    |(?P<field>\$[A-Za-z_]+)|(?P<name>[A-Za-z_][\w.-]*)
    |(?P<op>=>|==|!=|=~|!~|=\^|=\$|\+=|:=|=|\+|[\[\](){},;])""",
    re.VERBOSE,
)
_CONDITION_OPS = ("==", "!=", "=~", "!~", "=^", "=$")
_MAX_INCLUDE_DEPTH = 10


class Unknown:
    """A value smmcheck cannot compute (``env.*``, a key set nowhere it can see)."""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Entry:
    """One element of a lighttpd array: ``"MinProtocol" => "TLSv1.2"``, or a bare value
    (key None)."""

    key: str | None
    value: Value
    line: int


Value: TypeAlias = "str | int | tuple[Entry, ...] | Unknown"


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int  # 1-based line of the artifact


@dataclass
class Setting:
    """A key's value where it was last set (``+=`` keeps the line of the addition)."""

    value: Value
    line: int


@dataclass
class Scope:
    """The settings of the global scope or of one condition block."""

    parent: Scope | None = None
    line: int = 0  # the condition's line; 0 for the global scope
    values: dict[str, Setting] = field(default_factory=dict)

    def lookup(self, key: str) -> Setting | None:
        scope: Scope | None = self
        while scope is not None:
            if key in scope.values:
                return scope.values[key]
            scope = scope.parent
        return None


class Unparsable(Exception):
    """A line that is not lighttpd syntax (lighttpd refuses to start on it)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


@dataclass
class Configuration:
    """What a configuration sets: the global scope, each ``$SERVER["socket"] == ADDRESS``
    block (in order of appearance), and the lines whose effect is unknown: includes it
    cannot resolve, a socket at an address it cannot compute."""

    globals: Scope
    sockets: dict[str, Scope]
    unresolved: list[int]


def read_configuration(artifact: Artifact) -> Configuration:
    """The configuration of a ``lighttpd-config`` artifact; raises :class:`Unparsable`
    at the first line that is not lighttpd syntax."""
    files, main, dumped = _files(artifact)
    reader = _Reader(files, main, dumped)
    reader.read(main, reader.globals)
    return Configuration(reader.globals, reader.sockets, reader.unresolved)


def _files(artifact: Artifact) -> tuple[dict[str, list[tuple[int, str]]], str, bool]:
    """The files with their lines (numbered as in the artifact), the main file, and whether
    the artifact is the recipe's dump (else one lighttpd.conf, with nothing to include)."""
    sections = tail_sections(artifact)
    if not sections:
        return {MAIN: list(artifact.lines())}, MAIN, False
    files: dict[str, list[tuple[int, str]]] = {}
    for path, lines in sections:
        files.setdefault(path, []).extend(lines)
    named = [path for path in files if posixpath.basename(path) == "lighttpd.conf"]
    return files, MAIN if MAIN in files else (named or list(files))[0], True


def _tokens(lines: list[tuple[int, str]]) -> list[_Token]:
    tokens = []
    for number, line in lines:
        position = 0
        while position < len(line):
            found = _TOKEN.match(line, position)
            if found is None or found.lastgroup is None:
                raise Unparsable(number)
            position = found.end()
            if found.lastgroup not in ("space", "comment"):
                tokens.append(_Token(found.lastgroup, found.group(), number))
    return tokens


class _Cursor:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position].text if self.position < len(self.tokens) else None

    def next(self) -> _Token:
        if self.position >= len(self.tokens):
            raise Unparsable(self.tokens[-1].line if self.tokens else 1)
        self.position += 1
        return self.tokens[self.position - 1]

    def expect(self, text: str) -> _Token:
        token = self.next()
        if token.text != text:
            raise Unparsable(token.line)
        return token


class _Reader:
    """Runs a configuration as lighttpd's parser does, keeping what the TLS sockets need."""

    def __init__(self, files: dict[str, list[tuple[int, str]]], main: str, dumped: bool) -> None:
        self.files = files
        self.main = main
        self.dumped = dumped
        self.globals = Scope()
        self.sockets: dict[str, Scope] = {}  # $SERVER["socket"] == value, in order
        self.unresolved: list[int] = []  # lines whose effect is unknown
        self.depth = 0

    def read(self, path: str, scope: Scope) -> None:
        self.run(_tokens(self.files[path]), scope)

    def run(self, tokens: list[_Token], scope: Scope) -> None:
        cursor = _Cursor(tokens)
        while cursor.peek() is not None:
            self.statement(cursor, scope)

    def block(self, cursor: _Cursor, scope: Scope) -> None:
        while cursor.peek() != "}":
            self.statement(cursor, scope)
        cursor.next()

    def statement(self, cursor: _Cursor, scope: Scope) -> None:
        token = cursor.next()
        if token.text == ";":
            return
        if token.text in ("else", "elseif", "elsif"):
            if cursor.peek() == "{":  # an else branch is never a socket of its own
                cursor.next()
                self.block(cursor, Scope(parent=scope, line=token.line))
                return
            token = cursor.next()
        if token.kind == "field":
            self.condition(cursor, scope, token)
        elif token.text == "global":
            cursor.expect("{")
            self.block(cursor, self.globals)
        elif token.text in ("include", "include_shell"):
            value = self.expression(cursor, scope)
            self.include(value, token, scope)
        elif token.kind == "name":
            operator = cursor.next()
            if operator.text not in ("=", "+=", ":="):
                raise Unparsable(operator.line)
            value = self.expression(cursor, scope)
            if operator.text == "+=":
                base = scope.lookup(token.text)
                value = _plus(base.value, value) if base is not None else value
            scope.values[token.text] = Setting(value, token.line)
        else:
            raise Unparsable(token.line)

    def condition(self, cursor: _Cursor, scope: Scope, token: _Token) -> None:
        cursor.expect("[")
        name = self.expression(cursor, scope)
        cursor.expect("]")
        operator = cursor.next()
        if operator.text not in _CONDITION_OPS:
            raise Unparsable(operator.line)
        value = self.expression(cursor, scope)
        cursor.expect("{")
        socket = (token.text, name, operator.text) == ("$SERVER", "socket", "==")
        if socket and isinstance(value, str):
            inner = self.sockets.setdefault(value, Scope(parent=self.globals, line=token.line))
        else:
            if socket:  # a socket at an address smmcheck cannot compute (env.*)
                self.unresolved.append(token.line)
            inner = Scope(parent=scope, line=token.line)
        self.block(cursor, inner)

    def expression(self, cursor: _Cursor, scope: Scope) -> Value:
        value = self.term(cursor, scope)
        while cursor.peek() == "+":
            cursor.next()
            value = _plus(value, self.term(cursor, scope))
        return value

    def term(self, cursor: _Cursor, scope: Scope) -> Value:
        token = cursor.next()
        if token.kind == "string":
            return token.text[1:-1].replace('\\"', '"')
        if token.kind == "int":
            return int(token.text)
        if token.text == "(":
            return self.array(cursor, scope)
        if token.kind == "name":
            found = scope.lookup(token.text)
            return found.value if found is not None else UNKNOWN
        raise Unparsable(token.line)

    def array(self, cursor: _Cursor, scope: Scope) -> Value:
        entries: list[Entry] = []
        known = True
        while cursor.peek() != ")":
            line = cursor.tokens[cursor.position].line if cursor.peek() else 0
            value = self.expression(cursor, scope)
            key: str | None = None
            if cursor.peek() == "=>":
                cursor.next()
                key, value = (
                    (value if isinstance(value, str) else None),
                    self.expression(cursor, scope),
                )
                known = known and key is not None
            entries.append(Entry(key, value, line))
            if cursor.peek() == ",":
                cursor.next()
            elif cursor.peek() != ")":
                raise Unparsable(cursor.next().line)
        cursor.next()
        return tuple(entries) if known else UNKNOWN

    def include(self, value: Value, token: _Token, scope: Scope) -> None:
        if not isinstance(value, str) or self.depth >= _MAX_INCLUDE_DEPTH:
            self.unresolved.append(token.line)
            return
        if token.text == "include_shell":
            printed = _debian_script(value)
            if printed is None:
                self.unresolved.append(token.line)
                return
            tokens = _tokens([(token.line, line) for line in printed.splitlines()])
            self._nested(tokens, scope)
            return
        pattern = posixpath.normpath(posixpath.join(posixpath.dirname(self.main), value))
        matches = sorted(path for path in self.files if _glob_match(path, pattern))
        has_glob = any(c in pattern for c in "*?[")
        collected = self.dumped and _collected(pattern, posixpath.dirname(self.main))
        if not collected or (not has_glob and not matches):
            # Outside what the recipe collects, or a named file it could not read (lighttpd
            # refuses to start without it): what it sets is unknown.
            self.unresolved.append(token.line)
            return
        for path in matches:
            self._nested(_tokens(self.files[path]), scope)

    def _nested(self, tokens: list[_Token], scope: Scope) -> None:
        self.depth += 1
        self.run(tokens, scope)
        self.depth -= 1


def _debian_script(command: str) -> str | None:
    """What Debian's include_shell scripts print (/usr/share/lighttpd), or None for any
    other command: smmcheck never runs one."""
    words = command.split()
    script, args = (words[0], words[1:]) if words else ("", [])
    if script == "/usr/share/lighttpd/create-mime.conf.pl":
        return ""  # mimetype.assign from /etc/mime.types only
    if script == "/usr/share/lighttpd/use-ipv6.pl":
        # An IPv6 twin of the port (where the host has IPv6), TLS for 443 only.
        port = int(args[0]) if args and args[0].isdigit() and int(args[0]) <= 65535 else 80
        body = 'ssl.engine = "enable"' if port == 443 else ""
        return f'$SERVER["socket"] == "[::]:{port}" {{ {body} }}'
    if script == "/usr/share/lighttpd/include-conf-enabled.pl":
        folder = args[0] if args else "/etc/lighttpd/"
        return f'include "{posixpath.join(folder, "conf-enabled/*.conf")}"'
    return None


def _collected(pattern: str, top: str) -> bool:
    """Whether every file ``pattern`` can match is one the recipe's dump holds: the
    ``*.conf`` files of the main file's folder and of its sub-folders."""
    folder, name = posixpath.split(pattern)
    if any(c in folder for c in "*?[") or not name.endswith(".conf"):
        return False
    return top in (folder, posixpath.dirname(folder))


def _glob_match(path: str, pattern: str) -> bool:
    # glob(3) as lighttpd uses it: a wildcard never crosses a "/".
    parts, wanted = path.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(map(fnmatchcase, parts, wanted))


def _plus(left: Value, right: Value) -> Value:
    if isinstance(left, tuple) and isinstance(right, tuple):
        return left + right
    if isinstance(left, int) and isinstance(right, int):
        return left + right
    if isinstance(left, (str, int)) and isinstance(right, (str, int)):
        return f"{left}{right}"
    return UNKNOWN
