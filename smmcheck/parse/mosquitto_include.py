"""The files of mosquitto's ``include_dir``, in the order the broker reads them.

What mosquitto 2.0.11 does, read in its source (``config__get_dir_files`` and ``scmp_p`` in
src/conf_includedir.c, the ``include_dir`` branch of ``config__read_file_core`` in
src/conf.c) and checked by starting ``/usr/sbin/mosquitto`` (tests/test_mosquitto_include.py):

* It lists the folder with readdir and keeps every name longer than five characters that
  ends in ``.conf``: ``x.conf.bak``, ``notes.txt`` and a file named ``.conf`` are not read,
  a hidden ``.x.conf`` is. A directory named ``x.conf`` stops the broker, as does a missing
  ``include_dir`` folder.
* It reads them sorted case-insensitively, an upper-case letter before the same letter in
  lower case (``.hidden.conf``, ``A.conf``, ``a.conf``, ``B.conf``, ``b.conf``): not the
  shell's or ``ls``'s order, so the files are sorted here again. Releases before 1.5.7 read
  them in directory order (its ChangeLog); that order is assumed for them too.
* The files are read where the ``include_dir`` line stands, each from its first line with
  the default listener as the one being configured: options before a file's first
  ``listener`` configure the default listener, never the main file's last listener nor the
  previous file's. Only the main file's ``include_dir`` is read; one in an included file is
  ignored.

The collector (collectors/linux.yaml, ``mosquitto-conf-d``) prints them with ``tail -v -n
+1 /etc/mosquitto/conf.d/*.conf``: each file after a ``==> PATH <==`` line, and a newline
before every header but the first (so a file that ends with one is followed by an empty
line). With no ``*.conf`` file the shell leaves the pattern as it is and tail fails with
"No such file or directory": the artifact is then known to be absent, the folder holds
nothing mosquitto reads. A saved root file system gives each file as an artifact
``mosquitto-conf-d/NAME`` instead (see ``ROOTFS_FOLDERS``).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from smmcheck.parse.artifacts import Artifact, tail_sections

CONF_D = "/etc/mosquitto/conf.d"  # the folder the collector reads (Debian's include_dir)
ARTIFACT = "mosquitto-conf-d"


@dataclass(frozen=True)
class IncludeDir:
    """A folder's files as mosquitto reads them: each artifact is named by its path on the
    device and cites its own 1-based lines."""

    folder: str
    files: tuple[Artifact, ...]

    def covers(self, value: str) -> bool:
        """Whether ``include_dir VALUE`` names this folder (a relative value depends on
        the broker's working directory, so it never does)."""
        return value.startswith("/") and posixpath.normpath(value) == self.folder


def read_include_dir(artifacts: tuple[Artifact, ...], folder: str = CONF_D) -> IncludeDir | None:
    """The included files of ``folder`` among a device's artifacts; None when they were not
    collected, no files when the folder is known to hold none."""
    folder = posixpath.normpath(folder)
    listing = next((a for a in artifacts if a.name == ARTIFACT), None)
    found = [
        Artifact(posixpath.join(folder, a.name[len(ARTIFACT) + 1 :]), a.source, a.text)
        for a in artifacts
        if a.name.startswith(f"{ARTIFACT}/") and not a.absent
    ]
    if listing is None and not found:
        return None
    if listing is not None and not listing.absent:
        found += split_tail(listing)
    read = [f for f in found if posixpath.dirname(f.name) == folder and _read(f.name)]
    return IncludeDir(folder, tuple(sorted(read, key=lambda f: reading_order(f.name))))


def split_tail(listing: Artifact) -> list[Artifact]:
    """The files of a ``tail -v -n +1 FILE...`` output, each with its own line numbers."""
    return [
        Artifact(path, f"{listing.source} ({path})", "".join(f"{line}\n" for _, line in lines))
        for path, lines in tail_sections(listing)
    ]


def reading_order(path: str) -> list[tuple[int, int]]:
    """mosquitto's ``scmp_p`` as a sort key: byte by byte, case-insensitive first, then an
    upper-case letter first; a name that is the start of another comes first."""
    name = posixpath.basename(path).encode("utf-8", "surrogateescape")
    return [(byte - 32 if 97 <= byte <= 122 else byte, byte) for byte in name]


def _read(path: str) -> bool:
    name = posixpath.basename(path)
    return len(name) > 5 and name.endswith(".conf")
