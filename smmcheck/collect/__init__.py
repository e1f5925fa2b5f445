"""Collect device outputs over SSH into a snapshot (the only layer that touches devices).

A bounded thread pool (collection is I/O bound) runs one SSH session per device; a device
that fails becomes an error with its reason and the run goes on. Only the commands of the
platform's recipe are ever sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from smmcheck import __version__
from smmcheck.errors import SmmcheckError
from smmcheck.inventory import Device
from smmcheck.recipes import Recipe, load_recipe
from smmcheck.report import write_atomic
from smmcheck.snapshot import MANIFEST, DeviceCapture, Manifest, OutputRecord, sha256_hex

DEFAULT_WORKERS = 32


@dataclass(frozen=True)
class CollectOptions:
    """Where to write, how many sessions at once, and how host keys are trusted."""

    output: Path
    known_hosts: Path
    accept_new_host_keys: bool = False
    workers: int = DEFAULT_WORKERS


def collect(
    devices: list[Device],
    options: CollectOptions,
    progress: Callable[[int, int], None] | None = None,
) -> Manifest:
    """Collect every device into ``options.output``; return the manifest written there."""
    recipes = {platform: load_recipe(platform) for platform in {d.platform for d in devices}}
    started = _now()
    done = 0
    captures: list[DeviceCapture] = []
    with ThreadPoolExecutor(max_workers=max(1, min(options.workers, len(devices)))) as pool:
        futures = [pool.submit(_collect_device, d, recipes[d.platform], options) for d in devices]
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


def _collect_device(device: Device, recipe: Recipe, options: CollectOptions) -> DeviceCapture:
    base = {
        "name": device.name,
        "host": device.host,
        "port": device.port,
        "platform": device.platform,
        "site": device.site,
        "category": device.category,
    }
    folder = _safe(device.name)
    records: list[OutputRecord] = []

    def keep(raw: object) -> None:
        from smmcheck.collect.ssh_exec import RawOutput

        assert isinstance(raw, RawOutput)
        records.append(_store(options.output, folder, raw, recipe))

    try:
        if recipe.transport != "paramiko":
            raise SmmcheckError(
                f"collection over {recipe.transport} ({device.platform}) is not"
                " available yet in this version"
            )
        from smmcheck.collect.ssh_exec import CollectError, HostKeyPolicy, run_recipe

        policy = HostKeyPolicy(options.known_hosts, options.accept_new_host_keys)
        try:
            host_key = run_recipe(device, recipe, policy, keep)
        except CollectError as exc:
            return DeviceCapture(**base, status="error", error=str(exc), outputs=records)
    except SmmcheckError as exc:
        return DeviceCapture(**base, status="error", error=exc.line(), outputs=records)
    problems = [
        f"{r.name}: {r.problem}" for r in records if r.problem and not _optional(recipe, r.name)
    ]
    if problems:
        return DeviceCapture(
            **base, status="error", error="; ".join(problems), host_key=host_key, outputs=records
        )
    return DeviceCapture(**base, host_key=host_key, outputs=records)


def _store(root: Path, folder: str, raw: object, recipe: Recipe) -> OutputRecord:
    from smmcheck.collect.ssh_exec import RawOutput

    assert isinstance(raw, RawOutput)
    text = raw.data.decode("utf-8", errors="replace")
    relative = f"{folder}/{raw.command.name}.txt"
    write_atomic(root / relative, text)
    problem = raw.command.complete.problem(text, raw.exit_status)
    denied = next((e for e in recipe.privilege_errors if e in text), None)
    if denied:
        problem = f"insufficient privilege ('{denied}')"
    stored = (root / relative).read_bytes()
    return OutputRecord(
        name=raw.command.name,
        command=raw.command.command,
        file=relative,
        started=_stamp(raw.started),
        finished=_stamp(raw.finished),
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


def _stamp(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _now() -> str:
    return _stamp(time.time())
