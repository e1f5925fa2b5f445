"""``smmcheck report …``: reports computed from a run's results.json (maturity, compliance)."""

from __future__ import annotations

import importlib

import click

# subcommand -> (module, attribute); imported on first use like the top-level commands.
_SUBCOMMANDS = {
    "compliance": ("smmcheck.cli.report_compliance", "compliance"),
    "maturity": ("smmcheck.cli.report_maturity", "maturity"),
}


class _LazyReports(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _SUBCOMMANDS:
            return None
        module, attribute = _SUBCOMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=_LazyReports)
def report() -> None:
    """Reports from a run's results.json: SMM maturity gaps, framework compliance."""
