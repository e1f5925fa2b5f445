"""The NTP servers each time-synchronisation daemon of a Linux gateway is configured with.

* systemd-timesyncd (Debian 12's default; timesyncd.conf(5)): ``NTP=`` and ``FallbackNTP=``
  in ``[Time]`` of /etc/systemd/timesyncd.conf, then of the drop-ins in
  /etc/systemd/timesyncd.conf.d/*.conf in the order of their names; each assignment adds
  to its list and an empty one resets it. With no ``NTP=`` it uses the
  servers the network configuration (DHCP) names, or else ``FallbackNTP=``, whose default
  is compiled in: Debian builds it with 0-3.debian.pool.ntp.org (the strings of
  /lib/systemd/systemd-timesyncd of systemd 252.38-1~deb12u1, and the commented
  ``#FallbackNTP=`` line of the timesyncd.conf it ships). Other builds' defaults differ, so
  elsewhere an unset fallback is unknown.
* chrony (chrony.conf(5), Debian's /etc/chrony/chrony.conf or /etc/chrony.conf): ``server``,
  ``pool`` and ``peer`` lines; ``confdir DIR`` reads DIR's ``*.conf`` files, ``sourcedir
  DIR`` DIR's ``*.sources`` files (server, pool and peer lines only), ``include PATTERN``
  the matching files. Debian 12's chrony.conf has ``confdir /etc/chrony/conf.d``, ``pool
  2.debian.pool.ntp.org iburst``, and ``sourcedir`` /run/chrony-dhcp (servers from DHCP,
  written at run time) and /etc/chrony/sources.d.
* ntpd and NTPsec (ntp.conf(5); /etc/ntpsec/ntp.conf on Debian, /etc/ntp.conf elsewhere):
  ``server``, ``pool`` and ``peer`` lines. ``server 127.127.t.u`` is a reference clock
  driver, not a server, as is NTPsec's ``refclock``.

A folder or file the collector does not read (another ``confdir``, DHCP's sources, an
``includefile``) makes the server list unknown when nothing else names a server.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field

from smmcheck.facts import Endpoint, SourceLine
from smmcheck.parse.conffiles import ConfFile

# Debian's -Dntp-servers for systemd-timesyncd (debian/rules of src:systemd).
DEBIAN_FALLBACK = tuple(f"{n}.debian.pool.ntp.org" for n in range(4))
CHRONY_CONF_D = "/etc/chrony/conf.d"
CHRONY_SOURCES_D = "/etc/chrony/sources.d"


@dataclass(frozen=True)
class Servers:
    """A daemon's configured servers; ``unknown`` says what may add servers unseen (it
    matters only when none is found)."""

    endpoints: tuple[Endpoint, ...]
    unknown: str | None = None


def timesyncd_servers(files: list[ConfFile], os_id: str | None) -> Servers:
    """systemd-timesyncd's servers from timesyncd.conf and its drop-ins (none: defaults)."""
    main = [f for f in files if not posixpath.dirname(f.path).endswith(".conf.d")]
    drop_ins = sorted((f for f in files if f not in main), key=lambda f: posixpath.basename(f.path))
    # Each list as assigned (None: never), every server with the line that names it.
    lists: dict[str, list[tuple[str, SourceLine]] | None] = {"ntp": None, "fallbackntp": None}
    for conf in [*main, *drop_ins]:
        section = None
        for number, raw in conf.lines:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]").strip()
                continue
            key, sep, value = line.partition("=")
            key = key.strip().lower()
            if section != "Time" or not sep or key not in lists:
                continue
            words = value.split()
            kept = lists[key] or [] if words else []
            lists[key] = [*kept, *((word, conf.at(number)) for word in words)]
    ntp, fallback = lists["ntp"], lists["fallbackntp"]
    if ntp:
        return Servers(_endpoints("systemd-timesyncd NTP=", ntp))
    if fallback is not None:
        if fallback:
            return Servers(_endpoints("systemd-timesyncd FallbackNTP=", fallback))
        return Servers((), "NTP= and FallbackNTP= are empty: only servers from DHCP")
    if os_id != "debian":
        return Servers((), "FallbackNTP= is unset and this build's compiled-in default unknown")
    where = files[0].whole("(FallbackNTP= unset: Debian's compiled-in default)") if files else None
    return Servers(
        tuple(
            Endpoint(
                label=f"systemd-timesyncd default FallbackNTP= {name}",
                address=name,
                evidence=(where,) if where else (),
                notes={"address": "Debian's compiled-in fallback: no NTP= is set"},
            )
            for name in DEBIAN_FALLBACK
        )
    )


