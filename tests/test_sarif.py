"""SARIF 2.1.0 for code scanning: what each status becomes, locations, stable fingerprints,
and the constraints of the SARIF specification a scanner enforces on upload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smmcheck.cli.main import main

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def run_formats(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SARIF log and the JSON report of one check."""
    main(["check", *argv, "--format", "sarif"])
    sarif = json.loads(capsys.readouterr().out)
    main(["check", *argv, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return sarif, report


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--report-dir", str(folder)]) == 0
    sarif = json.loads((folder / "results.sarif").read_text())
    report = json.loads((folder / "results.json").read_text())
    return sarif, report


def test_every_failure_and_waiver_is_a_result_with_its_rule(
    demo: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    sarif, report = demo
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    found = {(r["properties"]["device"], r["ruleId"]): r for r in run["results"]}
    expected = {(r["device"], r["policy"]): r for r in report["results"]}
    reported = {k for k, r in expected.items() if r["status"] in ("fail", "waived")}
    assert set(found) == reported  # passes and not_applicable are left out
    for key, result in found.items():
        source = expected[key]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"] == source["message"]
        assert (result["kind"], result["level"]) == ("fail", LEVELS[source["severity"]])
        lines = [loc["physicalLocation"].get("region", {}).get("startLine") for loc in
                 result.get("locations", [])]  # fmt: skip
        assert lines == [e["line"] or None for e in source["evidence"]]


def test_a_waived_failure_is_an_accepted_suppression_and_an_expired_one_is_open(
    demo: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    (run,) = demo[0]["runs"]
    by_key = {(r["properties"]["device"], r["ruleId"]): r for r in run["results"]}
    waived = by_key[("acc-sw02", "snmp-v3-only")]
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "SCADA poller" in suppression["justification"]
    assert "CHG-20931" in suppression["justification"]
    expired = by_key[("ot-sw01", "telnet-disabled")]
    assert "suppressions" not in expired
    assert expired["properties"]["waiver"]["state"] == "expired"
    assert run["properties"]["waivers"]["expired"] == 1


def test_rules_carry_severity_smm_practice_and_remediation(
    demo: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    (run,) = demo[0]["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    telnet = rules["telnet-disabled"]
    assert telnet["shortDescription"]["text"] == "Telnet is disabled on all management lines"
    assert telnet["defaultConfiguration"]["level"] == "error"
    assert telnet["properties"]["security-severity"] == "8.0"
    assert "SMM.ENB.AP.ACCM" in telnet["properties"]["tags"]
    assert "transport input ssh" in telnet["help"]["text"]


def test_inconclusive_is_open_with_level_none_and_a_failed_device_a_notification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DEMO / "core-sw01.cfg").read_text()
    (tmp_path / "core-sw01.cfg").write_text(text.rstrip()[: -len("end")])  # truncated
    (tmp_path / "fw.cfg").write_text(
        "set system host-name plant-fw1\nset system services ssh protocol-version v2\n"
        "set interfaces ge-0/0/0 unit 0 family inet address 10.99.0.1/24\n"
    )
    sarif, report = run_formats(capsys, str(tmp_path))
    (run,) = sarif["runs"]
    assert {(r["kind"], r["level"]) for r in run["results"]} == {("open", "none")}
    assert len(run["results"]) == sum(r["status"] == "inconclusive" for r in report["results"])
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error" and "juniper_junos" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("fw.cfg")


def test_fingerprints_name_device_and_policy_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DEMO / "acc-sw01.cfg").read_text()
    config = tmp_path / "acc-sw01.cfg"
    config.write_text(text)
    first = {r["ruleId"]: r["partialFingerprints"] for r in run_formats(capsys, str(config))[0]
             ["runs"][0]["results"]}  # fmt: skip
    # The same finding, moved down by a comment line: same identity for the scanner.
    config.write_text("! moved\n" + text)
    second = {r["ruleId"]: r["partialFingerprints"] for r in run_formats(capsys, str(config))[0]
              ["runs"][0]["results"]}  # fmt: skip
    assert first == second
    assert len({f["smmcheck/v1"] for f in first.values()}) == len(first)


def test_sarif_levels_obey_the_specification(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # SARIF 2.1.0 §3.27.9: a level other than "none" requires kind "fail".
    (run,) = demo[0]["runs"]
    for result in run["results"]:
        assert result["level"] == "none" or result["kind"] == "fail"
        for location in result.get("locations", []):
            region = location["physicalLocation"].get("region")
            assert region is None or region["startLine"] >= 1
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            assert " " not in uri
