"""``smmcheck policy list|show|test|lint``: inspect and verify policies (built-in and your own)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from smmcheck.cli.options import load_catalogue, policy_options
from smmcheck.errors import UsageError


@click.group()
def policy() -> None:
    """List, show, test and lint policies."""


@policy.command("list")
@policy_options
def list_policies(policy_dirs: tuple[Path, ...], mapping_dirs: tuple[Path, ...]) -> int:
    """List every policy: ID, severity, SMM practice and level, title."""
    policies, mappings = load_catalogue(policy_dirs, mapping_dirs)
    rows = [
        (p.id, p.severity, f"{p.smm.practice} L{p.smm.level}", p.title) for p in policies.sorted()
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[3])
    click.echo(f"{len(rows)} policies ({len(mappings.frameworks)} framework mappings loaded)")
    return 0


@policy.command("show")
@click.argument("policy_id")
@policy_options
def show(policy_id: str, policy_dirs: tuple[Path, ...], mapping_dirs: tuple[Path, ...]) -> int:
    """Show one policy in full, with the framework controls it evidences."""
    policies, mappings = load_catalogue(policy_dirs, mapping_dirs)
    found = policies.policies.get(policy_id)
    if found is None:
        raise UsageError(f"unknown policy '{policy_id}'", hint="see 'smmcheck policy list'")
    practice = mappings.practice(found.smm.practice)
    click.echo(f"{found.id}: {found.title}")
    click.echo(f"  severity: {found.severity}    platforms: {', '.join(found.platforms)}")
    click.echo(
        f"  SMM: {practice.title} ({practice.id}), technical evidence toward level"
        f" {found.smm.level}"
    )
    click.echo(f"  file: {policies.origins[found.id]}")
    click.echo("\nDescription:\n" + _fill(found.description))
    click.echo("\nRationale:\n" + _fill(found.rationale))
    click.echo("\nRemediation:\n" + textwrap.indent(found.remediation.rstrip(), "  "))
    click.echo("\nControls:")
    for framework, ids in mappings.controls_for(found.id).items():
        click.echo(f"  {framework}: {', '.join(ids) or '(none mapped)'}")
    click.echo("\nReferences:")
    for reference in found.references:
        click.echo(f"  - {reference}")
    return 0


def _fill(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), 88, initial_indent="  ", subsequent_indent="  ")


@policy.command("test")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--policy", "only", multiple=True, metavar="ID", help="Test only this policy.")
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
def test(directory: Path | None, only: tuple[str, ...], verbose: bool) -> int:
    """Run policy test cases: the built-in ones, or those of the policies in DIRECTORY."""
    from smmcheck.casetest import run_cases

    policies, _ = load_catalogue((directory,) if directory else (), ())
    selected = set(only) or None
    if directory is not None:
        own = {
            pid
            for pid, origin in policies.origins.items()
            if directory.resolve() in origin.resolve().parents
        }
        selected = own & selected if selected else own
    results = run_cases(policies, selected)
    failed = [r for r in results if r.problem]
    for result in results:
        if result.problem:
            click.echo(f"FAIL {result.policy} :: {result.case}: {result.problem}")
        elif verbose:
            click.echo(f"ok   {result.policy} :: {result.case}")
    policies_tested = len({r.policy for r in results})
    click.echo(
        f"policy cases: {len(results) - len(failed)} passed, {len(failed)} failed"
        f" ({policies_tested} policies)"
    )
    return 1 if failed else 0


@policy.command("lint")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def lint(directory: Path | None) -> int:
    """Validate policies, lists, mappings and test case files; exit 2 on the first error."""
    from smmcheck.casetest import load_cases

    policies, mappings = load_catalogue((directory,) if directory else (), ())
    files = 0
    for policy_id in policies.policies:
        path = policies.test_file(policy_id)
        if path is not None:
            load_cases(path)
            files += 1
    click.echo(
        f"{len(policies.policies)} policies, {len(policies.lists)} lists,"
        f" {files} test files and {len(mappings.frameworks)} framework mappings are valid"
    )
    return 0
