"""Snapshots: what collection saw, stored so that anyone can verify it later.

    SNAPSHOT/
      manifest.json          schema smmcheck.snapshot/v1: who, when, how, sha256 of each output
      <device>/<output>.txt  each raw output, byte for byte

The manifest holds no credential: only where secrets came from is implied by the
inventory, never their values. Files are written atomically; the manifest last, so a
snapshot without a manifest is visibly unfinished.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field

from smmcheck.frozen import Frozen

SCHEMA = "smmcheck.snapshot/v1"
MANIFEST = "manifest.json"


class OutputRecord(Frozen):
    """One command's output as collected."""

    name: str
    command: str
    file: str | None = None  # relative to the snapshot; None when nothing was captured
    started: str
    finished: str
    sha256: str | None = None
    bytes: int = 0
    exit_status: int | None = None
    complete: bool = False
    problem: str | None = None


class HostKey(Frozen):
    """The server's host key as verified during collection."""

    type: str
    sha256: str  # OpenSSH-style fingerprint, "SHA256:..."


class DeviceCapture(Frozen):
    """Everything collected from one device, or why it could not be collected."""

    name: str
    host: str
    port: int
    platform: str
    site: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    host_key: HostKey | None = None
    # The server's SSH software as its banner announced it ("OpenSSH_9.2p1 Debian-2+deb12u3"):
    # the release whose defaults apply where a configuration leaves settings unset.
    server_version: str | None = None
    outputs: list[OutputRecord] = Field(default_factory=list)


class Manifest(Frozen):
    """The snapshot's table of contents."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    tool: dict[str, str]
    started: str
    finished: str
    devices: list[DeviceCapture]


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of a snapshot folder, or None when ``folder`` is not a snapshot."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except ValueError:
        return None
    return manifest if manifest.schema_ == SCHEMA else None


def verify(folder: Path, manifest: Manifest) -> list[str]:
    """Outputs whose file is missing or no longer matches its recorded sha256."""
    problems = []
    for device in manifest.devices:
        for output in device.outputs:
            if output.file is None or output.sha256 is None:
                continue
            path = folder / output.file
            if not path.is_file():
                problems.append(f"{output.file}: missing")
            elif sha256_hex(path.read_bytes()) != output.sha256:
                problems.append(f"{output.file}: sha256 differs from the manifest")
    return problems
