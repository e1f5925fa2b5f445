"""``audit --probe-tls``: probe the TLS endpoints a snapshot's gateways reveal, and keep
what the handshakes showed in the snapshot itself (artifact ``probe-tls``), so that a later
``smmcheck check SNAPSHOT`` judges exactly what the audit judged.
"""

from __future__ import annotations

import time
from pathlib import Path

from smmcheck.inventory import Device
from smmcheck.probe.tls import TlsEndpointResult, format_endpoint, parse_endpoint, probe_tls
from smmcheck.report import write_atomic
from smmcheck.snapshot import MANIFEST, DeviceCapture, Manifest, OutputRecord, sha256_hex

HEADER = "# smmcheck probe tls: what each endpoint accepted (one line per endpoint and version)"


def probe_snapshot(
    folder: Path,
    manifest: Manifest,
    devices: list[Device],
    *,
    timeout: float = 5.0,
    rate: float = 5.0,
) -> Manifest:
    """Probe each collected gateway's TLS endpoints; return the manifest rewritten with a
    ``probe-tls`` output per probed device."""
    from smmcheck.inputs import GATEWAYS

    wanted: dict[str, list[tuple[str, int]]] = {}
    inventory = {d.name: d for d in devices}
    for capture in manifest.devices:
        device = inventory.get(capture.name)
        if device is None or capture.status != "ok" or capture.platform not in GATEWAYS:
            continue
        endpoints = [(capture.host, port) for port in _configured_ports(folder, capture)]
        for extra in device.probe_tls:
            # A bare port is one of the device's own; otherwise HOST:PORT.
            text = str(extra)
            endpoints.append((capture.host, int(text)) if text.isdigit() else parse_endpoint(text))
        if endpoints:
            wanted[capture.name] = sorted(set(endpoints))
    if not wanted:
        return manifest
    started = time.time()
    everything = sorted({e for endpoints in wanted.values() for e in endpoints})
    results = {
        (r.host, r.port): r for r in probe_tls(everything, timeout=timeout, per_host_rate=rate)
    }
    finished = time.time()
    captures = []
    for capture in manifest.devices:
        if capture.name not in wanted:
            captures.append(capture)
            continue
        lines = [HEADER, *(_lines(results[e]) for e in wanted[capture.name])]
        captures.append(_with_output(folder, capture, "\n".join(lines) + "\n", started, finished))
    updated = manifest.model_copy(update={"devices": captures})
    write_atomic(folder / MANIFEST, updated.model_dump_json(by_alias=True, indent=2))
    return updated


def _configured_ports(folder: Path, capture: DeviceCapture) -> list[int]:
    """Ports of the TLS listeners the gateway's configuration reveals (not loopback ones)."""
    from smmcheck.inputs import read_bundle, snapshot_bundle
    from smmcheck.parse import UnsupportedPlatform, parse_bundle
    from smmcheck.parse.artifacts import bundle_text

    config = snapshot_bundle(folder, capture)
    if config.problem:
        return []
    artifacts = read_bundle(config)
    try:
        facts = parse_bundle(
            artifacts,
            source=str(config.path),
            sha256=sha256_hex(bundle_text(artifacts).encode()),
            name_hint=capture.name,
            platform=capture.platform,
        )
    except UnsupportedPlatform:
        return []
    return sorted(
        {t.port for t in facts.tls_listeners or () if t.local_only is not True and t.port > 0}
    )


def _lines(result: TlsEndpointResult) -> str:
    endpoint = format_endpoint(result.host, result.port)
    if not result.reachable or not result.versions:
        return f"{endpoint} unreachable {result.error or ''}".rstrip()
    rows = []
    for version in result.versions:
        verdict = {True: "accepted", False: "refused", None: "unknown"}[version.accepted]
        detail = version.cipher if version.accepted else version.reason
        rows.append(f"{endpoint} {version.version} {verdict} {detail or ''}".rstrip())
    return "\n".join(rows)


def _with_output(
    folder: Path, capture: DeviceCapture, text: str, started: float, finished: float
) -> DeviceCapture:
    from smmcheck.collect import stamp

    home = (
        Path(capture.outputs[0].file).parent
        if capture.outputs and capture.outputs[0].file
        else Path(capture.name)
    )
    relative = str(home / "probe-tls.txt")
    write_atomic(folder / relative, text)
    data = (folder / relative).read_bytes()
    record = OutputRecord(
        name="probe-tls",
        command="smmcheck probe tls (TLS handshakes only)",
        file=relative,
        started=stamp(started),
        finished=stamp(finished),
        sha256=sha256_hex(data),
        bytes=len(data),
        complete=True,
    )
    outputs = [o for o in capture.outputs if o.name != "probe-tls"] + [record]
    return capture.model_copy(update={"outputs": outputs})
