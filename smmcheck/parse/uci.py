"""OpenWrt's UCI configuration, read from either of the two forms it is saved in.

``/etc/config/<package>`` files (a root file system, a backup)::

    config dropbear 'main'
            option PasswordAuth 'on'
            list listen_http '0.0.0.0:80'     # quoting is optional, comments too

and the output of ``uci show`` (a collected device), one value per line::

    dropbear.main=dropbear
    dropbear.@dropbear[0].PasswordAuth='on'
    uhttpd.main.listen_http='0.0.0.0:80' '[::]:80'

Both become the same :class:`UciConfig`: packages of typed sections whose option values
each keep the line they were read from, so a fact cites the exact file and line. Quoting
follows libuci: single quotes, double quotes with backslash escapes, adjacent parts joined,
``#`` starting a comment. ``uci show`` prints a list as several quoted words; releases
before 2014 printed values unquoted, which reads the same here.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from smmcheck.facts import SourceLine
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.redact import MASK

# The boolean spellings libuci's validator accepts (procd validate_data normalises them
# to 1/0 before an init script reads them).
_TRUE = frozenset({"1", "on", "true", "yes", "enabled"})
_FALSE = frozenset({"0", "off", "false", "no", "disabled"})

_NAME = r"[A-Za-z0-9_-]+"
_SHOW = re.compile(rf"^({_NAME})\.(@{_NAME}\[-?\d+\]|{_NAME})(?:\.({_NAME}))?=(.*)$")


@dataclass(frozen=True)
class UciValue:
    """One value of an option, with the line it came from."""

    value: str
    artifact: Artifact
    line: int
    # How the line would read with its value masked (for secrets such as communities).
    masked: str

    def evidence(self, hide: str | None = None) -> SourceLine:
        """The line, as evidence; ``hide`` is a secret to mask wherever it appears (the name
        of a section called after its community: ``snmpd.public.secname='ro'``)."""
        text = self.artifact.at(self.line).text
        return self.artifact.at(self.line, text.replace(hide, MASK) if hide else text)

    def redacted(self) -> SourceLine:
        """The line with the value (and a section named after it) masked."""
        return self.artifact.at(self.line, self.masked)


@dataclass
class UciSection:
    """A ``config TYPE ['NAME']`` section and its options (``list`` options hold several)."""

    package: str
    type: str
    # The name, or ``@type[index]`` for an anonymous section, as ``uci show`` prints it.
    ref: str
    header: SourceLine
    options: dict[str, list[UciValue]] = field(default_factory=dict)

    @property
    def named(self) -> bool:
        return not self.ref.startswith("@")

    def get(self, option: str) -> UciValue | None:
        """The option's value (the last one given, as UCI keeps for ``option``)."""
        values = self.options.get(option)
        return values[-1] if values else None

    def values(self, option: str) -> list[UciValue]:
        """Every value of a list option (a plain option gives one)."""
        return list(self.options.get(option, ()))

    def flag(self, option: str, default: bool) -> tuple[bool | None, UciValue | None]:
        """A boolean option: (value, its line); the default when absent, None if invalid."""
        found = self.get(option)
        if found is None:
            return default, None
        word = found.value.strip().lower()
        if word in _TRUE:
            return True, found
        if word in _FALSE:
            return False, found
        return None, found


@dataclass(frozen=True)
class UciConfig:
    """The UCI packages of one device, and which packages are known not to exist."""

    sections: tuple[UciSection, ...]
    # Packages given as known-absent files (an image without /etc/config/uhttpd).
    absent: frozenset[str]
    # True when the packages seen are all there are (``uci show``, a whole /etc/config).
    complete: bool
    sources: tuple[str, ...]
    # One package file given on its own: the packages not given are out of scope (judged
    # with the rest of the device), not unknown parts of this one.
    part: bool = False

    def of(self, package: str, section_type: str | None = None) -> list[UciSection]:
        """The sections of ``package`` (of one type when given), in file order."""
        return [
            s
            for s in self.sections
            if s.package == package and (section_type is None or s.type == section_type)
        ]

    def has(self, package: str) -> bool:
        return any(s.package == package for s in self.sections)

    def knows(self, package: str) -> bool:
        """Whether it is established that ``package`` is configured or not installed."""
        return self.has(package) or package in self.absent or self.complete

    def missing(self, package: str) -> SourceLine:
        """Evidence that the device has no configuration for ``package``."""
        where = ", ".join(self.sources) or "the UCI configuration"
        return SourceLine(
            source=where,
            line=0,
            text=f"(no /etc/config/{package}: no '{package}' section in the UCI configuration)",
        )


