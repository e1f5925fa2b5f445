"""``smmcheck evidence pack|verify``: evidence packs an auditor can verify without the
devices (see smmcheck/evidence.py for what a pack holds)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from smmcheck.cli.options import policy_options, progress_bar, project_option, waivers_option
from smmcheck.parse.detect import SUPPORTED
from smmcheck.policies import SEVERITIES, Severity


@click.group()
def evidence() -> None:
    """Evidence packs: the inputs, catalogue, project files and reports of a check in one
    tar.gz, and their verification."""


@evidence.command(short_help="Check PATH… and write an evidence pack (confidential data).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The pack to write (PACK.tar.gz).",
)
@project_option
@waivers_option
@click.option(
    "--attestations",
    type=click.Path(path_type=Path),
    help="Attestations file (default: the project file's attestations:, if any).",
)
@click.option("--profile", help="Target profile: small, medium, large, or a profile file.")
@click.option(
    "--platform",
    type=click.Choice(SUPPORTED),
    help="Parse every file as this platform instead of detecting it.",
)
@click.option("--site", help="Site name for the JUnit classname (site.device).")
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="info",
    show_default=True,
    help="Exit 1 only for failures of at least this severity.",
)
@policy_options
def pack(
    paths: tuple[Path, ...],
    output: Path,
    project_file: Path | None,
    waivers_file: Path | None,
    attestations: Path | None,
    profile: str | None,
    platform: str | None,
    site: str | None,
    fail_on: Severity,
    policy_dirs: tuple[Path, ...],
    mapping_dirs: tuple[Path, ...],
) -> int:
    """Check PATH… (like `check`) and write one tar.gz an auditor can verify offline.

    The pack holds the files that were checked (inputs/), the policies, lists, mappings and
    profile used (catalogue/), the project, waivers and attestations files (project/), the
    reports (results/: JSON, JUnit, SARIF, maturity, compliance per framework) and
    pack.json with every file's sha256. CONFIDENTIAL: the inputs are raw device data
    (configurations with password hashes, /etc/shadow outputs); store and share the pack
    like the configurations themselves. Exits like `check` (0, 1 or 3; the pack is written
    in each case), 2 when nothing could be checked.
    """
    from smmcheck.evidence import PackRequest, write_pack
    from smmcheck.project import find_project

    for name, file in (("--waivers", waivers_file), ("--attestations", attestations)):
        if file is not None and not file.is_file():
            raise click.BadParameter("file not found", param_hint=name)
    request = PackRequest(
        paths=list(paths),
        command=" ".join(["smmcheck", *sys.argv[1:]]),
        project=find_project(project_file),
        waivers=waivers_file,
        attestations=attestations,
        profile=profile,
        policy_dirs=policy_dirs,
        mapping_dirs=mapping_dirs,
        platform=platform,
        site=site,
        fail_on=fail_on,
    )
    info, report = write_pack(request, output, progress=progress_bar("Checking", 20))
    counts = ", ".join(f"{n} {s}" for s, n in report.summary.by_status.items() if n)
    click.echo(
        f"Evidence pack written to {output}: {len(info.files) + 1} files,"
        f" {report.summary.devices} devices, {counts or 'no results'} (as of {info.as_of});"
        f" root digest {info.root_digest}."
    )
    return report.summary.exit_code


@evidence.command(short_help="Verify a pack: integrity, then reproduction of its results.")
@click.argument("pack_file", metavar="PACK", type=click.Path(path_type=Path))
@click.option(
    "--no-cache", is_flag=True, help="Parse every packed file even if cached facts exist."
)
def verify(pack_file: Path, no_cache: bool) -> int:
    """Verify an evidence pack: (1) integrity — every member matches its size and sha256
    in pack.json, nothing is missing or added, no unsafe path or link (an unsafe archive is
    refused before anything is extracted); (2) reproduction — the packed inputs are checked
    again with the packed catalogue and project files, judging waivers and attestations as
    of the pack's date, and every report must come out as packed.

    Prints one line per problem and a verdict with the root digest. Exits 0 when verified,
    1 when tampered or not reproducible, 2 when PACK is not a readable pack.
    """
    from smmcheck.verification import verify_pack

    found = verify_pack(pack_file, use_cache=not no_cache)
    for line in found.notes:
        click.echo(f"{pack_file}: note: {line}")
    for line in found.problems:
        click.echo(f"{pack_file}: {line}")
    info = found.info
    if found.problems:
        stage = "not reproducible" if found.reproduced else "integrity check failed"
        click.echo(
            f"{pack_file}: NOT VERIFIED ({stage}): {len(found.problems)}"
            f" problem{'s' if len(found.problems) != 1 else ''}; root digest {info.root_digest}"
        )
        return 1
    click.echo(
        f"{pack_file}: verified: {len(info.files) + 1} files intact, results reproduced"
        f" as of {info.as_of} (exit code {info.exit_code}); root digest {info.root_digest}"
    )
    return 0
