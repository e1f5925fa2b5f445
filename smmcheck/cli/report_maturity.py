"""``smmcheck report maturity RESULTS.json``: the SMM gap table per device category."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from smmcheck.cli.options import load_catalogue, policy_options, project_option
from smmcheck.maturity import MaturityReport
from smmcheck.maturity_inputs import maturity_inputs
from smmcheck.project import find_project, load_project
from smmcheck.report import write_atomic
from smmcheck.report.maturity import MATURITY_FORMATS, render_maturity
from smmcheck.results import load_report


def summary_line(report: MaturityReport) -> str:
    """One line for logs: per category, practices below and above target."""
    parts = [f"{c.category} {c.below} below, {c.exceeds} above" for c in report.categories]
    return f"SMM maturity (profile {report.profile.id}): {'; '.join(parts) or 'no devices'}"


def write_maturity(report: MaturityReport, folder: Path) -> None:
    """``maturity.json`` and ``maturity.md`` beside a run's results."""
    write_atomic(folder / "maturity.json", render_maturity(report, "json"))
    write_atomic(folder / "maturity.md", render_maturity(report, "markdown"))


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--profile", help="Target profile: small, medium, large, or a profile file.")
@click.option(
    "--attestations",
    type=click.Path(path_type=Path),
    help="Attestations file (manual evidence for governance practices).",
)
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(MATURITY_FORMATS),
    default="console",
    show_default=True,
)
@click.option("--output", type=click.Path(path_type=Path), help="Write to this file.")
@policy_options
def maturity(
    results: Path,
    profile: str | None,
    attestations: Path | None,
    project_file: Path | None,
    fmt: str,
    output: Path | None,
    policy_dirs: tuple[Path, ...],
    mapping_dirs: tuple[Path, ...],
) -> int:
    """SMM gap analysis: target against achieved level per practice and device category.

    Levels are technical evidence from the results (configuration alone never gives
    level 4) plus attestations for governance practices. Exits 0 when the report was
    written: it is a report, not a gate (gate on `check --fail-on`).
    """
    if attestations is not None and not attestations.is_file():
        raise click.BadParameter("file not found", param_hint="--attestations")
    _, mappings = load_catalogue(policy_dirs, mapping_dirs)
    found = find_project(project_file)
    inputs = maturity_inputs(
        mappings,
        load_project(found) if found else None,
        profile=profile,
        attestations=attestations,
    )
    report = inputs.assess(load_report(results), mappings.smm)
    if output is not None:
        write_atomic(output, render_maturity(report, fmt))
        return 0
    color = fmt == "console" and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    click.echo(render_maturity(report, fmt, color=color, width=width), nl=False)
    return 0
