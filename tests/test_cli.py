"""The ``smmcheck`` command line as users and CI pipelines drive it: exit codes, one-line
errors, report formats and their contracts, and secrets that never reach a report.

Most tests call ``smmcheck.cli.main.main(argv)`` in-process; a few run the installed
console script to check the real process boundary (exit status, stderr, no traceback).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from smmcheck.cli.main import main
from smmcheck.mapping import load_mappings
from smmcheck.parse.redact import redact
from smmcheck.policies import load_policies
from smmcheck.secrets import decode_type7

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
# Built-in policies that apply to IOS (and are public IDs: never renamed or reused).
POLICY_IDS = [
    "acl-no-shadowed-lines",
    "discovery-protocols-disabled",
    "http-mgmt-disabled",
    "iot-segmentation",
    "logging-remote",
    "mgmt-access-restricted",
    "no-default-credentials",
    "ntp-configured",
    "password-storage-strong",
    "session-timeout",
    "snmp-no-default-community",
    "snmp-v3-only",
    "ssh-v2-only",
    "telnet-disabled",
]
# Built-in policies for Linux gateways only: they give no result for a switch.
GATEWAY_POLICY_IDS = [
    "data-at-rest-aes256",
    "mqtt-no-anonymous",
    "mqtt-tls-only",
    "ssh-no-root-password-login",
    "ssh-strong-crypto",
    "tls-min-1-2",
    "upnp-disabled",
    "wan-input-restricted",
]
FRAMEWORKS = {
    "etsi-en-303-645",
    "iec-62443-3-3",
    "iso-iec-27400",
    "nist-ir-8259a",
    "owasp-iot-top10",
}
SMMCHECK = Path(sys.executable).parent / "smmcheck"


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Never read or write the user's ~/.cache/smmcheck.
    monkeypatch.setenv("SMMCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("smmcheck-cache")))


# --- helpers -------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "check", "--format", "json", *argv)
    return code, json.loads(out)


def assert_one_line_error(err: str, *must_name: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("smmcheck: error:"), err
    assert "Traceback" not in err
    for needle in must_name:
        assert needle in lines[0], (needle, lines[0])


def demo_text(name: str) -> str:
    return (DEMO / f"{name}.cfg").read_text()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def type7(plain: str, seed: int = 7) -> str:
    """Cisco type 7 encoding (the reversible 'password 7' form)."""
    key = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"
    return f"{seed:02d}" + "".join(
        f"{ord(c) ^ ord(key[(seed + i) % len(key)]):02X}" for i, c in enumerate(plain)
    )


def statuses(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["device"], r["policy"]): r["status"] for r in report["results"]}


# A small branch switch with Telnet open on vty 5 15 (high) and nothing else wrong.
BRANCH_SWITCH = """\
version 15.2
service timestamps log datetime msec
service password-encryption
!
hostname cell2-ie3000
!
enable secret 9 $9$kN3q1E3x5N3TCA$xZvq1whhSJFE7vZmVvVXitFf36MArTl40cnwmcIbBb2
username netadmin secret 9 $9$wn1YtorC2RJ4Fx$nuw5asns1nUZNHo6FcwwQYxAkpPnsn3XDq07uTh4O0E
!
interface Vlan99
 ip address 10.99.2.2 255.255.255.0
!
no ip http server
ip ssh version 2
ip access-list standard MGMT-ONLY
 10 permit 10.99.0.10
 20 deny   any log
!
logging host 10.99.0.20
snmp-server group NMS v3 priv
ntp server 10.99.0.21
!
line con 0
 exec-timeout 5 0
line vty 0 4
 access-class MGMT-ONLY in
 exec-timeout 10 0
 transport input ssh
line vty 5 15
 access-class MGMT-ONLY in
 exec-timeout 10 0
 transport input telnet ssh
