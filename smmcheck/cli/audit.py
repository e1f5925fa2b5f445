"""``smmcheck audit --inventory FILE``: the nightly job — collect, check, write reports.

Policies, mappings, the project file and the waivers file are loaded before any device is
contacted, so a broken policy or waiver stops the run (exit 2) without touching the
network. The check reads the snapshot just written, exactly as ``smmcheck check SNAPSHOT``
would later: an auditor who re-checks the snapshot gets the same results.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from smmcheck.cli.check import emit
from smmcheck.cli.collect import collection_options, run_collection
from smmcheck.cli.options import (
    load_catalogue,
    policy_options,
    project_option,
    report_options,
    waivers_option,
)
from smmcheck.cli.report_maturity import summary_line, write_maturity
from smmcheck.maturity_inputs import maturity_inputs
from smmcheck.policies import Severity
from smmcheck.project import find_project, load_project
from smmcheck.runner import CheckOptions, run_check
from smmcheck.waivers import load_waivers, waivers_path


@click.command()
@collection_options
@click.option(
    "--snapshots",
    "snapshot_root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("snapshots"),
    show_default=True,
    help="Folder that keeps one snapshot per run (<UTC time>/), the audit history.",
)
@click.option(
    "--probe-tls",
    is_flag=True,
    help="Also probe the TLS endpoints the gateways' configuration reveals (and each"
    " device's probe_tls entries): TLS handshakes only, paced per host.",
)
@report_options
@project_option
@waivers_option
@policy_options
def audit(
    snapshot_root: Path,
    probe_tls: bool,
    fmt: str,
    output: Path | None,
    report_dir: Path | None,
    fail_on: Severity,
    project_file: Path | None,
    waivers_file: Path | None,
    policy_dirs: tuple[Path, ...],
    mapping_dirs: tuple[Path, ...],
    **settings: Any,
) -> int:
    """Collect every device of the inventory, check the snapshot, write the reports.

    The snapshot goes to SNAPSHOTS/<UTC time>/ with results.json and junit.xml beside its
    manifest (or in --report-dir). Exits 1 on failures at or above --fail-on, 3 when
    nothing failed but results are inconclusive or devices could not be collected.
    """
    policies, mappings = load_catalogue(policy_dirs, mapping_dirs)
    found = find_project(project_file)
    project = load_project(found) if found else None
    waiver_file = waivers_path(waivers_file, project)
    # A broken waivers file stops the run here, before any device is contacted.
    waivers = load_waivers(waiver_file, policies) if waiver_file is not None else None
    maturity = maturity_inputs(mappings, project)  # so do a broken profile or attestations
    folder = snapshot_root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder, manifest = run_collection(folder, **settings)
    if probe_tls:
        from smmcheck.inventory import load_inventory
        from smmcheck.probe.snapshot import probe_snapshot

        devices = load_inventory(settings["inventory_file"], settings["limit"])
        probe_snapshot(folder, manifest, devices, timeout=settings["connect_timeout"])
    options = CheckOptions(
        project=project,
        policies=policies,
        mappings=mappings,
        fail_on=fail_on,
        command=" ".join(["smmcheck", *sys.argv[1:]]),
        waivers=waivers,
    )
    report = run_check([folder], options)
    emit(report, fmt, output, report_dir or folder)
    gaps = maturity.assess(report, mappings.smm)
    write_maturity(gaps, report_dir or folder)
    click.echo(f"smmcheck: {summary_line(gaps)}", err=True)
    click.echo(f"smmcheck: snapshot and reports in {folder}", err=True)
    return report.summary.exit_code
