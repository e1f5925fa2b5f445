"""Entry point: ``main(argv) -> int``. Subcommands are imported only when invoked, so
``smmcheck --help`` and ``smmcheck policy list`` stay fast (no ciscoconfparse2, netmiko or
paramiko at start-up).

Every user error (:class:`~smmcheck.errors.SmmcheckError`) is mapped to its exit code here
and nowhere else; the README's exit code table is the reference.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from smmcheck import __version__
from smmcheck.cli.lazy import Commands, LazyGroup
from smmcheck.errors import SmmcheckError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# command name -> (module, attribute, one-line help shown by `smmcheck --help`)
_COMMANDS: Commands = {
    "audit": (
        "smmcheck.cli.audit",
        "audit",
        "Collect over SSH, check and write reports in one go (the nightly job).",
    ),
    "check": ("smmcheck.cli.check", "check", "Check configuration files or folders offline."),
    "collect": (
        "smmcheck.cli.collect",
        "collect",
        "Collect device outputs over SSH into a snapshot.",
    ),
    "evidence": (
        "smmcheck.cli.evidence",
        "evidence",
        "Write and verify evidence packs (inputs, catalogue, reports, hashes).",
    ),
    "policy": ("smmcheck.cli.policy", "policy", "List, show, test and lint policies."),
    "demo": ("smmcheck.cli.demo", "demo", "Audit the bundled demo plant network."),
    "flows": ("smmcheck.cli.flows", "flows", "Show what a zone can reach through its ACLs."),
    "report": (
        "smmcheck.cli.report",
        "report",
        "Maturity gap and framework compliance reports from results.json.",
    ),
    "probe": (
        "smmcheck.cli.probe",
        "probe",
        "Probe live endpoints read-only (TLS versions and cipher suites).",
    ),
    "waivers": ("smmcheck.cli.waivers", "waivers", "Lint a waivers file (a CI gate)."),
}


@click.group(
    cls=LazyGroup, lazy=_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="smmcheck")
def cli() -> None:
    """smmcheck: policy-as-code compliance checks for IoT and ICS networks, mapped to the
    IIC IoT Security Maturity Model, NIST IR 8259A, IEC 62443-3-3 and ISO/IEC 27400."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="smmcheck",
            standalone_mode=False,
        )
    except SmmcheckError as exc:
        click.echo(f"smmcheck: error: {exc.line()}", err=True)
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("smmcheck: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("smmcheck: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
