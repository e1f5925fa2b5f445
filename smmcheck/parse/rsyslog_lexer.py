"""rsyslog's configuration as tokens, close enough to its own lexer (rsyslog
grammar/lexer.l) to find every action: selector lines (``*.*;auth.none``, ``:msg, contains,
"x"``), legacy actions after them (``@@host:514``, ``-/var/log/syslog``), ``$`` directives
(at a line's start only, outside expressions), and RainerScript words, strings and
punctuation. Comments (``#`` to the end of the line, ``/* */``) are dropped; each token keeps
the line it starts on, numbered as in the artifact.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from smmcheck.facts import SourceLine
from smmcheck.parse.conffiles import ConfFile

_PRIFILT = re.compile(r"[*a-z][*a-z]*[0-9]*[.,][,!=;.*a-z0-9]+(?=\s)", re.IGNORECASE)
_PROPFILT = re.compile(r':\$?[a-z-]+!?\s*,\s*!?[a-z_]+\s*,\s*"(?:\\.|[^"\\])*"', re.IGNORECASE)
_DIRECTIVE = re.compile(r"\$[A-Za-z][^\n]*")
_SKIP = re.compile(r"(?:\s+|#[^\n]*|/\*.*?(?:\*/|\Z))+", re.DOTALL)
_WORD = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$!.\-]*")
_STARTS_SCRIPT = re.compile(
    r"(?:action\s*\(|(?:stop|call|call_indirect|continue|if|set|unset|reset|foreach)\b|\{)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    """One token, and the line of its artifact it starts on."""

    kind: str  # word, string, punct, filter, legacy, directive, amp
    text: str
    line: int
    file: ConfFile

    def at(self) -> SourceLine:
        return self.file.at(self.line)

    def punct(self, char: str) -> bool:
        return self.kind == "punct" and self.text == char

    def word(self, *names: str) -> bool:
        return self.kind == "word" and self.text.lower() in names


def tokenize(conf: ConfFile) -> list[Token]:
    """rsyslog's tokens (a sketch of its lexer): selector lines, legacy actions and ``$``
    directives are recognised where the lexer does, the rest is RainerScript."""
    lines = [line for _, line in conf.lines]
    text = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    found: list[Token] = []
    pos, want_action, in_expr = 0, False, False
    while True:
        skipped = _SKIP.match(text, pos)
        pos = skipped.end() if skipped else pos
        if pos >= len(text):
            return found
        row = bisect.bisect_right(starts, pos) - 1
        line_start = not in_expr and not text[starts[row] : pos].strip()
        kind, value, pos = _token(text, pos, want_action, line_start, in_expr)
        found.append(Token(kind, value, conf.lines[row][0], conf))
        lowered = value.lower() if kind == "word" else ""
        # A selector's, `&`'s, `then`'s or `else`'s action may be a legacy one (`@@host`).
        want_action = kind in ("filter", "amp") or lowered in ("then", "else")
        if lowered in ("if", "set", "unset", "reset", "foreach", "call_indirect"):
            in_expr = True
        elif lowered in ("then", "do") or (kind == "punct" and value == ";"):
            in_expr = False


def _token(
    text: str, pos: int, want_action: bool, line_start: bool, in_expr: bool
) -> tuple[str, str, int]:
    """The token at ``pos``: (kind, text, where the next one may start)."""
    end_of_line = text.find("\n", pos)
    end_of_line = len(text) if end_of_line < 0 else end_of_line
    if want_action and not _STARTS_SCRIPT.match(text, pos):
        # The action of a selector line (`@@host:514`, `-/var/log/syslog`): to its end.
        return "legacy", text[pos:end_of_line].rstrip(), end_of_line
    if line_start:
        start = _line_start(text, pos)
        if start is not None:
            return start[0], start[1].group(0).strip(), start[1].end()
    char = text[pos]
    if char == "&" and not in_expr:
        return "amp", "&", pos + 1
    if char in "\"'`":
        value, end = _string(text, pos)
        return "string", value, end
    word = _WORD.match(text, pos)
    if word:
        return "word", word.group(0), word.end()
    return "punct", char, pos + 1


def _line_start(text: str, pos: int) -> tuple[str, re.Match[str]] | None:
    """A legacy directive or a selector, which the lexer takes only at a line's start."""
    for kind, pattern in (("directive", _DIRECTIVE), ("filter", _PROPFILT), ("filter", _PRIFILT)):
        matched = pattern.match(text, pos)
        if matched:
            return kind, matched
    return None


def _string(text: str, pos: int) -> tuple[str, int]:
    quote, value, i = text[pos], [], pos + 1
    while i < len(text) and text[i] != quote:
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        value.append(text[i])
        i += 1
    return "".join(value), i + 1
