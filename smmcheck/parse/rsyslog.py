"""Where rsyslog forwards the device's own log: its omfwd and omrelp actions.

rsyslog reads /etc/rsyslog.conf from top to bottom, and an include (``$IncludeConfig
PATTERN`` or ``include(file="PATTERN")``) reads the matching files, sorted by name, where
it stands, including the includes in them. Checked with rsyslogd 8.2302 (Debian 12)
``-N1 -o FULLCONF``, which writes the configuration as rsyslog read it. So only the files
of /etc/rsyslog.d that an include names count: with the ``$IncludeConfig`` line commented
out, a forwarding rule there does nothing.

What forwards, in the syntax of its lexer (rsyslog grammar/lexer.l) and parser:

* a selector line and a legacy action: ``*.* @host`` (UDP), ``@@host:port`` (TCP),
  ``@@(o,z9)host``, ``@[2001:db8::1]:514``, ``:omrelp:host:port``, each with an optional
  ``;TEMPLATE``; ``& ACTION`` adds an action to the previous selector; TCP actions after
  ``$ActionSendStreamDriverMode 1`` use TLS;
* RainerScript ``action(type="omfwd" target=... port=... protocol=...)`` (port 514, UDP
  unless set; ``StreamDriverMode="1"``: TLS) or ``type="omrelp"`` (port 514), alone, after
  a selector, or in an ``if ... then`` block.

Order matters where messages are discarded: after an unconditional ``stop`` (or legacy
``~``) nothing later in that ruleset acts. An action in a ``ruleset(name=...)`` block (or
after ``$RuleSet NAME``) handles the device's own log only when the default ruleset calls
that ruleset or a local input (imuxsock, imjournal, imklog) is bound to it; one bound to a
network input relays other devices' logs and is not counted.

What cannot be read is unknown, never an absence: an include outside /etc/rsyslog.d/*.conf
(only those files are collected), or a statement this reader does not understand.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field, replace

from smmcheck.facts import Endpoint, SourceLine
from smmcheck.parse.conffiles import ConfFile
from smmcheck.parse.rsyslog_lexer import Token, tokenize

RSYSLOG_D = "/etc/rsyslog.d"  # the folder the collector reads (its *.conf files)

_LEGACY_FORWARD = re.compile(r"(@@?)(?:\(([^)]*)\))?(\[[^\]]+\]|[^\s:;\[]+)(?::(\d+))?")
_LEGACY_RELP = re.compile(r":omrelp:(\[[^\]]+\]|[^\s:;\[]+)(?::(\d+))?", re.IGNORECASE)
# Inputs that carry the device's own messages (a ruleset bound to one of them sees them).
_LOCAL_INPUTS = {"imuxsock", "imjournal", "imklog", "imkmsg"}
# Configuration objects: NAME(parameters), a template optionally followed by { ... }.
_OBJECTS = {
    "module",
    "input",
    "global",
    "template",
    "main_queue",
    "timezone",
    "lookup_table",
    "parser",
    "dyn_stats",
    "percentile_stats",
    "ratelimit",
}


@dataclass(frozen=True)
class RsyslogForwards:
    """The hosts rsyslog forwards the device's log to; ``unknown`` names what could not
    be read (it matters only when nothing is found to forward)."""

    endpoints: tuple[Endpoint, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class _Scope:
    ruleset: str | None = None  # None: the default ruleset (or the legacy $RuleSet)
    conditional: bool = False  # only some messages reach it (a selector, an if)
    where: str | None = None  # which messages, for the label


@dataclass
class _Forward:
    endpoint: Endpoint
    ruleset: str | None


@dataclass
class _Reader:
    files: list[ConfFile]  # the collected files of /etc/rsyslog.d
    folder_known: bool  # whether /etc/rsyslog.d was collected at all
    forwards: list[_Forward] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    stopped: set[str | None] = field(default_factory=set)
    calls: dict[str | None, set[str]] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)
    legacy_ruleset: str | None = None
    legacy_tls: bool = False
    last_filter: _Scope = field(default_factory=_Scope)
    reading: list[str] = field(default_factory=list)
    include_line: list[SourceLine] = field(default_factory=list)

    def read(self, conf: ConfFile) -> None:
        self.reading.append(conf.path)
        tokens = tokenize(conf)
        i = 0
        while i < len(tokens):
            if tokens[i].punct("}"):
                self._unknown(tokens[i], "an unmatched '}'")
                i += 1
                continue
            i = self._statement(tokens, i, _Scope())
        self.reading.pop()

    # --- statements ----------------------------------------------------------------------

    def _block(self, tokens: list[Token], i: int, scope: _Scope) -> int:
        while i < len(tokens):
            if tokens[i].punct("}"):
                return i + 1
            i = self._statement(tokens, i, scope)
        return i

    def _statement(self, tokens: list[Token], i: int, scope: _Scope) -> int:
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind == "directive":
            self._directive(token)
            return i + 1
        if token.kind == "filter":
            narrowed = _narrow(scope, token.text, token.text != "*.*")
            self.last_filter = narrowed
            return self._action_part(tokens, i + 1, narrowed)
        if token.kind == "amp":
            return self._action_part(tokens, i + 1, self.last_filter)
        if token.word("if"):
            j = i + 1
            while j < len(tokens) and not tokens[j].word("then"):
                j += 1
            condition = _render(tokens[i + 1 : j])
            i = self._action_part(tokens, j + 1, _narrow(scope, f"if {condition[:60]}", True))
            while i < len(tokens) and tokens[i].word("else"):
                i = self._action_part(tokens, i + 1, _narrow(scope, "else", True))
            return i
        if token.kind == "word" and nxt is not None and nxt.punct("("):
            name = token.text.lower()
            params, lines, j = _params(tokens, i + 2)
            if name == "ruleset":
                named = _single(params.get("name")) or "?"
                inner = _Scope(ruleset=None if named == "RSYSLOG_DefaultRuleset" else named)
                if j < len(tokens) and tokens[j].punct("{"):
                    return self._block(tokens, j + 1, inner)
                return j
            if name == "action":
                self._action(params, lines or [token.at()], scope)
                return j
            if name == "include":
                self._include(params, token)
                return j
            if name in _OBJECTS:
                self._bind(name, params)
                if name == "template" and j < len(tokens) and tokens[j].punct("{"):
                    return _skip_block(tokens, j + 1)
                return j
        if token.word("stop"):
            self._stop(scope)
            return i + 1
        if token.word("call") and nxt is not None and nxt.kind == "word":
            if self._ruleset(scope) not in self.stopped:
                self.calls.setdefault(self._ruleset(scope), set()).add(nxt.text)
            return i + 2
        if token.word("set", "unset", "reset", "call_indirect"):
            while i < len(tokens) and not tokens[i].punct(";"):
                i += 1
            return i + 1
        if token.word("foreach"):
            while i < len(tokens) and not tokens[i].word("do"):
                i += 1
            return self._action_part(tokens, i + 1, _narrow(scope, "foreach", True))
        if token.word("continue"):
            return i + 1
        self._unknown(token, f"'{token.text[:40]}'")
        return i + 1

    def _action_part(self, tokens: list[Token], i: int, scope: _Scope) -> int:
        if i >= len(tokens):
            return i
        token = tokens[i]
        if token.punct("{"):
            return self._block(tokens, i + 1, scope)
        if token.kind == "legacy":
            self._legacy(token, scope)
            return i + 1
        return self._statement(tokens, i, scope)

    # --- what statements do ---------------------------------------------------------------

    def _ruleset(self, scope: _Scope) -> str | None:
        return scope.ruleset if scope.ruleset is not None else self.legacy_ruleset

    def _stop(self, scope: _Scope) -> None:
        if not scope.conditional:
            self.stopped.add(self._ruleset(scope))

    def _directive(self, token: Token) -> None:
        words = token.text.split(None, 1)
        name, value = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
        if name == "$includeconfig":
            self._include({"file": value.split()[0] if value else ""}, token)
        elif name == "$ruleset":
            self.legacy_ruleset = None if value == "RSYSLOG_DefaultRuleset" else value
        elif name == "$actionsendstreamdrivermode":
            self.legacy_tls = value == "1"

    def _legacy(self, token: Token, scope: _Scope) -> None:
        text = token.text
        if text in ("~", "stop"):
            self._stop(scope)
            return
        forward = _LEGACY_FORWARD.match(text)
        relp = _LEGACY_RELP.match(text)
        if forward:
            tcp = forward.group(1) == "@@"
            protocol = "tcp" if tcp else "udp"
            host, port = forward.group(3), forward.group(4) or "514"
            self._forward(host, port, protocol, tcp and self.legacy_tls, [token.at()], scope)
        elif relp:
            host, port = relp.group(1), relp.group(2) or "514"
            self._forward(host, port, "relp", False, [token.at()], scope)

    def _action(
        self, params: dict[str, str | list[str]], lines: list[SourceLine], scope: _Scope
    ) -> None:
        kind = (_single(params.get("type")) or "").lower()
        if kind not in ("omfwd", "omrelp"):
            return
        targets = params.get("target")
        hosts = [targets] if isinstance(targets, str) else list(targets or [])
        port = _single(params.get("port")) or "514"
        if kind == "omrelp":
            protocol, tls = "relp", (_single(params.get("tls")) or "off").lower() == "on"
        else:
            protocol = (_single(params.get("protocol")) or "udp").lower()
            mode = params.get("streamdrivermode") or params.get("streamdriver.mode")
            tls = _single(mode) == "1"
        for host in hosts:
            self._forward(host, port, protocol, tls, lines, scope)

    def _forward(
        self,
        host: str,
        port: str,
        protocol: str,
        tls: bool,
        lines: list[SourceLine],
        scope: _Scope,
    ) -> None:
        ruleset = self._ruleset(scope)
        if ruleset in self.stopped:
            return  # an unconditional stop came first: no message reaches it
        host = host.strip("[]")
        where = scope.where or "all messages"
        shown = f"{protocol} port {port}{', TLS' if tls else ''}"
        endpoint = Endpoint(
            label=f"rsyslog forwards {where} to {host} ({shown})",
            address=host,
            evidence=(*self.include_line, *lines),
        )
        self.forwards.append(_Forward(endpoint, ruleset))

    def _bind(self, name: str, params: dict[str, str | list[str]]) -> None:
        kind = _single(params.get("type") if name == "input" else params.get("load"))
        ruleset = _single(params.get("ruleset"))
        if name in ("input", "module") and ruleset and (kind or "").lower() in _LOCAL_INPUTS:
            self.bound.add(ruleset)

    def _include(self, params: dict[str, str | list[str]], token: Token) -> None:
        pattern = _single(params.get("file"))
        if not pattern:
            self._unknown(token, "an include of text or of nothing")
            return
        folder, name = posixpath.split(posixpath.normpath(pattern))
        if pattern.endswith("/"):
            folder, name = posixpath.normpath(pattern), "*"
        if folder != RSYSLOG_D or not self.folder_known:
            self._unknown(token, f"included {pattern}, which is not collected")
            return
        if not name.endswith(".conf"):
            # The collector reads only *.conf: another file the pattern names is unknown.
            self._unknown(token, f"included {pattern}, of which only *.conf is collected")
        matched = sorted(
            (f for f in self.files if fnmatch.fnmatchcase(posixpath.basename(f.path), name)),
            key=lambda f: f.path,
        )
        for conf in matched:
            if conf.path in self.reading:
                continue  # rsyslog refuses a recursive include
            self.include_line.append(token.at())
            self.read(conf)
            self.include_line.pop()

    def _unknown(self, token: Token, what: str) -> None:
        self.unknown.append(f"{what} ({token.file.path}, line {token.line})")

    def result(self) -> RsyslogForwards:
        # The rulesets the device's own messages reach: the default one, those bound to a
        # local input, and those called from a ruleset they reach.
        reached: set[str | None] = {None, *self.bound}
        todo: list[str | None] = list(reached)
        while todo:
            for callee in self.calls.get(todo.pop(), set()):
                if callee not in reached:
                    reached.add(callee)
                    todo.append(callee)
        endpoints = tuple(f.endpoint for f in self.forwards if f.ruleset in reached)
        return RsyslogForwards(endpoints, tuple(self.unknown))


def _narrow(scope: _Scope, where: str, conditional: bool) -> _Scope:
    shown = where if scope.where is None else f"{scope.where}, {where}"
    return replace(scope, where=shown, conditional=scope.conditional or conditional)


def _params(
    tokens: list[Token], i: int
) -> tuple[dict[str, str | list[str]], list[SourceLine], int]:
    """``name="value" name=["a", "b"] ...)`` from ``i``: the parameters (names lower-cased,
    as rsyslog compares them), the lines of the first one and of ``target``, and the index
    after the closing parenthesis."""
    params: dict[str, str | list[str]] = {}
    lines: list[SourceLine] = []
    while i < len(tokens) and not tokens[i].punct(")"):
        token = tokens[i]
        if token.kind == "word" and i + 2 < len(tokens) and tokens[i + 1].punct("="):
            value = tokens[i + 2]
            name = token.text.lower()
            if value.punct("["):
                items, j = [], i + 3
                while j < len(tokens) and not tokens[j].punct("]"):
                    if tokens[j].kind == "string":
                        items.append(tokens[j].text)
                    j += 1
                params[name] = items
                i = j + 1
            else:
                params[name] = value.text
                i += 3
            if not lines or name == "target":
                lines.append(token.at())
            continue
        i += 1
    return params, list(dict.fromkeys(lines)), i + 1


def _render(tokens: list[Token]) -> str:
    """An expression as written, near enough for a label: ``$programname == 'plc'``."""
    shown = ""
    for previous, token in zip([None, *tokens], tokens, strict=False):
        text = f"'{token.text}'" if token.kind == "string" else token.text
        glued = previous is not None and previous.kind == token.kind == "punct"
        shown += text if glued or not shown else f" {text}"
    return shown


def _skip_block(tokens: list[Token], i: int) -> int:
    depth = 1
    while i < len(tokens) and depth:
        depth += tokens[i].punct("{") - tokens[i].punct("}")
        i += 1
    return i


def _single(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def rsyslog_forwards(main: ConfFile, folder: list[ConfFile] | None) -> RsyslogForwards:
    """Where rsyslog forwards the log, from /etc/rsyslog.conf and the collected files of
    /etc/rsyslog.d (None: not collected, so an include of them is unknown)."""
    reader = _Reader(folder or [], folder is not None)
    reader.read(main)
    return reader.result()