def read_uci(artifacts: tuple[Artifact, ...]) -> UciConfig | None:
    """The UCI configuration in ``artifacts`` (``uci-show``, ``uci-<package>``), or None.

    ``uci show`` lists every package of the device and a root file system gives the whole
    /etc/config folder (one with ``system`` and ``network``), so a package that neither
    shows is not installed. A package that
    both give is read from ``uci show``: it is the configuration the device runs.
    """
    show = next((a for a in artifacts if a.name == "uci-show" and not a.absent), None)
    files = [a for a in artifacts if a.name.startswith("uci-") and a.name != "uci-show"]
    if show is None and not files:
        return None
    sections: list[UciSection] = read_show(show) if show is not None else []
    shown = {s.package for s in sections}
    sources = [show.source] if show is not None else []
    absent = set()
    for artifact in files:
        package = artifact.name.removeprefix("uci-")
        if artifact.absent:
            absent.add(package)
        elif package not in shown:
            sections.extend(read_file(artifact, package))
            sources.append(artifact.source)
    # A saved /etc/config is taken as the whole folder only when it holds what every OpenWrt
    # has (base-files' `system` and `network`): a repository keeping a few of the files
    # must not make the others look uninstalled (no uhttpd, so no clear-text web server).
    kept = {a.name.removeprefix("uci-") for a in files if not a.absent}
    complete = show is not None or {"system", "network"} <= kept
    part = any(a.part for a in files)
    return UciConfig(tuple(sections), frozenset(absent), complete, tuple(sources), part)


def read_file(artifact: Artifact, package: str) -> list[UciSection]:
    """The sections of one /etc/config/<package> file; lines that do not parse are skipped."""
    sections: list[UciSection] = []
    counts: dict[str, int] = {}
    current: UciSection | None = None
    for number, raw in artifact.lines():
        words = _words(raw, comments=True)
        if not words:
            continue
        keyword = words[0]
        if keyword == "package" and len(words) > 1:
            package = words[1]
        elif keyword == "config" and len(words) > 1:
            index = counts.get(words[1], 0)
            counts[words[1]] = index + 1
            ref = words[2] if len(words) > 2 and words[2] else f"@{words[1]}[{index}]"
            current = UciSection(package, words[1], ref, artifact.at(number))
            sections.append(current)
        elif keyword in ("option", "list") and current is not None and len(words) > 1:
            value = words[2] if len(words) > 2 else ""
            masked = f"{keyword} {words[1]} '{MASK}'"
            found = UciValue(value, artifact, number, masked)
            if keyword == "option":
                current.options[words[1]] = [found]
            else:
                current.options.setdefault(words[1], []).append(found)
    return sections


def read_show(artifact: Artifact) -> list[UciSection]:
    """The sections printed by ``uci show`` (``package.section=type`` opens each one)."""
    by_ref: dict[tuple[str, str], UciSection] = {}
    for number, raw in artifact.lines():
        match = _SHOW.match(raw.strip())
        if match is None:
            continue
        package, ref, option, rest = match.groups()
        if option is None:
            by_ref[(package, ref)] = UciSection(package, rest.strip(), ref, artifact.at(number))
            continue
        section = by_ref.get((package, ref))
        if section is None:
            continue
        words = _words(rest, comments=False)
        shown_ref = ref if ref.startswith("@") else MASK
        masked = f"{package}.{shown_ref}.{option}='{MASK}'"
        # The section name is kept unless it could be the secret (named sections only).
        section.options[option] = [UciValue(w, artifact, number, masked) for w in words or [""]]
    return list(by_ref.values())


def _words(text: str, *, comments: bool) -> list[str]:
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#" if comments else ""
    try:
        return list(lexer)
    except ValueError:
        # An unterminated quote: a value spanning lines, which no check here reads.
        return []
