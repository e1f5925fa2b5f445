"""``smmcheck check PATH…``: offline compliance check of configuration files or folders."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from smmcheck.cli.options import (
    load_catalogue,
    policy_options,
    progress_bar,
    project_option,
    report_options,
    waivers_option,
)
from smmcheck.errors import UsageError
from smmcheck.parse.detect import SUPPORTED
from smmcheck.policies import Severity
from smmcheck.project import find_project, load_project
from smmcheck.report import render, write_atomic
from smmcheck.results import Report
from smmcheck.runner import CheckOptions, run_check


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@report_options
@click.option(
    "--platform",
    type=click.Choice(SUPPORTED),
    help="Parse every file as this platform instead of detecting it.",
)
@click.option(
    "--policy",
    "selected",
    multiple=True,
    metavar="ID",
    help="Evaluate only this policy (repeatable).",
)
@click.option(
    "--site", help="Site of the devices (JUnit classname site.device); default: the project's."
)
@project_option
@waivers_option
@click.option("--no-cache", is_flag=True, help="Parse every file even if cached facts exist.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes for large batches (default: CPU count).",
)
@policy_options
def check(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    report_dir: Path | None,
    fail_on: Severity,
    platform: str | None,
    selected: tuple[str, ...],
    site: str | None,
    project_file: Path | None,
    waivers_file: Path | None,
    no_cache: bool,
    workers: int | None,
    policy_dirs: tuple[Path, ...],
    mapping_dirs: tuple[Path, ...],
) -> int:
    """Check configuration files or folders offline (no device is contacted).

    The device name is the config's hostname (the file name when there is none); the
    platform is detected from the text unless --platform is given.
    """
    policies, mappings = load_catalogue(policy_dirs, mapping_dirs)
    unknown = sorted(set(selected) - set(policies.policies))
    if unknown:
        raise UsageError(f"unknown policy '{unknown[0]}'", hint="see 'smmcheck policy list'")
    found = find_project(project_file)
    options = CheckOptions(
        project=load_project(found) if found else None,
        policies=policies,
        mappings=mappings,
        platform=platform,
        fail_on=fail_on,
        use_cache=not no_cache,
        workers=workers,
        site=site,
        command=" ".join(["smmcheck", *sys.argv[1:]]),
        selected=list(selected),
        waivers=waivers_file,
    )
    report = run_check(list(paths), options, progress=progress_bar("Checking", 20))
    emit(report, fmt, output, report_dir)
    return report.summary.exit_code


def emit(report: Report, fmt: str, output: Path | None, report_dir: Path | None) -> None:
    """Write the report where the user asked: stdout or --output, plus --report-dir."""
    if report_dir is not None:
        write_atomic(report_dir / "results.json", render(report, "json"))
        write_atomic(report_dir / "junit.xml", render(report, "junit"))
        write_atomic(report_dir / "results.sarif", render(report, "sarif"))
    if output is not None:
        write_atomic(output, render(report, fmt))
        return
    color = fmt == "console" and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    click.echo(render(report, fmt, color=color, width=width), nl=False)
