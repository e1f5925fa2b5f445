"""``smmcheck probe tls HOST:PORT…``: which TLS versions live endpoints accept (read-only)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from smmcheck.probe.tls import TlsEndpointResult, VersionResult


@click.group()
def probe() -> None:
    """Probe live endpoints read-only (TLS versions and cipher suites)."""


@probe.command("tls")
@click.argument("endpoints", nargs=-1, required=True, metavar="HOST:PORT...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 120),
    default=5.0,
    show_default=True,
    help="Seconds per handshake, connect included.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0.1, 100),
    default=5.0,
    show_default=True,
    help="Most handshakes per second to one host (handshakes to a host never overlap).",
)
def tls(endpoints: tuple[str, ...], fmt: str, timeout: float, rate: float) -> int:
    """Offer TLSv1.0, TLSv1.1, TLSv1.2 and TLSv1.3 one at a time to each endpoint (IPv6 as
    [::1]:8883) and record which versions the server accepts and the cipher suite it picks.

    Nothing but TLS handshakes is sent; each connection closes right after its handshake.
    A version is refused only when the server says so; when this machine's OpenSSL cannot
    offer it or the server does not answer, it is unknown.

    Exits 0 when every endpoint was probed, 3 when an endpoint was unreachable or not TLS or
    a version is unknown, 2 on a bad endpoint or option.
    """
    from smmcheck.probe.tls import parse_endpoint, probe_tls

    targets = [parse_endpoint(text) for text in endpoints]
    results = probe_tls(targets, timeout=timeout, per_host_rate=rate)
    if fmt == "json":
        click.echo(render_json(results))
    else:
        render_console(results)
    return 0 if all(r.complete for r in results) else 3


def render_json(results: list[TlsEndpointResult]) -> str:
    """The deterministic JSON document: schema, the probing OpenSSL, one entry per endpoint."""
    import ssl

    from smmcheck.probe.tls import SCHEMA

    document = {
        "schema": SCHEMA,
        "openssl": ssl.OPENSSL_VERSION,
        "endpoints": [r.model_dump(mode="json") for r in results],
    }
    return json.dumps(document, indent=2)


def render_console(results: list[TlsEndpointResult]) -> None:
    """A table of endpoints and versions, then every reason worth reading."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from smmcheck.probe.handshake import VERSIONS

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("endpoint", *VERSIONS, "certificate"):
        table.add_column(column, no_wrap=True)
    notes: list[str] = []
    for result in results:
        endpoint = escape(result.endpoint)  # [fe80::1]:8883 is no markup tag
        if result.error:
            notes.append(f"{result.endpoint}: {result.error}")
            table.add_row(endpoint, *(["-"] * len(VERSIONS)), "")
            continue
        cells = {v.version: _cell(v) for v in result.versions}
        cert = result.certificate
        table.add_row(
            endpoint,
            *(cells.get(version, "") for version in VERSIONS),
            f"{cert.key_type} {cert.key_bits or ''}\n{cert.signature_algorithm}" if cert else "",
        )
        notes.extend(
            f"{result.endpoint} {v.version}: {v.reason}" for v in result.versions if v.reason
        )
    console.print(table)
    for note in notes:
        console.print(escape(note))
    probed = sum(r.complete for r in results)
    console.print(f"{probed} of {len(results)} endpoints fully probed.")


def _cell(result: VersionResult) -> str:
    if result.accepted:
        return f"[bold]accepted[/]\n{result.cipher or ''}"
    return "refused" if result.accepted is False else "[yellow]unknown[/]"