!
end
"""


# --- exit codes ----------------------------------------------------------------------------


def test_compliant_config_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, out, err = run(capsys, "check", config)
    assert code == 0, out + err
    assert "0 failed, 0 inconclusive" in out
    assert err == ""


def test_failing_config_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    code, report = run_json(capsys, config)
    assert code == 1
    failed = {p for (_, p), s in statuses(report).items() if s == "fail"}
    assert failed == {"telnet-disabled"}


def test_fail_on_critical_ignores_high_only_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    assert run(capsys, "check", config)[0] == 1
    assert run(capsys, "check", "--fail-on", "high", config)[0] == 1
    code, out, _ = run(capsys, "check", "--fail-on", "critical", config)
    assert code == 0
    assert "--fail-on critical" in out


def test_fail_on_critical_still_fails_on_critical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `snmp-server community public` is a well-known default: critical.
    text = BRANCH_SWITCH.replace(
        "snmp-server group NMS v3 priv\n", "snmp-server community public RO\n"
    )
    config = write(tmp_path / "cell2.cfg", text)
    assert run(capsys, "check", "--fail-on", "critical", config)[0] == 1


def test_truncated_config_with_only_inconclusive_results_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # core-sw01 passes everything; without its final `end` a pass cannot be established.
    text = demo_text("core-sw01")
    assert text.rstrip().endswith("\nend")
    config = write(tmp_path / "core-sw01.cfg", text.rstrip()[: -len("end")])
    code, report = run_json(capsys, config)
    assert code == 3
    # Segmentation is not applicable without an intent, truncated or not; gateway policies
    # do not apply to IOS at all.
    ios = {p.id for p in load_policies().policies.values() if "cisco_ios" in p.platforms}
    judged = [r for r in report["results"] if r["policy"] in ios - {"iot-segmentation"}]
    assert {r["status"] for r in judged} == {"inconclusive"}
    assert all("'end'" in r["message"] for r in judged)


@pytest.mark.parametrize(
    "stranger",
    [
        "set system host-name plant-fw1\n"
        "set system services ssh protocol-version v2\n"
        "set interfaces ge-0/0/0 unit 0 family inet address 10.99.0.1/24\n",
        "Minutes of the OT network review, 11 February.\n"
        "We agreed to move the historian to VLAN 10 next quarter.\n",
    ],
    ids=["junos-set-commands", "prose"],
)
def test_folder_with_one_non_config_reports_it_in_error_and_exits_3(
    stranger: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "configs" / "core-sw01.cfg", demo_text("core-sw01"))
    write(tmp_path / "configs" / "plant-fw1.conf", stranger)
    code, report = run_json(capsys, tmp_path / "configs")
    assert code == 3
    devices = {d["name"]: d for d in report["devices"]}
    assert devices["plant-fw1"]["status"] == "error"
    assert devices["plant-fw1"]["error"]
    assert devices["plant-fw1"]["source"].endswith("plant-fw1.conf")
    assert devices["core-sw01"]["status"] == "ok"
    # No smmcheck.yaml here, so segmentation has no intent to check against.
    expected = {("core-sw01", p): "pass" for p in POLICY_IDS}
    expected["core-sw01", "iot-segmentation"] = "not_applicable"
    assert statuses(report) == expected
    assert report["summary"]["devices_in_error"] == 1


def test_folder_without_any_config_is_not_reported_as_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A CI gate pointed at the wrong folder (or an empty snapshot) must not pass.
    folder = tmp_path / "snapshot"
    write(folder / "README.md", "Configs are collected nightly into this folder.\n")
    code, _, err = run(capsys, "check", folder)
    assert code in (2, 3)
    assert str(folder) in err


def test_device_in_error_never_shares_a_name_with_an_assessed_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A failed collection left an empty core-sw01.txt beside the good core-sw01.cfg.
    write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    write(tmp_path / "core-sw01.txt", "")
    code, report = run_json(capsys, tmp_path)
    assert code == 3
    names = [d["name"] for d in report["devices"]]
    assert len(set(names)) == len(names), names
    _, out, _ = run(capsys, "check", "--format", "junit", tmp_path)
    for suite in junit_cases(out).values():
        assert len(suite.findall("testcase")) == len(POLICY_IDS)


def test_unreadable_files_inside_a_folder_are_device_errors_not_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    (tmp_path / "flash-dump.bin").write_bytes(b"\x7fELF\x00\x00\x01hostname x\n")
    (tmp_path / "empty.cfg").write_text("\n\n")
    code, report = run_json(capsys, tmp_path)
    assert code == 3
    errors = {d["name"] for d in report["devices"] if d["status"] == "error"}
    assert errors == {"flash-dump", "empty"}


# --- exit 2: one line on stderr, no traceback ------------------------------------------------


def test_missing_path_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "core-sw01.cfg"
    code, out, err = run(capsys, "check", missing)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, str(missing), "not found")


def test_binary_file_given_explicitly_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "running.cfg"
    config.write_bytes(b"hostname sw1\n\x00\x00\x10\x02\xff\xfe binary junk \x00\n")
    code, out, err = run(capsys, "check", config)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, str(config))


def test_empty_file_given_explicitly_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "sw1.cfg", "")
    code, out, err = run(capsys, "check", config)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, str(config), "empty")


# A valid user policy, used as the base for broken variants.
USER_POLICY = (Path(__file__).parent / "data" / "vty-timeout-five-minutes.yaml").read_text()

USER_POLICY_TESTS = """\
policy: vty-timeout-five-minutes
cases:
  - name: five-minute-timeout-passes
    platform: cisco_ios
    expect: pass
    config: |
      version 15.2
      hostname cell1-sw1
      line vty 0 4
       exec-timeout 5 0
       transport input ssh
      end
  - name: ten-minute-timeout-fails
    platform: cisco_ios
    expect: fail
    message_contains: "line vty 0 4 (600 s)"
    config: |
      version 15.2
      hostname cell1-sw1
      line vty 0 4
       exec-timeout 10 0
       transport input ssh
      end
