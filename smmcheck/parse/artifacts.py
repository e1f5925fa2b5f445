"""The files and command outputs that make up one Linux or OpenWrt device.

A network OS is one text (its running-config); a gateway is several: ``sshd -T``, the
listening sockets, ``mosquitto.conf``, ``/etc/os-release`` ... Each artifact keeps its own
source and 1-based line numbers, so evidence names the exact file and line.

Canonical artifact names are the collector recipe's command names (collectors/linux.yaml);
a saved root file system maps its files onto the same names (see ``ROOTFS_FILES``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from smmcheck.facts import SourceLine

# Files of a gateway's root file system (an image, a configuration repository) and the
# artifact each one is.
ROOTFS_FILES = {
    "etc/os-release": "os-release",
    "usr/lib/os-release": "os-release",
    "etc/openwrt_release": "openwrt-release",
    "etc/ssh/sshd_config": "sshd-config",
    "etc/mosquitto/mosquitto.conf": "mosquitto-config",
    # Alone: its includes (Debian's conf-enabled/) stay unknown, see parse/lighttpd.py.
    "etc/lighttpd/lighttpd.conf": "lighttpd-config",
    "etc/shadow": "shadow",
    # Log forwarding and NTP (parse/linux_monitoring.py): an image shows no running daemon,
    # so these settle only that nothing is configured.
    "etc/rsyslog.conf": "rsyslog-config",
    "etc/systemd/journal-upload.conf": "journal-upload-config",
    "etc/syslog-ng/syslog-ng.conf": "syslog-ng-config",
    "etc/systemd/timesyncd.conf": "timesyncd-config",
    "etc/chrony/chrony.conf": "chrony-config",
    "etc/chrony.conf": "chrony-config",
    "etc/ntpsec/ntp.conf": "ntp-config",
    "etc/ntp.conf": "ntp-config",
}
# Folders a program reads every file of (mosquitto's include_dir), the artifact they make
# up and the end of the names read: each such file is the artifact ``NAME/FILE``, and a
# folder without one is ``NAME``, known to be absent.
ROOTFS_FOLDERS = {
    "etc/mosquitto/conf.d": ("mosquitto-conf-d", ".conf"),
    "etc/rsyslog.d": ("rsyslog-conf-d", ".conf"),
    "etc/systemd/timesyncd.conf.d": ("timesyncd-conf-d", ".conf"),
    "etc/chrony/conf.d": ("chrony-conf-d", ".conf"),
    "etc/chrony/sources.d": ("chrony-sources-d", ".sources"),
}


def bundle_text(artifacts: tuple[Artifact, ...]) -> str:
    """One text standing for all of a device's artifacts: what its sha256 and cache key are
    computed from."""
    parts = [
        f"### {a.name} {a.source} {'absent' if a.absent else len(a.text)}\n{a.text}"
        for a in sorted(artifacts, key=lambda a: a.name)
    ]
    return "\n".join(parts)


@dataclass(frozen=True)
class Artifact:
    """One file or command output of a device."""

    name: str  # canonical: sshd-effective, sshd-config, listening-sockets, ...
    source: str  # where it came from, as reports cite it
    text: str
    # Known not to exist on the device (``cat`` found no such file; an image without it).
    absent: bool = False
    # Given on its own, not as part of a whole device: only what it establishes is judged.
    part: bool = False

    def lines(self) -> Iterator[tuple[int, str]]:
        """(1-based line number, line) pairs."""
        yield from enumerate(self.text.splitlines(), start=1)

    def at(self, line: int, text: str | None = None) -> SourceLine:
        """Evidence for one line of this artifact (``text`` replaces a line to redact)."""
        raw = text if text is not None else self.text.splitlines()[line - 1]
        return SourceLine(source=self.source, line=line, text=raw.strip())

    def whole(self, text: str) -> SourceLine:
        """Evidence about the artifact as a whole (an absence): line 0."""
        return SourceLine(source=self.source, line=0, text=text)


_TAIL_HEADER = re.compile(r"^==> (.+) <==$")


def tail_sections(listing: Artifact) -> list[tuple[str, list[tuple[int, str]]]]:
    """The files of a ``tail -v -n +1 FILE...`` output: each path with its lines, numbered
    as in the output (1-based). The blank line tail writes before each header is dropped.
    Empty when the output has no header (it is not such a listing)."""
    files: list[tuple[str, list[tuple[int, str]]]] = []
    for number, line in listing.lines():
        header = _TAIL_HEADER.match(line)
        if header:
            if files and files[-1][1] and files[-1][1][-1][1] == "":
                files[-1][1].pop()
            files.append((header.group(1), []))
        elif files:
            files[-1][1].append((number, line))
    return files
