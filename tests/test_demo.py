"""The demo plant audited end to end gives exactly the verdicts in fixtures/demo/expected.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from smmcheck.mapping import load_mappings
from smmcheck.policies import load_policies
from smmcheck.project import load_project
from smmcheck.results import Report
from smmcheck.runner import CheckOptions, run_check

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


_REPORT: list[Report] = []


def _demo_report() -> Report:
    # Audited once per session: the demo's type 9 secrets make each audit cost seconds.
    if not _REPORT:
        policies = load_policies()
        options = CheckOptions(
            policies=policies,
            mappings=load_mappings(policies),
            site="plant-a",
            use_cache=False,
            project=load_project(DEMO / "smmcheck.yaml"),
        )
        _REPORT.append(run_check([DEMO], options))
    return _REPORT[0]


def test_demo_verdicts_match_expected_table() -> None:
    expected = yaml.safe_load((DEMO / "expected.yaml").read_text())
    report = _demo_report()
    actual = {(r.device, r.policy): r.status for r in report.results}
    wanted = {
        (device, policy): (v if isinstance(v, str) else v["status"])
        for device, verdicts in expected.items()
        for policy, v in verdicts.items()
    }
    assert actual == wanted


def test_demo_shows_one_active_and_one_expired_waiver() -> None:
    expected = yaml.safe_load((DEMO / "expected.yaml").read_text())
    wanted = {
        (device, policy): v["waiver"]
        for device, verdicts in expected.items()
        for policy, v in verdicts.items()
        if isinstance(v, dict) and "waiver" in v
    }
    report = _demo_report()
    actual = {(r.device, r.policy): r.waiver.state for r in report.results if r.waiver}
    assert actual == wanted
    assert sorted(wanted.values()) == ["active", "expired"]
    assert report.waivers is not None
    assert (report.waivers.active, report.waivers.expired, report.waivers.orphans) == (1, 1, [])
    expired = next(r for r in report.results if r.waiver and r.waiver.state == "expired")
    assert expired.status == "fail"
    assert "expired on 2025-09-30" in expired.message


def test_demo_has_compliant_and_non_compliant_devices() -> None:
    report = _demo_report()
    failing = {r.device for r in report.results if r.status == "fail"}
    assert "core-sw01" not in failing
    assert {"acc-sw01", "dist-rtr01", "ot-sw01"} <= failing
    assert report.summary.exit_code == 1


def test_every_failure_cites_config_lines() -> None:
    for result in _demo_report().results:
        if result.status == "fail":
            assert result.evidence, result
            for evidence in result.evidence:
                assert evidence.line >= 0
                if evidence.line:
                    source = Path(evidence.source)
                    if not source.is_absolute():
                        source = DEMO / source
                    text = source.read_text().splitlines()
                    assert (
                        text[evidence.line - 1]
                        .strip()
                        .startswith(evidence.text.split("<redacted>")[0].strip())
                    ), evidence


def test_every_result_carries_smm_practice_and_framework_controls() -> None:
    for result in _demo_report().results:
        assert result.smm.practice.startswith("SMM.")
        assert 1 <= result.smm.level <= 3
        assert set(result.controls) == {
            "etsi-en-303-645",
            "iec-62443-3-3",
            "iso-iec-27400",
            "nist-ir-8259a",
            "owasp-iot-top10",
        }
    telnet = next(r for r in _demo_report().results if r.policy == "telnet-disabled")
    assert "SR 7.7" in telnet.controls["iec-62443-3-3"]