"""


def user_policy_dir(root: Path, text: str = USER_POLICY, tests: str | None = None) -> Path:
    folder = root / "site-policies"
    write(folder / "access" / "vty-timeout-five-minutes.yaml", text)
    if tests is not None:
        write(folder / "access" / "vty-timeout-five-minutes.tests.yaml", tests)
    return folder


def test_user_policy_is_evaluated_beside_the_builtin_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = user_policy_dir(tmp_path)
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, report = run_json(capsys, "--policies", folder, config)
    assert code == 1
    assert statuses(report)[("core-sw01", "vty-timeout-five-minutes")] == "fail"
    assert len(report["results"]) == len(POLICY_IDS) + 1


def test_malformed_policy_yaml_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = USER_POLICY.replace(
        "severity: low\n", "severity: low\nplatforms: [cisco_ios\n", 1
    ).replace("platforms: [cisco_ios]\n", "", 1)
    folder = user_policy_dir(tmp_path, broken)
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, out, err = run(capsys, "check", "--policies", folder, config)
    assert code == 2
    assert out == ""
    path = folder / "access" / "vty-timeout-five-minutes.yaml"
    assert_one_line_error(err, str(path), "malformed YAML")
    assert re.search(re.escape(str(path)) + r":\d+:", err), err


def test_malformed_policy_yaml_points_at_the_offending_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = USER_POLICY.splitlines(keepends=True)
    lines[2] = "description: Every vty line: at most five minutes idle.\n"  # line 3
    folder = user_policy_dir(tmp_path, "".join(lines))
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, _, err = run(capsys, "check", "--policies", folder, config)
    assert code == 2
    assert_one_line_error(err, "vty-timeout-five-minutes.yaml:3:", "malformed YAML")


def test_policy_with_unknown_field_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = user_policy_dir(tmp_path, USER_POLICY + "owner: ot-network-team\n")
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, out, err = run(capsys, "check", "--policies", folder, config)
    assert code == 2
    assert out == ""
    line = len(USER_POLICY.splitlines()) + 1
    assert_one_line_error(err, f"vty-timeout-five-minutes.yaml:{line}:", "'owner'", "unknown field")


def test_policy_naming_unknown_fact_field_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = USER_POLICY.replace("exec_timeout_seconds: {le", "idle_timeout: {le")
    folder = user_policy_dir(tmp_path, text)
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, out, err = run(capsys, "check", "--policies", folder, config)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "vty-timeout-five-minutes.yaml", "idle_timeout")


def test_missing_policy_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, _, err = run(capsys, "check", "--policies", tmp_path / "no-such-dir", config)
    assert code == 2
    assert_one_line_error(err, str(tmp_path / "no-such-dir"))


def test_unknown_policy_id_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, out, err = run(capsys, "check", "--policy", "telnet-disabld", config)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "telnet-disabld")


def test_bogus_format_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    code, out, err = run(capsys, "check", "--format", "pdf", config)
    assert code == 2
    assert out == ""
    assert "--format" in err
    assert "Traceback" not in err


# --- JSON contract -------------------------------------------------------------------------


def test_json_report_has_the_v1_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("acc-sw01", "ot-sw01", "core-sw01"):
        write(tmp_path / f"{name}.cfg", demo_text(name))
    code, report = run_json(capsys, tmp_path)
    assert code == 1
    assert report["schema"] == "smmcheck.results/v1"
    assert {"tool", "run", "devices", "results", "summary"} <= set(report)
    assert report["tool"]["name"] == "smmcheck"
    assert [d["name"] for d in report["devices"]] == ["acc-sw01", "core-sw01", "ot-sw01"]
    assert len(report["results"]) == 3 * len(POLICY_IDS)
    for result in report["results"]:
        assert {
            "device",
            "policy",
            "title",
            "severity",
            "status",
            "message",
            "evidence",
            "smm",
            "controls",
        } <= set(result)
        assert result["status"] in {"pass", "fail", "waived", "not_applicable", "inconclusive"}
        assert result["message"].strip()
        assert {"practice", "level"} <= set(result["smm"])
        assert result["smm"]["practice"].startswith("SMM.")
        assert 1 <= result["smm"]["level"] <= 3
        assert set(result["controls"]) == FRAMEWORKS
        assert all(isinstance(ids, list) for ids in result["controls"].values())
        for evidence in result["evidence"]:
            assert set(evidence) == {"source", "line", "text"}
    keys = [(r["device"], r["policy"]) for r in report["results"]]
    assert keys == sorted(keys)


def test_json_fail_evidence_cites_real_1_based_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("acc-sw01", "ot-sw01", "dist-rtr01"):
        write(tmp_path / f"{name}.cfg", demo_text(name))
    _, report = run_json(capsys, tmp_path)
    failures = [r for r in report["results"] if r["status"] == "fail"]
    assert failures
    for result in failures:
        assert result["evidence"], result
        for evidence in result["evidence"]:
            if evidence["line"] == 0:
                # Absence: the verdict rests on the whole file, not on a line.
                assert evidence["text"].startswith("(no "), evidence
                continue
            lines = Path(evidence["source"]).read_text().splitlines()
            assert 1 <= evidence["line"] <= len(lines)
            assert evidence["text"] == redact(lines[evidence["line"] - 1].rstrip()), evidence


def test_json_telnet_failure_names_the_vty_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    _, report = run_json(capsys, config)
    telnet = next(r for r in report["results"] if r["policy"] == "telnet-disabled")
    assert "line vty 5 15" in telnet["message"]
    cited = {e["line"] for e in telnet["evidence"]}
    lines = BRANCH_SWITCH.splitlines()
    assert lines.index("line vty 5 15") + 1 in cited
    assert lines.index(" transport input telnet ssh") + 1 in cited
    assert lines.index("line vty 0 4") + 1 not in cited


def test_json_results_are_deterministic_across_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for config in DEMO.glob("*.cfg"):
        write(tmp_path / config.name, config.read_text())
    _, first = run_json(capsys, tmp_path)
    _, second = run_json(capsys, tmp_path)  # the second run reads cached facts
    assert first["results"] == second["results"]
    assert first["devices"] == second["devices"]
    assert first["summary"] == second["summary"]


# --- JUnit contract ------------------------------------------------------------------------


def junit_cases(xml_text: str) -> dict[str, ET.Element]:
    """testsuite name -> element."""
    root = ET.fromstring(xml_text.encode())
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    return {s.get("name", ""): s for s in suites}


def test_junit_has_one_suite_per_device_and_policy_ids_as_case_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("acc-sw01", "ot-sw01"):
        write(tmp_path / f"{name}.cfg", demo_text(name))
    # A third device whose `end` is missing gives inconclusive results.
    truncated = demo_text("core-sw01").replace("hostname core-sw01", "hostname core-sw02")
    write(tmp_path / "core-sw02.cfg", truncated.rstrip()[: -len("end")])
    code, out, _ = run(capsys, "check", "--format", "junit", tmp_path)
    assert code == 1
    suites = junit_cases(out)
    assert set(suites) == {"acc-sw01", "core-sw02", "ot-sw01"}
    _, report = run_json(capsys, tmp_path)
    wanted = statuses(report)
    seen_statuses = set()
    for device, suite in suites.items():
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == POLICY_IDS
        for case in cases:
            assert case.get("classname") == f"default.{device}"
            status = wanted[(device, case.get("name", ""))]
            seen_statuses.add(status)
            children = {child.tag for child in case} - {"system-out", "system-err"}
            expected = {
                "pass": set(),
                "fail": {"failure"},
                "not_applicable": {"skipped"},
                "waived": {"skipped"},
                "inconclusive": {"error"},
            }[status]
            assert children == expected, (device, case.get("name"), status)
    assert {"pass", "fail", "not_applicable", "inconclusive"} <= seen_statuses


def test_junit_failure_carries_message_and_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    _, out, _ = run(capsys, "check", "--format", "junit", config)
    suite = junit_cases(out)["cell2-ie3000"]
    case = next(c for c in suite.findall("testcase") if c.get("name") == "telnet-disabled")
    failure = case.find("failure")
    assert failure is not None
    assert "line vty 5 15" in failure.get("message", "")
    line = BRANCH_SWITCH.splitlines().index(" transport input telnet ssh") + 1
    assert f"{config}:{line}: " in (failure.text or "")


def test_junit_classname_uses_the_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    _, out, _ = run(capsys, "check", "--format", "junit", "--site", "plant-b", config)
    suite = junit_cases(out)["cell2-ie3000"]
    assert {c.get("classname") for c in suite.findall("testcase")} == {"plant-b.cell2-ie3000"}


# --- where reports go ----------------------------------------------------------------------


def test_output_file_receives_the_report_and_stdout_stays_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    target = tmp_path / "out" / "results.json"
    code, out, err = run(capsys, "check", "--format", "json", "--output", target, config)
    assert code == 1
    assert out == ""
    assert err == ""
    assert json.loads(target.read_text())["schema"] == "smmcheck.results/v1"


def test_report_dir_receives_json_and_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    reports = tmp_path / "reports" / "nightly"
    code, out, _ = run(capsys, "check", "--report-dir", reports, config)
    assert code == 1
    assert "telnet-disabled" in out  # the console report still goes to stdout
    assert json.loads((reports / "results.json").read_text())["results"]
    assert "cell2-ie3000" in junit_cases((reports / "junit.xml").read_text())


# --- device names and platforms ------------------------------------------------------------


def test_device_is_named_after_its_hostname_not_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "backup-2025-02-11.txt", demo_text("core-sw01"))
    _, report = run_json(capsys, config)
    assert [d["name"] for d in report["devices"]] == ["core-sw01"]


def test_config_without_hostname_is_named_after_the_file_stem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BRANCH_SWITCH.replace("hostname cell2-ie3000\n", "")
    config = write(tmp_path / "cell2-rack4.cfg", text)
    _, report = run_json(capsys, config)
    assert [d["name"] for d in report["devices"]] == ["cell2-rack4"]
    assert {r["device"] for r in report["results"]} == {"cell2-rack4"}


def test_platform_option_forces_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An excerpt with no line that detection recognises (no hostname, version or end).
    excerpt = (
        "service password-encryption\n"
        "username netadmin privilege 15 secret 9"
        " $9$wn1YtorC2RJ4Fx$nuw5asns1nUZNHo6FcwwQYxAkpPnsn3XDq07uTh4O0E\n"
        "ip ssh version 2\n"
        "logging host 10.99.0.20\n"
    )
    config = write(tmp_path / "gw-excerpt.cfg", excerpt)
    code, report = run_json(capsys, config)
    assert code == 3
    assert report["devices"][0]["status"] == "error"
    _, report = run_json(capsys, "--platform", "cisco_ios", config)
    device = report["devices"][0]
    assert device["status"] == "ok"
    assert device["platform"] == "cisco_ios"
    assert device["name"] == "gw-excerpt"
    assert len(report["results"]) == len(POLICY_IDS)


# --- secrets never reach a report ----------------------------------------------------------

PLAIN = "S3cret-Planted-1"
MD5_HASH = "$1$Xq9z$4kPl4nT3dH4sh0nlyT35t/"
TACACS_PLAIN = "Tac-Planted-42"


def secrets_config() -> tuple[str, list[str]]:
    user_type7 = type7(PLAIN, seed=12)
    tacacs_type7 = type7(TACACS_PLAIN, seed=5)
    assert decode_type7(user_type7) == PLAIN  # the encoder is right
    text = f"""\
