"""`smmcheck check SNAPSHOT_DIR`: results from what collection saw, under inventory names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smmcheck.cli.main import main
from smmcheck.snapshot import MANIFEST, DeviceCapture, Manifest, OutputRecord, sha256_hex

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
STAMP = "2026-11-25T02:00:00.000Z"


def _ios(folder: Path, name: str, demo: str) -> DeviceCapture:
    data = (DEMO / f"{demo}.cfg").read_bytes()
    (folder / name).mkdir()
    (folder / name / "running-config.txt").write_bytes(data)
    output = OutputRecord(
        name="running-config",
        command="show running-config",
        file=f"{name}/running-config.txt",
        started=STAMP,
        finished=STAMP,
        sha256=sha256_hex(data),
        bytes=len(data),
        complete=True,
    )
    return DeviceCapture(
        name=name,
        host="192.0.2.10",
        port=22,
        platform="cisco_ios",
        site="plant-a",
        outputs=[output],
    )


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    folder = tmp_path / "snapshot"
    folder.mkdir()
    devices = [
        _ios(folder, "sw-core", "core-sw01"),
        _ios(folder, "sw-acc", "acc-sw01"),
        DeviceCapture(
            name="sw-dead",
            host="192.0.2.99",
            port=22,
            platform="cisco_ios",
            status="error",
            error="connection refused by 192.0.2.99:22",
        ),
        DeviceCapture(name="gw-01", host="192.0.2.50", port=22, platform="linux"),
    ]
    manifest = Manifest(
        tool={"name": "smmcheck", "version": "test"}, started=STAMP, finished=STAMP, devices=devices
    )
    (folder / MANIFEST).write_text(manifest.model_dump_json(by_alias=True))
    return folder


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["check", "--format", "json", "--no-cache", *args])
    return code, json.loads(capsys.readouterr().out)


def test_snapshot_devices_are_checked_under_their_inventory_names(
    snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _report(capsys, str(snapshot))
    devices = {d["name"]: d for d in report["devices"]}  # type: ignore[union-attr]
    assert code == 1  # acc-sw01's findings
    assert devices["sw-core"]["status"] == "ok" and devices["sw-core"]["site"] == "plant-a"
    assert devices["sw-dead"]["error"] == "not collected: connection refused by 192.0.2.99:22"
    assert devices["gw-01"]["error"] == "the snapshot has no complete output for this device"
    results = {(r["device"], r["policy"]): r["status"] for r in report["results"]}  # type: ignore[union-attr]
    assert results["sw-core", "telnet-disabled"] == "pass"
    assert results["sw-acc", "telnet-disabled"] == "fail"


def test_a_snapshot_output_changed_after_collection_is_not_checked(
    snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = snapshot / "sw-core" / "running-config.txt"
    config.write_text(config.read_text().replace("transport input ssh", "transport input all"))
    _code, report = _report(capsys, str(snapshot))
    devices = {d["name"]: d for d in report["devices"]}  # type: ignore[union-attr]
    assert devices["sw-core"]["status"] == "error"
    assert "sha256 differs from the manifest" in devices["sw-core"]["error"]
    assert not any(r["device"] == "sw-core" for r in report["results"])  # type: ignore[union-attr]


def test_collected_snapshot_round_trips_into_check(
    tmp_path: Path, sshd: object, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sshd
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        f"devices:\n  - {{name: gw-01, host: 127.0.0.1, port: {server.port},"  # type: ignore[attr-defined]
        f" platform: linux, username: root, key_file: '{server.client_key}'}}\n"
    )  # type: ignore[attr-defined]
    known = tmp_path / "known_hosts"
    snap = tmp_path / "snap"
    assert (
        main(
            [
                "collect",
                "--inventory",
                str(inventory),
                "--output",
                str(snap),
                "--known-hosts",
                str(known),
                "--accept-new-host-keys",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, report = _report(capsys, str(snap))
    assert code in (0, 1, 3)  # this machine's own settings decide pass or fail
    (device,) = report["devices"]  # type: ignore[misc]
    assert (device["name"], device["status"], device["platform"]) == ("gw-01", "ok", "linux")
    assert device["os_version"]  # from /etc/os-release
    results = {r["policy"]: r for r in report["results"]}  # type: ignore[union-attr]
    # Only gateway policies apply, and what the outputs establish is judged, not unknown:
    # sshd -T (root) gives the algorithms, ss gives the listening sockets, and systemctl or
    # (without systemd as PID 1) the process list which log and NTP daemons run.
    assert "session-timeout" not in results
    judged = ("ssh-strong-crypto", "ssh-no-root-password-login", "upnp-disabled")
    for policy in (*judged, "logging-remote", "ntp-configured"):
        assert results[policy]["status"] in ("pass", "fail"), results[policy]["message"]
    cited = {e["source"] for r in results.values() for e in r["evidence"]}
    assert any(source.endswith("sshd-effective.txt") for source in cited)
