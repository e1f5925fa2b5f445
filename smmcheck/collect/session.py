"""What both transports share: how to reach a device, and what a command returned.

Kept free of paramiko and netmiko so that the collector's core imports neither until a
device is actually connected to.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from smmcheck.recipes import Command
from smmcheck.snapshot import HostKey

T = TypeVar("T")


class CollectError(Exception):
    """A device that could not be collected, and why (one line, no secrets)."""


class RetryableConnectError(CollectError):
    """A connect failure that may pass (no banner yet, reset, refused): tried again."""


@dataclass(frozen=True)
class RawOutput:
    """What one command returned."""

    command: Command
    started: float
    finished: float
    data: bytes
    exit_status: int | None  # None where the transport has none (an interactive CLI)
    stderr: bytes = b""


@dataclass(frozen=True)
class Connected:
    """What a session learned about the server itself."""

    host_key: HostKey
    server_version: str | None  # from the SSH banner, "OpenSSH_9.2p1 Debian-2+deb12u3"


def server_version(banner: str | None) -> str | None:
    """The software part of an SSH identification string ("SSH-2.0-OpenSSH_9.2p1 ...")."""
    if not banner or not banner.startswith("SSH-"):
        return None
    return banner.split("-", 2)[2].strip() if banner.count("-") >= 2 else None


@dataclass(frozen=True)
class HostKeyPolicy:
    """Where host keys are checked, and whether unknown ones may be learned."""

    known_hosts: Path
    accept_new: bool = False


class ConnectGate:
    """At most ``limit`` SSH handshakes at once per target (host and port).

    OpenSSH drops connections beyond ``MaxStartups`` (10 unauthenticated by default) with
    "Error reading SSH protocol banner"; a pool sized for hundreds of devices behind one
    jump host or NAT address would trip it. Only the handshake is bounded: once
    authenticated, a session no longer counts against MaxStartups.
    """

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._gates: dict[tuple[str, int], threading.BoundedSemaphore] = {}

    @contextmanager
    def handshake(self, host: str, port: int) -> Iterator[None]:
        """Hold one of the target's handshake slots for the duration of the block."""
        with self._lock:
            gate = self._gates.setdefault((host, port), threading.BoundedSemaphore(self.limit))
        with gate:
            yield


@dataclass(frozen=True)
class Reach:
    """How to connect: host keys, timeouts, retries and the per-target handshake gate."""

    host_keys: HostKeyPolicy
    connect_timeout: float = 10.0
    connect_retries: int = 1
    gate: ConnectGate = field(default_factory=ConnectGate, compare=False)
    # The run's one known_hosts table (smmcheck.collect.hostkeys.KnownHosts, a paramiko
    # missing-host-key policy): parsed once per run and shared by every session.
    verifier: Any = field(default=None, compare=False)

    def connect(self, host: str, port: int, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (one connect) through the gate, retrying what may pass."""
        for tries_left in range(self.connect_retries, -1, -1):
            try:
                with self.gate.handshake(host, port):
                    return attempt()
            except RetryableConnectError:
                if tries_left == 0:
                    raise
                # A short pause: a full MaxStartups queue or a rebooting device clears
                # in seconds, and a dead host should not hold a worker for long.
                time.sleep(1.0)
        raise AssertionError("unreachable")


def fingerprint(key_type: str, key_bytes: bytes) -> HostKey:
    """The OpenSSH-style SHA256 fingerprint of a host key."""
    digest = base64.b64encode(hashlib.sha256(key_bytes).digest()).decode().rstrip("=")
    return HostKey(type=key_type, sha256=f"SHA256:{digest}")


def hung(command: Command) -> CollectError:
    """The error for a command that did not finish within its timeout."""
    return CollectError(f"command '{command.name}' hung past its {command.timeout:g} s timeout")


def dropped(command: Command, why: object = "") -> CollectError:
    """The error for a connection lost while a command's output was being read."""
    detail = str(why).strip().splitlines()[0] if str(why).strip() else "connection closed"
    return CollectError(f"connection dropped during '{command.name}' ({detail})")
