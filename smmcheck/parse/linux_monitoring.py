"""Remote logging and NTP of a Linux gateway: which daemons run, and what they are set to.

A configuration file alone never passes: the daemon that reads it must be shown to run.
Two outputs show it (collectors/linux.yaml), and either settles a daemon:

* ``systemctl show -p Id,LoadState,ActiveState,UnitFileState UNIT...``: a block of
  ``KEY=value`` lines per unit, in the order given; a unit that does not exist still gets
  one (``LoadState=not-found``, ``ActiveState=inactive``), and an alias (chronyd for
  chrony) is shown under its unit's ``Id``. Checked against systemd 252's manager; without a
  running systemd (a container, sysvinit) systemctl prints "System has not been booted
  with systemd as init system" and fails, and the output is unknown.
* ``ps -e -o pid=,comm=``: every process's name (cut to 15 characters: systemd-timesyncd
  is ``systemd-timesyn``). It is the whole list only when it shows PID 1: with /proc
  mounted ``hidepid`` an unprivileged account sees just its own processes.

``timedatectl show`` adds whether the kernel's clock is synchronised (``NTPSynchronized=``).
Not ``timedatectl show-timesync``: it asks timesyncd over D-Bus, and where timesyncd is
enabled but stopped that request starts it (D-Bus activation of
dbus-org.freedesktop.timesync1.service), which a read-only audit must not do.

A saved root file system shows no running daemon, so there these facts are known only when
no configuration forwards the log (or names a server) at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from smmcheck.facts import Endpoint, SourceLine
from smmcheck.parse.artifacts import Artifact
from smmcheck.parse.conffiles import config_files
from smmcheck.parse.rsyslog import RSYSLOG_D, rsyslog_forwards
from smmcheck.parse.timesync import (
    CHRONY_CONF_D,
    CHRONY_SOURCES_D,
    Servers,
    chrony_servers,
    ntpd_servers,
    timesyncd_servers,
)

# The units `service-state` asks about, by the daemon they run.
_UNITS = {
    "rsyslog.service": "rsyslog",
    "syslog-ng.service": "syslog-ng",
    "systemd-journal-upload.service": "journal-upload",
    "systemd-timesyncd.service": "timesyncd",
    "chrony.service": "chrony",
    "chronyd.service": "chrony",
    "ntpsec.service": "ntpd",
    "ntp.service": "ntpd",
    "ntpd.service": "ntpd",
}
# Process names (comm); systemd-journal-upload's is cut to systemd-journal, as journald's.
_PROCESSES = {
    "rsyslogd": "rsyslog",
    "syslog-ng": "syslog-ng",
    "syslogd": "syslogd",  # busybox or sysklogd: its forwarding (-R) is not read
    "systemd-timesyn": "timesyncd",
    "chronyd": "chrony",
    "ntpd": "ntpd",  # ntpd, NTPsec, OpenNTPD and busybox ntpd alike
}
_RUNNING = {"active", "reloading", "refreshing"}
_PS_LINE = re.compile(r"^\s*(\d+)\s+(.+?)\s*$")


@dataclass(frozen=True)
class Running:
    """Whether a daemon runs (None: unknown), and the lines that show it."""

    state: bool | None
    evidence: tuple[SourceLine, ...] = ()


def daemons(present: dict[str, Artifact]) -> dict[str, Running]:
    """Every daemon either output settles, with what it shows."""
    seen: dict[str, list[tuple[bool, SourceLine]]] = {}
    state = present.get("service-state")
    if state is not None:
        for unit, active, line in _unit_blocks(state):
            if unit in _UNITS:
                seen.setdefault(_UNITS[unit], []).append((active in _RUNNING, line))
    listing = present.get("processes")
    if listing is not None:
        rows = [
            (m.group(1), m.group(2), n)
            for n, text in listing.lines()
            if (m := _PS_LINE.match(text))
        ]
        if any(pid == "1" for pid, _, _ in rows):
            names = {name: n for _, name, n in reversed(rows)}
            for process, daemon in _PROCESSES.items():
                if process in names:
                    seen.setdefault(daemon, []).append((True, listing.at(names[process])))
                else:
                    seen.setdefault(daemon, []).append(
                        (False, listing.whole(f"(no {process} process)"))
                    )
    found = {}
    for daemon, facts in seen.items():
        # One line per output is enough (chrony and its alias chronyd show the same unit).
        running = {line.source: line for is_running, line in reversed(facts) if is_running}
        found[daemon] = Running(bool(running), tuple(reversed(running.values())))
    return found


def _unit_blocks(state: Artifact) -> list[tuple[str, str, SourceLine]]:
    """(Id, ActiveState, the ActiveState line) of each unit `systemctl show` printed."""
    blocks: list[tuple[str, str, SourceLine]] = []
    unit: str | None = None
    for number, line in state.lines():
        key, _, value = line.strip().partition("=")
        if key == "Id":
            unit = value
        elif key == "ActiveState" and unit is not None:
            blocks.append((unit, value, state.at(number)))
            unit = None
    return blocks


def monitoring_facts(
    artifacts: tuple[Artifact, ...],
) -> tuple[tuple[Endpoint, ...] | None, tuple[Endpoint, ...] | None]:
    """(remote log hosts, NTP servers) of a Linux gateway, each None when unknown."""
    present = {a.name: a for a in artifacts if not a.absent}
    running = daemons(present)
    release = present.get("os-release")
    found = re.search(r'^ID="?([^"\n]*)"?$', release.text, re.MULTILINE) if release else None
    os_id = found.group(1) if found else None
    return remote_log_hosts(artifacts, running), ntp_servers(artifacts, running, os_id)


def remote_log_hosts(
    artifacts: tuple[Artifact, ...], running: dict[str, Running]
) -> tuple[Endpoint, ...] | None:
    """The hosts a running daemon forwards the log to: () when none does, None when that
    is unknown."""
    unknown = Running(None)
    upload = running.get("journal-upload", unknown)
    offers = [
        (running.get("rsyslog", unknown), _rsyslog(artifacts)),
        (upload, _journal_upload(artifacts, upload)),
        # syslog-ng's configuration is not read: when it may run, where it sends is unknown.
        (running.get("syslog-ng", unknown), _not_read(artifacts, "syslog-ng-config")),
    ]
    if running.get("syslogd", unknown).state:
        offers.append((running["syslogd"], None))  # busybox/sysklogd: -R is not read
    return _running_offers(offers)


def ntp_servers(
    artifacts: tuple[Artifact, ...], running: dict[str, Running], os_id: str | None
) -> tuple[Endpoint, ...] | None:
    """The servers a running NTP daemon synchronises the clock to: () when none does, None
    when that is unknown."""
    unknown = Running(None)
    timesyncd = running.get("timesyncd", unknown)
    offers = [
        (timesyncd, _timesyncd(artifacts, timesyncd, os_id)),
        (running.get("chrony", unknown), _chrony(artifacts)),
        (running.get("ntpd", unknown), _ntpd(artifacts)),
    ]
    servers = _running_offers(offers)
    synchronised = _synchronised(artifacts)
    if not servers or synchronised is None:
        return servers
    # The kernel's view: a daemon that runs but never reached a server leaves it unset.
    state, line = synchronised
    return tuple(
        s.model_copy(
            update={
                "label": s.label if state else f"{s.label} (clock not synchronised)",
                "evidence": (*s.evidence, line),
            }
        )
        for s in servers
    )


def _running_offers(
    offers: list[tuple[Running, tuple[Endpoint, ...] | None]],
) -> tuple[Endpoint, ...] | None:
    """What the running daemons offer. A daemon known not to run, or set to nothing,
    offers nothing; one that runs (or may) with what is unknown makes the whole unknown
    unless another offers something."""
    found: list[Endpoint] = []
    unsure = False
    for running, endpoints in offers:
        if running.state is False or endpoints == ():
            continue
        if running.state is True and endpoints:
            found += [
                e.model_copy(update={"evidence": (*e.evidence, *running.evidence)})
                for e in endpoints
            ]
        else:
            unsure = True
    if found:
        return tuple(found)
    return None if unsure else ()


def _rsyslog(artifacts: tuple[Artifact, ...]) -> tuple[Endpoint, ...] | None:
    main = config_files(artifacts, "rsyslog-config", "/etc/rsyslog.conf")
    if not main:
        return None if main is None else ()
    found = rsyslog_forwards(main[0], config_files(artifacts, "rsyslog-conf-d", RSYSLOG_D))
    return found.endpoints or (None if found.unknown else ())


def _journal_upload(
    artifacts: tuple[Artifact, ...], running: Running
) -> tuple[Endpoint, ...] | None:
    """systemd-journal-upload's ``URL=`` (journal-upload.conf(5), section [Upload]; the
    port is 19532 unless the URL names one)."""
    files = config_files(artifacts, "journal-upload-config", "/etc/systemd/journal-upload.conf")
    if files is None:
        return None
    url: tuple[str, SourceLine] | None = None
    for conf in files:
        section = None
        for number, raw in conf.lines:
            line = raw.strip()
            if line.startswith("["):
                section = line.strip("[]").strip()
            elif section == "Upload" and line.startswith("URL="):
                url = (line[4:].strip(), conf.at(number))
    if url is None or not url[0]:
        # Running without a URL in the file: it was given on the command line (a unit
        # drop-in), which is not read.
        return None if running.state else ()
    # Without a scheme, systemd-journal-upload assumes https.
    host = urlsplit(url[0] if "://" in url[0] else f"https://{url[0]}").hostname
    if not host:
        return None
    return (
        Endpoint(label=f"systemd-journal-upload URL={url[0]}", address=host, evidence=(url[1],)),
    )


def _not_read(artifacts: tuple[Artifact, ...], name: str) -> tuple[Endpoint, ...] | None:
    """() when the daemon's configuration is known to be absent, else None."""
    return () if config_files(artifacts, name, "") == [] else None


