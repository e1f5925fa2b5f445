"""``smmcheck collect --inventory FILE``: pull device outputs over SSH into a snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from smmcheck.cli.options import progress_bar

F = Callable[..., Any]


def collection_options(func: F) -> F:
    """The options ``collect`` and ``audit`` share: inventory, reach and host keys."""
    options = [
        click.option(
            "--inventory",
            "inventory_file",
            required=True,
            type=click.Path(path_type=Path),
            help="Inventory file (YAML).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, 512),
            default=32,
            show_default=True,
            help="SSH sessions at once.",
        ),
        click.option(
            "--limit", metavar="GLOB", help="Only devices matching (name, site:, category:, tag:)."
        ),
        click.option(
            "--known-hosts",
            type=click.Path(path_type=Path),
            default=Path("~/.ssh/known_hosts"),
            show_default=True,
            help="Host keys to verify against.",
        ),
        click.option(
            "--accept-new-host-keys",
            is_flag=True,
            help="Trust unknown host keys on first use and record them"
            " (changed keys are always refused).",
        ),
        click.option(
            "--connect-timeout",
            type=click.FloatRange(0.5, 300),
            default=10.0,
            show_default=True,
            help="Seconds to wait for TCP, the SSH banner and authentication.",
        ),
        click.option(
            "--connect-retries",
            type=click.IntRange(0, 5),
            default=1,
            show_default=True,
            help="Retries of a connect that may pass (refused, dropped before the banner).",
        ),
        click.option(
            "--recipes",
            "recipe_dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Folder of your own collector recipes (<platform>.yaml), overriding built-in.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_collection(output: Path | None, **settings: Any) -> tuple[Path, Any]:
    """Load the inventory, collect into ``output`` (or snapshots/<UTC time>), report the
    devices that could not be collected on stderr; return the folder and the manifest."""
    from smmcheck.collect import CollectOptions, collect
    from smmcheck.inventory import load_inventory

    devices = load_inventory(settings["inventory_file"], settings["limit"])
    folder = output or Path("snapshots") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = CollectOptions(
        output=folder,
        known_hosts=settings["known_hosts"].expanduser(),
        accept_new_host_keys=settings["accept_new_host_keys"],
        workers=settings["workers"],
        connect_timeout=settings["connect_timeout"],
        connect_retries=settings["connect_retries"],
        recipes=settings["recipe_dir"],
    )
    manifest = collect(devices, options, progress=progress_bar("Collecting", 1))
    for device in manifest.devices:
        if device.status == "error":
            click.echo(f"smmcheck: {device.name}: not collected: {device.error}", err=True)
    return folder, manifest


@click.command()
@collection_options
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Snapshot folder (default: snapshots/<UTC time>).",
)
def collect(output: Path | None, **settings: Any) -> int:
    """Collect the read-only outputs of each device's recipe into a verifiable snapshot.

    Exits 0 when every device was collected, 3 when some could not be (each with its
    reason in the manifest and on stderr), 2 on an inventory or usage error.
    """
    folder, manifest = run_collection(output, **settings)
    failed = sum(d.status == "error" for d in manifest.devices)
    click.echo(
        f"Snapshot {folder}: {len(manifest.devices) - failed} of"
        f" {len(manifest.devices)} devices collected."
    )
    return 3 if failed else 0
