"""A daemon's configuration files as a device's artifacts hold them.

A file reaches smmcheck in one of three forms, and every form keeps the line numbers of the
artifact it came from, so evidence points at the line in the snapshot's output or file:

* a ``tail -v -n +1 FILE...`` listing (the collector reads a folder's ``*.conf`` that way):
  each file after a ``==> PATH <==`` line, numbered as in the listing;
* a file read whole (``cat /etc/rsyslog.conf``, or the file in a saved root file system);
* a saved root file system's folder (``ROOTFS_FOLDERS``): each file is the artifact
  ``NAME/FILE``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from smmcheck.facts import SourceLine
from smmcheck.parse.artifacts import Artifact, tail_sections


@dataclass(frozen=True)
class ConfFile:
    """One configuration file: its path on the device and its numbered lines."""

    path: str
    artifact: Artifact
    lines: tuple[tuple[int, str], ...]

    def at(self, number: int) -> SourceLine:
        """Evidence for one line (numbered as in the artifact)."""
        return self.artifact.at(number)

    def whole(self, text: str) -> SourceLine:
        """Evidence about the file as a whole."""
        return SourceLine(source=self.artifact.source, line=0, text=text)


def config_files(artifacts: tuple[Artifact, ...], name: str, path: str) -> list[ConfFile] | None:
    """The files of artifact ``name``: a listing's files, or the file at ``path`` read whole
    (a folder's files ``NAME/FILE`` lie under ``path``). ``[]`` when the artifact is known
    to be absent; None when it was not collected."""
    listing = next((a for a in artifacts if a.name == name), None)
    found: list[ConfFile] = []
    if listing is not None and not listing.absent:
        sections = tail_sections(listing)
        if sections:
            found += [ConfFile(p, listing, tuple(lines)) for p, lines in sections]
        else:
            found.append(ConfFile(path, listing, tuple(listing.lines())))
    for artifact in artifacts:
        if artifact.name.startswith(f"{name}/") and not artifact.absent:
            where = posixpath.join(path, artifact.name[len(name) + 1 :])
            found.append(ConfFile(where, artifact, tuple(artifact.lines())))
    if listing is None and not found:
        return None
    return found
