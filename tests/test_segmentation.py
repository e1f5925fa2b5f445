"""Segmentation across a site: intent files, zones nobody enforces, and `smmcheck flows`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smmcheck.cli.main import main
from smmcheck.mapping import load_mappings
from smmcheck.policies import load_policies
from smmcheck.project import load_project
from smmcheck.runner import CheckOptions, run_check

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def _check(paths: list[Path], project_file: Path) -> dict[tuple[str, str], tuple[str, str]]:
    policies = load_policies()
    options = CheckOptions(
        policies=policies,
        mappings=load_mappings(policies),
        use_cache=False,
        project=load_project(project_file),
        selected=["iot-segmentation"],
    )
    report = run_check(paths, options)
    return {(r.device, r.policy): (r.status, r.message) for r in report.results}


def test_demo_switch_with_range_trap_fails_with_counterexample_and_line() -> None:
    results = _check([DEMO / "acc-sw02.cfg", DEMO / "core-sw01.cfg"], DEMO / "smmcheck.yaml")
    status, message = results["acc-sw02", "iot-segmentation"]
    assert status == "fail"
    assert "tcp 10.30.0.1:49152 -> 10.10.0.5:445 from zone iot" in message
    assert "(line 330: 20 permit tcp 10.30.0.0 0.0.0.255 host 10.10.0.5 range 443 8883)" in message
    assert results["core-sw01", "iot-segmentation"][0] == "pass"


def test_zone_without_enforcement_point_anywhere_is_inconclusive(tmp_path: Path) -> None:
    intent = tmp_path / "smmcheck.yaml"
    intent.write_text(
        "zones:\n  iot: {subnets: [10.30.0.0/24], vlans: [30]}\n"
        "  plc: {subnets: [10.20.0.0/24], vlans: [20]}\n  gateway: {subnets: [10.10.0.5/32]}\n"
        "flows:\n  - {from: iot, to: gateway, allow: [mqtts, https]}\n"
        "  - {from: plc, to: gateway, allow: [opcua]}\n"
    )
    # core-sw01 enforces iot on Vlan30, but Vlan20 (plc) has no inbound ACL: that fails.
    # acc-sw01 has plc access ports without port ACLs: not an enforcement point.
    results = _check([DEMO / "acc-sw01.cfg"], intent)
    status, message = results["acc-sw01", "iot-segmentation"]
    assert status == "inconclusive"
    assert "zone iot, plc has no enforcement point" in message


def test_unenforced_vlan_interface_fails_with_no_inbound_acl(tmp_path: Path) -> None:
    intent = tmp_path / "smmcheck.yaml"
    intent.write_text(
        "zones:\n  plc: {subnets: [10.20.0.0/24], vlans: [20]}\n"
        "  scada: {subnets: [10.10.0.0/24]}\n"
        "flows:\n  - {from: plc, to: scada, allow: [modbus]}\n"
    )
    status, message = _check([DEMO / "core-sw01.cfg"], intent)["core-sw01", "iot-segmentation"]
    assert status == "fail"
    assert (
        "Vlan20 (interface, no inbound ACL) permits tcp 10.20.0.2:49152 -> 10.10.0.0:23" in message
    )


@pytest.mark.parametrize(
    ("intent", "problem"),
    [
        (
            "zones:\n  iot: {subnets: [10.30.0.0/24]}\n"
            "flows:\n  - {from: iot, to: gw, allow: [https]}\n",
            "smmcheck.yaml:4: invalid project file: flow to unknown zone or prefix 'gw'",
        ),
        (
            "zones:\n  iot: {subnets: [10.30.0.0/24]}\n"
            "flows:\n  - {from: iot, to: any, allow: [gopher]}\n",
            "smmcheck.yaml:4: invalid project file: unknown service 'gopher'",
        ),
        (
            "zones:\n  iot: {subnets: [10.30.0.1/24]}\n",
            "smmcheck.yaml:2: invalid field 'zones.iot.subnets'",
        ),
    ],
)
def test_bad_project_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], intent: str, problem: str
) -> None:
    (tmp_path / "smmcheck.yaml").write_text(intent)
    code = main(
        ["check", "--project", str(tmp_path / "smmcheck.yaml"), str(DEMO / "core-sw01.cfg")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and problem in err, err


def test_project_file_is_discovered_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DEMO / "smmcheck.yaml", tmp_path / "smmcheck.yaml")
    shutil.copy(DEMO / "waivers.yaml", tmp_path / "waivers.yaml")  # named by smmcheck.yaml
    shutil.copy(DEMO / "acc-sw02.cfg", tmp_path / "acc-sw02.cfg")
    monkeypatch.chdir(tmp_path)
    code = main(["check", "acc-sw02.cfg", "--policy", "iot-segmentation"])
    out = capsys.readouterr().out
    assert code == 1
    assert "from zone iot" in out


def test_flows_lists_the_excess_range_and_the_allowed_ports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "flows",
            "--from",
            "iot",
            "--project",
            str(DEMO / "smmcheck.yaml"),
            str(DEMO / "acc-sw02.cfg"),
            str(DEMO / "core-sw01.cfg"),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    rows = [[cell.strip() for cell in line.split("│")] for line in lines if "│" in line]
    assert [
        "acc-sw02",
        "GigabitEthernet1/0/1",
        "SENSOR-PORT-IN",
        "tcp",
        "10.30.0.0/24",
        "10.10.0.5",
        "444-8882",
        "NOT ALLOWED",
    ] in rows
    assert [
        "core-sw01",
        "Vlan30",
        "IOT-TO-GW",
        "tcp",
        "10.30.0.0/24",
        "10.10.0.5",
        "443,8883",
        "allowed",
    ] in rows
    assert not any(row[-1] == "NOT ALLOWED" for row in rows if row[0] == "core-sw01")


def test_flows_without_project_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["flows", "--from", "iot", str(DEMO / "core-sw01.cfg")]) == 2
    assert "no project file" in capsys.readouterr().err
