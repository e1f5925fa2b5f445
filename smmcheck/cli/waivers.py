"""``smmcheck waivers lint FILE``: check a waivers file, as a CI gate on the file itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from smmcheck.cli.options import load_catalogue, policy_options
from smmcheck.waivers import MAX_DAYS, SOON_DAYS, lint_waivers, utc_today


@click.group()
def waivers() -> None:
    """Check waivers files (accepted failures with an owner, a reason and an expiry)."""


@waivers.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--max-days",
    type=click.IntRange(min=1),
    default=MAX_DAYS,
    show_default=True,
    help="A waiver expiring further ahead than this is a problem.",
)
@click.option(
    "--soon-days",
    type=click.IntRange(min=0),
    default=SOON_DAYS,
    show_default=True,
    help="Note waivers that expire within this many days (a note, not a problem).",
)
@policy_options
def lint(
    file: Path,
    max_days: int,
    soon_days: int,
    policy_dirs: tuple[Path, ...],
    mapping_dirs: tuple[Path, ...],
) -> int:
    """Check FILE: unknown policy IDs, missing justification, owner, approver or ticket, no
    device selector, malformed dates, expiry in the past or more than --max-days ahead.

    Prints one line per problem ("file:line: entry N (policy): problem"). Exits 0 when
    the file is clean, 1 when it has problems, 2 when it cannot be read as a waivers file.
    Dates are UTC: a waiver expiring today is still valid.
    """
    policies, _ = load_catalogue(policy_dirs, mapping_dirs)
    problems, notes = lint_waivers(
        file, policies, utc_today(datetime.now(UTC)), max_days=max_days, soon_days=soon_days
    )
    for problem in problems:
        click.echo(problem.render(file))
    for note in notes:
        click.echo(f"{note.render(file)} (note)")
    verdict = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    click.echo(f"{file}: {verdict}", err=True)
    return 1 if problems else 0