version 15.2
service password-encryption
hostname leaky-sw1
!
enable secret 5 {MD5_HASH}
username ops privilege 15 password 7 {user_type7}
!
ip ssh version 2
tacacs-server host 10.99.0.30
tacacs-server key 7 {tacacs_type7}
snmp-server community Planted-Comm-99 RO
snmp-server host 10.1.1.1 version 2c Planted-Trap-77
logging host 10.99.0.20
ntp server 10.99.0.21
!
line con 0
 exec-timeout 5 0
 password 7 {user_type7}
line vty 0 4
 transport input ssh
!
end
"""
    planted = [
        PLAIN,
        user_type7,
        MD5_HASH,
        "Planted-Comm-99",
        "Planted-Trap-77",
        TACACS_PLAIN,
        tacacs_type7,
    ]
    return text, planted


def assert_no_secret(text: str, planted: list[str]) -> None:
    for secret in planted:
        assert secret not in text, secret
    assert "Planted" not in text


def test_planted_secrets_never_appear_in_any_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, planted = secrets_config()
    config = write(tmp_path / "leaky-sw1.cfg", text)
    code, console, err = run(capsys, "check", config)
    assert code == 1  # type 7 storage and SNMPv2c fail
    assert "leaky-sw1" in console
    assert_no_secret(console + err, planted)
    _, as_json, _ = run(capsys, "check", "--format", "json", config)
    assert "<redacted>" in as_json
    assert_no_secret(as_json, planted)
    _, as_junit, _ = run(capsys, "check", "--format", "junit", "--site", "plant-a", config)
    assert_no_secret(as_junit, planted)
    reports = tmp_path / "reports"
    run(capsys, "check", "--report-dir", reports, "--output", tmp_path / "c.txt", config)
    for written in (reports / "results.json", reports / "junit.xml", tmp_path / "c.txt"):
        assert_no_secret(written.read_text(), planted)


def test_clear_text_passwords_with_spaces_are_fully_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # IOS: the username password "can contain embedded spaces and must be the last option";
    # line passwords too. The parser reads them to the end of the line (secret_after).
    config = write(
        tmp_path / "plc-sw1.cfg",
        """\
