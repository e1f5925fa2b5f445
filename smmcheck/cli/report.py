"""``smmcheck report …``: reports computed from a run's results.json (maturity, compliance)."""

from __future__ import annotations

import click

from smmcheck.cli.lazy import Commands, LazyGroup

_SUBCOMMANDS: Commands = {
    "compliance": (
        "smmcheck.cli.report_compliance",
        "compliance",
        "A framework's controls against a run's results (status, evidence, coverage).",
    ),
    "maturity": (
        "smmcheck.cli.report_maturity",
        "maturity",
        "SMM gap analysis: target against achieved level per practice and category.",
    ),
}


@click.group(cls=LazyGroup, lazy=_SUBCOMMANDS)
def report() -> None:
    """Reports from a run's results.json: SMM maturity gaps, framework compliance."""
