"""``smmcheck collect --inventory FILE``: pull device outputs over SSH into a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from smmcheck.cli.options import progress_bar


@click.command()
@click.option(
    "--inventory",
    "inventory_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Inventory file (YAML).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Snapshot folder (default: snapshots/<UTC time>).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 512),
    default=32,
    show_default=True,
    help="SSH sessions at once.",
)
@click.option(
    "--limit", metavar="GLOB", help="Only devices matching (name, site:, category:, tag:)."
)
@click.option(
    "--known-hosts",
    type=click.Path(path_type=Path),
    default=Path("~/.ssh/known_hosts"),
    show_default=True,
    help="Host keys to verify against.",
)
@click.option(
    "--accept-new-host-keys",
    is_flag=True,
    help="Trust unknown host keys on first use and record them (changed keys are always refused).",
)
def collect(
    inventory_file: Path,
    output: Path | None,
    workers: int,
    limit: str | None,
    known_hosts: Path,
    accept_new_host_keys: bool,
) -> int:
    """Collect the read-only outputs of each device's recipe into a verifiable snapshot.

    Exits 0 when every device was collected, 3 when some could not be (each with its
    reason in the manifest and on stderr), 2 on an inventory or usage error.
    """
    from smmcheck.collect import CollectOptions
    from smmcheck.collect import collect as run_collect
    from smmcheck.inventory import load_inventory

    devices = load_inventory(inventory_file, limit)
    folder = output or Path("snapshots") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = CollectOptions(
        output=folder,
        known_hosts=known_hosts.expanduser(),
        accept_new_host_keys=accept_new_host_keys,
        workers=workers,
    )
    manifest = run_collect(devices, options, progress=progress_bar("Collecting", 1))
    failed = [d for d in manifest.devices if d.status == "error"]
    for device in failed:
        click.echo(f"smmcheck: {device.name}: not collected: {device.error}", err=True)
    click.echo(
        f"Snapshot {folder}: {len(manifest.devices) - len(failed)} of"
        f" {len(manifest.devices)} devices collected."
    )
    return 3 if failed else 0
