"""`smmcheck audit --probe-tls`: collect a real gateway (this host, over the test sshd), probe
a real mosquitto broker's TLS listeners, judge tls-min-1-2 on what the handshakes showed,
and keep it in the snapshot so that `check SNAPSHOT` reproduces the audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mosquitto_server import Broker

from smmcheck.cli.main import main
from smmcheck.snapshot import read_manifest, verify


def _audit(tmp_path: Path, sshd: Any, *extra_ports: int, probe: bool = True) -> int:
    inventory = tmp_path / "inventory.yaml"
    ports = ", ".join(str(p) for p in extra_ports)
    inventory.write_text(
        "devices:\n"
        f"  - {{name: gw-01, host: 127.0.0.1, port: {sshd.port}, platform: linux,"
        f" username: root, key_file: '{sshd.client_key}', probe_tls: [{ports}]}}\n"
    )
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_key_pub}\n")
    return main(
        [
            "audit",
            f"--inventory={inventory}",
            f"--known-hosts={known}",
            f"--snapshots={tmp_path / 'history'}",
            "--format=json",
            "--connect-timeout=3",
            *(["--probe-tls"] if probe else []),
        ]
    )


def test_a_listener_that_accepts_tls_1_1_fails_on_what_the_handshake_showed(
    tmp_path: Path, sshd: Any, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _audit(tmp_path, sshd, broker.strict, broker.legacy)
    out = capsys.readouterr().out
    assert code == 1
    results = {r["policy"]: r for r in json.loads(out)["results"]}
    tls = results["tls-min-1-2"]
    assert tls["status"] == "fail"
    assert f"127.0.0.1:{broker.legacy} (probed) (minimum tlsv1.1)" in tls["message"]
    assert f"127.0.0.1:{broker.strict}" not in tls["message"]  # TLS 1.2 minimum: fine
    cited = [e for e in tls["evidence"] if e["source"].endswith("probe-tls.txt")]
    assert any(f":{broker.legacy} TLSv1.1 accepted" in e["text"] for e in cited)

    # The observations are part of the snapshot: verified like any output, and a later
    # check of the snapshot gives the audit's results.
    (run,) = (tmp_path / "history").iterdir()
    manifest = read_manifest(run)
    assert manifest is not None
    assert verify(run, manifest) == []
    (device,) = manifest.devices
    assert "probe-tls" in [o.name for o in device.outputs]
    assert main(["check", str(run), "--format=json"]) == 1
    assert json.loads(capsys.readouterr().out)["results"] == json.loads(out)["results"]


def test_without_the_flag_nothing_is_probed(
    tmp_path: Path, sshd: Any, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    _audit(tmp_path, sshd, broker.legacy, probe=False)
    capsys.readouterr()
    (run,) = (tmp_path / "history").iterdir()
    manifest = read_manifest(run)
    assert manifest is not None
    assert "probe-tls" not in [o.name for o in manifest.devices[0].outputs]


def _observed(text: str) -> Any:
    from smmcheck.parse.artifacts import Artifact
    from smmcheck.parse.tlsprobe import observed

    return observed(Artifact("probe-tls", "probe-tls.txt", text))


def test_the_observed_minimum_needs_every_lower_version_refused() -> None:
    seen = _observed(
        "# smmcheck probe tls\n"
        "10.0.0.5:8883 TLSv1.2 accepted ECDHE-RSA-AES256-GCM-SHA384\n"
        "10.0.0.5:8883 TLSv1.3 accepted TLS_AES_256_GCM_SHA384\n"
        "10.0.0.5:8883 TLSv1.1 refused server alert protocol_version\n"
        "10.0.0.5:8883 TLSv1.0 unknown this machine's OpenSSL cannot offer TLSv1.0\n"
        "10.0.0.5:443 TLSv1.2 accepted ECDHE-RSA-AES128-GCM-SHA256\n"
        "10.0.0.5:443 TLSv1.1 accepted ECDHE-RSA-AES128-SHA\n"
        "10.0.0.5:443 TLSv1.0 unknown no answer\n"
        "10.0.0.5:9000 unreachable connection refused\n"
    )
    # 1.0 is unknown below the accepted 1.2: the minimum cannot be told (never a pass)...
    assert seen[8883].minimum() is None
    # ...but an accepted 1.1 fails whatever 1.0 does.
    assert seen[443].minimum() == "tlsv1.1"
    assert not seen[9000].reachable
    assert [e.line for e in seen[8883].evidence] == [2, 3, 4, 5]


def test_probed_endpoints_never_complete_listeners_the_configuration_did_not_show() -> None:
    from smmcheck.engine import evaluate
    from smmcheck.parse.artifacts import Artifact
    from smmcheck.parse.linux import parse_linux
    from smmcheck.policies import load_policies

    probe = (
        "# smmcheck probe tls\n"
        "10.0.0.5:8883 TLSv1.2 accepted ECDHE-RSA-AES256-GCM-SHA384\n"
        "10.0.0.5:8883 TLSv1.1 refused server alert protocol_version\n"
        "10.0.0.5:8883 TLSv1.0 refused server alert protocol_version\n"
    )
    policies = load_policies()
    policy = policies.policies["tls-min-1-2"]

    def verdict(extra: str) -> str:
        facts = parse_linux(
            (
                Artifact("os-release", "gw/os", 'PRETTY_NAME="Debian GNU/Linux 12"\n'),
                Artifact("probe-tls", "gw/probe-tls.txt", probe + extra),
            ),
            source="gw",
            sha256="0" * 64,
            name_hint="gw",
        )
        return evaluate(policy, facts, policies.lists).status

    # Neither mosquitto's nor the web servers' configuration was collected: the probed
    # endpoint is good, other listeners are unknown.
    assert verdict("") == "inconclusive"
    # A probed endpoint that accepts TLS 1.1 fails whatever is unknown.
    assert verdict("10.0.0.5:443 TLSv1.1 accepted ECDHE-RSA-AES128-SHA\n") == "fail"
