"""netmiko collection from IOS-like SSH devices, `smmcheck audit`, and injected faults.

The devices are real SSH servers on loopback whose shell behaves like IOS (see
ios_device.py); netmiko's `cisco_ios` driver runs against them unchanged.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ios_device import Faults, IosDevice, IosServer, load_host_key

from smmcheck.cli.main import main
from smmcheck.snapshot import read_manifest, verify

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
OUTPUTS = Path(__file__).parent / "data" / "ios"
PASSWORD = "Planted-Login-Secret-0815"
ENABLE = "Planted-Enable-Secret-4242"
# What netmiko's cisco_ios driver sends to set the session up, besides the recipe.
SESSION = {"", "terminal width 511", "terminal length 0", "enable", "<enable secret>", "exit"}
RECIPE = {"show running-config", "show version", "show inventory", "show ip interface brief"}

MakeDevice = Callable[..., IosServer]


def outputs(config: str) -> dict[str, str]:
    """What a device answers: a demo running-config and recorded show outputs."""
    return {
        "show running-config": (DEMO / f"{config}.cfg").read_text(),
        "show version": (OUTPUTS / "show_version.txt").read_text(),
        "show inventory": (OUTPUTS / "show_inventory.txt").read_text(),
        "show ip interface brief": (OUTPUTS / "show_ip_interface_brief.txt").read_text(),
    }


@pytest.fixture(scope="session")
def host_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ios-hostkey") / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture
def make_device(host_key_file: Path) -> Iterator[MakeDevice]:
    servers: list[IosServer] = []

    def start(
        name: str, config: str = "core-sw01", enable: str | None = ENABLE, **faults: Any
    ) -> IosServer:
        device = IosDevice(name, "audit", PASSWORD, outputs(config), enable, Faults(**faults))
        server = IosServer(device, load_host_key(host_key_file))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMM_TEST_PASSWORD", PASSWORD)
    monkeypatch.setenv("SMM_TEST_ENABLE", ENABLE)


def inventory(tmp_path: Path, *entries: tuple[str, int], enable: bool = True) -> Path:
    path = tmp_path / "inventory.yaml"
    rows = "".join(
        f"  - {{name: {name}, host: 127.0.0.1, port: {port}}}\n" for name, port in entries
    )
    path.write_text(
        "defaults:\n  username: audit\n  password: {env: SMM_TEST_PASSWORD}\n"
        + ("  enable: {env: SMM_TEST_ENABLE}\n" if enable else "")
        + "  platform: cisco_ios\n  site: plant-a\n  category: switch\n"
        + f"devices:\n{rows}"
    )
    return path


def known_hosts(tmp_path: Path, host_key_file: Path, *servers: IosServer) -> Path:
    path = tmp_path / "known_hosts"
    key = " ".join(Path(f"{host_key_file}.pub").read_text().split()[:2])
    path.write_text("".join(f"[127.0.0.1]:{s.port} {key}\n" for s in servers))
    return path


def collect(tmp_path: Path, inv: Path, hosts: Path, *extra: str) -> tuple[int, Any]:
    snapshot = tmp_path / "snapshot"
    code = main(
        [
            "collect",
            f"--inventory={inv}",
            f"--output={snapshot}",
            f"--known-hosts={hosts}",
            "--connect-timeout=2",
            "--connect-retries=0",
            *extra,
        ]
    )
    manifest = read_manifest(snapshot)
    assert manifest is not None
    return code, manifest


def errors(manifest: Any) -> dict[str, str | None]:
    return {d.name: d.error for d in manifest.devices}


def written(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


# --- collection ------------------------------------------------------------------------------


def test_ios_switch_is_collected_in_enable_mode_with_only_recipe_commands(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_device("core-sw01")
    code, manifest = collect(
        tmp_path,
        inventory(tmp_path, ("core-sw01", server.port)),
        known_hosts(tmp_path, host_key_file, server),
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    (device,) = manifest.devices
    assert device.status == "ok"
    assert [o.name for o in device.outputs] == [
        "running-config",
        "version",
        "inventory",
        "ip-interface-brief",
    ]
    assert verify(tmp_path / "snapshot", manifest) == []
    config = (tmp_path / "snapshot" / device.outputs[0].file).read_text()
    assert config.splitlines()[0] == "Building configuration..."
    assert config.rstrip().endswith("\nend")
    # enable was entered (show running-config is refused in user mode), and nothing
    # outside the recipe and netmiko's session set-up reached the device.
    received = server.device.received
    assert "enable" in received
    assert set(received) <= SESSION | RECIPE, set(received) - SESSION - RECIPE
    assert set(received) >= RECIPE
    # The planted secrets went to the device but nowhere smmcheck writes.
    for secret in (PASSWORD, ENABLE):
        assert secret not in written(tmp_path / "snapshot")
        assert secret not in out + err


def test_snapshot_check_gives_the_offline_results_of_the_same_config(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_device("acc-sw02", config="acc-sw02")
    code, _ = collect(
        tmp_path,
        inventory(tmp_path, ("acc-sw02", server.port)),
        known_hosts(tmp_path, host_key_file, server),
    )
    assert code == 0
    capsys.readouterr()
    main(["check", str(tmp_path / "snapshot"), "--format=json"])
    from_snapshot = json.loads(capsys.readouterr().out)
    main(["check", str(DEMO / "acc-sw02.cfg"), "--format=json"])
    offline = json.loads(capsys.readouterr().out)

    def verdicts(report: dict[str, Any]) -> dict[str, Any]:
        return {
            r["policy"]: (r["status"], [e["line"] for e in r["evidence"]])
            for r in report["results"]
        }

    assert verdicts(from_snapshot) == verdicts(offline)
    assert verdicts(offline)["snmp-v3-only"][0] == "fail"
    assert {d["site"] for d in from_snapshot["devices"]} == {"plant-a"}


def test_unknown_and_changed_host_keys_are_refused_by_the_netmiko_transport(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    server = make_device("core-sw01")
    inv = inventory(tmp_path, ("core-sw01", server.port))
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    code, manifest = collect(tmp_path, inv, empty)
    assert code == 3
    assert "unknown host key" in (errors(manifest)["core-sw01"] or "")
    assert server.device.sessions == 0  # refused before any shell was opened

    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    changed = known_hosts(tmp_path, other, server)
    code, manifest = collect(tmp_path, inv, changed)
    assert code == 3
    assert "CHANGED" in (errors(manifest)["core-sw01"] or "")

    learned = tmp_path / "tofu_known_hosts"
    code, manifest = collect(tmp_path, inv, learned, "--accept-new-host-keys")
    assert code == 0
    key = Path(f"{host_key_file}.pub").read_text().split()[1]
    assert f"[127.0.0.1]:{server.port} ssh-ed25519 {key}" in learned.read_text()


# --- audit -----------------------------------------------------------------------------------


def test_audit_collects_checks_and_reports_and_check_reproduces_it(
    tmp_path: Path,
    make_device: MakeDevice,
    host_key_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no smmcheck.yaml here
    good = make_device("core-sw01")
    dead_port = _closed_port()
    inv = inventory(tmp_path, ("core-sw01", good.port), ("sw-dead", dead_port))
    code = main(
        [
            "audit",
            f"--inventory={inv}",
            f"--known-hosts={known_hosts(tmp_path, host_key_file, good)}",
            "--snapshots=history",
            "--connect-retries=0",
            "--format=json",
        ]
    )
    out, err = capsys.readouterr()
    # core-sw01 is compliant; the dead device makes the run incomplete: exit 3, not 0.
    assert code == 3, err
    assert f"sw-dead: not collected: connection refused by 127.0.0.1:{dead_port}" in err
    (run,) = (tmp_path / "history").iterdir()
    assert {p.name for p in run.iterdir()} >= {"manifest.json", "results.json", "junit.xml"}
    audited = json.loads((run / "results.json").read_text())
    assert json.loads(out)["results"] == audited["results"]
    assert {(d["name"], d["status"]) for d in audited["devices"]} == {
        ("core-sw01", "ok"),
        ("sw-dead", "error"),
    }
    assert "testcase" in (run / "junit.xml").read_text()
    # The SMM gap analysis goes beside the results (default profile: no smmcheck.yaml here).
    maturity = json.loads((run / "maturity.json").read_text())
    assert [d["device"] for d in maturity["devices"]] == ["core-sw01"]
    assert maturity["devices_not_assessed"] == ["sw-dead"]
    assert (run / "maturity.md").read_text().startswith("# SMM maturity gap analysis")
    assert "SMM maturity (profile medium): switch " in err

    # An auditor re-checking the snapshot later gets exactly the same results.
    assert main(["check", str(run.relative_to(tmp_path)), "--format=json"]) == 3
    rechecked = json.loads(capsys.readouterr().out)
    assert rechecked["results"] == audited["results"]
    assert rechecked["devices"] == audited["devices"]


def test_audit_with_a_broken_policy_contacts_no_device(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_device("core-sw01")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "bad.yaml").write_text("id: bad-policy\ntitle: [unclosed\n")
    code = main(
        [
            "audit",
            f"--inventory={inventory(tmp_path, ('core-sw01', server.port))}",
            f"--known-hosts={known_hosts(tmp_path, host_key_file, server)}",
            f"--snapshots={tmp_path / 'history'}",
            f"--policies={policies}",
        ]
    )
    assert code == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert server.device.sessions == 0
    assert not (tmp_path / "history").exists()


def test_audit_with_a_broken_waivers_file_contacts_no_device(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_device("core-sw01")
    waivers = tmp_path / "waivers.yaml"
    entry = (
        "waivers:\n  - policy: telnet-disabled\n    devices: core-sw01\n"
        "    justification: Legacy HMI\n    owner: ot@example.com\n    ticket: CHG-1\n"
    )
    waivers.write_text(entry + "    expires: 31/03/2027\n")
    argv = [
        "audit",
        f"--inventory={inventory(tmp_path, ('core-sw01', server.port))}",
        f"--known-hosts={known_hosts(tmp_path, host_key_file, server)}",
        f"--snapshots={tmp_path / 'history'}",
        f"--waivers={waivers}",
        "--format=json",
    ]
    assert main(argv) == 2
    assert f"{waivers}:7: invalid waiver entry 1" in capsys.readouterr().err
    assert server.device.sessions == 0
    assert not (tmp_path / "history").exists()
    # Control: with the date mended, the same audit runs and reports the waivers file.
    waivers.write_text(entry + "    expires: 2027-03-31\n")
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert server.device.sessions == 1
    assert (
        report["waivers"]["orphans"][0]["reason"] == "the policy passes on every device it matches"
    )


# --- faults: each is a device error with its reason; the other device is intact -------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_with_fault(
    tmp_path: Path,
    make_device: MakeDevice,
    host_key_file: Path,
    *extra: str,
    enable: bool = True,
    **faults: Any,
) -> tuple[int, Any]:
    healthy = make_device("sw-healthy")
    faulty = make_device("sw-faulty", **faults)
    inv = inventory(
        tmp_path, ("sw-healthy", healthy.port), ("sw-faulty", faulty.port), enable=enable
    )
    code, manifest = collect(
        tmp_path, inv, known_hosts(tmp_path, host_key_file, healthy, faulty), *extra
    )
    statuses = {d.name: d.status for d in manifest.devices}
    assert statuses == {"sw-healthy": "ok", "sw-faulty": "error"}
    assert code == 3
    return code, manifest


def test_truncated_running_config_is_a_device_error(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    _, manifest = run_with_fault(tmp_path, make_device, host_key_file, truncate_config=True)
    assert errors(manifest)["sw-faulty"] == (
        "running-config: output does not end with 'end' (truncated)"
    )
    faulty = next(d for d in manifest.devices if d.name == "sw-faulty")
    # What was seen is kept as evidence, marked incomplete.
    assert not faulty.outputs[0].complete


def test_invalid_input_for_a_restricted_account_is_insufficient_privilege(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    _, manifest = run_with_fault(
        tmp_path, make_device, host_key_file, denied={"show running-config"}
    )
    assert errors(manifest)["sw-faulty"] == (
        "running-config: insufficient privilege ('% Invalid input')"
    )


def test_refused_enable_secret_is_insufficient_privilege(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    healthy = make_device("sw-healthy")
    faulty = make_device("sw-faulty", enable="another-secret")
    inv = inventory(tmp_path, ("sw-healthy", healthy.port), ("sw-faulty", faulty.port))
    code, manifest = collect(tmp_path, inv, known_hosts(tmp_path, host_key_file, healthy, faulty))
    assert code == 3
    assert errors(manifest) == {
        "sw-healthy": None,
        "sw-faulty": "insufficient privilege: enable failed (the enable secret was refused)",
    }
    assert "show running-config" not in faulty.device.received


def test_user_mode_login_without_enable_secret_is_insufficient_privilege(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    healthy = make_device("sw-healthy", enable=None)  # logs in at privilege 15
    faulty = make_device("sw-faulty")
    inv = inventory(
        tmp_path, ("sw-healthy", healthy.port), ("sw-faulty", faulty.port), enable=False
    )
    code, manifest = collect(tmp_path, inv, known_hosts(tmp_path, host_key_file, healthy, faulty))
    assert code == 3
    assert "user mode (>) and the inventory gives no enable secret" in (
        errors(manifest)["sw-faulty"] or ""
    )
    assert errors(manifest)["sw-healthy"] is None


def test_connection_dropping_mid_output_is_a_device_error(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    _, manifest = run_with_fault(
        tmp_path, make_device, host_key_file, drop_during="show running-config"
    )
    assert (errors(manifest)["sw-faulty"] or "").startswith(
        "connection dropped during 'running-config'"
    )


def test_hung_command_is_a_device_error_after_its_timeout(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    builtin = (ROOT / "collectors" / "cisco_ios.yaml").read_text()
    (recipes / "cisco_ios.yaml").write_text(builtin.replace("timeout: 30", "timeout: 2"))
    _, manifest = run_with_fault(
        tmp_path, make_device, host_key_file, f"--recipes={recipes}", hang_on="show version"
    )
    assert errors(manifest)["sw-faulty"] == "command 'version' hung past its 2 s timeout"
    faulty = next(d for d in manifest.devices if d.name == "sw-faulty")
    assert [o.name for o in faulty.outputs] == ["running-config"]  # kept what it had


def test_connect_timeout_and_silent_server_are_device_errors(
    tmp_path: Path, make_device: MakeDevice, host_key_file: Path
) -> None:
    healthy = make_device("sw-healthy")
    # A listener whose accept queue is full: the kernel drops further SYNs, so connecting
    # times out exactly as to a host behind a silent firewall.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    filler = socket.create_connection(full.getsockname())
    # A listener that accepts TCP but never speaks SSH.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent_port = silent.getsockname()[1]
    try:
        inv = inventory(
            tmp_path,
            ("sw-healthy", healthy.port),
            ("sw-blackhole", full.getsockname()[1]),
            ("sw-silent", silent_port),
        )
        code, manifest = collect(tmp_path, inv, known_hosts(tmp_path, host_key_file, healthy))
    finally:
        for sock in (filler, full, silent):
            sock.close()
    assert code == 3
    assert errors(manifest) == {
        "sw-healthy": None,
        "sw-blackhole": "connect timeout after 2 s",
        "sw-silent": f"connect timeout: 127.0.0.1:{silent_port} sent no SSH banner within 2 s",
    }


def test_wrong_password_is_authentication_failure(
    tmp_path: Path,
    make_device: MakeDevice,
    host_key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_device("core-sw01")
    monkeypatch.setenv("SMM_TEST_PASSWORD", "Wrong-Planted-Password-77")
    code, manifest = collect(
        tmp_path,
        inventory(tmp_path, ("core-sw01", server.port)),
        known_hosts(tmp_path, host_key_file, server),
    )
    assert code == 3
    assert errors(manifest) == {"core-sw01": "authentication failed"}
    out, err = capsys.readouterr()
    assert "Wrong-Planted-Password-77" not in out + err + written(tmp_path / "snapshot")


def test_nxos_switch_is_collected_by_netmikos_nxos_driver(
    tmp_path: Path, host_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nxos = Path(__file__).parent / "data" / "nxos"
    answers = {
        "show running-config": (nxos / "running-config.txt").read_text(),
        "show version": (nxos / "show_version.txt").read_text(),
        "show interface brief": (nxos / "show_interface_brief.txt").read_text(),
    }
    # NX-OS has no enable mode; `show inventory` is optional in the recipe and absent here.
    server = IosServer(
        IosDevice("dc-leaf01", "audit", PASSWORD, answers), load_host_key(host_key_file)
    )
    try:
        inv = tmp_path / "inventory.yaml"
        inv.write_text(
            "defaults: {username: audit, password: {env: SMM_TEST_PASSWORD}}\ndevices:\n"
            f"  - {{name: dc-leaf01, host: 127.0.0.1, port: {server.port}, platform: cisco_nxos}}\n"
        )
        code, manifest = collect(tmp_path, inv, known_hosts(tmp_path, host_key_file, server))
    finally:
        server.close()
    assert code == 0, capsys.readouterr().err
    (device,) = manifest.devices
    outputs_by_name = {o.name: o for o in device.outputs}
    assert outputs_by_name["running-config"].complete
    assert not outputs_by_name["inventory"].complete  # `% Invalid input`: recorded, optional
    assert "enable" not in server.device.received
    capsys.readouterr()
    assert main(["check", str(tmp_path / "snapshot"), "--format=json"]) == 1
    report = json.loads(capsys.readouterr().out)
    status = {r["policy"]: r["status"] for r in report["results"]}
    assert (status["telnet-disabled"], status["snmp-no-default-community"]) == ("fail", "fail")
    assert report["devices"][0]["platform"] == "cisco_nxos"
