"""Options shared by the commands that evaluate policies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from smmcheck.mapping import Mappings, load_mappings
from smmcheck.policies import SEVERITIES, PolicySet, load_policies
from smmcheck.report import FORMATS

F = Callable[..., Any]


def policy_options(func: F) -> F:
    """``--policies DIR`` (repeatable) and ``--mappings DIR`` (repeatable)."""
    func = click.option(
        "--mappings",
        "mapping_dirs",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Extra framework mapping folder (repeatable).",
    )(func)
    return click.option(
        "--policies",
        "policy_dirs",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Your own policy folder, added to the built-in ones (repeatable).",
    )(func)


def report_options(func: F) -> F:
    """``--format``, ``--output``, ``--report-dir`` and ``--fail-on``."""
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="console",
            show_default=True,
            help="Report format written to stdout or --output.",
        ),
        click.option(
            "--output",
            type=click.Path(path_type=Path),
            help="Write the report to this file instead of stdout.",
        ),
        click.option(
            "--report-dir",
            type=click.Path(path_type=Path),
            help="Also write results.json, junit.xml and results.sarif into this folder.",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITIES),
            default="info",
            show_default=True,
            help="Exit 1 only for failures of at least this severity.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def project_option(func: F) -> F:
    """``--project FILE`` (zones and flows; ./smmcheck.yaml is found by default)."""
    return click.option(
        "--project",
        "project_file",
        type=click.Path(path_type=Path),
        help="Project file with zones and flows (default: ./smmcheck.yaml if present).",
    )(func)


def waivers_option(func: F) -> F:
    """``--waivers FILE`` (overrides the project file's ``waivers:``)."""
    return click.option(
        "--waivers",
        "waivers_file",
        type=click.Path(path_type=Path),
        help="Waivers file (default: the project file's waivers:, if any).",
    )(func)


def load_catalogue(
    policy_dirs: tuple[Path, ...], mapping_dirs: tuple[Path, ...]
) -> tuple[PolicySet, Mappings]:
    """Policies and mappings, validated together."""
    policies = load_policies(policy_dirs)
    return policies, load_mappings(policies, mapping_dirs)


def progress_bar(label: str, minimum: int = 1) -> Callable[[int, int], None] | None:
    """A progress callback drawing a bar on stderr when it is a terminal (else None); the
    bar appears only for at least ``minimum`` items, so small runs stay quiet."""
    import sys

    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        if not bar.live.is_started and total >= minimum:
            bar.start()
        bar.update(task, completed=done, total=total)
        if done >= total and bar.live.is_started:
            bar.stop()

    return update
