"""Framework compliance: each control's status from a run's results, IEC 62443 target
security levels, the SMM practices as controls, coverage, and `smmcheck report compliance`
on the demo plant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smmcheck.checks import Status
from smmcheck.cli.main import main
from smmcheck.compliance import ComplianceReport, ControlAssessment, assess_compliance
from smmcheck.errors import UsageError
from smmcheck.mapping import Control, FrameworkFile, FrameworkInfo, Mappings, load_mappings
from smmcheck.policies import PolicySet, load_policies
from smmcheck.project import Project, Zone
from smmcheck.results import (
    DeviceRecord,
    Report,
    Result,
    RunInfo,
    SmmPractice,
    ToolInfo,
    summarise,
)

POLICIES = load_policies()
BUILTIN = load_mappings(POLICIES)

# A small framework in the shape of the IEC file: an SL1 SR, its SL2 RE, a control that no
# policy evidences, and one evidenced by two policies.
TEST_FRAMEWORK = FrameworkFile(
    framework=FrameworkInfo(id="test-62443", name="Test SRs", version="1"),
    mapping_basis="Written for the tests.",
    controls=[
        Control(
            id="SR 7.7",
            title="Least functionality",
            confidence="verified",
            policies=["telnet-disabled"],
            note="(SL1)",
        ),
        Control(
            id="SR 4.1 RE(1)",
            title="Confidentiality in transit",
            confidence="likely",
            policies=["ssh-v2-only"],
            note="(SL2) requirement enhancement of SR 4.1",
        ),
        Control(id="SR 1.4", title="Identifier management", confidence="verified", policies=[]),
        Control(
            id="SR 4.3",
            title="Use of cryptography",
            confidence="verified",
            policies=["ssh-v2-only", "tls-min-1-2"],
            note="(SL1)",
        ),
    ],
)
PLAIN_FRAMEWORK = FrameworkFile(
    framework=FrameworkInfo(id="plain", name="Plain baseline", version="1"),
    mapping_basis="Written for the tests.",
    controls=[
        Control(id="B-1", title="No telnet", confidence="verified", policies=["telnet-disabled"])
    ],
)
MAPPINGS = Mappings(
    smm=BUILTIN.smm, frameworks={"test-62443": TEST_FRAMEWORK, "plain": PLAIN_FRAMEWORK}
)


def _device(name: str, zone: str | None = None, error: str | None = None) -> DeviceRecord:
    return DeviceRecord(
        name=name,
        source=f"{name}.cfg",
        zone=zone,
        status="error" if error else "ok",
        error=error,
    )


def _result(device: str, policy: str, status: Status) -> Result:
    practice = POLICIES.policies[policy].smm.practice
    return Result(
        device=device,
        policy=policy,
        title=POLICIES.policies[policy].title,
        severity="high",
        status=status,
        message=f"{device}: {policy} gave {status}.",
        evidence=[],
        smm=SmmPractice(practice=practice, practice_title=practice, level=1),
        controls={},  # deliberately empty: the current mappings decide
    )


def _report(results: list[Result], devices: list[DeviceRecord] | None = None) -> Report:
    if devices is None:
        devices = [_device(n) for n in sorted({r.device for r in results})]
    return Report(
        tool=ToolInfo(version="test"),
        run=RunInfo(
            started="2025-01-01T00:00:00Z",
            finished="2025-01-01T00:00:01Z",
            command="smmcheck check fixtures",
            fail_on="info",
            policies=len(POLICIES.policies),
            frameworks=[],
        ),
        devices=devices,
        results=results,
        summary=summarise(devices, results, "info"),
    )


def _assess(
    results: list[Result],
    framework: str = "test-62443",
    *,
    devices: list[DeviceRecord] | None = None,
    sl_target: int | None = None,
    project: Project | None = None,
    policies: PolicySet = POLICIES,
) -> ComplianceReport:
    return assess_compliance(
        _report(results, devices), MAPPINGS, policies, framework, sl_target, project
    )


def _control(report: ComplianceReport, control_id: str) -> ControlAssessment:
    return next(c for c in report.controls if c.id == control_id)


# --- status rules -------------------------------------------------------------------------


def test_control_that_no_policy_evidences_is_manual() -> None:
    report = _assess([_result("sw1", "telnet-disabled", "pass")])
    assert _control(report, "SR 1.4").status == "manual"
    assert _control(report, "SR 1.4").policies == []


def test_all_pass_is_satisfied() -> None:
    report = _assess(
        [_result("sw1", "telnet-disabled", "pass"), _result("sw2", "telnet-disabled", "pass")]
    )
    control = _control(report, "SR 7.7")
    assert control.status == "satisfied"
    assert control.policies == ["telnet-disabled"]
    assert control.counts["pass"] == 2
    assert control.failing == []


def test_waived_failure_counts_as_satisfied_and_is_listed() -> None:
    report = _assess(
        [_result("sw1", "telnet-disabled", "pass"), _result("sw2", "telnet-disabled", "waived")]
    )
    control = _control(report, "SR 7.7")
    assert control.status == "satisfied"
    assert [f.device for f in control.waived] == ["sw2"]
    assert control.failing == []


def test_failures_without_any_pass_are_not_satisfied() -> None:
    report = _assess(
        [
            _result("sw1", "telnet-disabled", "fail"),
            _result("sw2", "telnet-disabled", "waived"),
            _result("sw3", "telnet-disabled", "not_applicable"),
        ]
    )
    control = _control(report, "SR 7.7")
    assert control.status == "not_satisfied"
    assert [(f.device, f.policies) for f in control.failing] == [("sw1", ["telnet-disabled"])]
    assert [f.device for f in control.waived] == ["sw2"]


def test_one_failing_device_is_not_satisfied_and_only_it_is_named() -> None:
    report = _assess(
        [
            _result("gw1", "ssh-v2-only", "pass"),
            _result("gw1", "tls-min-1-2", "fail"),
            _result("gw2", "ssh-v2-only", "pass"),
            _result("gw2", "tls-min-1-2", "pass"),
        ]
    )
    control = _control(report, "SR 4.3")
    assert control.status == "not_satisfied"
    assert [(f.device, f.policies) for f in control.failing] == [("gw1", ["tls-min-1-2"])]
    assert control.counts == {
        "fail": 1,
        "inconclusive": 0,
        "waived": 0,
        "pass": 3,
        "not_applicable": 0,
    }


def test_pass_and_inconclusive_is_partially_never_satisfied() -> None:
    report = _assess(
        [
            _result("sw1", "telnet-disabled", "pass"),
            _result("sw2", "telnet-disabled", "inconclusive"),
        ]
    )
    control = _control(report, "SR 7.7")
    assert control.status == "partially"
    assert [f.device for f in control.inconclusive] == ["sw2"]


def test_inconclusive_only_is_not_assessed_with_a_note() -> None:
    report = _assess([_result("sw1", "telnet-disabled", "inconclusive")])
    control = _control(report, "SR 7.7")
    assert control.status == "not_assessed"
    assert control.reason == "evidence inconclusive"


def test_fail_and_inconclusive_without_pass_is_not_satisfied() -> None:
    report = _assess(
        [
            _result("sw1", "telnet-disabled", "fail"),
            _result("sw2", "telnet-disabled", "inconclusive"),
        ]
    )
    assert _control(report, "SR 7.7").status == "not_satisfied"


def test_only_not_applicable_results_is_not_assessed() -> None:
    report = _assess(
        [_result("sw1", "tls-min-1-2", "not_applicable"), _result("sw1", "telnet-disabled", "pass")]
    )
    control = _control(report, "SR 4.3")
    assert control.status == "not_assessed"
    assert "did not apply" in (control.reason or "")
    # ssh-v2-only was not in this run at all: reported, never counted as evidence.
    assert control.policies == ["tls-min-1-2"]
    assert control.not_evaluated == ["ssh-v2-only"]
    assert "ssh-v2-only" in (control.reason or "")


def test_control_whose_policies_were_not_run_is_not_assessed() -> None:
    report = _assess([_result("sw1", "telnet-disabled", "pass")])
    control = _control(report, "SR 4.3")
    assert control.status == "not_assessed"
    assert control.policies == []
    assert control.not_evaluated == ["ssh-v2-only", "tls-min-1-2"]


def test_current_mapping_decides_not_the_controls_recorded_in_the_results() -> None:
    # _result records no controls at all; the mapping still attributes the failure.
    report = _assess([_result("sw1", "telnet-disabled", "fail")])
    assert _control(report, "SR 7.7").status == "not_satisfied"


def test_devices_in_error_are_named_in_the_notes() -> None:
    devices = [_device("sw1"), _device("sw2", error="timeout after 30 s")]
    report = _assess([_result("sw1", "telnet-disabled", "pass")], "plain", devices=devices)
    assert report.devices_in_error == ["sw2"]
    assert any("sw2" in note and "could not be assessed" in note for note in report.notes)


# --- IEC 62443 target security levels -------------------------------------------------------


def test_sl2_enhancement_is_not_applicable_at_sl_target_1() -> None:
    results = [_result("gw1", "ssh-v2-only", "fail")]
    report = _assess(results, sl_target=1)
    control = _control(report, "SR 4.1 RE(1)")
    assert control.status == "not_applicable"
    assert control.min_sl == 2
    assert report.coverage.not_applicable == 1
    # The SL1 control on the same policy still counts the failure.
    assert _control(report, "SR 4.3").status == "not_satisfied"


def test_sl2_enhancement_applies_at_sl_target_2() -> None:
    report = _assess([_result("gw1", "ssh-v2-only", "fail")], sl_target=2)
    control = _control(report, "SR 4.1 RE(1)")
    assert control.status == "not_satisfied"
    assert [f.device for f in control.failing] == ["gw1"]


def test_without_any_sl_target_every_requirement_applies_and_the_report_says_so() -> None:
    report = _assess([_result("gw1", "ssh-v2-only", "fail")])
    assert _control(report, "SR 4.1 RE(1)").status == "not_satisfied"
    assert any("every SR and RE applies" in note for note in report.notes)


def test_zone_security_level_selects_requirements_per_device() -> None:
    project = Project(
        zones={
            "cell": Zone(subnets=["10.20.0.0/24"], security_level=1),
            "dmz": Zone(subnets=["10.50.0.0/24"], security_level=2),
        }
    )
    devices = [_device("cell-gw", zone="cell"), _device("dmz-gw", zone="dmz")]
    results = [_result("cell-gw", "ssh-v2-only", "fail"), _result("dmz-gw", "ssh-v2-only", "pass")]
    # --sl-target 4 is only the fallback: both zones set their own level.
    report = _assess(results, devices=devices, project=project, sl_target=4)
    enhancement = _control(report, "SR 4.1 RE(1)")
    assert enhancement.status == "satisfied"  # cell-gw's failure is outside SL-T 1
    assert enhancement.out_of_scope == ["cell-gw"]
    assert _control(report, "SR 4.3").status == "not_satisfied"  # SL1: both devices count
    levels = {s.device: (s.sl_target, s.source) for s in report.security_levels}
    assert levels == {"cell-gw": (1, "zone"), "dmz-gw": (2, "zone")}


def test_device_outside_any_leveled_zone_falls_back_to_the_sl_target_option() -> None:
    project = Project(zones={"dmz": Zone(subnets=["10.50.0.0/24"], security_level=2)})
    devices = [_device("dmz-gw", zone="dmz"), _device("lab-gw")]
    results = [_result("dmz-gw", "ssh-v2-only", "pass"), _result("lab-gw", "ssh-v2-only", "fail")]
    report = _assess(results, devices=devices, project=project, sl_target=1)
    assert _control(report, "SR 4.1 RE(1)").status == "satisfied"
    report = _assess(results, devices=devices, project=project, sl_target=2)
    assert _control(report, "SR 4.1 RE(1)").status == "not_satisfied"


def test_sl_target_for_a_framework_without_levels_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--sl-target"):
        _assess([_result("sw1", "telnet-disabled", "pass")], "plain", sl_target=2)


def test_unknown_framework_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        _assess([_result("sw1", "telnet-disabled", "pass")], "nist-csf")
    assert "unknown framework 'nist-csf'" in caught.value.line()
    assert "iic-smm, plain, test-62443" in caught.value.line()


# --- SMM practices as controls, coverage ----------------------------------------------------


def test_iic_smm_practices_are_controls_evidenced_by_their_policies() -> None:
    report = _assess(
        [
            _result("sw1", "telnet-disabled", "pass"),  # SMM.ENB.AP.ACCM
            _result("sw1", "upnp-disabled", "fail"),  # SMM.ENB.AP.ACCM
            _result("sw1", "logging-remote", "pass"),  # SMM.HRD.SA.MP
        ],
        "iic-smm",
    )
    assert len(report.controls) == 18
    assert [c.id for c in report.controls] == [p.id for p in BUILTIN.smm.practices]
    accm = _control(report, "SMM.ENB.AP.ACCM")
    assert accm.status == "not_satisfied"
    assert accm.policies == ["telnet-disabled", "upnp-disabled"]
    assert "discovery-protocols-disabled" in accm.not_evaluated
    assert _control(report, "SMM.GOV.SG.CM").status == "manual"
    assert report.uses_security_levels is False


def test_coverage_counts_every_status() -> None:
    report = _assess(
        [_result("gw1", "ssh-v2-only", "fail"), _result("gw1", "telnet-disabled", "pass")],
        sl_target=1,
    )
    coverage = report.coverage
    # SR 7.7 satisfied, SR 4.1 RE(1) not applicable at SL-T 1, SR 1.4 manual,
    # SR 4.3 not satisfied (ssh-v2-only fails; tls-min-1-2 was not run).
    assert coverage.model_dump() == {
        "controls": 4,
        "applicable": 3,
        "with_policies": 2,
        "evidenced": 2,
        "satisfied": 1,
        "not_satisfied": 1,
        "partially": 0,
        "not_assessed": 0,
        "manual": 1,
        "not_applicable": 1,
    }


# --- the command line on the demo plant ------------------------------------------------------


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SMMCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        assert main(["demo", "--report-dir", str(folder)]) == 0
    yield folder / "results.json"


def _compliance_json(
    results: Path, tmp_path: Path, *args: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    out = tmp_path / "compliance.json"
    code = main(
        ["report", "compliance", str(results), *args, "--format", "json", "--output", str(out)]
    )
    assert code == 0
    data = json.loads(out.read_text())
    return data, {c["id"]: c for c in data["controls"]}


def test_demo_iec_62443_report_names_the_failing_devices(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./smmcheck.yaml to discover
    data, controls = _compliance_json(demo_results, tmp_path, "--framework", "iec-62443-3-3")
    assert data["schema"] == "smmcheck.compliance/v1"
    assert data["framework"]["id"] == "iec-62443-3-3"
    least = controls["SR 7.7"]
    # telnet-disabled fails on acc-sw01 while other devices pass: a finding all the same.
    assert least["status"] == "not_satisfied"
    failing = {f["device"]: f["policies"] for f in least["failing"]}
    assert "telnet-disabled" in failing["acc-sw01"]
    assert "core-sw01" not in failing
    # root may log in with a password on both devices that run sshd, and nothing passes.
    assert controls["SR 1.1"]["status"] == "not_satisfied"
    assert {f["device"] for f in controls["SR 1.1"]["failing"]} == {"cell-rtr01", "iot-gw01"}
    assert controls["SR 1.4"]["status"] == "manual"
    coverage = data["coverage"]
    assert coverage["controls"] == 100
    assert coverage["with_policies"] == sum(1 for c in controls.values() if c["policies"])
    assert coverage["manual"] + coverage["with_policies"] == 100
    assert any("every SR and RE applies" in note for note in data["notes"])


def test_demo_sl_target_1_drops_the_sl2_requirements(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data, controls = _compliance_json(
        demo_results, tmp_path, "--framework", "iec-62443-3-3", "--sl-target", "1"
    )
    assert controls["SR 1.2"]["status"] == "not_applicable"  # (SL2)
    assert controls["SR 1.1"]["status"] == "not_satisfied"  # (SL1)
    assert data["coverage"]["not_applicable"] > 0


def test_demo_zone_security_level_from_the_project_file(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    results = json.loads(demo_results.read_text())
    cell = {"dist-rtr01", "iot-gw01"}
    for device in results["devices"]:
        device["zone"] = "cell" if device["name"] in cell else "plant"
    edited = tmp_path / "results.json"
    edited.write_text(json.dumps(results))
    (tmp_path / "smmcheck.yaml").write_text(
        "zones:\n"
        "  cell: {subnets: [10.30.0.0/24], security_level: 1}\n"
        "  plant: {subnets: [10.10.0.0/24], security_level: 2}\n"
    )
    data, controls = _compliance_json(edited, tmp_path, "--framework", "iec-62443-3-3")
    # SR 4.1 RE(1) (SL2) fails only on dist-rtr01 (SSH v1) and iot-gw01 (data at rest): both
    # sit in the SL-T 1 zone, so their results are ignored and the rest all pass.
    enhancement = controls["SR 4.1 RE(1)"]
    assert enhancement["status"] == "satisfied"
    assert enhancement["out_of_scope"] == ["dist-rtr01", "iot-gw01"]
    # SR 4.1 (SL1) still counts them.
    assert {"dist-rtr01", "iot-gw01"} <= {f["device"] for f in controls["SR 4.1"]["failing"]}
    levels = {s["device"]: (s["sl_target"], s["source"]) for s in data["security_levels"]}
    assert levels["iot-gw01"] == (1, "zone") and levels["core-sw01"] == (2, "zone")


@pytest.mark.parametrize(
    "framework", ["nist-ir-8259a", "iso-iec-27400", "owasp-iot-top10", "etsi-en-303-645", "iic-smm"]
)
def test_demo_reports_every_framework(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, framework: str
) -> None:
    monkeypatch.chdir(tmp_path)
    data, controls = _compliance_json(demo_results, tmp_path, "--framework", framework)
    assert data["coverage"]["controls"] == len(controls) > 0
    assert data["coverage"]["evidenced"] > 0


def test_demo_owasp_default_settings_fail_on_telnet(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, controls = _compliance_json(demo_results, tmp_path, "--framework", "owasp-iot-top10")
    assert list(controls) == [f"I{n}" for n in range(1, 11)]
    failing = {f["device"]: f["policies"] for f in controls["I9"]["failing"]}
    assert "telnet-disabled" in failing["acc-sw01"]
    assert controls["I10"]["status"] == "manual"


def test_json_report_is_deterministic(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "a.json"
    second = tmp_path / "b.json"
    for out in (first, second):
        argv = ["report", "compliance", str(demo_results), "--framework", "etsi-en-303-645"]
        assert main([*argv, "--format", "json", "--output", str(out)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_markdown_report_has_a_row_per_control(
    demo_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "compliance.md"
    argv = ["report", "compliance", str(demo_results), "--framework", "iec-62443-3-3"]
    assert main([*argv, "--format", "markdown", "--output", str(out)]) == 0
    text = out.read_text()
    assert "| Control | Title | Confidence | Status | Policies | Failing devices | Notes |" in text
    row = next(line for line in text.splitlines() if line.startswith("| SR 7.7 |"))
    assert "| not satisfied |" in row and "acc-sw01" in row
    assert sum(1 for line in text.splitlines() if line.startswith("| SR ")) == 100


def test_console_report_lists_findings_and_coverage(
    demo_results: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["report", "compliance", str(demo_results), "--framework", "nist-ir-8259a"]) == 0
    out = capsys.readouterr().out
    assert "LA.1" in out and "acc-sw01" in out
    assert "21 controls," in out
    assert "Manual (no policy evidences them" in out


def test_unknown_framework_exits_2_with_one_line(
    demo_results: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["report", "compliance", str(demo_results), "--framework", "pci-dss"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown framework 'pci-dss'" in err
    for known in ("etsi-en-303-645", "iec-62443-3-3", "iic-smm", "owasp-iot-top10"):
        assert known in err


def test_bad_results_file_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "results.json"
    bad.write_text('{"schema": "something/v9"}')
    capsys.readouterr()
    assert main(["report", "compliance", str(bad), "--framework", "iec-62443-3-3"]) == 2
    assert "not a smmcheck results file" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    assert main(["report", "compliance", str(missing), "--framework", "iec-62443-3-3"]) == 2
