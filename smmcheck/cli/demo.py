"""``smmcheck demo``: audit the bundled demo plant network end to end."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from smmcheck.cli.check import emit
from smmcheck.cli.options import load_catalogue
from smmcheck.cli.report_maturity import write_maturity
from smmcheck.maturity_inputs import maturity_inputs
from smmcheck.project import PROJECT_FILE, load_project
from smmcheck.report.maturity import render_maturity
from smmcheck.resources import data_dir
from smmcheck.runner import CheckOptions, run_check


@click.command()
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=Path("reports/demo"),
    show_default=True,
    help="Where to write results.json and junit.xml.",
)
def demo(report_dir: Path) -> int:
    """Audit the demo plant (six Cisco IOS/IOS-XE devices, a Linux IoT gateway and an
    OpenWrt router at site plant-a).

    Prints the console report and the SMM gap table (profile and attestations from the
    demo's smmcheck.yaml), and writes the JSON, JUnit and maturity reports. The demo
    network has findings on purpose; the command exits 0 when the audit itself ran.
    """
    policies, mappings = load_catalogue((), ())
    folder = data_dir("demo")
    if folder.is_relative_to(Path.cwd()):
        folder = folder.relative_to(Path.cwd())  # shorter sources in the report
    options = CheckOptions(
        policies=policies,
        mappings=mappings,
        site="plant-a",
        project=load_project(folder / PROJECT_FILE),
        command="smmcheck demo",
    )
    maturity = maturity_inputs(mappings, options.project)
    report = run_check([folder], options)
    emit(report, "console", None, report_dir)
    gaps = maturity.assess(report, mappings.smm)
    write_maturity(gaps, report_dir)
    click.echo()
    color = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if color else None
    click.echo(render_maturity(gaps, "console", color=color, width=width), nl=False)
    click.echo(
        f"Reports written to {report_dir}: results.json, junit.xml, results.sarif,"
        f" maturity.json and maturity.md ('smmcheck check' would exit {report.summary.exit_code})."
    )
    return 0
