"""``smmcheck report compliance RESULTS.json --framework ID``: per control of a framework,
its status, the policies that evidence it and the failing devices, with coverage figures."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from smmcheck.cli.options import load_catalogue, policy_options, project_option
from smmcheck.compliance import assess_compliance
from smmcheck.project import find_project, load_project
from smmcheck.report import write_atomic
from smmcheck.report.compliance import FORMATS, render_compliance
from smmcheck.results import load_report


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--framework",
    required=True,
    metavar="ID",
    help="nist-ir-8259a, iec-62443-3-3, iso-iec-27400, owasp-iot-top10, etsi-en-303-645,"
    " iic-smm, or the ID of your own mapping file.",
)
@click.option(
    "--sl-target",
    type=click.IntRange(1, 4),
    help="IEC 62443 target security level for devices whose zone has no security_level.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="console",
    show_default=True,
    help="Report format written to stdout or --output.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Write the report to this file instead of stdout.",
)
@project_option
@policy_options
def compliance(
    results: Path,
    framework: str,
    sl_target: int | None,
    fmt: str,
    output: Path | None,
    project_file: Path | None,
    policy_dirs: tuple[Path, ...],
    mapping_dirs: tuple[Path, ...],
) -> int:
    """Report a run's results (results.json) against a framework's controls.

    Each control is satisfied, not satisfied, partially, not assessed or manual (no policy
    evidences it), judged with the current mappings. For IEC 62443 a zone's security_level
    in the project file (else --sl-target) selects the SRs and REs that apply. This is a
    report, not a gate: it exits 0 when the report was produced.
    """
    report = load_report(results)
    policies, mappings = load_catalogue(policy_dirs, mapping_dirs)
    found = find_project(project_file)
    assessed = assess_compliance(
        report,
        mappings,
        policies,
        framework,
        sl_target=sl_target,
        project=load_project(found) if found else None,
    )
    if output is not None:
        write_atomic(output, render_compliance(assessed, fmt))
        return 0
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty else None
    click.echo(
        render_compliance(assessed, fmt, color=fmt == "console" and tty, width=width), nl=False
    )
    return 0
