"""``smmcheck flows --from ZONE [--to ZONE|PREFIX] PATH…``: what a zone can reach."""

from __future__ import annotations

from pathlib import Path

import click

from smmcheck.errors import UsageError
from smmcheck.parse.detect import SUPPORTED
from smmcheck.project import find_project, load_project


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--from", "zone", required=True, metavar="ZONE", help="The source zone.")
@click.option("--to", "to", metavar="ZONE|PREFIX", help="Only flows towards this zone or prefix.")
@click.option(
    "--project",
    "project_file",
    type=click.Path(path_type=Path),
    help="Project file with zones and flows (default: ./smmcheck.yaml).",
)
@click.option("--platform", type=click.Choice(SUPPORTED), help="Parse every file as this.")
@click.option(
    "--max-rows",
    type=click.IntRange(1, 10000),
    default=50,
    show_default=True,
    help="Rows per enforcement point.",
)
def flows(
    paths: tuple[Path, ...],
    zone: str,
    to: str | None,
    project_file: Path | None,
    platform: str | None,
    max_rows: int,
) -> int:
    """Print what ZONE can reach through each enforcement point, as permitted flow ranges,
    marking those its flows in smmcheck.yaml do not allow."""
    import ipaddress

    from rich.console import Console
    from rich.table import Table

    from smmcheck.flows import zone_flows
    from smmcheck.runner import load_facts

    found = find_project(project_file)
    if found is None:
        raise UsageError(
            "no project file",
            why="flows needs zones: pass --project FILE or run where smmcheck.yaml is",
        )
    project = load_project(found)
    if zone not in project.zones:
        raise UsageError(
            f"unknown zone '{zone}'",
            where=str(found),
            why=f"zones: {', '.join(project.zones) or 'none'}",
        )
    if to is not None and to not in project.zones:
        try:
            ipaddress.IPv4Network(to, strict=False)
        except ValueError:
            raise UsageError(f"--to '{to}' is neither a zone nor an IPv4 prefix") from None
    facts, problems = load_facts(list(paths), platform=platform)
    import sys

    # Piped into a file or a CI log there is no terminal width: do not squeeze the table.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    table = Table(show_edge=False, pad_edge=False)
    for column in (
        "device",
        "interface",
        "inbound filter",
        "proto",
        "source",
        "destination",
        "dst port",
        "intent",
    ):
        table.add_column(column, no_wrap=True)
    rows = 0
    for device in facts:
        for row in zone_flows(device, project, zone, to, limit=max_rows):
            rows += 1
            verdict = "[green]allowed[/]" if row.allowed else "[bold red]NOT ALLOWED[/]"
            table.add_row(
                row.device,
                row.interface,
                row.filter,
                row.protocol,
                row.source,
                row.destination,
                row.ports,
                verdict if row.source else "",
            )
    for problem in problems:
        console.print(f"[yellow]not assessed:[/] {problem}", markup=True)
    if rows:
        console.print(table)
    else:
        console.print(f"No enforcement point of zone {zone} in the given configurations.")
    return 0
