"""A click group whose subcommands are imported on first use, so that ``--help`` and the
commands that do not need them never import ciscoconfparse2, paramiko, rich or the
report modules."""

from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> (module, attribute, one-line help shown by --help)
Commands = dict[str, tuple[str, str, str]]


class LazyGroup(click.Group):
    """A group of lazily imported subcommands (``click.group(cls=LazyGroup, lazy=...)``)."""

    def __init__(self, *args: Any, lazy: Commands, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return None
        module, attribute, _ = self.lazy[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # One-line help from the table: no command module is imported to print it.
        rows = [(name, self.lazy[name][2]) for name in sorted(self.lazy)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
