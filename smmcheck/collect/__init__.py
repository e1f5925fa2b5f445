"""Collect device outputs over SSH into a snapshot (the only layer that touches devices).

A bounded thread pool (collection is I/O bound) runs one SSH session per device; a device
that fails becomes an error with its reason and the run goes on. Only the commands of the
platform's recipe are ever sent: over paramiko exec channels for Linux gateways, through
netmiko's driver for network operating systems.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from smmcheck import __version__
from smmcheck.collect.session import CollectError, ConnectGate, HostKeyPolicy, RawOutput, Reach
from smmcheck.errors import SmmcheckError
from smmcheck.inventory import Device
from smmcheck.recipes import Recipe, load_recipe
from smmcheck.report import write_atomic
from smmcheck.snapshot import MANIFEST, DeviceCapture, Manifest, OutputRecord, sha256_hex

DEFAULT_WORKERS = 32

# paramiko and netmiko log connection faults at ERROR; with no handler configured, Python
# would print them to stderr beside smmcheck's own one-line reason for the same fault.
for _library in ("paramiko", "netmiko"):
    logging.getLogger(_library).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class CollectOptions:
    """Where to write, how many sessions at once, how devices are reached."""

    output: Path
    known_hosts: Path
    accept_new_host_keys: bool = False
    workers: int = DEFAULT_WORKERS
    connect_timeout: float = 10.0
    connect_retries: int = 1
    handshakes_per_target: int = 8  # below OpenSSH's MaxStartups default of 10
    recipes: Path | None = None  # a folder of the user's own recipes; built-in otherwise


def collect(
    devices: list[Device],
    options: CollectOptions,
    progress: Callable[[int, int], None] | None = None,
) -> Manifest:
    """Collect every device into ``options.output``; return the manifest written there."""
    recipes = {
        platform: load_recipe(platform, _recipe_folder(options.recipes, platform))
        for platform in {d.platform for d in devices}
    }
    from smmcheck.collect.hostkeys import KnownHosts

    reach = Reach(
        HostKeyPolicy(options.known_hosts, options.accept_new_host_keys),
        verifier=KnownHosts(options.known_hosts, options.accept_new_host_keys),
        connect_timeout=options.connect_timeout,
        connect_retries=options.connect_retries,
        gate=ConnectGate(options.handshakes_per_target),
    )
    started = _now()
    done = 0
    captures: list[DeviceCapture] = []
    with ThreadPoolExecutor(max_workers=max(1, min(options.workers, len(devices)))) as pool:
        futures = [
            pool.submit(_collect_device, d, recipes[d.platform], reach, options.output)
            for d in devices
        ]
        for future in futures:
            captures.append(future.result())
            done += 1
            if progress:
                progress(done, len(devices))
    manifest = Manifest(
        tool={"name": "smmcheck", "version": __version__},
        started=started,
        finished=_now(),
        devices=sorted(captures, key=lambda c: c.name),
    )
    write_atomic(options.output / MANIFEST, manifest.model_dump_json(by_alias=True, indent=2))
    return manifest


def _recipe_folder(folder: Path | None, platform: str) -> Path | None:
    # A user's recipe folder overrides the built-in recipe of the platforms it covers.
    if folder is not None and (folder / f"{platform}.yaml").is_file():
        return folder
    return None


def _collect_device(device: Device, recipe: Recipe, reach: Reach, output: Path) -> DeviceCapture:
    base = {
        "name": device.name,
        "host": device.host,
        "port": device.port,
        "platform": device.platform,
        "site": device.site,
        "category": device.category,
        "tags": list(device.tags),
    }
    folder = _safe(device.name)
    records: list[OutputRecord] = []

    def keep(raw: RawOutput) -> None:
        records.append(_store(output, folder, raw, recipe))

    try:
        if recipe.transport == "netmiko":
            from smmcheck.collect.netmiko_cli import run_recipe
        else:
            from smmcheck.collect.ssh_exec import run_recipe
        connected = run_recipe(device, recipe, reach, keep)
    except CollectError as exc:
        return DeviceCapture(**base, status="error", error=str(exc), outputs=records)
    except SmmcheckError as exc:  # a secret reference that cannot be resolved
        return DeviceCapture(**base, status="error", error=exc.line(), outputs=records)
    problems = [
        f"{r.name}: {r.problem}" for r in records if r.problem and not _optional(recipe, r.name)
    ]
    seen = {"host_key": connected.host_key, "server_version": connected.server_version}
    if problems:
        return DeviceCapture(
            **base, status="error", error="; ".join(problems), outputs=records, **seen
        )
    return DeviceCapture(**base, outputs=records, **seen)


def _store(root: Path, folder: str, raw: RawOutput, recipe: Recipe) -> OutputRecord:
    text = raw.data.decode("utf-8", errors="replace")
    relative = f"{folder}/{raw.command.name}.txt"
    write_atomic(root / relative, text)
    problem = raw.command.complete.problem(text, raw.exit_status)
    complaint = raw.stderr.decode("utf-8", errors="replace").strip().splitlines()
    if problem and complaint:
        # What the device said about it ("Permission denied", "No such file") is the
        # reason a user can act on.
        problem = f"{problem}: {complaint[0][:200]}"
    denied = next((e for e in recipe.privilege_errors if e in text), None)
    if denied:
        problem = f"insufficient privilege ('{denied}')"
    stored = (root / relative).read_bytes()
    return OutputRecord(
        name=raw.command.name,
        command=raw.command.command,
        file=relative,
        started=stamp(raw.started),
        finished=stamp(raw.finished),
        sha256=sha256_hex(stored),
        bytes=len(stored),
        exit_status=raw.exit_status,
        complete=problem is None,
        problem=problem,
    )


def _optional(recipe: Recipe, name: str) -> bool:
    return next(c.optional for c in recipe.commands if c.name == name)


def _safe(name: str) -> str:
    # Device names become folder names: keep them to a portable character set.
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def stamp(seconds: float) -> str:
    """A UTC time as the manifest writes it (ISO 8601, milliseconds, Z)."""
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _now() -> str:
    return stamp(time.time())