version 15.2
hostname plc-sw1
username plcadmin privilege 15 password 0 Plant Floor Zq7x
line con 0
 exec-timeout 5 0
 password Blue Cabinet Wm4k
line vty 0 4
 transport input ssh
end
""",
    )
    code, as_json, _ = run(capsys, "check", "--format", "json", config)
    assert code == 1  # clear-text passwords fail password-storage-strong
    for word in ("Floor", "Zq7x", "Cabinet", "Wm4k"):
        assert word not in as_json, word


# --- policy commands -----------------------------------------------------------------------


def test_policy_list_lists_the_builtin_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "list")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines() if line.strip()][:-1]
    everything = sorted(POLICY_IDS + GATEWAY_POLICY_IDS)
    assert listed == everything
    assert out.splitlines()[-1].startswith(f"{len(everything)} policies")


def test_policy_show_gives_remediation_and_iec_62443_controls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "policy", "show", "telnet-disabled")
    assert code == 0
    assert out.startswith("telnet-disabled: Telnet is disabled")
    remediation = out.split("Remediation:\n", 1)[1].split("\n\n", 1)[0]
    assert "transport input ssh" in remediation
    policies = load_policies()
    iec = load_mappings(policies).controls_for("telnet-disabled")["iec-62443-3-3"]
    assert iec
    assert f"  iec-62443-3-3: {', '.join(iec)}" in out.splitlines()


def test_policy_show_unknown_id_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "policy", "show", "nope")
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "'nope'")


def test_policy_test_runs_the_builtin_cases(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "test")
    assert code == 0, out
    assert re.search(r"\b\d+ passed, 0 failed\b", out.splitlines()[-1]), out
    assert "FAIL" not in out


def test_policy_test_of_one_builtin_policy_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "test", "--policy", "telnet-disabled")
    assert code == 0, out
    assert re.search(r"\b\d+ passed, 0 failed \(1 policies\)", out), out


def test_policy_test_on_user_folder_names_the_wrong_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = USER_POLICY_TESTS.replace(
        "  - name: ten-minute-timeout-fails\n    platform: cisco_ios\n    expect: fail\n",
        "  - name: ten-minute-timeout-fails\n    platform: cisco_ios\n    expect: pass\n",
    )
    assert wrong != USER_POLICY_TESTS
    folder = user_policy_dir(tmp_path, tests=wrong)
    code, out, _ = run(capsys, "policy", "test", folder)
    assert code == 1
    fail_lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 1, out
    assert "vty-timeout-five-minutes :: ten-minute-timeout-fails" in fail_lines[0]
    assert "expected pass, got fail" in fail_lines[0]
    assert "1 passed, 1 failed" in out
    # Only the folder's own policy is tested, not the built-in ones.
    assert "(1 policies)" in out


def test_policy_test_on_user_folder_passes_when_cases_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = user_policy_dir(tmp_path, tests=USER_POLICY_TESTS)
    code, out, _ = run(capsys, "policy", "test", folder)
    assert code == 0, out
    assert "2 passed, 0 failed" in out


def test_policy_lint_accepts_the_builtin_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "lint")
    assert code == 0
    assert "are valid" in out


def test_policy_lint_rejects_a_broken_test_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = USER_POLICY_TESTS.replace("expect: fail", "expect: failed")
    folder = user_policy_dir(tmp_path, tests=broken)
    code, _, err = run(capsys, "policy", "lint", folder)
    assert code == 2
    assert_one_line_error(err, "vty-timeout-five-minutes.tests.yaml", "expect")


# --- demo ----------------------------------------------------------------------------------


def test_demo_writes_both_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "demo-reports"
    code, out, _ = run(capsys, "demo", "--report-dir", reports)
    assert code == 0
    assert "acc-sw01" in out
    report = json.loads((reports / "results.json").read_text())
    assert len(report["devices"]) == 8  # six IOS devices, the IoT gateway, the OpenWrt router
    suites = junit_cases((reports / "junit.xml").read_text())
    assert len(suites) == 8
    assert all(
        c.get("classname", "").startswith("plant-a.")
        for s in suites.values()
        for c in s.findall("testcase")
    )


# --- the installed console script ----------------------------------------------------------


def smmcheck(*argv: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SMMCHECK), *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=120,
        check=False,
    )


def test_console_script_exit_status_and_json(tmp_path: Path) -> None:
    write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    write(tmp_path / "cell2.cfg", BRANCH_SWITCH)
    clean = smmcheck("check", "--format", "json", "core-sw01.cfg", cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["summary"]["exit_code"] == 0
    failing = smmcheck("check", "cell2.cfg", cwd=tmp_path)
    assert failing.returncode == 1, failing.stderr
    assert "telnet-disabled" in failing.stdout


def test_console_script_missing_path_exits_2_without_traceback(tmp_path: Path) -> None:
    done = smmcheck("check", "absent.cfg", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert_one_line_error(done.stderr, "absent.cfg")


def test_console_script_bogus_format_exits_2(tmp_path: Path) -> None:
    write(tmp_path / "core-sw01.cfg", demo_text("core-sw01"))
    done = smmcheck("check", "--format", "bogus", "core-sw01.cfg", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "bogus" in done.stderr


def test_a_lone_sshd_config_is_judged_on_ssh_policies_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pre-change review of one file: no socket listing, no broker config, so only the
    # policies that read SSH facts are judged (not a page of inconclusive results).
    config = write(
        tmp_path / "sshd_config",
        "# gateway image\nPort 22\nPermitRootLogin yes\nPasswordAuthentication yes\n"
        "Ciphers aes256-ctr,aes128-cbc\nMACs hmac-sha2-256\nKexAlgorithms curve25519-sha256\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n",
    )
    code, report = run_json(capsys, config)
    assert code == 1
    (device,) = report["devices"]
    assert device["platform"] == "linux"
    verdicts = {
        r["policy"]: (r["status"], [e["line"] for e in r["evidence"]]) for r in report["results"]
    }
    assert verdicts == {
        # line 0: no KbdInteractiveAuthentication line, so its default counts too
        "ssh-no-root-password-login": ("fail", [0, 3, 4]),
        "ssh-strong-crypto": ("fail", [5, 6, 7]),
    }