def _timesyncd(
    artifacts: tuple[Artifact, ...], running: Running, os_id: str | None
) -> tuple[Endpoint, ...] | None:
    main = config_files(artifacts, "timesyncd-config", "/etc/systemd/timesyncd.conf")
    drop_ins = config_files(artifacts, "timesyncd-conf-d", "/etc/systemd/timesyncd.conf.d")
    if main is None:
        return None
    if not main and not running.state:
        return ()  # no timesyncd.conf (the package ships it) and nothing shows it runs
    return _known(timesyncd_servers([*main, *(drop_ins or [])], os_id))


def _chrony(artifacts: tuple[Artifact, ...]) -> tuple[Endpoint, ...] | None:
    main = config_files(artifacts, "chrony-config", "/etc/chrony/chrony.conf")
    if not main:
        return None if main is None else ()
    folders = {
        CHRONY_CONF_D: config_files(artifacts, "chrony-conf-d", CHRONY_CONF_D),
        CHRONY_SOURCES_D: config_files(artifacts, "chrony-sources-d", CHRONY_SOURCES_D),
    }
    known = {folder for folder, files in folders.items() if files is not None}
    parts = [f for files in folders.values() for f in files or []]
    return _known(chrony_servers([*main, *parts], known))


def _ntpd(artifacts: tuple[Artifact, ...]) -> tuple[Endpoint, ...] | None:
    files = config_files(artifacts, "ntp-config", "/etc/ntpsec/ntp.conf")
    if not files:
        return None if files is None else ()
    return _known(ntpd_servers(files))


def _known(servers: Servers) -> tuple[Endpoint, ...] | None:
    return servers.endpoints or (None if servers.unknown else ())


def _synchronised(artifacts: tuple[Artifact, ...]) -> tuple[bool, SourceLine] | None:
    """``NTPSynchronized=`` of ``timedatectl show``, with its line."""
    clock = next((a for a in artifacts if a.name == "clock-sync" and not a.absent), None)
    if clock is None:
        return None
    for number, line in clock.lines():
        if line.startswith("NTPSynchronized="):
            return line.strip() == "NTPSynchronized=yes", clock.at(number)
    return None
