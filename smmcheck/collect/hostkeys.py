"""Host-key verification shared by every session of a run, for both transports.

The known_hosts file is parsed once per run (paramiko's loader is quadratic in the file's
length, and a fleet's file has thousands of lines) and every session checks its server's
key against that one table. This policy is the only writer of the file: keys learned on
first use are appended under a lock and written atomically, so sessions learning keys at
the same time never lose each other's (paramiko's own AutoAddPolicy rewrites the file from
each client's stale copy).
"""

from __future__ import annotations

import threading
from pathlib import Path

import paramiko

from smmcheck.report import write_atomic


class KnownHosts(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]  # untyped base
    """Verify server keys against a known_hosts file; learn unknown ones only if allowed.

    Installed as the paramiko client's missing-host-key policy with nothing loaded into the
    client itself, so every key, known or not, comes here.
    """

    def __init__(self, path: Path, accept_new: bool) -> None:
        self.path = path
        self.accept_new = accept_new
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        if path.is_file():
            self._keys.load(str(path))

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        """Accept a recorded key, refuse a changed one, learn or refuse an unknown one."""
        with self._lock:
            recorded = self._keys.lookup(hostname)
            if recorded is not None and len(recorded) > 0:
                if recorded.get(key.get_name()) == key:
                    return
                # A different key, or a key of another type than the one recorded: both
                # are what a man in the middle would present.
                expected = recorded.get(key.get_name()) or next(iter(recorded.values()))
                raise paramiko.BadHostKeyException(hostname, key, expected)
            if not self.accept_new:
                raise paramiko.SSHException(f"Server {hostname!r} not found in known_hosts")
            self._keys.add(hostname, key.get_name(), key)
            self._append(f"{hostname} {key.get_name()} {key.get_base64()}\n")

    def _append(self, line: str) -> None:
        existing = self.path.read_text(encoding="utf-8") if self.path.is_file() else ""
        if existing and not existing.endswith("\n"):
            existing += "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, existing + line)