def _endpoints(prefix: str, named: list[tuple[str, SourceLine]]) -> tuple[Endpoint, ...]:
    first = dict(reversed(named))  # each server's first line
    return tuple(
        Endpoint(label=f"{prefix}{name}", address=name, evidence=(first[name],))
        for name in dict.fromkeys(name for name, _ in named)
    )


def chrony_servers(files: list[ConfFile], collected: set[str]) -> Servers:
    """chrony's sources from chrony.conf and the ``collected`` folders it names (their
    files among ``files``; a folder known to be empty is collected too)."""
    mains = [f for f in files if posixpath.basename(f.path) == "chrony.conf"]
    if not mains:
        return Servers((), "chrony.conf was not read")
    # Debian's chronyd reads /etc/chrony/chrony.conf; an /etc/chrony.conf beside it is not.
    main = min(mains, key=lambda f: f.path != "/etc/chrony/chrony.conf")
    reader = _ChronyReader(files, collected)
    reader.read(main, (), depth=0, sources_only=False)
    return Servers(tuple(reader.found), reader.unknown[0] if reader.unknown else None)


@dataclass
class _ChronyReader:
    files: list[ConfFile]
    collected: set[str]
    found: list[Endpoint] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def read(
        self, conf: ConfFile, via: tuple[SourceLine, ...], depth: int, sources_only: bool
    ) -> None:
        """One file's sources; ``via``: the confdir, sourcedir or include lines that led
        to it (cited with each source), ``sources_only`` for a sourcedir's file."""
        for number, raw in conf.lines:
            words = raw.split()
            if not words or words[0][0] in "!;#%":
                continue
            directive = words[0].lower()
            if directive in ("server", "pool", "peer") and len(words) > 1:
                self.found.append(
                    Endpoint(
                        label=f"chrony {directive} {words[1]}",
                        address=words[1],
                        evidence=(*via, conf.at(number)),
                    )
                )
            elif sources_only or depth > 4:
                continue
            elif directive in ("confdir", "sourcedir"):
                suffix = ".conf" if directive == "confdir" else ".sources"
                for folder in (posixpath.normpath(w) for w in words[1:]):
                    self._folder(folder, f"*{suffix}", (*via, conf.at(number)), depth, directive)
            elif directive == "include" and len(words) > 1:
                folder, pattern = posixpath.split(posixpath.normpath(words[1]))
                if not pattern.endswith((".conf", ".sources")):
                    folder = ""  # the collected folders' other files are not read
                self._folder(folder, pattern, (*via, conf.at(number)), depth, directive)

    def _folder(
        self, folder: str, pattern: str, via: tuple[SourceLine, ...], depth: int, directive: str
    ) -> None:
        if folder not in self.collected:
            self.unknown.append(f"{directive} {folder}/{pattern} is not collected")
            return
        for part in _inside(self.files, folder, pattern):
            self.read(part, via, depth + 1, sources_only=directive == "sourcedir")


def _inside(files: list[ConfFile], folder: str, pattern: str) -> list[ConfFile]:
    """The files of ``folder`` whose names match ``pattern``, in the order of their names."""
    return sorted(
        (
            f
            for f in files
            if posixpath.dirname(f.path) == folder
            and fnmatch.fnmatchcase(posixpath.basename(f.path), pattern)
        ),
        key=lambda f: f.path,
    )


def ntpd_servers(files: list[ConfFile]) -> Servers:
    """ntpd's (or NTPsec's) servers from its ntp.conf."""
    mains = [f for f in files if posixpath.basename(f.path) == "ntp.conf"]
    if not mains:
        return Servers((), "ntp.conf was not read")
    # Debian's NTPsec reads /etc/ntpsec/ntp.conf; classic ntpd and Yocto /etc/ntp.conf.
    main = min(mains, key=lambda f: f.path != "/etc/ntpsec/ntp.conf")
    found: list[Endpoint] = []
    unknown = None
    for number, raw in main.lines:
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        directive = words[0].lower()
        names = [w for w in words[1:] if w not in ("-4", "-6")]
        if directive in ("server", "pool", "peer") and names:
            if names[0].startswith("127.127."):
                continue  # a reference clock driver (GPS, local clock), not a server
            found.append(
                Endpoint(
                    label=f"ntpd {directive} {names[0]}",
                    address=names[0],
                    evidence=(main.at(number),),
                )
            )
        elif directive == "includefile" and names:
            unknown = f"includefile {names[0]} is not collected"
    return Servers(tuple(found), unknown)
